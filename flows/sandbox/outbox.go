package sandbox

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SentFile is a file attachment of a sent message.
type SentFile struct {
	// Name is the attachment's file name.
	Name string
	// ContentType is its media type.
	ContentType string
	// Size is its decoded size in bytes.
	Size int64
	// SHA256 is the hex SHA-256 of its decoded content, for tests to
	// compare with what was sent.
	SHA256 string
}

// OutboxDir is the directory, under a server's StateDir, where each sent
// message is written as an .eml file.
const OutboxDir = "outbox"

// EnvelopeHeader is the header the sandbox adds to each outbox .eml: the
// message's final recipients (To, Cc and Bcc), comma-separated. The message
// itself has no Bcc header, as delivered mail has none.
const EnvelopeHeader = "X-Sandbox-Envelope-To"

// jsonFile is an attachment of a JSON message.
type jsonFile struct {
	name, contentType string
	content           []byte
}

// record adds a sent message to Sent(): its files' checksums, and with a
// StateDir its .eml in the outbox.
func (s *Server) record(msg SentMessage, raw []byte, patched bool, files []*storedFile) {
	if raw != nil {
		msg.Files = mimeFiles(raw)
	}
	for _, f := range msg.jsonFiles {
		sum := sha256.Sum256(f.content)
		msg.Files = append(msg.Files, SentFile{Name: f.name, ContentType: f.contentType, Size: int64(len(f.content)), SHA256: hex.EncodeToString(sum[:])})
	}
	for _, f := range files {
		h := sha256.New()
		if rc, err := s.blobs.open(f.blob); err == nil {
			_, _ = io.Copy(h, rc)
			rc.Close()
		}
		msg.Files = append(msg.Files, SentFile{Name: f.name, ContentType: f.contentType, Size: f.size, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	msg.Attachments = len(msg.Files)
	if s.opts.StateDir != "" {
		if path, err := s.writeOutbox(msg, raw, patched, files); err == nil {
			msg.EML = path
		}
	}
	msg.jsonFiles = nil
	s.mu.Lock()
	s.sent = append(s.sent, msg)
	s.mu.Unlock()
}

// mimeFiles lists the file attachments of a MIME message, walking nested
// multiparts.
func mimeFiles(raw []byte) []SentFile {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil
	}
	var out []SentFile
	var walk func(ct, cte string, r io.Reader, depth int)
	walk = func(ct, cte string, r io.Reader, depth int) {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || !strings.HasPrefix(mt, "multipart/") || depth > 5 {
			return
		}
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			pct := p.Header.Get("Content-Type")
			disp, dparams, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
			_, cparams, _ := mime.ParseMediaType(pct)
			name := dparams["filename"]
			if name == "" {
				name = cparams["name"]
			}
			if !strings.HasPrefix(strings.ToLower(pct), "multipart/") && (disp == "attachment" || name != "") {
				h := sha256.New()
				n, _ := io.Copy(h, decodeTransfer(p.Header.Get("Content-Transfer-Encoding"), p))
				pmt, _, _ := mime.ParseMediaType(pct)
				if dec, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
					name = dec
				}
				out = append(out, SentFile{Name: name, ContentType: pmt, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
				continue
			}
			walk(pct, p.Header.Get("Content-Transfer-Encoding"), p, depth+1)
		}
	}
	walk(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, 0)
	return out
}

// splitHeader splits a message at the blank line after its header.
func splitHeader(raw []byte) (header, body []byte) {
	for _, sep := range []string{"\r\n\r\n", "\n\n"} {
		if i := bytes.Index(raw, []byte(sep)); i >= 0 {
			if j := bytes.Index(raw, []byte("\n\n")); sep == "\r\n\r\n" && j >= 0 && j < i {
				continue
			}
			return raw[:i+len(sep)/2], raw[i+len(sep):]
		}
	}
	return raw, nil
}

// headerFields splits a header section into its fields, each with its
// folded lines and line breaks.
func headerFields(h []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(h))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r") + "\r\n"
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			out[len(out)-1] += line
			continue
		}
		out = append(out, line)
	}
	return out
}

// fieldName is a header field's name, canonical.
func fieldName(f string) string {
	name, _, _ := strings.Cut(f, ":")
	return strings.ToLower(strings.TrimSpace(name))
}

// writeOutbox writes the message as StateDir/outbox/TIME-ID.eml, as it
// would be delivered: no Bcc header, the recipients a PATCH set in To and
// Cc, the attachments added to a draft in a multipart/mixed around the
// original body, and EnvelopeHeader naming every recipient.
func (s *Server) writeOutbox(msg SentMessage, raw []byte, patched bool, files []*storedFile) (string, error) {
	dir := filepath.Join(s.opts.StateDir, OutboxDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, s.now().UTC().Format("20060102T150405.000000000")+"-"+strings.ReplaceAll(randomID(), "-", "")[:12]+".eml")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	w := bufio.NewWriterSize(f, 64<<10)
	all := append(append(append([]string{}, msg.To...), msg.Cc...), msg.Bcc...)
	fmt.Fprintf(w, "%s: %s\r\nX-Sandbox-Mailbox: %s\r\n", EnvelopeHeader, strings.Join(all, ", "), msg.Mailbox)
	extra := len(files)+len(msg.jsonFiles) > 0
	var origCT, origCTE string
	var body []byte
	if raw != nil {
		hdr, b := splitHeader(raw)
		body = b
		for _, fl := range headerFields(hdr) {
			switch n := fieldName(fl); {
			case n == "bcc":
			case patched && (n == "to" || n == "cc"):
			case extra && n == "content-type":
				origCT = strings.TrimSpace(fl[strings.Index(fl, ":")+1:])
			case extra && n == "content-transfer-encoding":
				origCTE = strings.TrimSpace(fl[strings.Index(fl, ":")+1:])
			case extra && n == "mime-version":
			default:
				w.WriteString(fl)
			}
		}
		if patched {
			writeAddressField(w, "To", msg.To)
			writeAddressField(w, "Cc", msg.Cc)
		}
	} else {
		writeAddressField(w, "From", []string{msg.From})
		writeAddressField(w, "To", msg.To)
		writeAddressField(w, "Cc", msg.Cc)
		fmt.Fprintf(w, "Subject: %s\r\nDate: %s\r\n", mime.QEncoding.Encode("utf-8", msg.Subject), s.now().UTC().Format(time.RFC1123Z))
		origCT = "text/plain; charset=utf-8"
		if strings.EqualFold(msg.ContentType, "HTML") {
			origCT = "text/html; charset=utf-8"
		}
		origCTE = "8bit"
		body = []byte(msg.Body)
		if !extra {
			fmt.Fprintf(w, "MIME-Version: 1.0\r\nContent-Type: %s\r\nContent-Transfer-Encoding: 8bit\r\n", origCT)
		}
	}
	if !extra {
		w.WriteString("\r\n")
		w.Write(body)
	} else {
		boundary := "sandbox-" + strings.ReplaceAll(randomID(), "-", "")
		fmt.Fprintf(w, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", boundary)
		if origCT == "" {
			origCT = "text/plain"
		}
		fmt.Fprintf(w, "--%s\r\nContent-Type: %s\r\n", boundary, origCT)
		if origCTE != "" {
			fmt.Fprintf(w, "Content-Transfer-Encoding: %s\r\n", origCTE)
		}
		w.WriteString("\r\n")
		w.Write(body)
		w.WriteString("\r\n")
		for _, jf := range msg.jsonFiles {
			writeFilePart(w, boundary, jf.name, jf.contentType, "", bytes.NewReader(jf.content))
		}
		for _, sf := range files {
			rc, err := s.blobs.open(sf.blob)
			if err != nil {
				continue
			}
			writeFilePart(w, boundary, sf.name, sf.contentType, sf.contentID, rc)
			rc.Close()
		}
		fmt.Fprintf(w, "--%s--\r\n", boundary)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}

// writeAddressField writes To: or Cc: with addresses, nothing for none.
func writeAddressField(w io.Writer, name string, addrs []string) {
	if len(addrs) == 0 {
		return
	}
	fmt.Fprintf(w, "%s: %s\r\n", name, strings.Join(addrs, ", "))
}

// writeFilePart writes an attachment part, base64 in 76-column lines.
func writeFilePart(w io.Writer, boundary, name, contentType, contentID string, r io.Reader) {
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	fmt.Fprintf(w, "--%s\r\nContent-Type: %s\r\nContent-Disposition: %s\r\nContent-Transfer-Encoding: base64\r\n", boundary,
		mime.FormatMediaType(contentType, map[string]string{"name": name}), mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	if contentID != "" {
		fmt.Fprintf(w, "Content-ID: <%s>\r\n", contentID)
	}
	io.WriteString(w, "\r\n")
	lw := &lineWrapper{w: w}
	enc := base64.NewEncoder(base64.StdEncoding, lw)
	_, _ = io.Copy(enc, r)
	_ = enc.Close()
	if lw.col > 0 {
		io.WriteString(w, "\r\n")
	}
}

// lineWrapper breaks what it writes into 76-column lines.
type lineWrapper struct {
	w   io.Writer
	col int
}

func (l *lineWrapper) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(76-l.col, len(p))
		if _, err := l.w.Write(p[:k]); err != nil {
			return n, err
		}
		n += k
		l.col += k
		p = p[k:]
		if l.col == 76 {
			if _, err := io.WriteString(l.w, "\r\n"); err != nil {
				return n, err
			}
			l.col = 0
		}
	}
	return n, nil
}

// mimeType parses a Content-Type header.
func mimeType(ct string) (string, map[string]string, error) {
	return mime.ParseMediaType(ct)
}

// decodeBase64Body decodes a base64 request body, ignoring line breaks.
func decodeBase64Body(body []byte) ([]byte, error) {
	compact := bytes.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, body)
	return base64.StdEncoding.DecodeString(string(compact))
}
