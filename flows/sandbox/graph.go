package sandbox

import (
	"bytes"
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
	"slices"
	"strings"
	"time"
)

// maxGraphBody caps what the sandbox decodes of one message body.
const maxGraphBody = 35 << 20

// SentMessage is a message Graph accepted with 202 (reference §9). Accepted
// is not delivered: the sandbox delivers nothing, it only records.
type SentMessage struct {
	// Mailbox is the mailbox whose sendMail was called: the signed-in user
	// for /me/sendMail, else the {id|upn} of /users/{id|upn}/sendMail, as its
	// UPN.
	Mailbox string
	// From is the message's from address: message.from (or the MIME From
	// header) when set, else Mailbox.
	From string
	// To, Cc and Bcc are the recipients' addresses.
	To, Cc, Bcc []string
	// Subject is the decoded subject.
	Subject string
	// Body is the body's content (for MIME, the first text part, decoded).
	Body string
	// ContentType is the body's type: "Text" or "HTML" for JSON messages,
	// the MIME type of the body part for MIME ones.
	ContentType string
	// MIME is true when the message came as base64 MIME (Content-Type:
	// text/plain) rather than JSON.
	MIME bool
	// AppOnly is true when an app-only (client credentials) token sent it.
	AppOnly bool
	// ClientID is the application that sent it (the token's appid).
	ClientID string
	// Attachments is the number of file attachments.
	Attachments int
	// SaveToSentItems is the request's saveToSentItems (default true).
	SaveToSentItems bool
	// ReplyTo are the message's Reply-To addresses (message.replyTo or the
	// MIME Reply-To header).
	ReplyTo []string
	// Draft is true when the message was sent as a draft (POST
	// .../messages/{id}/send) rather than with sendMail.
	Draft bool
	// Files are the message's file attachments with their checksums.
	Files []SentFile
	// EML is the path of the message's copy in the outbox
	// (StateDir/outbox); "" when the server has no StateDir.
	EML string

	jsonFiles []jsonFile
}

// Sent returns a copy of the messages Graph has accepted so far, oldest
// first.
func (s *Server) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SentMessage, len(s.sent))
	for i, m := range s.sent {
		m.To, m.Cc, m.Bcc, m.Files = slices.Clone(m.To), slices.Clone(m.Cc), slices.Clone(m.Bcc), slices.Clone(m.Files)
		out[i] = m
	}
	return out
}

// graphError is a Graph error: status, code and message (reference §9).
type graphError struct {
	Status  int
	Code    string
	Message string
}

// Graph's codes for an unknown user: the directory's, and Exchange's when
// the user was named as a mailbox. The sandbox answers with the latter where
// Graph does.
const (
	codeUserNotFound = "Request_ResourceNotFound"
	codeInvalidUser  = "ErrorInvalidUser"
)

func gerr(status int, code, format string, args ...any) *graphError {
	return &graphError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Common Graph errors.
var (
	errAccessDenied = &graphError{Status: http.StatusForbidden, Code: "ErrorAccessDenied", Message: "Access is denied. Check credentials and try again."}
	errODataDenied  = &graphError{Status: http.StatusForbidden, Code: "ErrorAccessDenied", Message: "Access to OData is disabled."}
	errSendAsDenied = &graphError{Status: http.StatusForbidden, Code: "ErrorSendAsDenied", Message: "The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message."}
	errNoMailbox    = &graphError{Status: http.StatusNotFound, Code: "MailboxNotEnabledForRESTAPI", Message: "REST API is not yet supported for this mailbox."}
	errMeAppOnly    = &graphError{Status: http.StatusBadRequest, Code: "BadRequest", Message: "/me request is only valid with delegated authentication flow."}
)

// writeGraphError answers with e in Graph's JSON shape.
func (s *Server) writeGraphError(w http.ResponseWriter, r *http.Request, e *graphError) {
	reqID := randomID()
	clientReqID := r.Header.Get("client-request-id")
	if !guidPattern.MatchString(clientReqID) {
		clientReqID = reqID
	}
	w.Header().Set("request-id", reqID)
	w.Header().Set("client-request-id", clientReqID)
	writeJSON(w, e.Status, map[string]any{
		"error": map[string]any{
			"code":    e.Code,
			"message": e.Message,
			"innerError": map[string]any{
				"date":              s.now().UTC().Format("2006-01-02T15:04:05"),
				"request-id":        reqID,
				"client-request-id": clientReqID,
			},
		},
	})
}

// serveGraph serves /v1.0/…: the request size limit, throttling, the
// bearer token, the per-mailbox concurrency limit, latency, then /me,
// /users/{id|upn}, their sendMail and their messages (drafts).
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request, segs []string) {
	if ge := s.limitRequest(r); ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	if s.throttled() {
		w.Header().Set("Retry-After", "1")
		s.writeGraphError(w, r, gerr(http.StatusTooManyRequests, "TooManyRequests", "Too many requests are being made. Please retry after the time given in Retry-After."))
		return
	}
	claims, ge := s.bearer(r)
	if ge != nil {
		if !s.latency(r) {
			return
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="", authorization_uri="%s/common/oauth2/authorize", client_id="%s"`, s.baseURL(r), GraphAppID))
		s.writeGraphError(w, r, ge)
		return
	}
	for len(segs) > 0 && segs[len(segs)-1] == "" {
		segs = segs[:len(segs)-1]
	}
	var target string // "" = /me
	var rest []string
	switch {
	case len(segs) >= 1 && strings.EqualFold(segs[0], "me"):
		rest = segs[1:]
	case len(segs) >= 2 && strings.EqualFold(segs[0], "users"):
		target, rest = segs[1], segs[2:]
	default:
		seg := ""
		if len(segs) > 0 {
			seg = segs[0]
		}
		if s.latency(r) {
			s.writeGraphError(w, r, gerr(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", safeText(seg)))
		}
		return
	}
	release, ge := s.acquireMailbox(claims.AppID, mailboxKey(claims, target))
	if ge != nil {
		w.Header().Set("Retry-After", "1")
		s.writeGraphError(w, r, ge)
		return
	}
	defer release()
	if !s.limitUpload(w, r, strings.ToLower(claims.AppID)+"/"+mailboxKey(claims, target)) {
		return
	}
	// Latency counts as time in flight, so the concurrency limit sees it.
	if !s.latency(r) {
		return
	}
	action := ""
	if len(rest) > 0 {
		action = rest[0]
	}
	switch {
	case action == "":
		if r.Method != http.MethodGet {
			s.writeGraphError(w, r, gerr(http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."))
			return
		}
		s.getUser(w, r, claims, target)
	case strings.EqualFold(action, "sendMail") && len(rest) == 1:
		if r.Method != http.MethodPost {
			s.writeGraphError(w, r, gerr(http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."))
			return
		}
		s.sendMail(w, r, claims, target)
	case strings.EqualFold(action, "messages"):
		s.serveMessages(w, r, claims, target, rest[1:])
	default:
		s.writeGraphError(w, r, gerr(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", safeText(action)))
	}
}

// latency waits Options.GraphLatency; it reports false when the request
// was cancelled meanwhile.
func (s *Server) latency(r *http.Request) bool {
	d := s.opts.GraphLatency
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// serveUserInfo is Graph's OIDC UserInfo endpoint, GET /oidc/userinfo,
// for delegated tokens.
func (s *Server) serveUserInfo(w http.ResponseWriter, r *http.Request) {
	c, ge := s.bearer(r)
	if ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	u, ge := resolveTarget(c, "")
	if ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	given, family, _ := strings.Cut(u.DisplayName, " ")
	info := map[string]any{"sub": u.ID, "name": u.DisplayName, "given_name": given, "family_name": family}
	if u.Mailbox {
		info["email"] = u.UPN
	}
	writeJSON(w, http.StatusOK, info)
}

// throttled counts a Graph request while the throttle fault is on and
// reports whether this one is the ThrottleEvery-th.
func (s *Server) throttled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.faults[FaultThrottle] {
		s.graphN = 0
		return false
	}
	s.graphN++
	return s.graphN%s.opts.ThrottleEvery == 0
}

// bearer checks the Authorization header and returns the token's claims.
func (s *Server) bearer(r *http.Request) (accessClaims, *graphError) {
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if h == "" || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return accessClaims{}, gerr(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
	}
	c, err := verifyAccessToken(tok, s.now())
	if err != nil {
		return c, gerr(http.StatusUnauthorized, "InvalidAuthenticationToken", "%s", err.Error())
	}
	return c, nil
}

// resolveTarget finds the user a Graph path names: the signer for /me, else
// a user visible to the token (work users for work and app-only tokens; a
// personal account sees only itself).
func resolveTarget(c accessClaims, target string) (User, *graphError) {
	if target == "" {
		if !c.delegated() {
			return User{}, errMeAppOnly
		}
		u, ok := userByName(c.Oid)
		if !ok {
			return User{}, gerr(http.StatusNotFound, codeUserNotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", c.Oid)
		}
		return u, nil
	}
	u, ok := userByName(target)
	if ok && c.Tid == ConsumersTenantID && u.ID != c.Oid {
		ok = false
	}
	if ok && c.Tid != ConsumersTenantID && u.Personal {
		ok = false
	}
	if !ok {
		return User{}, gerr(http.StatusNotFound, codeUserNotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", safeText(target))
	}
	return u, nil
}

// getUser is GET /me and GET /users/{id|upn}.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request, c accessClaims, target string) {
	u, ge := resolveTarget(c, target)
	if ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	var mailAddr any
	if u.Mailbox {
		mailAddr = u.UPN
	}
	given, sur, _ := strings.Cut(u.DisplayName, " ")
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context":    "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
		"businessPhones":    []string{},
		"displayName":       u.DisplayName,
		"givenName":         given,
		"surname":           sur,
		"jobTitle":          nil,
		"mail":              mailAddr,
		"mobilePhone":       nil,
		"officeLocation":    nil,
		"preferredLanguage": "en-US",
		"userPrincipalName": u.UPN,
		"id":                u.ID,
	})
}

// sendMail is POST /me/sendMail and /users/{id|upn}/sendMail.
func (s *Server) sendMail(w http.ResponseWriter, r *http.Request, c accessClaims, target string) {
	if target == "" && !c.delegated() {
		s.writeGraphError(w, r, errMeAppOnly)
		return
	}
	// The token must carry some mail-sending permission at all.
	if c.delegated() && !c.hasScope("Mail.Send") && !c.hasScope("Mail.Send.Shared") {
		s.writeGraphError(w, r, errAccessDenied)
		return
	}
	app, _ := appByID(c.AppID)
	if !c.delegated() && !c.hasRole("Mail.Send") && !app.RBAC {
		s.writeGraphError(w, r, errAccessDenied)
		return
	}
	mailbox, ge := resolveTarget(c, target)
	if ge != nil {
		if ge.Code == codeUserNotFound {
			ge = gerr(http.StatusNotFound, codeInvalidUser, "The requested user '%s' is invalid.", safeText(target))
		}
		s.writeGraphError(w, r, ge)
		return
	}
	if !mailbox.Mailbox {
		s.writeGraphError(w, r, errNoMailbox)
		return
	}
	var signer User
	if c.delegated() {
		signer, _ = userByName(c.Oid)
		if ge := delegatedMayUse(c, signer, mailbox.UPN); ge != nil {
			s.writeGraphError(w, r, ge)
			return
		}
	} else if ge := s.appMayUse(c, app, mailbox.UPN); ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}

	body, ok := s.readRequest(w, r)
	if !ok {
		return
	}
	var msg SentMessage
	var raw []byte
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType == "text/plain" {
		msg, ge = parseMIMEMessage(body)
		raw, _ = decodeBase64Body(body)
	} else {
		msg, ge = parseJSONMessage(body)
	}
	if ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	if len(msg.To)+len(msg.Cc)+len(msg.Bcc) == 0 {
		s.writeGraphError(w, r, gerr(http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient isn't valid., A message can't be sent because it contains no recipients."))
		return
	}
	if msg.From != "" && !strings.EqualFold(msg.From, mailbox.UPN) {
		if ge := fromAllowed(c, signer, mailbox, msg.From); ge != nil {
			s.writeGraphError(w, r, ge)
			return
		}
	}
	if msg.From == "" {
		msg.From = mailbox.UPN
	}
	if wait := s.countSend(mailbox.UPN); wait > 0 {
		s.writeSendLimited(w, r, mailbox.UPN, wait)
		return
	}
	msg.Mailbox = mailbox.UPN
	msg.AppOnly = !c.delegated()
	msg.ClientID = c.AppID
	s.record(msg, raw, false, nil)
	w.Header().Set("request-id", randomID())
	w.WriteHeader(http.StatusAccepted)
}

// delegatedMayUse checks that a delegated token may send from mailbox: its
// own needs Mail.Send; another needs Mail.Send.Shared and Send As rights.
func delegatedMayUse(c accessClaims, signer User, mailbox string) *graphError {
	if strings.EqualFold(signer.UPN, mailbox) {
		if !c.hasScope("Mail.Send") {
			return errAccessDenied
		}
		return nil
	}
	if !c.hasScope("Mail.Send.Shared") || !signer.canSendAs(mailbox) {
		return errSendAsDenied
	}
	return nil
}

// fromAllowed checks a from address that differs from the sending mailbox.
func fromAllowed(c accessClaims, signer, mailbox User, from string) *graphError {
	fromUser, ok := userByName(from)
	if !ok || fromUser.Personal != mailbox.Personal {
		return errSendAsDenied
	}
	if c.delegated() {
		if !c.hasScope("Mail.Send.Shared") || !signer.canSendAs(fromUser.UPN) {
			return errSendAsDenied
		}
		return nil
	}
	if !c.hasRole("Mail.Send") && !inScope(fromUser.UPN) {
		return errODataDenied
	}
	if !mailbox.canSendAs(fromUser.UPN) {
		return errSendAsDenied
	}
	return nil
}

// jsonRecipient is a Graph recipient.
type jsonRecipient struct {
	EmailAddress struct {
		Address string `json:"address"`
		Name    string `json:"name"`
	} `json:"emailAddress"`
}

// sendMailRequest is the JSON body of sendMail (reference §9).
type sendMailRequest struct {
	Message *struct {
		Subject string `json:"subject"`
		Body    struct {
			ContentType string `json:"contentType"`
			Content     string `json:"content"`
		} `json:"body"`
		ToRecipients  []jsonRecipient `json:"toRecipients"`
		CcRecipients  []jsonRecipient `json:"ccRecipients"`
		BccRecipients []jsonRecipient `json:"bccRecipients"`
		From          *jsonRecipient  `json:"from"`
		ReplyTo       []jsonRecipient `json:"replyTo"`
		Attachments   []struct {
			ODataType    string `json:"@odata.type"`
			Name         string `json:"name"`
			ContentType  string `json:"contentType"`
			ContentBytes string `json:"contentBytes"`
		} `json:"attachments"`
	} `json:"message"`
	SaveToSentItems *bool `json:"saveToSentItems"`
}

// parseJSONMessage reads a JSON sendMail body.
func parseJSONMessage(body []byte) (SentMessage, *graphError) {
	var req sendMailRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return SentMessage{}, gerr(http.StatusBadRequest, "RequestBodyRead", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
	}
	if req.Message == nil {
		return SentMessage{}, gerr(http.StatusBadRequest, "ErrorInvalidParameter", "The value of the parameter 'Message' is empty.")
	}
	m := req.Message
	msg := SentMessage{Subject: m.Subject, Body: m.Body.Content, ContentType: m.Body.ContentType, SaveToSentItems: true}
	if msg.ContentType == "" {
		msg.ContentType = "Text"
	}
	if req.SaveToSentItems != nil {
		msg.SaveToSentItems = *req.SaveToSentItems
	}
	var ge *graphError
	if msg.To, ge = recipientAddresses(m.ToRecipients); ge != nil {
		return msg, ge
	}
	if msg.Cc, ge = recipientAddresses(m.CcRecipients); ge != nil {
		return msg, ge
	}
	if msg.Bcc, ge = recipientAddresses(m.BccRecipients); ge != nil {
		return msg, ge
	}
	if m.From != nil && m.From.EmailAddress.Address != "" {
		msg.From = m.From.EmailAddress.Address
	}
	if msg.ReplyTo, ge = recipientAddresses(m.ReplyTo); ge != nil {
		return msg, ge
	}
	for _, a := range m.Attachments {
		if !strings.EqualFold(a.ODataType, "#microsoft.graph.fileAttachment") {
			return msg, gerr(http.StatusBadRequest, "ErrorInvalidParameter", "The attachment type '%s' is not supported by the sandbox; use #microsoft.graph.fileAttachment.", safeText(a.ODataType))
		}
		content, err := base64.StdEncoding.DecodeString(a.ContentBytes)
		if err != nil {
			return msg, gerr(http.StatusBadRequest, "RequestBodyRead", "Cannot convert the literal in 'contentBytes' of attachment '%s' to the expected type 'Edm.Binary'.", safeText(a.Name))
		}
		msg.Attachments++
		msg.jsonFiles = append(msg.jsonFiles, jsonFile{name: a.Name, contentType: a.ContentType, content: content})
	}
	return msg, nil
}

// recipientAddresses checks and returns the addresses of recipients.
func recipientAddresses(rs []jsonRecipient) ([]string, *graphError) {
	var out []string
	for _, r := range rs {
		a, err := mail.ParseAddress(r.EmailAddress.Address)
		if err != nil {
			return nil, gerr(http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient is not valid., Recipient '%s' is not resolved. All recipients must be resolved before a message can be submitted.", safeText(r.EmailAddress.Address))
		}
		out = append(out, a.Address)
	}
	return out, nil
}

// parseMIMEMessage reads a MIME sendMail body: one base64 string holding
// an RFC 5322 message (reference §9).
func parseMIMEMessage(body []byte) (SentMessage, *graphError) {
	compact := strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, string(body))
	raw, err := base64.StdEncoding.DecodeString(compact)
	if err != nil || compact == "" {
		return SentMessage{}, gerr(http.StatusBadRequest, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return SentMessage{}, gerr(http.StatusBadRequest, "ErrorMimeContentInvalid", "Invalid MIME content.")
	}
	msg := SentMessage{MIME: true, SaveToSentItems: true}
	dec := new(mime.WordDecoder)
	if msg.Subject, err = dec.DecodeHeader(m.Header.Get("Subject")); err != nil {
		msg.Subject = m.Header.Get("Subject")
	}
	for _, h := range []struct {
		name string
		dst  *[]string
	}{{"To", &msg.To}, {"Cc", &msg.Cc}, {"Bcc", &msg.Bcc}, {"Reply-To", &msg.ReplyTo}} {
		list, err := m.Header.AddressList(h.name)
		if errors.Is(err, mail.ErrHeaderNotPresent) {
			continue
		}
		if err != nil {
			return msg, gerr(http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient is not valid., The %s header cannot be parsed.", h.name)
		}
		for _, a := range list {
			*h.dst = append(*h.dst, a.Address)
		}
	}
	if from, err := m.Header.AddressList("From"); err == nil && len(from) > 0 {
		msg.From = from[0].Address
	}
	msg.ContentType, msg.Body, msg.Attachments = mimeBody(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, 0)
	return msg, nil
}

// mimeBody returns the type and decoded text of the first text part, and the
// number of attachments, walking nested multiparts.
func mimeBody(contentType, encoding string, r io.Reader, depth int) (string, string, int) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || contentType == "" {
		mt = "text/plain"
	}
	if !strings.HasPrefix(mt, "multipart/") || depth > 5 {
		b, _ := io.ReadAll(io.LimitReader(decodeTransfer(encoding, r), maxGraphBody))
		return mt, string(b), 0
	}
	mr := multipart.NewReader(r, params["boundary"])
	var bodyType, text string
	attachments := 0
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			break
		}
		disp, dparams, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		if disp == "attachment" || dparams["filename"] != "" {
			attachments++
			continue
		}
		t, b, n := mimeBody(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1)
		attachments += n
		if bodyType == "" && strings.HasPrefix(t, "text/") {
			bodyType, text = t, b
		}
	}
	return bodyType, text, attachments
}

// decodeTransfer undoes a Content-Transfer-Encoding.
func decodeTransfer(enc string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, newlineStripper{r})
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

// newlineStripper drops CR and LF so base64 bodies wrapped at 76 columns
// decode.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// readRequest reads a Graph request's body under Graph's 4 MB limit; when it
// cannot (too large: 413, unreadable: 400) it answers the error itself.
func (s *Server) readRequest(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := readAllLimit(r, s.maxRequest())
	switch {
	case errors.Is(err, errTooLarge):
		s.writeGraphError(w, r, errRequestTooLarge)
		return nil, false
	case err != nil:
		s.writeGraphError(w, r, gerr(http.StatusBadRequest, "RequestBodyRead", "The request body could not be read."))
		return nil, false
	}
	return body, true
}
