package flows

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// FuzzParseSize feeds arbitrary --max-message-size values: a size is
// positive and its text parses back to the same number.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"35MB", "50 mb", "1.5M", "512KiB", "52428800", "0", "-1", "1e9", "9223372036854775807", "99999999999GB", ".5M", "1.M", "3.3B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			var ie *InputError
			if !asInputError(err, &ie) || ie.Field != "size" {
				t.Fatalf("%q: error %T %v", s, err, err)
			}
			return
		}
		if n <= 0 {
			t.Fatalf("%q parsed to %d", s, n)
		}
	})
}

func asInputError(err error, target **InputError) bool {
	ie, ok := err.(*InputError)
	*target = ie
	return ok
}

// FuzzParseNextExpectedRanges feeds arbitrary upload session answers.
func FuzzParseNextExpectedRanges(f *testing.F) {
	for _, s := range []string{"0-", "4194304-", "12-34", "", "-", "x-", "99999999999999999999-", "-5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := ParseNextExpectedRanges([]string{s})
		if ok && n < 0 {
			t.Fatalf("%q gave %d", s, n)
		}
		if ok && !strings.Contains(s, "-") {
			t.Fatalf("%q is not a range but gave %d", s, n)
		}
	})
}

// FuzzScanLayout feeds arbitrary messages to the structure scanner and
// checks the offsets it reports, and that cutting parts out leaves the
// rest of the message byte for byte.
func FuzzScanLayout(f *testing.F) {
	f.Add([]byte("To: a@b.c\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Disposition: attachment; filename=x.bin\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n"))
	f.Add([]byte("To: a@b.c\n\nbody"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n\n--b--"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX: " + strings.Repeat("y", 70000) + "\r\n\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		l, err := scanLayout(bytes.NewReader(msg), int64(len(msg)))
		if err != nil {
			return
		}
		size := int64(len(msg))
		prev := l.body
		drop := map[int]bool{}
		for i, p := range l.parts {
			if !(prev <= p.delim && p.delim < p.body && p.body <= p.end && p.end <= p.next && p.next <= size) {
				t.Fatalf("part %d offsets %d %d %d %d (prev %d, size %d)", i, p.delim, p.body, p.end, p.next, prev, size)
			}
			prev = p.next
			if i%2 == 1 {
				drop[i] = true
			}
			if _, err := p.decoded(bytes.NewReader(msg)); err == nil {
				_, _ = p.decodedSize(bytes.NewReader(msg))
			}
		}
		segs := without(size, l.parts, drop, "b")
		got, err := io.ReadAll(segs.reader(bytes.NewReader(msg)))
		if err != nil || int64(len(got)) != segs.size() {
			t.Fatalf("assembled %d bytes, size says %d: %v", len(got), segs.size(), err)
		}
	})
}
