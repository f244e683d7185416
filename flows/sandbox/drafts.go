package sandbox

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Drafts, attachments and upload sessions (reference §9a): POST
// /{me|users/{id}}/messages creates a draft from JSON or base64 MIME;
// GET, PATCH and DELETE .../messages/{id} read, change and delete it;
// .../attachments adds a small file; .../attachments/createUploadSession
// opens an upload session whose URL (on the sandbox, /upload/{id}, with its
// own token) takes PUTs of Content-Range chunks; .../send sends the draft,
// which then leaves Drafts: its id no longer resolves, as in Graph, where
// the sent item lives on in Sent Items under another id.

// maxAttachmentSize is the largest file an upload session takes (150 MB).
const maxAttachmentSize = 150 << 20

// defaultUploadTTL is how long an upload session lasts after its last use.
const defaultUploadTTL = 15 * time.Minute

// draft is a message in a mailbox's Drafts folder.
type draft struct {
	id      string
	mailbox User
	// raw is the MIME the draft was created from; nil for JSON drafts.
	raw []byte
	// msg holds the subject, body, sender and recipients.
	msg SentMessage
	// patched is true once PATCH has set recipients: the MIME headers no
	// longer say who receives it.
	patched bool
	files   []*storedFile
}

// storedFile is an attachment added to a draft.
type storedFile struct {
	id, name, contentType, contentID string
	inline                           bool
	size                             int64
	blob                             string
}

// uploadSession is an attachment being uploaded in chunks.
type uploadSession struct {
	id, token string
	draftID   string
	mailbox   string // the draft's mailbox id
	appID     string // the app that created the session
	file      *storedFile
	received  int64
	expires   time.Time
	puts      int
}

var errItemNotFound = &graphError{Status: http.StatusNotFound, Code: "ErrorItemNotFound", Message: "The specified object was not found in the store."}

// messageTarget resolves the mailbox of a /messages path and checks that
// it has one.
func (s *Server) messageTarget(c accessClaims, target string) (User, *graphError) {
	if target == "" && !c.delegated() {
		return User{}, errMeAppOnly
	}
	mailbox, ge := resolveTarget(c, target)
	if ge != nil {
		if ge.Code == codeUserNotFound {
			ge = gerr(http.StatusNotFound, codeInvalidUser, "The requested user '%s' is invalid.", safeText(target))
		}
		return User{}, ge
	}
	if !mailbox.Mailbox {
		return User{}, errNoMailbox
	}
	return mailbox, nil
}

// mayReadWrite checks Mail.ReadWrite: a delegated token on its own mailbox
// needs the scope Mail.ReadWrite, on another Mail.ReadWrite.Shared and
// rights on it (the sandbox takes Send As for Full Access); an app-only
// token needs the role Mail.ReadWrite.
func mayReadWrite(c accessClaims, mailbox User) *graphError {
	if !c.delegated() {
		if !c.hasRole("Mail.ReadWrite") {
			return errAccessDenied
		}
		return nil
	}
	signer, _ := userByName(c.Oid)
	if strings.EqualFold(signer.UPN, mailbox.UPN) {
		if !c.hasScope("Mail.ReadWrite") {
			return errAccessDenied
		}
		return nil
	}
	if !c.hasScope("Mail.ReadWrite.Shared") || !signer.canSendAs(mailbox.UPN) {
		return errAccessDenied
	}
	return nil
}

// maySend checks that the token may send from mailbox, as sendMail does.
func maySend(c accessClaims, mailbox User) *graphError {
	if c.delegated() {
		if !c.hasScope("Mail.Send") && !c.hasScope("Mail.Send.Shared") {
			return errAccessDenied
		}
		signer, _ := userByName(c.Oid)
		return delegatedMayUse(c, signer, mailbox.UPN)
	}
	app, _ := appByID(c.AppID)
	if !c.hasRole("Mail.Send") && !app.RBAC {
		return errAccessDenied
	}
	if !c.hasRole("Mail.Send") && !inScope(mailbox.UPN) {
		return errODataDenied
	}
	return nil
}

// serveMessages serves .../messages and below.
func (s *Server) serveMessages(w http.ResponseWriter, r *http.Request, c accessClaims, target string, rest []string) {
	mailbox, ge := s.messageTarget(c, target)
	if ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	send := len(rest) == 2 && strings.EqualFold(rest[1], "send")
	if send {
		ge = maySend(c, mailbox)
	} else {
		ge = mayReadWrite(c, mailbox)
	}
	if ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	method := func(m string) bool {
		if r.Method != m {
			s.writeGraphError(w, r, gerr(http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."))
			return false
		}
		return true
	}
	switch {
	case len(rest) == 0:
		if method(http.MethodPost) {
			s.createDraft(w, r, mailbox)
		}
		return
	case len(rest) > 4 || len(rest) == 4:
		s.writeGraphError(w, r, gerr(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", safeText(rest[len(rest)-1])))
		return
	}
	d := s.findDraft(mailbox, rest[0])
	if d == nil {
		s.writeGraphError(w, r, errItemNotFound)
		return
	}
	switch {
	case len(rest) == 1:
		switch r.Method {
		case http.MethodGet:
			base := s.baseURL(r)
			s.mu.Lock()
			body := d.json(base)
			s.mu.Unlock()
			writeJSON(w, http.StatusOK, body)
		case http.MethodPatch:
			s.patchDraft(w, r, d)
		case http.MethodDelete:
			s.deleteDraft(d)
			w.WriteHeader(http.StatusNoContent)
		default:
			method(http.MethodGet)
		}
	case send:
		if method(http.MethodPost) {
			s.sendDraft(w, r, c, d)
		}
	case len(rest) == 2 && strings.EqualFold(rest[1], "attachments"):
		if method(http.MethodPost) {
			s.addAttachment(w, r, d)
		}
	case len(rest) == 3 && strings.EqualFold(rest[1], "attachments") && strings.EqualFold(rest[2], "createUploadSession"):
		if method(http.MethodPost) {
			// A known Graph issue (reference §9a): a delegated upload
			// session in another user's mailbox is refused.
			if signer, _ := userByName(c.Oid); c.delegated() && !strings.EqualFold(signer.UPN, d.mailbox.UPN) {
				s.writeGraphError(w, r, gerr(http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again."))
				return
			}
			s.createUploadSession(w, r, c.AppID, d)
		}
	default:
		s.writeGraphError(w, r, gerr(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", safeText(rest[len(rest)-1])))
	}
}

// findDraft returns the mailbox's draft id, or nil.
func (s *Server) findDraft(mailbox User, id string) *draft {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.drafts[id]
	if d == nil || d.mailbox.ID != mailbox.ID {
		return nil
	}
	return d
}

// json is the draft as Graph's message resource (the fields the sandbox
// keeps). Call with s.mu held.
func (d *draft) json(base string) map[string]any {
	rcpts := func(list []string) []map[string]any {
		out := []map[string]any{}
		for _, a := range list {
			out = append(out, map[string]any{"emailAddress": map[string]any{"address": a}})
		}
		return out
	}
	return map[string]any{
		"@odata.context":  base + "/v1.0/$metadata#users('" + d.mailbox.ID + "')/messages/$entity",
		"id":              d.id,
		"isDraft":         true,
		"subject":         d.msg.Subject,
		"hasAttachments":  len(d.files) > 0 || d.msg.Attachments > 0,
		"toRecipients":    rcpts(d.msg.To),
		"ccRecipients":    rcpts(d.msg.Cc),
		"bccRecipients":   rcpts(d.msg.Bcc),
		"parentFolderId":  "Drafts",
		"body":            map[string]any{"contentType": d.msg.ContentType, "content": d.msg.Body},
		"from":            map[string]any{"emailAddress": map[string]any{"address": d.msg.From}},
		"internetMessage": nil,
	}
}

// createDraft is POST .../messages, from base64 MIME (Content-Type
// text/plain) or a JSON message.
func (s *Server) createDraft(w http.ResponseWriter, r *http.Request, mailbox User) {
	body, ok := s.readRequest(w, r)
	if !ok {
		return
	}
	d := &draft{id: draftID(), mailbox: mailbox}
	var ge *graphError
	if mt, _, _ := mimeType(r.Header.Get("Content-Type")); mt == "text/plain" {
		d.msg, ge = parseMIMEMessage(body)
		if ge == nil {
			d.raw, _ = decodeBase64Body(body)
		}
	} else {
		d.msg, ge = parseJSONMessage(append(append([]byte(`{"message":`), body...), '}'))
	}
	if ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	if d.msg.From == "" {
		d.msg.From = mailbox.UPN
	}
	base := s.baseURL(r)
	s.mu.Lock()
	s.drafts[d.id] = d
	out := d.json(base)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

// draftID is an opaque message id in the style of Exchange's.
func draftID() string {
	return "AAMkAD" + strings.ReplaceAll(randomID(), "-", "") + "="
}

// patchDraft is PATCH .../messages/{id}: recipients and subject.
func (s *Server) patchDraft(w http.ResponseWriter, r *http.Request, d *draft) {
	body, ok := s.readRequest(w, r)
	if !ok {
		return
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		s.writeGraphError(w, r, gerr(http.StatusBadRequest, "RequestBodyRead", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."))
		return
	}
	lists := map[string][]string{}
	for _, k := range []string{"toRecipients", "ccRecipients", "bccRecipients"} {
		raw, ok := fields[k]
		if !ok {
			continue
		}
		var rs []jsonRecipient
		if json.Unmarshal(raw, &rs) != nil {
			s.writeGraphError(w, r, gerr(http.StatusBadRequest, "RequestBodyRead", "Cannot read the property '%s'.", k))
			return
		}
		addrs, ge := recipientAddresses(rs)
		if ge != nil {
			s.writeGraphError(w, r, ge)
			return
		}
		lists[k] = addrs
	}
	base := s.baseURL(r)
	var subject *string
	if raw, ok := fields["subject"]; ok {
		var v string
		if json.Unmarshal(raw, &v) == nil {
			subject = &v
		}
	}
	s.mu.Lock()
	if v, ok := lists["toRecipients"]; ok {
		d.msg.To, d.patched = v, true
	}
	if v, ok := lists["ccRecipients"]; ok {
		d.msg.Cc, d.patched = v, true
	}
	if v, ok := lists["bccRecipients"]; ok {
		d.msg.Bcc, d.patched = v, true
	}
	if subject != nil {
		d.msg.Subject = *subject
	}
	out := d.json(base)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// deleteDraft removes a draft, its files and its upload sessions.
func (s *Server) deleteDraft(d *draft) {
	s.mu.Lock()
	delete(s.drafts, d.id)
	var blobs []string
	for _, f := range d.files {
		blobs = append(blobs, f.blob)
	}
	for id, u := range s.uploads {
		if u.draftID == d.id {
			blobs = append(blobs, u.file.blob)
			delete(s.uploads, id)
		}
	}
	s.mu.Unlock()
	for _, b := range blobs {
		s.blobs.remove(b)
	}
}

// addAttachment is POST .../messages/{id}/attachments with a
// #microsoft.graph.fileAttachment.
func (s *Server) addAttachment(w http.ResponseWriter, r *http.Request, d *draft) {
	body, ok := s.readRequest(w, r)
	if !ok {
		return
	}
	var a struct {
		ODataType    string `json:"@odata.type"`
		Name         string `json:"name"`
		ContentType  string `json:"contentType"`
		ContentBytes string `json:"contentBytes"`
		IsInline     bool   `json:"isInline"`
		ContentID    string `json:"contentId"`
	}
	if json.Unmarshal(body, &a) != nil {
		s.writeGraphError(w, r, gerr(http.StatusBadRequest, "RequestBodyRead", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."))
		return
	}
	if !strings.EqualFold(a.ODataType, "#microsoft.graph.fileAttachment") {
		s.writeGraphError(w, r, gerr(http.StatusBadRequest, "ErrorInvalidParameter", "The attachment type '%s' is not supported by the sandbox; use #microsoft.graph.fileAttachment.", safeText(a.ODataType)))
		return
	}
	content, err := base64.StdEncoding.DecodeString(a.ContentBytes)
	if err != nil {
		s.writeGraphError(w, r, gerr(http.StatusBadRequest, "RequestBodyRead", "Cannot convert the literal in 'contentBytes' of attachment '%s' to the expected type 'Edm.Binary'.", safeText(a.Name)))
		return
	}
	f := &storedFile{id: draftID(), name: a.Name, contentType: a.ContentType, contentID: a.ContentID, inline: a.IsInline, size: int64(len(content))}
	if f.blob, err = s.blobs.create(); err == nil {
		err = s.blobs.appendAt(f.blob, 0, content)
	}
	if err != nil {
		s.writeGraphError(w, r, gerr(http.StatusInternalServerError, "InternalServerError", "The sandbox could not store the attachment."))
		return
	}
	s.mu.Lock()
	if s.drafts[d.id] == nil {
		s.mu.Unlock()
		s.blobs.remove(f.blob)
		s.writeGraphError(w, r, errItemNotFound)
		return
	}
	d.files = append(d.files, f)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"@odata.type": "#microsoft.graph.fileAttachment", "id": f.id, "name": f.name, "contentType": f.contentType, "size": f.size, "isInline": f.inline})
}

// createUploadSession is POST .../attachments/createUploadSession.
func (s *Server) createUploadSession(w http.ResponseWriter, r *http.Request, appID string, d *draft) {
	body, ok := s.readRequest(w, r)
	if !ok {
		return
	}
	var req struct {
		AttachmentItem *struct {
			AttachmentType string `json:"attachmentType"`
			Name           string `json:"name"`
			Size           int64  `json:"size"`
			ContentType    string `json:"contentType"`
			IsInline       bool   `json:"isInline"`
			ContentID      string `json:"contentId"`
		} `json:"AttachmentItem"`
	}
	if json.Unmarshal(body, &req) != nil || req.AttachmentItem == nil {
		s.writeGraphError(w, r, gerr(http.StatusBadRequest, "RequestBodyRead", "The request needs an AttachmentItem."))
		return
	}
	it := req.AttachmentItem
	switch {
	case !strings.EqualFold(it.AttachmentType, "file"):
		s.writeGraphError(w, r, gerr(http.StatusBadRequest, "ErrorInvalidParameter", "The attachmentType '%s' is not supported; use file.", safeText(it.AttachmentType)))
		return
	case it.Name == "":
		s.writeGraphError(w, r, gerr(http.StatusBadRequest, "ErrorInvalidParameter", "The AttachmentItem has no name."))
		return
	case it.Size <= 0 || it.Size > maxAttachmentSize:
		s.writeGraphError(w, r, gerr(http.StatusBadRequest, "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize", "The attachment size %d is outside 1 byte to 150 MB.", it.Size))
		return
	}
	f := &storedFile{id: draftID(), name: it.Name, contentType: it.ContentType, contentID: it.ContentID, inline: it.IsInline, size: it.Size}
	var err error
	if f.blob, err = s.blobs.create(); err != nil {
		s.writeGraphError(w, r, gerr(http.StatusInternalServerError, "InternalServerError", "The sandbox could not store the attachment."))
		return
	}
	u := &uploadSession{id: strings.ReplaceAll(randomID(), "-", ""), token: randomToken(32), draftID: d.id, mailbox: d.mailbox.ID, appID: appID, file: f, expires: s.now().Add(s.uploadTTL())}
	s.mu.Lock()
	s.uploads[u.id] = u
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"@odata.context":     s.baseURL(r) + "/v1.0/$metadata#microsoft.graph.uploadSession",
		"uploadUrl":          s.baseURL(r) + "/upload/" + u.id + "?authtoken=" + url.QueryEscape(u.token),
		"expirationDateTime": u.expires.UTC().Format(time.RFC3339Nano),
		"nextExpectedRanges": []string{"0-"},
	})
}

func (s *Server) uploadTTL() time.Duration {
	if s.opts.UploadSessionTTL > 0 {
		return s.opts.UploadSessionTTL
	}
	return defaultUploadTTL
}

// serveUpload serves an upload session's URL: PUT a chunk, GET the
// session's state, DELETE to cancel. The URL's authtoken is its only
// credential; an Authorization header is refused (Microsoft: "do not
// specify an Authorization request header"; what Graph answers to one is
// not documented, the sandbox answers 401).
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request, segs []string) {
	if ge := s.limitRequest(r); ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	if len(segs) != 1 {
		s.writeGraphError(w, r, errItemNotFound)
		return
	}
	if r.Header.Get("Authorization") != "" {
		s.writeGraphError(w, r, gerr(http.StatusUnauthorized, "InvalidAuthenticationToken", "The upload URL carries its own token; send no Authorization header."))
		return
	}
	s.mu.Lock()
	u := s.uploads[segs[0]]
	if u != nil && s.now().After(u.expires) {
		delete(s.uploads, u.id)
		s.mu.Unlock()
		s.blobs.remove(u.file.blob)
		s.writeGraphError(w, r, gerr(http.StatusNotFound, "ErrorItemNotFound", "The upload session has expired."))
		return
	}
	s.mu.Unlock()
	if u == nil || subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("authtoken")), []byte(u.token)) != 1 {
		s.writeGraphError(w, r, errItemNotFound)
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.mu.Lock()
		out := u.state()
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	case http.MethodDelete:
		s.mu.Lock()
		delete(s.uploads, u.id)
		s.mu.Unlock()
		s.blobs.remove(u.file.blob)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPut:
		// The upload URL is Outlook's: its chunks count against the app's
		// limits on the mailbox like any other request.
		key := strings.ToLower(u.mailbox)
		release, ge := s.acquireMailbox(u.appID, key)
		if ge != nil {
			w.Header().Set("Retry-After", "1")
			s.writeGraphError(w, r, ge)
			return
		}
		defer release()
		if !s.limitUpload(w, r, strings.ToLower(u.appID)+"/"+key) {
			return
		}
		s.putChunk(w, r, u)
	default:
		s.writeGraphError(w, r, gerr(http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."))
	}
}

// state is the session's JSON. Call with s.mu held.
func (u *uploadSession) state() map[string]any {
	return map[string]any{
		"expirationDateTime": u.expires.UTC().Format(time.RFC3339Nano),
		"nextExpectedRanges": []string{strconv.FormatInt(u.received, 10) + "-"},
	}
}

// putChunk is one PUT of an upload session.
func (s *Server) putChunk(w http.ResponseWriter, r *http.Request, u *uploadSession) {
	start, end, total, ok := ParseContentRange(r.Header.Get("Content-Range"))
	if !ok {
		s.writeGraphError(w, r, gerr(http.StatusBadRequest, "InvalidContentRange", "The Content-Range header %q is not bytes START-END/TOTAL.", safeText(r.Header.Get("Content-Range"))))
		return
	}
	body, ok := s.readRequest(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	u.puts++
	interrupt := s.faults[FaultUploadInterrupt] && u.puts == 2
	received := u.received
	s.mu.Unlock()
	switch {
	case total != u.file.size:
		s.writeGraphError(w, r, gerr(http.StatusBadRequest, "InvalidContentRange", "The Content-Range total %d is not the attachment's size %d.", total, u.file.size))
		return
	case start != received:
		s.mu.Lock()
		out := u.state()
		s.mu.Unlock()
		out["error"] = map[string]any{"code": "InvalidContentRange", "message": fmt.Sprintf("The upload expects byte %d next, not %d.", received, start)}
		writeJSON(w, http.StatusRequestedRangeNotSatisfiable, out)
		return
	case int64(len(body)) != end-start+1:
		s.writeGraphError(w, r, gerr(http.StatusBadRequest, "InvalidContentRange", "The Content-Range names %d bytes but the body has %d.", end-start+1, len(body)))
		return
	}
	if interrupt {
		// FaultUploadInterrupt: keep half the chunk, then fail, as a
		// connection cut mid-chunk leaves it.
		body = body[:len(body)/2]
	}
	if err := s.blobs.appendAt(u.file.blob, start, body); err != nil {
		s.writeGraphError(w, r, gerr(http.StatusInternalServerError, "InternalServerError", "The sandbox could not store the chunk."))
		return
	}
	s.mu.Lock()
	u.received += int64(len(body))
	u.expires = s.now().Add(s.uploadTTL())
	if interrupt {
		s.mu.Unlock()
		s.writeGraphError(w, r, gerr(http.StatusInternalServerError, "InternalServerError", "The upload was interrupted (sandbox fault upload-interrupt)."))
		return
	}
	if u.received < u.file.size {
		out := u.state()
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
		return
	}
	delete(s.uploads, u.id)
	d := s.drafts[u.draftID]
	if d != nil {
		d.files = append(d.files, u.file)
	}
	s.mu.Unlock()
	if d == nil {
		s.blobs.remove(u.file.blob)
		s.writeGraphError(w, r, errItemNotFound)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("%s/v1.0/users('%s')/messages('%s')/attachments('%s')", s.baseURL(r), u.mailbox, u.draftID, u.file.id))
	w.WriteHeader(http.StatusCreated)
}

// ParseContentRange reads an upload chunk's Content-Range, "bytes
// START-END/TOTAL", and checks START <= END < TOTAL.
func ParseContentRange(h string) (start, end, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(h), "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	num := func(s string) (int64, bool) {
		if s == "" || len(s) > 18 || strings.Trim(s, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	var okA, okB, okT bool
	start, okA = num(a)
	end, okB = num(b)
	total, okT = num(tot)
	if !okA || !okB || !okT || start > end || end >= total {
		return 0, 0, 0, false
	}
	return start, end, total, true
}

// sendDraft is POST .../messages/{id}/send: the message is sent and
// leaves Drafts, so its id no longer resolves.
func (s *Server) sendDraft(w http.ResponseWriter, r *http.Request, c accessClaims, d *draft) {
	s.mu.Lock()
	msg := d.msg
	msg.To, msg.Cc, msg.Bcc = append([]string(nil), d.msg.To...), append([]string(nil), d.msg.Cc...), append([]string(nil), d.msg.Bcc...)
	files := append([]*storedFile(nil), d.files...)
	s.mu.Unlock()
	if len(msg.To)+len(msg.Cc)+len(msg.Bcc) == 0 {
		s.writeGraphError(w, r, gerr(http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient isn't valid., A message can't be sent because it contains no recipients."))
		return
	}
	if !strings.EqualFold(msg.From, d.mailbox.UPN) {
		signer, _ := userByName(c.Oid)
		if ge := fromAllowed(c, signer, d.mailbox, msg.From); ge != nil {
			s.writeGraphError(w, r, ge)
			return
		}
	}
	s.mu.Lock()
	size := d.messageSize()
	s.mu.Unlock()
	if limit := s.maxMessage(); limit > 0 && size > limit {
		s.writeGraphError(w, r, errMessageTooLarge(size, limit))
		return
	}
	if wait := s.countSend(d.mailbox.UPN); wait > 0 {
		s.writeSendLimited(w, r, d.mailbox.UPN, wait)
		return
	}
	s.mu.Lock()
	if s.drafts[d.id] != d {
		s.mu.Unlock()
		s.writeGraphError(w, r, errItemNotFound)
		return
	}
	delete(s.drafts, d.id)
	s.mu.Unlock()
	msg.Mailbox = d.mailbox.UPN
	msg.AppOnly = !c.delegated()
	msg.ClientID = c.AppID
	msg.Draft = true
	msg.SaveToSentItems = true
	s.record(msg, d.raw, d.patched, files)
	for _, f := range files {
		s.blobs.remove(f.blob)
	}
	w.Header().Set("request-id", randomID())
	w.WriteHeader(http.StatusAccepted)
}

// Drafts returns the ids of the drafts that exist now, in every mailbox,
// so tests can see that a failed delivery left none behind.
func (s *Server) Drafts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.drafts))
	for id := range s.drafts {
		out = append(out, id)
	}
	return out
}
