package relay

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzHeaderBlock feeds outside messages to the header reader bounces use:
// it must not panic, must keep no Bcc line, and must end every line in CRLF.
func FuzzHeaderBlock(f *testing.F) {
	f.Add("From: a@b\r\nBcc: c@d\r\n e@f\r\nSubject: x\r\n\r\nbody")
	f.Add("Auto-Submitted: auto-replied\nContent-Type: multipart/report; report-type=delivery-status\n\n")
	f.Add("\r\n")
	f.Add(" folded first\r\n")
	f.Fuzz(func(t *testing.T, msg string) {
		h, parsed := headerBlock(strings.NewReader(msg))
		for _, line := range strings.SplitAfter(string(h), "\r\n") {
			if line == "" {
				continue
			}
			if !strings.HasSuffix(line, "\r\n") || strings.Contains(strings.TrimSuffix(line, "\r\n"), "\n") {
				t.Fatalf("line %q not CRLF-ended", line)
			}
			if strings.HasPrefix(strings.ToLower(line), "bcc:") {
				t.Fatalf("Bcc kept: %q", line)
			}
		}
		_ = mustNotBounce("a@b", parsed)
	})
}

// crlfReference is the conversion crlfReader must do.
func crlfReference(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' && (i == 0 || s[i-1] != '\r') {
			b.WriteByte('\r')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// FuzzCRLFReader: whatever the reads' sizes, bare LFs become CRLF and
// nothing else changes.
func FuzzCRLFReader(f *testing.F) {
	f.Add("a\nb\r\nc\n\n\r\r\n", 3)
	f.Add("\n", 1)
	f.Fuzz(func(t *testing.T, s string, chunk int) {
		if chunk <= 0 || chunk > 64 {
			chunk = 1
		}
		var out bytes.Buffer
		r := &crlfReader{r: iotest.HalfReader(strings.NewReader(s))}
		buf := make([]byte, chunk)
		for {
			n, err := r.Read(buf)
			out.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if want := crlfReference(s); out.String() != want {
			t.Fatalf("crlfReader(%q) = %q, want %q", s, out.String(), want)
		}
	})
}
