package flows

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
)

// This file reads a message the way sendmail reads it from standard input
// (`mailgrant sendmail`), so that the header section can be completed (Date,
// Message-ID, From) and Bcc removed before the message goes to Deliver:
//
//	sub, err := flows.ReadSubmission(os.Stdin, flows.SubmitOptions{DotEnds: !opts.ignoreDots})
//	sub.Header.Del("Bcc")
//	n, err := sub.WriteTo(tempFile)
//
// Only the header section is held in memory (at most MaxHeaderBytes); the
// body is copied line by line, with line ends made CRLF.

// MaxHeaderBytes bounds a submitted message's header section.
const MaxHeaderBytes = 1 << 20

// SubmitOptions say how ReadSubmission reads a message.
type SubmitOptions struct {
	// DotEnds makes a line holding a single "." end the message, as
	// sendmail does without -i or -oi. Otherwise only the end of input does.
	DotEnds bool
	// MaxSize bounds the message as written by WriteTo (with CRLF line
	// ends); 0 means DefaultMaxMessageSize.
	MaxSize int64
}

// Submission is a message being read: its header section, read and
// editable, and the rest of the input, which WriteTo copies.
type Submission struct {
	// Header is the message's header section.
	Header *Header
	r      *bufio.Reader
	o      SubmitOptions
	// first is a line that ended the header section without a blank line
	// before it: it is the body's first line.
	first []byte
	// ended is set once the input ended (end of file or a lone dot).
	ended bool
}

// Header is a header section as written: each field keeps its own lines
// (folding included), so that what is not changed is sent as it came.
type Header struct {
	fields []headerField
}

type headerField struct {
	name string
	// raw is the field's lines, each ending in CRLF.
	raw []byte
}

// ReadSubmission reads the header section of the message on r. The header
// section ends at a blank line, or at the first line that is neither a
// field (Name: value) nor the continuation of one; that line then starts
// the body, as in sendmail. A leading mbox "From " line is dropped.
func ReadSubmission(r io.Reader, o SubmitOptions) (*Submission, error) {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxMessageSize
	}
	s := &Submission{Header: &Header{}, r: bufio.NewReaderSize(r, 64<<10), o: o}
	budget := MaxHeaderBytes
	for n := 1; ; n++ {
		line, eof, err := readFullLine(s.r, budget)
		if err != nil {
			return nil, err
		}
		budget -= len(line)
		text := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		switch {
		case len(line) == 0 && eof:
			s.ended = true
			return s, nil
		case o.DotEnds && string(text) == ".":
			s.ended = true
			return s, nil
		case len(text) == 0:
			s.ended = eof
			return s, nil
		case n == 1 && bytes.HasPrefix(text, []byte("From ")):
			// An mbox separator, not a header.
		case text[0] == ' ' || text[0] == '\t':
			if len(s.Header.fields) == 0 {
				s.first, s.ended = text, eof
				return s, nil
			}
			f := &s.Header.fields[len(s.Header.fields)-1]
			f.raw = append(append(f.raw, text...), '\r', '\n')
		default:
			name, ok := fieldName(text)
			if !ok {
				s.first, s.ended = text, eof
				return s, nil
			}
			s.Header.fields = append(s.Header.fields, headerField{name: name, raw: append(append([]byte{}, text...), '\r', '\n')})
		}
		if eof {
			s.ended = true
			return s, nil
		}
	}
}

// readFullLine reads one line (with its LF, if any) of at most budget
// bytes; eof reports that the input ended with it.
func readFullLine(r *bufio.Reader, budget int) (line []byte, eof bool, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > budget {
			return nil, false, &InputError{Field: "message", Problem: fmt.Sprintf("the header section is larger than %s", FormatSize(MaxHeaderBytes)), Hint: "put a blank line between the headers and the body"}
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line, false, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return line, true, nil
		default:
			return nil, false, fmt.Errorf("read the message: %w", err)
		}
	}
}

// fieldName returns the name of a "Name: value" line: printable ASCII
// without spaces or colons (RFC 5322 §2.2).
func fieldName(line []byte) (string, bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return "", false
	}
	for _, c := range line[:i] {
		if c < 33 || c > 126 {
			return "", false
		}
	}
	return string(line[:i]), true
}

// WriteTo writes the message: the header section as it is now, a blank
// line, then the body read from the input, line ends made CRLF, up to the
// end of input or (with DotEnds) a line holding a single dot. It fails with
// ErrorMessageSizeExceeded once more than MaxSize bytes would be written.
func (s *Submission) WriteTo(w io.Writer) (int64, error) {
	cw := &cappedWriter{w: w, left: s.o.MaxSize}
	if _, err := s.Header.WriteTo(cw); err != nil {
		return cw.n, err
	}
	if _, err := cw.Write([]byte("\r\n")); err != nil {
		return cw.n, err
	}
	if s.first != nil {
		if _, err := cw.Write(append(append([]byte{}, s.first...), '\r', '\n')); err != nil {
			return cw.n, err
		}
	}
	if s.ended {
		return cw.n, nil
	}
	err := copyBody(cw, s.r, s.o.DotEnds)
	return cw.n, err
}

// copyBody copies lines from r to w with CRLF line ends, until the end of
// input or, with dotEnds, a line holding a single dot. Lines longer than
// r's buffer pass through in pieces.
func copyBody(w io.Writer, r *bufio.Reader, dotEnds bool) error {
	atStart, pendingCR := true, false
	for {
		chunk, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read the message: %w", err)
		}
		if dotEnds && atStart {
			if t := bytes.TrimSuffix(bytes.TrimSuffix(chunk, []byte("\n")), []byte("\r")); string(t) == "." && (len(t) < len(chunk) || errors.Is(err, io.EOF)) {
				return nil
			}
		}
		var out []byte
		if pendingCR && (len(chunk) == 0 || chunk[0] != '\n') {
			out = append(out, '\r')
		}
		pendingCR = false
		switch {
		case len(chunk) > 0 && chunk[len(chunk)-1] == '\n':
			out = append(out, bytes.TrimSuffix(chunk[:len(chunk)-1], []byte("\r"))...)
			out = append(out, '\r', '\n')
			atStart = true
		case len(chunk) > 0 && chunk[len(chunk)-1] == '\r' && !errors.Is(err, io.EOF):
			// The LF may come with the next piece.
			out = append(out, chunk[:len(chunk)-1]...)
			pendingCR, atStart = true, false
		default:
			out = append(out, chunk...)
			atStart = false
		}
		if errors.Is(err, io.EOF) && !atStart && len(out) > 0 {
			out = append(out, '\r', '\n')
		}
		if len(out) > 0 {
			if _, werr := w.Write(out); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// cappedWriter fails once more than left bytes would be written.
type cappedWriter struct {
	w    io.Writer
	left int64
	n    int64
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		return 0, &Error{Code: CodeMessageSizeExceeded, State: StateError,
			Message: fmt.Sprintf("the message is larger than %s, the most this tenant accepts", FormatSize(int(c.n+c.left))),
			Hint:    "send large files as a link, or raise the limit with --max-message-size if the tenant allows more"}
	}
	n, err := c.w.Write(p)
	c.left -= int64(n)
	c.n += int64(n)
	return n, err
}

// Get returns the unfolded value of the first field named name (any case),
// without the leading space; "" when there is none.
func (h *Header) Get(name string) string {
	for _, f := range h.fields {
		if strings.EqualFold(f.name, name) {
			return f.value()
		}
	}
	return ""
}

// Has reports whether a field named name is present.
func (h *Header) Has(name string) bool {
	for _, f := range h.fields {
		if strings.EqualFold(f.name, name) {
			return true
		}
	}
	return false
}

// Values returns the unfolded values of every field named name.
func (h *Header) Values(name string) []string {
	var out []string
	for _, f := range h.fields {
		if strings.EqualFold(f.name, name) {
			out = append(out, f.value())
		}
	}
	return out
}

// Del removes every field named name.
func (h *Header) Del(name string) {
	kept := h.fields[:0]
	for _, f := range h.fields {
		if !strings.EqualFold(f.name, name) {
			kept = append(kept, f)
		}
	}
	h.fields = kept
}

// Set replaces every field named name by one with value, at the place of
// the first (or at the end). Control characters in value become spaces, so
// a value can never add a field.
func (h *Header) Set(name, value string) {
	value = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, value)
	nf := headerField{name: name, raw: []byte(name + ": " + value + "\r\n")}
	for i, f := range h.fields {
		if strings.EqualFold(f.name, name) {
			h.fields[i] = nf
			rest := &Header{fields: h.fields[i+1:]}
			rest.Del(name)
			h.fields = append(h.fields[:i+1], rest.fields...)
			return
		}
	}
	h.fields = append(h.fields, nf)
}

// Len is the number of fields.
func (h *Header) Len() int { return len(h.fields) }

// WriteTo writes the fields as they are, without the blank line that ends
// the section.
func (h *Header) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for _, f := range h.fields {
		k, err := w.Write(f.raw)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// value unfolds a field's value: CRLFs removed, surrounding space trimmed.
func (f headerField) value() string {
	v := string(f.raw[len(f.name)+1:])
	v = strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", ""), "\n", "")
	return strings.TrimSpace(v)
}

// Addresses returns the addresses of every field named in names, in order,
// each once (compared without case). A field that does not parse is an
// *InputError naming it; groups such as "undisclosed-recipients:;" give
// none.
func (h *Header) Addresses(names ...string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, name := range names {
		for _, v := range h.Values(name) {
			if v == "" {
				continue
			}
			list, err := mail.ParseAddressList(v)
			if err != nil {
				return nil, &InputError{Field: name, Problem: fmt.Sprintf("the %s header does not parse (%s): %s", name, addrProblem(err), quoteLine(v)), Hint: "write addresses as user@example.com or \"Name <user@example.com>\", separated by commas"}
			}
			for _, a := range list {
				if k := strings.ToLower(a.Address); !seen[k] {
					seen[k] = true
					out = append(out, a.Address)
				}
			}
		}
	}
	return out, nil
}
