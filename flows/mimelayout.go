package flows

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
)

// This file reads a message's structure from an io.ReaderAt without
// holding it in memory: where its top-level parts start and end, so that
// large attachments can be cut out of the MIME sent as a draft and uploaded
// on their own, decoded on the fly.

// maxPartHeader bounds a part's header section.
const maxPartHeader = 64 << 10

// mimePart is one top-level part of a multipart message, by byte offsets.
type mimePart struct {
	// delim is where its delimiter line (--boundary) starts.
	delim int64
	// body is where its content starts, after its header section.
	body int64
	// end is where its content ends: the line break before the next
	// delimiter belongs to that delimiter (RFC 2046 §5.1.1).
	end int64
	// next is where the next delimiter line starts.
	next int64
	// header is the part's header.
	header textproto.MIMEHeader
}

// mimeLayout is the top-level structure of a message.
type mimeLayout struct {
	// header is the message's header.
	header textproto.MIMEHeader
	// body is where the message's body starts.
	body int64
	// mediaType is the body's media type, lower case.
	mediaType string
	// parts are the top-level parts of a multipart body.
	parts []mimePart
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// scanLayout reads the header section and, for a multipart body, the
// offsets and headers of its top-level parts.
func scanLayout(r io.ReaderAt, size int64) (*mimeLayout, error) {
	bad := func(format string, args ...any) error {
		return &InputError{Field: "mime", Problem: fmt.Sprintf(format, args...), Hint: "give a whole RFC 5322 message (headers, a blank line, the body)"}
	}
	cr := &countingReader{r: io.NewSectionReader(r, 0, size)}
	br := bufio.NewReader(cr)
	h, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, bad("the header section does not parse: %v", err)
	}
	l := &mimeLayout{header: h, body: cr.n - int64(br.Buffered()), mediaType: "text/plain"}
	if ct := h.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, bad("the Content-Type %s does not parse: %v", quoteLine(ct), err)
		}
		l.mediaType = mt
		if strings.HasPrefix(mt, "multipart/") {
			if params["boundary"] == "" {
				return nil, bad("the %s Content-Type has no boundary parameter", mt)
			}
			if l.parts, err = scanParts(r, l.body, size, params["boundary"]); err != nil {
				return nil, bad("%v", err)
			}
		}
	}
	return l, nil
}

// delimiterKind says whether line is "--boundary" (1), "--boundary--" (2)
// or neither (0), allowing trailing white space.
func delimiterKind(line []byte, boundary string) int {
	rest, ok := bytes.CutPrefix(line, []byte("--"+boundary))
	if !ok {
		return 0
	}
	rest = bytes.TrimRight(rest, " \t\r\n")
	switch string(rest) {
	case "":
		return 1
	case "--":
		return 2
	}
	return 0
}

// scanParts finds the top-level parts of a multipart body starting at off.
func scanParts(r io.ReaderAt, off, size int64, boundary string) ([]mimePart, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, off, size-off), 64<<10)
	var parts []mimePart
	var cur *mimePart
	var hdr bytes.Buffer
	inHeader := false
	atStart := true
	prevBreak := int64(0)
	for {
		frag, err := br.ReadSlice('\n')
		start := off
		off += int64(len(frag))
		if len(frag) > 0 {
			kind := 0
			if atStart && bytes.HasPrefix(frag, []byte("--")) {
				kind = delimiterKind(frag, boundary)
			}
			switch {
			case kind != 0:
				if cur != nil {
					if inHeader {
						cur.body = start
					}
					cur.end, cur.next = start-prevBreak, start
					if cur.end < cur.body {
						cur.end = cur.body
					}
					parts = append(parts, *cur)
					cur = nil
				}
				if kind == 2 {
					return parts, nil
				}
				cur = &mimePart{delim: start}
				inHeader = true
				hdr.Reset()
			case inHeader && atStart && (string(frag) == "\r\n" || string(frag) == "\n"):
				h, herr := textproto.NewReader(bufio.NewReader(io.MultiReader(bytes.NewReader(hdr.Bytes()), strings.NewReader("\r\n")))).ReadMIMEHeader()
				if herr != nil {
					return nil, fmt.Errorf("part %d: its header does not parse: %v", len(parts)+1, herr)
				}
				cur.header, cur.body = h, off
				inHeader = false
			case inHeader:
				if hdr.Len()+len(frag) > maxPartHeader {
					return nil, fmt.Errorf("part %d: its header section is longer than %d KB", len(parts)+1, maxPartHeader>>10)
				}
				hdr.Write(frag)
			}
			if frag[len(frag)-1] == '\n' {
				prevBreak = 1
				if len(frag) >= 2 && frag[len(frag)-2] == '\r' {
					prevBreak = 2
				}
			} else {
				prevBreak = 0
			}
		}
		atStart = !errors.Is(err, bufio.ErrBufferFull)
		if errors.Is(err, io.EOF) {
			if len(parts) == 0 && cur == nil {
				return nil, fmt.Errorf("the multipart has no parts (no line --%s)", boundary)
			}
			return nil, fmt.Errorf("the message ends inside part %d (is the closing --%s-- missing?)", len(parts)+1, boundary)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
}

// isAttachment reports whether a top-level part is a file attachment that
// may be cut out and attached separately: disposition attachment, or a file
// name without disposition inline. Inline parts stay as written.
func (p mimePart) isAttachment() bool {
	if strings.HasPrefix(strings.ToLower(p.header.Get("Content-Type")), "multipart/") {
		return false
	}
	disp, params, _ := mime.ParseMediaType(p.header.Get("Content-Disposition"))
	if disp == "inline" {
		return false
	}
	return disp == "attachment" || params["filename"] != "" || p.contentTypeParam("name") != ""
}

func (p mimePart) contentTypeParam(name string) string {
	_, params, _ := mime.ParseMediaType(p.header.Get("Content-Type"))
	return params[name]
}

// fileName is the part's file name, decoded, or fallback.
func (p mimePart) fileName(fallback string) string {
	_, params, _ := mime.ParseMediaType(p.header.Get("Content-Disposition"))
	name := params["filename"]
	if name == "" {
		name = p.contentTypeParam("name")
	}
	if dec, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
		name = dec
	}
	if strings.TrimSpace(name) == "" {
		return fallback
	}
	return name
}

// contentType is the part's media type without parameters.
func (p mimePart) contentType() string {
	mt, _, err := mime.ParseMediaType(p.header.Get("Content-Type"))
	if err != nil || mt == "" {
		return "application/octet-stream"
	}
	return mt
}

// contentID is the part's Content-ID without angle brackets.
func (p mimePart) contentID() string {
	return strings.Trim(strings.TrimSpace(p.header.Get("Content-ID")), "<>")
}

// decoded returns a reader of the part's content with its
// Content-Transfer-Encoding undone.
func (p mimePart) decoded(r io.ReaderAt) (io.Reader, error) {
	raw := io.NewSectionReader(r, p.body, p.end-p.body)
	switch enc := strings.ToLower(strings.TrimSpace(p.header.Get("Content-Transfer-Encoding"))); enc {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, lineJoiner{raw}), nil
	case "quoted-printable":
		return quotedprintable.NewReader(raw), nil
	case "", "7bit", "8bit", "binary":
		return raw, nil
	default:
		return nil, fmt.Errorf("unknown Content-Transfer-Encoding %q", enc)
	}
}

// decodedSize reads the part's content once to learn its decoded size.
func (p mimePart) decodedSize(r io.ReaderAt) (int64, error) {
	dec, err := p.decoded(r)
	if err != nil {
		return 0, err
	}
	return io.Copy(io.Discard, dec)
}

// segment is a piece of a message assembled from byte ranges of another
// message and literal text.
type segment struct {
	off, n  int64
	literal []byte
}

// segments is a message assembled from pieces.
type segments []segment

func (s segments) size() int64 {
	var n int64
	for _, g := range s {
		if g.literal != nil {
			n += int64(len(g.literal))
		} else {
			n += g.n
		}
	}
	return n
}

// reader reads the assembled message from r.
func (s segments) reader(r io.ReaderAt) io.Reader {
	rs := make([]io.Reader, 0, len(s))
	for _, g := range s {
		if g.literal != nil {
			rs = append(rs, bytes.NewReader(g.literal))
		} else {
			rs = append(rs, io.NewSectionReader(r, g.off, g.n))
		}
	}
	return io.MultiReader(rs...)
}

// without assembles the message minus the given top-level parts (each from
// its delimiter line to the next). When every part goes, an empty text
// part keeps the multipart valid.
func without(size int64, parts []mimePart, drop map[int]bool, boundary string) segments {
	var out segments
	pos := int64(0)
	kept := 0
	for i, p := range parts {
		if !drop[i] {
			kept++
			continue
		}
		if p.delim > pos {
			out = append(out, segment{off: pos, n: p.delim - pos})
		}
		pos = p.next
	}
	if kept == 0 && len(parts) > 0 {
		out = append(out, segment{literal: []byte("--" + boundary + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\r\n")})
	}
	if size > pos {
		out = append(out, segment{off: pos, n: size - pos})
	}
	return out
}

// ParseMIMEAt is ParseMIME for a message read from r as needed (size bytes)
// rather than held in memory; it does not check the size, which the caller
// compares with the tenant's limit.
func ParseMIMEAt(r io.ReaderAt, size int64) (*MIMESummary, error) {
	return parseMIMEAt(r, size, true)
}

// parseMIMEAt is ParseMIMEAt; needRecipients false accepts a message
// without To, Cc or Bcc (its recipients come from an envelope).
func parseMIMEAt(r io.ReaderAt, size int64, needRecipients bool) (*MIMESummary, error) {
	bad := func(format string, args ...any) error {
		return &InputError{Field: "mime", Problem: fmt.Sprintf(format, args...), Hint: "give a whole RFC 5322 message (headers, a blank line, the body), such as a .eml file; or send without --mime"}
	}
	if size == 0 || onlySpace(io.NewSectionReader(r, 0, size)) {
		return nil, bad("the message is empty")
	}
	if err := scanHeaderLinesFrom(io.NewSectionReader(r, 0, size)); err != nil {
		return nil, bad("%s", err)
	}
	msg, err := mail.ReadMessage(bufio.NewReader(io.NewSectionReader(r, 0, size)))
	if err != nil {
		return nil, bad("the header section does not parse: %v", err)
	}
	s := &MIMESummary{}
	for _, h := range []struct {
		name string
		dst  *[]string
	}{{"To", &s.To}, {"Cc", &s.Cc}, {"Bcc", &s.Bcc}, {"From", nil}, {"Sender", nil}, {"Reply-To", nil}} {
		if msg.Header.Get(h.name) == "" {
			continue
		}
		list, err := msg.Header.AddressList(h.name)
		if err != nil {
			return nil, bad("the %s header: %s", h.name, addrProblem(err))
		}
		for _, a := range list {
			if h.dst != nil {
				*h.dst = append(*h.dst, a.Address)
			} else if h.name == "From" && s.From == "" {
				s.From = a.Address
			}
		}
	}
	if s.Recipients() == 0 && needRecipients {
		return nil, bad("no recipient: the message has no To, Cc or Bcc address")
	}
	dec := new(mime.WordDecoder)
	if s.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		s.Subject = msg.Header.Get("Subject")
	}
	if err := checkMIMEPart("the body", msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0); err != nil {
		return nil, bad("%s", err)
	}
	return s, nil
}

// onlySpace reports whether r holds nothing but white space.
func onlySpace(r io.Reader) bool {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if len(bytes.TrimSpace(buf[:n])) > 0 {
			return false
		}
		if err != nil {
			return true
		}
	}
}
