package flows_test

import (
	"bytes"
	"errors"
	"io"
	"net/mail"
	"strings"
	"testing"

	"github.com/mailgrant/mailgrant/flows"
)

// submit reads in as sendmail would and returns what WriteTo writes.
func submit(t *testing.T, in string, o flows.SubmitOptions, edit func(*flows.Header)) (string, error) {
	t.Helper()
	sub, err := flows.ReadSubmission(strings.NewReader(in), o)
	if err != nil {
		return "", err
	}
	if edit != nil {
		edit(sub.Header)
	}
	var b bytes.Buffer
	_, err = sub.WriteTo(&b)
	return b.String(), err
}

// TestSubmission: what sendmail reads is sent as it came, with CRLF line
// ends; a lone dot ends the message only when asked; a message without a
// header section or blank line still becomes a message.
func TestSubmission(t *testing.T) {
	tests := []struct {
		name, in string
		dotEnds  bool
		want     string
	}{
		{"LF becomes CRLF", "To: a@b.c\nSubject: hi\n\nline 1\nline 2\n", false, "To: a@b.c\r\nSubject: hi\r\n\r\nline 1\r\nline 2\r\n"},
		{"CRLF stays", "To: a@b.c\r\n\r\nx\r\n", false, "To: a@b.c\r\n\r\nx\r\n"},
		{"folded header kept", "Subject: a\n  b\nTo: a@b.c\n\nx", false, "Subject: a\r\n  b\r\nTo: a@b.c\r\n\r\nx\r\n"},
		{"dot ends with DotEnds", "To: a@b.c\n\nbefore\n.\nafter\n", true, "To: a@b.c\r\n\r\nbefore\r\n"},
		{"dot kept without", "To: a@b.c\n\nbefore\n.\nafter\n", false, "To: a@b.c\r\n\r\nbefore\r\n.\r\nafter\r\n"},
		{"dot-dot is not unstuffed", "To: a@b.c\n\n..\n", true, "To: a@b.c\r\n\r\n..\r\n"},
		{"dot in the headers", "To: a@b.c\n.\nSubject: lost\n", true, "To: a@b.c\r\n\r\n"},
		{"no header at all", "just a body\nline 2\n", false, "\r\njust a body\r\nline 2\r\n"},
		{"no blank line", "To: a@b.c\nthis is the body\n", false, "To: a@b.c\r\n\r\nthis is the body\r\n"},
		{"mbox From_ line dropped", "From someone Sat Nov 28 09:00:00 2026\nTo: a@b.c\n\nx\n", false, "To: a@b.c\r\n\r\nx\r\n"},
		{"empty input", "", false, "\r\n"},
		{"headers only", "To: a@b.c\n", false, "To: a@b.c\r\n\r\n"},
		{"bare CR kept", "To: a@b.c\n\na\rb\n", false, "To: a@b.c\r\n\r\na\rb\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := submit(t, tt.in, flows.SubmitOptions{DotEnds: tt.dotEnds}, nil)
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v\nwant %q", got, err, tt.want)
			}
		})
	}
}

// TestSubmissionLongLines: lines longer than the read buffer pass through
// whole, a CRLF split across two reads stays one line end, and a body of
// any length is copied without being held.
func TestSubmissionLongLines(t *testing.T) {
	for _, n := range []int{64<<10 - 1, 64 << 10, 64<<10 + 1, 200 << 10} {
		long := strings.Repeat("x", n)
		got, err := submit(t, "To: a@b.c\n\n"+long+"\r\nend\n", flows.SubmitOptions{DotEnds: true}, nil)
		if err != nil || got != "To: a@b.c\r\n\r\n"+long+"\r\nend\r\n" {
			t.Fatalf("line of %d: %v, %d bytes", n, err, len(got))
		}
	}
}

// TestSubmissionLimits: the size limit counts what is written and stops
// reading; a header section over MaxHeaderBytes is a bad message.
func TestSubmissionLimits(t *testing.T) {
	_, err := submit(t, "To: a@b.c\n\n"+strings.Repeat("x\n", 2000), flows.SubmitOptions{MaxSize: 1000}, nil)
	if flows.Classify(err) != flows.OutcomeTooLarge {
		t.Fatalf("over the limit: %v", err)
	}
	if _, err := submit(t, "To: a@b.c\n\n"+strings.Repeat("x", 980), flows.SubmitOptions{MaxSize: 1000}, nil); err != nil {
		t.Fatalf("under the limit: %v", err)
	}
	_, err = flows.ReadSubmission(strings.NewReader("X-Big: "+strings.Repeat("a", flows.MaxHeaderBytes)+"\n\n"), flows.SubmitOptions{})
	var ie *flows.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("huge header: %v", err)
	}
}

// TestHeaderEdits: Del removes every field and its continuation lines,
// Set replaces in place and cannot smuggle a new field, Addresses reads
// every To, Cc and Bcc and names a header that does not parse.
func TestHeaderEdits(t *testing.T) {
	in := "To: Ann <ann@x.org>, bob@x.org\nBcc: secret@x.org,\n  other@x.org\nCc: undisclosed-recipients:;\nTo: carl@x.org\nSubject: s\n\nbody\n"
	sub, err := flows.ReadSubmission(strings.NewReader(in), flows.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := sub.Header.Addresses("To", "Cc", "Bcc")
	if err != nil || strings.Join(got, " ") != "ann@x.org bob@x.org carl@x.org secret@x.org other@x.org" {
		t.Fatalf("addresses %v %v", got, err)
	}
	sub.Header.Del("bcc")
	sub.Header.Set("Subject", "new\r\nBcc: injected@x.org")
	var b bytes.Buffer
	if _, err := sub.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "secret") || strings.Contains(out, "other@") || strings.Contains(out, "\nBcc") {
		t.Errorf("Bcc left in %q", out)
	}
	if !strings.Contains(out, "Subject: new  Bcc: injected@x.org\r\n") {
		t.Errorf("Set: %q", out)
	}
	bad := &flows.Header{}
	bad.Set("To", "<<nobody")
	var ie *flows.InputError
	if _, err := bad.Addresses("To"); !errors.As(err, &ie) || ie.Field != "To" {
		t.Errorf("bad To: %v", err)
	}
}

// FuzzSubmission: any input either is refused with a typed error or
// becomes a message with only CRLF line ends, within the limit, whose
// header section net/mail can read, and from which Del("Bcc") removes
// every Bcc field.
func FuzzSubmission(f *testing.F) {
	f.Add("To: a@b.c\nBcc: x@y.z\nSubject: hi\n\nbody\n.\nmore\n", true)
	f.Add("From x\nTo: a@b.c\r\n\r\nx\r", false)
	f.Add("no header\r\n.\r\n", true)
	f.Add("To: a@b.c\n bcc: x\nBcc:\n\n", false)
	f.Fuzz(func(t *testing.T, in string, dotEnds bool) {
		const limit = 4096
		sub, err := flows.ReadSubmission(strings.NewReader(in), flows.SubmitOptions{DotEnds: dotEnds, MaxSize: limit})
		if err != nil {
			var ie *flows.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		sub.Header.Del("Bcc")
		var b bytes.Buffer
		n, err := sub.WriteTo(&b)
		if err != nil {
			if flows.Classify(err) != flows.OutcomeTooLarge {
				t.Fatalf("write: %v", err)
			}
			return
		}
		out := b.Bytes()
		if n != int64(len(out)) || n > limit {
			t.Fatalf("wrote %d (reported %d), limit %d", len(out), n, limit)
		}
		for i, c := range out {
			if c == '\n' && (i == 0 || out[i-1] != '\r') {
				t.Fatalf("a bare LF at %d in %q", i, out)
			}
		}
		m, err := mail.ReadMessage(bytes.NewReader(out))
		if err != nil {
			return // a field net/mail refuses (e.g. a malformed name) is for Deliver to judge
		}
		if len(m.Header["Bcc"]) != 0 {
			t.Fatalf("Bcc left in %q", out)
		}
		_, _ = io.Copy(io.Discard, m.Body)
	})
}
