package flows

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/mail"
	"net/textproto"
	"strings"

	"github.com/mailgrant/mailgrant/store"
)

// A profile may name a default sender (From) and Reply-To, used when a
// message has none: by send, and by sendmail and the relay through
// WithDefaultHeaders.

// ValidateAddress checks a bare email address for a field such as from or
// reply-to (no display name, no line breaks: it may go into a header).
func ValidateAddress(field, addr string) error {
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || !strings.Contains(addr, "@") || strings.ContainsAny(addr, "\r\n") {
		return &InputError{Field: field, Problem: fmt.Sprintf("%s is not an email address", shown(addr)), Hint: "use the form name@domain, such as info@contoso.com, without a display name"}
	}
	return nil
}

// validateDefaults checks a profile's From and Reply-To.
func validateDefaults(p store.Profile) error {
	if p.From != "" {
		if err := ValidateAddress("from", p.From); err != nil {
			return err
		}
	}
	if p.ReplyTo != "" {
		return ValidateAddress("reply-to", p.ReplyTo)
	}
	return nil
}

// ApplyDefaults fills a message's sender and Reply-To from the profile when
// the message names none. For a MIME message the Reply-To header is added
// when absent; the mailbox sent as is m.From either way.
func ApplyDefaults(p store.Profile, m *Message) {
	if m.From == "" && p.From != "" {
		m.From = p.From
	}
	if m.MIME != nil {
		m.MIME = WithDefaultHeaders(m.MIME, store.Profile{ReplyTo: p.ReplyTo})
		return
	}
	if len(m.ReplyTo) == 0 && p.ReplyTo != "" {
		m.ReplyTo = []string{p.ReplyTo}
	}
}

// WithDefaultHeaders returns the RFC 5322 message raw with the profile's
// From and Reply-To added as headers where the message has no such header,
// for sendmail and the relay. The message is otherwise unchanged; one it
// cannot find a header block in is returned as it is.
func WithDefaultHeaders(raw []byte, p store.Profile) []byte {
	add := defaultHeaders(p, func(name string) bool { return hasHeader(raw, name) }, "From", "Reply-To")
	if len(add) == 0 || !hasHeaderBlock(raw) {
		return raw
	}
	eol := "\n"
	if i := bytes.IndexByte(raw, '\n'); i > 0 && raw[i-1] == '\r' {
		eol = "\r\n"
	}
	out := make([]byte, 0, len(raw)+64)
	for _, h := range add {
		out = append(out, h+eol...)
	}
	return append(out, raw...)
}

// DefaultHeadersAt is WithDefaultHeaders for a message read in place (the
// relay's spool file): the header lines, each ending in CRLF, that the
// profile's defaults for the named headers (From, Reply-To) add to the
// message in r (size bytes); nil when they add none.
func DefaultHeadersAt(p store.Profile, r io.ReaderAt, size int64, names ...string) []byte {
	var out []byte
	for _, h := range defaultHeaders(p, func(name string) bool { return HeaderPresentAt(r, size, name) }, names...) {
		out = append(out, h+"\r\n"...)
	}
	return out
}

// defaultHeaders is the one rule for a profile's default headers: each of
// names (From, Reply-To) whose default is set and a valid address, and
// that the message does not name (present), becomes a "Name: address"
// line.
func defaultHeaders(p store.Profile, present func(name string) bool, names ...string) []string {
	var add []string
	for _, name := range names {
		value := p.From
		if name == "Reply-To" {
			value = p.ReplyTo
		}
		if value == "" || ValidateAddress("header", value) != nil || present(name) {
			continue
		}
		add = append(add, name+": "+value)
	}
	return add
}

// headerLines returns the message's header lines (up to the first empty
// line), without their line ends.
func headerLines(raw []byte) [][]byte {
	var out [][]byte
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		line := raw
		if i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break
		}
		out = append(out, line)
	}
	return out
}

// hasHeaderBlock reports whether raw starts with a header line.
func hasHeaderBlock(raw []byte) bool {
	lines := headerLines(raw)
	return len(lines) > 0 && bytes.IndexByte(lines[0], ':') > 0 && lines[0][0] != ' ' && lines[0][0] != '\t'
}

// hasHeader reports whether the header block has a field of that name.
func hasHeader(raw []byte, name string) bool {
	for _, l := range headerLines(raw) {
		if i := bytes.IndexByte(l, ':'); i > 0 && strings.EqualFold(strings.TrimSpace(string(l[:i])), name) {
			return true
		}
	}
	return false
}

// HeaderPresentAt reports whether the RFC 5322 message in r (size bytes)
// has a header called name. Only the header section is read.
func HeaderPresentAt(r io.ReaderAt, size int64, name string) bool {
	msg, err := mail.ReadMessage(bufio.NewReader(io.NewSectionReader(r, 0, size)))
	if err != nil {
		return false
	}
	_, ok := msg.Header[textproto.CanonicalMIMEHeaderKey(name)]
	return ok
}
