package flows

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"
)

// AttachmentFile is a file attached to a message WriteMIME composes, read
// as it is written rather than held in memory.
type AttachmentFile struct {
	// Name is the file name the recipient sees.
	Name string
	// ContentType is its media type; empty means AttachmentContentType's
	// guess from Name.
	ContentType string
	// Open opens the file's content.
	Open func() (io.ReadCloser, error)
}

// WriteMIME writes m (From, To, Cc, Subject, Body, HTML; not Bcc, which
// goes in the envelope) and the files as a multipart/mixed RFC 5322
// message, the body and files base64 in 76-column lines, so that a message
// too large for Graph's JSON form can go through Deliver.
func WriteMIME(w io.Writer, m Message, files []AttachmentFile, now time.Time) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	boundary := "mailgrant-" + hex.EncodeToString(rnd[:])
	addrs := func(list []string) string {
		out := make([]string, 0, len(list))
		for _, a := range list {
			if pa, err := mail.ParseAddress(a); err == nil {
				out = append(out, pa.String())
			} else {
				out = append(out, a)
			}
		}
		return strings.Join(out, ", ")
	}
	if m.From != "" {
		fmt.Fprintf(bw, "From: %s\r\n", addrs([]string{m.From}))
	}
	if len(m.To) > 0 {
		fmt.Fprintf(bw, "To: %s\r\n", addrs(m.To))
	}
	if len(m.Cc) > 0 {
		fmt.Fprintf(bw, "Cc: %s\r\n", addrs(m.Cc))
	}
	if len(m.ReplyTo) > 0 {
		fmt.Fprintf(bw, "Reply-To: %s\r\n", addrs(m.ReplyTo))
	}
	fmt.Fprintf(bw, "Subject: %s\r\nDate: %s\r\nMessage-ID: <%s@mailgrant>\r\nMIME-Version: 1.0\r\n", mime.QEncoding.Encode("utf-8", m.Subject), now.Format(time.RFC1123Z), hex.EncodeToString(rnd[:]))
	fmt.Fprintf(bw, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", boundary)
	bodyType := "text/plain; charset=utf-8"
	if m.HTML {
		bodyType = "text/html; charset=utf-8"
	}
	fmt.Fprintf(bw, "--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: base64\r\n\r\n", boundary, bodyType)
	if err := writeBase64Lines(bw, strings.NewReader(m.Body)); err != nil {
		return err
	}
	for _, f := range files {
		ct := f.ContentType
		if ct == "" {
			ct = AttachmentContentType(f.Name)
		}
		fmt.Fprintf(bw, "--%s\r\nContent-Type: %s\r\nContent-Disposition: %s\r\nContent-Transfer-Encoding: base64\r\n\r\n", boundary,
			mime.FormatMediaType(ct, map[string]string{"name": f.Name}), mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
		rc, err := f.Open()
		if err != nil {
			return err
		}
		err = writeBase64Lines(bw, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(bw, "--%s--\r\n", boundary)
	return bw.Flush()
}

// writeBase64Lines writes r's base64 in 76-column lines, each ending in
// CRLF.
func writeBase64Lines(w io.Writer, r io.Reader) error {
	raw := make([]byte, 57*1024)
	enc := make([]byte, 78*1024)
	for {
		n, err := io.ReadFull(r, raw)
		if n > 0 {
			k := 0
			for i := 0; i < n; i += 57 {
				j := min(i+57, n)
				base64.StdEncoding.Encode(enc[k:], raw[i:j])
				k += base64.StdEncoding.EncodedLen(j - i)
				enc[k], enc[k+1] = '\r', '\n'
				k += 2
			}
			if _, werr := w.Write(enc[:k]); werr != nil {
				return werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
