package flows

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mailgrant/mailgrant/store"
)

// MaxAttachmentBytes is the most attachment data (before base64) that one
// JSON sendMail request may carry. Graph refuses requests above about 4 MB,
// and base64 makes data a third larger, so about 3 MB of files fit
// (reference §9; larger files need an upload session, which mailgrant does
// not do, or a MIME message).
const MaxAttachmentBytes = 3 << 20

// MaxJSONRequest is the size of a JSON sendMail request mailgrant refuses to
// send: Graph's request limit of about 4 MB.
const MaxJSONRequest = 4 << 20

// MaxMIMEBytes is the largest MIME message mailgrant sends: Exchange
// Online's default maximum message size, 35 MB.
const MaxMIMEBytes = 35 << 20

// Attachment is a file attached to a JSON message, sent as a
// #microsoft.graph.fileAttachment.
type Attachment struct {
	// Name is the file name the recipient sees.
	Name string
	// ContentType is the file's media type; empty means the type
	// AttachmentContentType guesses from Name.
	ContentType string
	// Content is the file's bytes.
	Content []byte
}

// AttachmentContentType guesses a file's media type from its extension,
// falling back to application/octet-stream.
func AttachmentContentType(name string) string {
	if t := mime.TypeByExtension(filepath.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Message is a mail to send through Graph: either fields that mailgrant
// turns into Graph's JSON message, or a whole RFC 5322 message in MIME.
type Message struct {
	// From is the mailbox to send as; empty means the signed-in user
	// (delegated). App-only tokens must name it.
	From string
	// To, Cc and Bcc are recipient addresses, bare (a@example.com) or with a
	// name ("Ann Lee" <a@example.com>). MIME messages carry their own.
	To, Cc, Bcc []string
	// Subject is the subject line.
	Subject string
	// Body is the text (or HTML when HTML is set).
	Body string
	// HTML marks Body as HTML.
	HTML bool
	// Attachments are files to attach, at most MaxAttachmentBytes in all.
	Attachments []Attachment
	// MIME, when set, is a whole RFC 5322 message that is sent as it is
	// (base64, Content-Type text/plain); every field above except From is
	// then ignored, since the message has its own headers.
	MIME []byte
	// ReplyTo are the addresses replies go to (message.replyTo); empty
	// means the sender.
	ReplyTo []string
	// SkipSentItems asks Graph not to keep a copy in Sent Items
	// (saveToSentItems false). Graph's MIME form cannot say this.
	SkipSentItems bool
}

// Validate checks a message before anything is sent: addresses parse, there
// is a recipient, the attachments fit in one request, and a MIME message
// parses (see ParseMIME). Its errors are *InputError naming the flag.
func (m Message) Validate() error {
	if m.From != "" {
		if _, err := mail.ParseAddress(m.From); err != nil {
			return &InputError{Field: "from", Problem: fmt.Sprintf("%q is not an email address (%s)", m.From, addrProblem(err)), Hint: "give the mailbox's address, such as info@contoso.com"}
		}
	}
	if m.MIME != nil {
		if m.SkipSentItems {
			return &InputError{Field: "save-to-sent", Problem: "a MIME message cannot be kept out of Sent Items", Hint: "Graph's MIME form has no saveToSentItems; drop --save-to-sent=false or send without --mime"}
		}
		_, err := ParseMIME(m.MIME)
		return err
	}
	for _, l := range []struct {
		field string
		addrs []string
	}{{"to", m.To}, {"cc", m.Cc}, {"bcc", m.Bcc}, {"reply-to", m.ReplyTo}} {
		for _, a := range l.addrs {
			if _, err := mail.ParseAddress(a); err != nil {
				return &InputError{Field: l.field, Problem: fmt.Sprintf("%q is not an email address (%s)", a, addrProblem(err)), Hint: "give one address per --" + l.field + ", such as ann@contoso.com or \"Ann Lee <ann@contoso.com>\""}
			}
		}
	}
	if len(m.To)+len(m.Cc)+len(m.Bcc) == 0 {
		return &InputError{Field: "to", Problem: "no recipient", Hint: "give at least one --to ADDRESS"}
	}
	total, request := 0, JSONTextLen(m.Body)+JSONTextLen(m.Subject)
	for _, a := range m.Attachments {
		total += len(a.Content)
		request += base64.StdEncoding.EncodedLen(len(a.Content))
		if total > MaxAttachmentBytes {
			what := fmt.Sprintf("%s (%s)", a.Name, FormatSize(len(a.Content)))
			if total != len(a.Content) {
				what = fmt.Sprintf("%s brings the attachments to %s, which is", what, FormatSize(total))
			} else {
				what += " is"
			}
			return &InputError{Field: "attach", Problem: what + " too large for a single request (Graph's limit is about 3 MB of attachments)", Hint: "send it with --mime or as a link"}
		}
	}
	if request > MaxJSONRequest {
		return &InputError{Field: "body-file", Problem: fmt.Sprintf("the message (%s with its attachments encoded) is too large for a single request (Graph's limit is about 4 MB)", FormatSize(request)), Hint: "send it with --mime, or put large content behind a link"}
	}
	return nil
}

// JSONTextLen is how many bytes s takes in a JSON request: HTML's <, > and
// & become six bytes each, as do control characters, and quotes and line
// breaks two. A 1 MB HTML report can be well over a megabyte more in JSON.
func JSONTextLen(s string) int {
	b, err := json.Marshal(s)
	if err != nil {
		return len(s) * 6
	}
	return len(b)
}

// addrProblem is net/mail's reason without its "mail: " prefix.
func addrProblem(err error) string {
	return strings.TrimPrefix(err.Error(), "mail: ")
}

// FormatSize writes a byte count the way the limits are stated: 2.5 MB,
// 812 KB, 17 bytes.
func FormatSize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", (n+1<<9)>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// jsonRecipient is Graph's recipient shape.
type jsonRecipient struct {
	EmailAddress struct {
		Address string `json:"address"`
		Name    string `json:"name,omitempty"`
	} `json:"emailAddress"`
}

// recipient turns "Ann <a@b>" or "a@b" into a Graph recipient. Addresses
// were checked by Validate.
func recipient(s string) jsonRecipient {
	var r jsonRecipient
	if a, err := mail.ParseAddress(s); err == nil {
		r.EmailAddress.Address, r.EmailAddress.Name = a.Address, a.Name
	} else {
		r.EmailAddress.Address = s
	}
	return r
}

func recipients(in []string) []jsonRecipient {
	out := make([]jsonRecipient, len(in))
	for i, a := range in {
		out[i] = recipient(a)
	}
	return out
}

// jsonAttachment is a #microsoft.graph.fileAttachment.
type jsonAttachment struct {
	ODataType    string `json:"@odata.type"`
	Name         string `json:"name"`
	ContentType  string `json:"contentType"`
	ContentBytes string `json:"contentBytes"`
}

// sendMailRequest is the JSON body of sendMail (reference §9).
type sendMailRequest struct {
	Message struct {
		Subject string `json:"subject"`
		Body    struct {
			ContentType string `json:"contentType"`
			Content     string `json:"content"`
		} `json:"body"`
		From        *jsonRecipient   `json:"from,omitempty"`
		To          []jsonRecipient  `json:"toRecipients"`
		Cc          []jsonRecipient  `json:"ccRecipients,omitempty"`
		Bcc         []jsonRecipient  `json:"bccRecipients,omitempty"`
		ReplyTo     []jsonRecipient  `json:"replyTo,omitempty"`
		Attachments []jsonAttachment `json:"attachments,omitempty"`
	} `json:"message"`
	// SaveToSentItems is sent only to say false; Graph's default is true.
	SaveToSentItems *bool `json:"saveToSentItems,omitempty"`
}

// jsonBody builds the JSON request for a message.
func (m Message) jsonBody() ([]byte, error) {
	var req sendMailRequest
	req.Message.Subject = m.Subject
	req.Message.Body.ContentType = "Text"
	if m.HTML {
		req.Message.Body.ContentType = "HTML"
	}
	req.Message.Body.Content = m.Body
	if m.From != "" {
		from := recipient(m.From)
		req.Message.From = &from
	}
	req.Message.To, req.Message.Cc, req.Message.Bcc = recipients(m.To), recipients(m.Cc), recipients(m.Bcc)
	if len(m.ReplyTo) > 0 {
		req.Message.ReplyTo = recipients(m.ReplyTo)
	}
	for _, a := range m.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = AttachmentContentType(a.Name)
		}
		req.Message.Attachments = append(req.Message.Attachments, jsonAttachment{
			ODataType: "#microsoft.graph.fileAttachment", Name: a.Name, ContentType: ct,
			ContentBytes: base64.StdEncoding.EncodeToString(a.Content),
		})
	}
	if m.SkipSentItems {
		f := false
		req.SaveToSentItems = &f
	}
	return json.Marshal(req)
}

// SendMail sends a message. Delegated tokens use /me/sendMail unless From
// names another mailbox; app-only tokens need From. A MIME message is sent
// base64-encoded with Content-Type text/plain (reference §9). Throttled
// (429) and unavailable (503) answers are retried after Retry-After.
func (e *Env) SendMail(ctx context.Context, token string, appOnly bool, m Message) error {
	if appOnly && m.From == "" {
		return &InputError{Field: "from", Problem: "is empty", Hint: "app-only profiles must name the mailbox to send as"}
	}
	if err := m.Validate(); err != nil {
		return err
	}
	path := "me/sendMail"
	if m.From != "" {
		addr := m.From
		if a, err := mail.ParseAddress(m.From); err == nil {
			addr = a.Address
		}
		path = "users/" + pathEscape(addr) + "/sendMail"
	}
	var body []byte
	contentType := "application/json"
	if m.MIME != nil {
		body = make([]byte, base64.StdEncoding.EncodedLen(len(m.MIME)))
		base64.StdEncoding.Encode(body, m.MIME)
		contentType = "text/plain"
	} else {
		var err error
		if body, err = m.jsonBody(); err != nil {
			return err
		}
	}
	_, _, err := e.graphCall(ctx, http.MethodPost, path, token, contentType, body)
	return err
}

// pathEscape escapes a mailbox address for a Graph path segment.
func pathEscape(s string) string {
	var b bytes.Buffer
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '@' || c == '.' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// Send sends a message for a stored profile with a token from AccessToken.
// An app-only profile sends as m.From or, when it is empty, as the profile's
// account; a delegated profile sends as the signed-in user unless m.From
// names another mailbox, which needs Mail.Send.Shared and Send As (or Send on
// Behalf) rights: a refusal says which of the two is missing.
func Send(ctx context.Context, env *Env, p store.Profile, tok *Token, m Message) error {
	env = env.ForProfile(p)
	appOnly := !p.Scenario.Delegated()
	if appOnly && m.From == "" {
		if p.Account == "" {
			return &InputError{Field: "from", Problem: "no mailbox to send as", Hint: "app-only profiles send as a mailbox: give --from MAILBOX"}
		}
		m.From = p.Account
	}
	if !appOnly && sameAddress(m.From, p.Account) {
		m.From = ""
	}
	err := env.SendMail(ctx, tok.AccessToken, appOnly, m)
	var fe *Error
	if !errors.As(err, &fe) {
		return err
	}
	c := *fe
	switch {
	case c.Code == CodeSendAsDenied && !appOnly && m.From != "":
		shared := "the profile's token carries Mail.Send.Shared, so the Exchange rights are what is missing"
		if !slices.ContainsFunc(tok.Scopes, func(s string) bool { return strings.EqualFold(s, "Mail.Send.Shared") }) {
			shared = "the profile's token lacks Mail.Send.Shared: add it to the profile's permissions and run mailgrant reauth PROFILE"
		}
		c.Message = fmt.Sprintf("%s may not send as %s", p.Account, m.From)
		c.Hint = fmt.Sprintf("sending as another mailbox needs the delegated permission Mail.Send.Shared and, in Exchange, Send As or Send on Behalf for %s on %s (Add-RecipientPermission -Identity %s -Trustee %s -AccessRights SendAs; Full Access too, for its Sent Items); %s",
			p.Account, m.From, m.From, p.Account, shared)
	case c.Code == CodeGraphAccessDenied && p.Scenario == store.RBAC:
		c.Message = fmt.Sprintf("Graph refused a send as %s", m.From)
		c.Hint = fmt.Sprintf("%s is outside the app's Exchange RBAC scope (or the change has not reached Graph yet: allow up to 2 hours); check with Test-ServicePrincipalAuthorization -Resource %s", m.From, m.From)
	}
	return &c
}

// sameAddress reports whether two addresses name the same mailbox.
func sameAddress(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	pa, err1 := mail.ParseAddress(a)
	pb, err2 := mail.ParseAddress(b)
	if err1 != nil || err2 != nil {
		return strings.EqualFold(a, b)
	}
	return strings.EqualFold(pa.Address, pb.Address)
}

// MIMESummary is what ParseMIME found in a message's headers.
type MIMESummary struct {
	// From is the From header's first address, if any.
	From string
	// To, Cc and Bcc are the recipients' addresses.
	To, Cc, Bcc []string
	// Subject is the decoded Subject header.
	Subject string
}

// Recipients is the number of recipients.
func (s *MIMESummary) Recipients() int { return len(s.To) + len(s.Cc) + len(s.Bcc) }

// maxMIMEDepth bounds how deeply ParseMIME follows nested multiparts.
const maxMIMEDepth = 10

// ParseMIME checks that raw is an RFC 5322 message Graph can send: at most
// MaxMIMEBytes, a header section of Name: value lines, address headers that
// parse, at least one recipient, and a body whose multipart structure and
// base64 or quoted-printable parts decode. Its errors are *InputError with
// Field "mime" saying which line, header or part is wrong.
func ParseMIME(raw []byte) (*MIMESummary, error) {
	bad := func(format string, args ...any) error {
		return &InputError{Field: "mime", Problem: fmt.Sprintf(format, args...), Hint: "give a whole RFC 5322 message (headers, a blank line, the body), such as a .eml file; or send without --mime"}
	}
	if len(raw) > MaxMIMEBytes {
		return nil, bad("the message is %s; the most Exchange Online accepts is %s", FormatSize(len(raw)), FormatSize(MaxMIMEBytes))
	}
	return ParseMIMEAt(bytes.NewReader(raw), int64(len(raw)))
}

// maxHeaderLine bounds one line of a header section.
const maxHeaderLine = 1 << 20

// scanHeaderLinesFrom checks the header section read from r line by line,
// so that an error can name the line: each is "Name: value" or a folded
// continuation.
func scanHeaderLinesFrom(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxHeaderLine)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			if n == 1 {
				return errors.New("line 1 is blank: the message has no headers")
			}
			return nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			if n == 1 {
				return errors.New("line 1 starts with white space, but a message starts with a header such as From or To")
			}
			continue
		}
		name, _, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.IndexFunc(name, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
			if n == 1 {
				return fmt.Errorf("line 1 is not a header (Name: value): %s; this does not look like a MIME message", quoteLine(line))
			}
			return fmt.Errorf("line %d is not a header (Name: value) and no blank line comes before it: %s", n, quoteLine(line))
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return fmt.Errorf("a line of the header section is longer than %d KB", maxHeaderLine>>10)
	}
	return nil
}

// quoteLine quotes a line for an error, shortened.
func quoteLine(s string) string {
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// checkMIMEPart checks that a part's Content-Type parses, a multipart's
// parts can be read, and base64 and quoted-printable content decodes.
func checkMIMEPart(what, contentType, encoding string, r io.Reader, depth int) error {
	mt := "text/plain"
	var params map[string]string
	if contentType != "" {
		var err error
		if mt, params, err = mime.ParseMediaType(contentType); err != nil {
			return fmt.Errorf("%s: the Content-Type %s does not parse: %v", what, quoteLine(contentType), err)
		}
	}
	if !strings.HasPrefix(mt, "multipart/") {
		var dec io.Reader
		switch enc := strings.ToLower(strings.TrimSpace(encoding)); enc {
		case "base64":
			dec = base64.NewDecoder(base64.StdEncoding, lineJoiner{r})
		case "quoted-printable":
			dec = quotedprintable.NewReader(r)
		case "", "7bit", "8bit", "binary":
			dec = r
		default:
			return fmt.Errorf("%s: unknown Content-Transfer-Encoding %q", what, encoding)
		}
		if _, err := io.Copy(io.Discard, dec); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%s: the message ends inside it (is a closing boundary missing?)", what)
			}
			return fmt.Errorf("%s: its %s content does not decode: %v", what, strings.ToLower(encoding), err)
		}
		return nil
	}
	if depth >= maxMIMEDepth {
		return fmt.Errorf("%s: multiparts are nested more than %d deep", what, maxMIMEDepth)
	}
	if params["boundary"] == "" {
		return fmt.Errorf("%s: the %s Content-Type has no boundary parameter", what, mt)
	}
	mr := multipart.NewReader(r, params["boundary"])
	for i := 1; ; i++ {
		p, err := mr.NextRawPart()
		// Only a bare io.EOF is the closing boundary; a wrapped one means
		// the input ended inside the multipart.
		if err == io.EOF && i > 1 { //nolint:errorlint
			return nil
		}
		if err != nil && i == 1 {
			return fmt.Errorf("%s: the %s has no parts (no line --%s)", what, mt, params["boundary"])
		}
		if err != nil {
			return fmt.Errorf("%s: part %d cannot be read (is the closing --%s-- missing?): %v", what, i, params["boundary"], err)
		}
		name := fmt.Sprintf("part %d", i)
		if what != "the body" {
			name = what + ", " + name
		}
		if _, dp, err := mime.ParseMediaType(p.Header.Get("Content-Disposition")); err == nil && dp["filename"] != "" {
			name += fmt.Sprintf(" (%s)", dp["filename"])
		}
		if err := checkMIMEPart(name, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1); err != nil {
			return err
		}
	}
}

// lineJoiner drops CR, LF, spaces and tabs so that base64 wrapped at 76
// columns decodes.
type lineJoiner struct{ r io.Reader }

func (l lineJoiner) Read(p []byte) (int, error) {
	for {
		k, err := l.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
