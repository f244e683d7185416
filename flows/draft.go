package flows

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mailgrant/mailgrant/store"
)

// The draft path (reference §9a): create a draft from the MIME without its
// large attachments, set its recipients when the envelope says otherwise,
// add each attachment (an upload session for large ones, one POST for
// small ones), then send the draft. The draft is deleted when a step fails
// for good.

// maxAttachmentPost is the largest attachment (decoded) added with one POST
// .../attachments: its base64 and the JSON around it stay under Graph's
// 4 MB. Larger ones go through an upload session, which Microsoft
// documents for files of 3 MB and more.
const maxAttachmentPost = 3_000_000

// UploadChunkSize is the size of each PUT of an upload session: under
// Graph's 4 MB, and a multiple of 320 KiB as Microsoft recommends.
const UploadChunkSize = 12 * 320 << 10

// uploadFailures is how many failed chunks in a row an upload survives,
// resuming each time from nextExpectedRanges.
const uploadFailures = 3

// draftCleanupTimeout bounds deleting a draft after a failure.
const draftCleanupTimeout = 30 * time.Second

// draftDelivery sends one message through a draft.
type draftDelivery struct {
	env     *Env
	p       store.Profile
	tok     *Token
	mailbox string // "" = /me
	base    string // "me" or "users/{mailbox}"
	why     string // why the message takes a draft, for a refusal
}

// newDraftDelivery checks that the token may create drafts in the mailbox
// sent as, before any request.
func newDraftDelivery(env *Env, p store.Profile, tok *Token, from, why string) (*draftDelivery, error) {
	env = env.ForProfile(p)
	if !p.Scenario.Delegated() && from == "" && p.Account == "" {
		return nil, &InputError{Field: "from", Problem: "no mailbox to send as", Hint: "app-only profiles send as a mailbox: give --from MAILBOX"}
	}
	d := &draftDelivery{env: env, p: p, tok: tok, mailbox: sendingMailbox(p, from), why: why}
	d.base = mailboxBase(d.mailbox)
	if err := needsMailReadWrite(p, tok, d.mailbox, why); err != nil {
		return nil, err
	}
	return d, nil
}

// checkSharedUpload refuses, before any request, a large attachment that
// needs an upload session in another user's mailbox with a delegated token:
// Graph refuses that (a known issue, reference §9a), after the draft was
// made.
func (d *draftDelivery) checkSharedUpload(attachments []draftAttachment) error {
	if !d.p.Scenario.Delegated() || d.mailbox == "" {
		return nil
	}
	for _, a := range attachments {
		if a.size >= maxAttachmentPost {
			return &Error{Code: CodeSharedMailboxUpload, State: StateError,
				Message: fmt.Sprintf("%s (%s) needs an upload session, and Graph refuses upload sessions in another user's mailbox (%s) for a signed-in user", a.name, FormatSize(int(a.size)), d.mailbox),
				Hint:    "send it from the signed-in account's own mailbox, with attachments under 3 MB each, as a link, or with an app-only profile (rbac) allowed to send as " + d.mailbox}
		}
	}
	return nil
}

// mailboxBase is the Graph path of a mailbox: "me" or "users/{address}".
func mailboxBase(mailbox string) string {
	if mailbox == "" {
		return "me"
	}
	return "users/" + pathEscape(mailbox)
}

// readWritePermission is the permission creating a draft in mailbox needs
// (reference §9a): Mail.ReadWrite, or for a delegated profile writing
// another mailbox, Mail.ReadWrite.Shared.
func readWritePermission(p store.Profile, mailbox string) string {
	if p.Scenario.Delegated() && mailbox != "" {
		return "Mail.ReadWrite.Shared"
	}
	return "Mail.ReadWrite"
}

// needsMailReadWrite refuses, before any request, a token that cannot
// create drafts. An rbac profile's rights live in Exchange, not in its
// token, so Graph's answer decides for it (see draftRefused).
func needsMailReadWrite(p store.Profile, tok *Token, mailbox, why string) error {
	if p.Scenario == store.RBAC {
		return nil
	}
	perm := readWritePermission(p, mailbox)
	granted := tok.Roles
	if p.Scenario.Delegated() {
		granted = tok.Scopes
	}
	if slices.ContainsFunc(granted, func(g string) bool { return strings.EqualFold(g, perm) }) {
		return nil
	}
	return readWriteError(p, perm, why)
}

// WhyLarge is why most messages take a draft: their size.
const WhyLarge = "this message is too large for one request (about 3.5 MB)"

// readWriteError is the refusal of a message that needs a draft; why says
// what made it need one (WhyLarge when empty).
func readWriteError(p store.Profile, perm, why string) *Error {
	if why == "" {
		why = WhyLarge
	}
	kind := "the delegated permission"
	consent := "then sign in again"
	if !p.Scenario.Delegated() {
		kind = "the application permission"
		consent = "then have an admin grant consent"
	}
	if p.Scenario == store.RBAC {
		kind = "the Exchange RBAC role"
		perm = "Application Mail.ReadWrite"
		consent = "assigned to the app with the same management scope as Application Mail.Send (New-ManagementRoleAssignment -App ... -Role \"Application Mail.ReadWrite\")"
	}
	return &Error{
		Code:    CodeNeedsMailReadWrite,
		State:   StateError,
		Message: fmt.Sprintf("%s: that takes a draft, which needs %s %s; profile %s lacks it", why, kind, perm, p.Name),
		Hint:    fmt.Sprintf("add %s to the app registration's API permissions and to the profile's, %s; or send large files as links", perm, consent),
	}
}

// deliver runs the draft path for the message.
func (d *draftDelivery) deliver(ctx context.Context, msg io.ReaderAt, size int64, plan recipientPlan, o DeliverOptions) (*DeliverResult, error) {
	layout, err := scanLayout(msg, size)
	if err != nil {
		return nil, err
	}
	draftMIME, attachments, err := splitForDraft(msg, size, layout)
	if err != nil {
		return nil, err
	}
	if err := d.checkSharedUpload(attachments); err != nil {
		return nil, err
	}
	ref, err := d.createDraft(ctx, msg, draftMIME)
	if err != nil {
		return nil, err
	}
	res := &DeliverResult{Mailbox: d.mailbox, Path: "draft", DraftID: ref.ID}
	if err := d.complete(ctx, msg, ref, plan, attachments, o); err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), draftCleanupTimeout)
		defer cancel()
		_ = d.deleteDraft(cctx, ref.ID)
		return nil, err
	}
	rid, err := d.sendDraft(ctx, ref.ID)
	if err != nil && o.ExactlyOnce {
		// The caller recorded the draft, so the caller settles it: after a
		// temporary failure the send may have gone with its answer lost
		// (DraftExists tells); after a refusal the caller forgets the id
		// before it deletes the draft, so that a crash in between never
		// leaves a recorded id naming a deleted draft, which would read
		// as sent.
		return res, err
	}
	if err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), draftCleanupTimeout)
		defer cancel()
		_ = d.deleteDraft(cctx, ref.ID)
		return nil, err
	}
	res.RequestID = rid
	return res, nil
}

// complete sets the draft's recipients, adds its attachments and reports
// its id to the caller.
func (d *draftDelivery) complete(ctx context.Context, msg io.ReaderAt, ref DraftRef, plan recipientPlan, attachments []draftAttachment, o DeliverOptions) error {
	if plan.changed() {
		if err := d.setRecipients(ctx, ref.ID, plan); err != nil {
			return err
		}
	}
	for _, a := range attachments {
		var err error
		if a.size >= maxAttachmentPost {
			err = d.uploadAttachment(ctx, msg, ref.ID, a)
		} else {
			err = d.postAttachment(ctx, msg, ref.ID, a)
		}
		if err != nil {
			return err
		}
	}
	if o.OnDraft != nil {
		if err := o.OnDraft(ref.ID); err != nil {
			return err
		}
	}
	if o.OnDraftRef != nil {
		if err := o.OnDraftRef(ref); err != nil {
			return err
		}
	}
	return nil
}

// draftAttachment is a top-level part cut out of the draft's MIME.
type draftAttachment struct {
	part        mimePart
	name        string
	contentType string
	contentID   string
	size        int64 // decoded
}

// splitForDraft chooses which attachments to cut out of the MIME so that
// the rest, base64-encoded, fits in one request: the largest first, until
// it fits. Headers, body and inline parts stay as written.
func splitForDraft(msg io.ReaderAt, size int64, l *mimeLayout) (segments, []draftAttachment, error) {
	whole := segments{{off: 0, n: size}}
	if fitsOneRequest(size) {
		return whole, nil, nil
	}
	var candidates []int
	for i, p := range l.parts {
		if p.isAttachment() {
			candidates = append(candidates, i)
		}
	}
	sort.SliceStable(candidates, func(a, b int) bool {
		pa, pb := l.parts[candidates[a]], l.parts[candidates[b]]
		return pa.next-pa.delim > pb.next-pb.delim
	})
	drop := map[int]bool{}
	rest := size
	for _, i := range candidates {
		if fitsOneRequest(rest) {
			break
		}
		drop[i] = true
		rest -= l.parts[i].next - l.parts[i].delim
	}
	if !fitsOneRequest(rest) {
		what := "its body and inline parts"
		if !strings.HasPrefix(l.mediaType, "multipart/") {
			what = "its body (" + l.mediaType + ", not a multipart with attachments)"
		}
		return nil, nil, &InputError{Field: "mime", Problem: fmt.Sprintf("the message is %s and %s alone come to about %s; Graph takes at most about %s in one request", FormatSize(int(size)), what, FormatSize(int(rest)), FormatSize(SinglePostLimit)), Hint: "put large content in attachments (Content-Disposition: attachment) or behind a link"}
	}
	_, params, _ := mime.ParseMediaType(l.header.Get("Content-Type"))
	var atts []draftAttachment
	for i, p := range l.parts {
		if !drop[i] {
			continue
		}
		n, err := p.decodedSize(msg)
		if err != nil {
			return nil, nil, &InputError{Field: "mime", Problem: fmt.Sprintf("part %d (%s): its content does not decode: %v", i+1, p.fileName("attachment"), err), Hint: "give a whole RFC 5322 message"}
		}
		atts = append(atts, draftAttachment{part: p, name: p.fileName(fmt.Sprintf("attachment-%d", i+1)), contentType: p.contentType(), contentID: p.contentID(), size: n})
	}
	return without(size, l.parts, drop, params["boundary"]), atts, nil
}

// base64Body streams the base64 of src as a request body.
func base64Body(open func() io.Reader) func() (io.Reader, error) {
	return func() (io.Reader, error) {
		pr, pw := io.Pipe()
		go func() {
			enc := base64.NewEncoder(base64.StdEncoding, pw)
			_, err := io.Copy(enc, open())
			if err == nil {
				err = enc.Close()
			}
			pw.CloseWithError(err)
		}()
		return pr, nil
	}
}

// createDraft posts the MIME as a draft (base64, Content-Type text/plain)
// and returns its id.
func (d *draftDelivery) createDraft(ctx context.Context, msg io.ReaderAt, mimeSegs segments) (DraftRef, error) {
	n := mimeSegs.size()
	_, _, data, err := d.env.graphDo(ctx, graphRequest{
		method: http.MethodPost, url: d.env.GraphEndpoint(d.base + "/messages"), token: d.tok.AccessToken,
		contentType: "text/plain", size: int64(base64.StdEncoding.EncodedLen(int(n))),
		body: base64Body(func() io.Reader { return mimeSegs.reader(msg) }),
	})
	if err != nil {
		return DraftRef{}, d.draftRefused(err)
	}
	var m struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(data, &m) != nil || m.ID == "" {
		return DraftRef{}, &Error{Code: CodeBadResponse, State: StateError, Message: d.env.graphHost() + " created a draft but sent no id", Hint: "check MAILGRANT_GRAPH_HOST or your proxy"}
	}
	return DraftRef{Mailbox: d.mailbox, ID: m.ID}, nil
}

// draftRefused turns Graph's refusal of a draft into the needs-mail-readwrite
// error when the token lacks the right.
func (d *draftDelivery) draftRefused(err error) error {
	var fe *Error
	if errors.As(err, &fe) && fe.HTTPStatus == http.StatusForbidden && fe.Code == CodeGraphAccessDenied {
		c := readWriteError(d.p, readWritePermission(d.p, d.mailbox), d.why)
		c.HTTPStatus, c.Description, c.TraceID, c.Err = fe.HTTPStatus, fe.Description, fe.TraceID, err
		return c
	}
	return err
}

// setRecipients replaces the draft's recipients with the envelope's.
func (d *draftDelivery) setRecipients(ctx context.Context, id string, plan recipientPlan) error {
	conv := func(list []*mail.Address) []jsonRecipient {
		out := make([]jsonRecipient, 0, len(list))
		for _, a := range list {
			var r jsonRecipient
			r.EmailAddress.Address, r.EmailAddress.Name = a.Address, a.Name
			out = append(out, r)
		}
		return out
	}
	body, err := json.Marshal(map[string][]jsonRecipient{"toRecipients": conv(plan.to), "ccRecipients": conv(plan.cc), "bccRecipients": conv(plan.bcc)})
	if err != nil {
		return err
	}
	_, _, err = d.env.graphCall(ctx, http.MethodPatch, d.base+"/messages/"+pathEscape(id), d.tok.AccessToken, "application/json", body)
	return err
}

// postAttachment adds a small attachment in one request, its base64
// streamed into the JSON.
func (d *draftDelivery) postAttachment(ctx context.Context, msg io.ReaderAt, id string, a draftAttachment) error {
	head, err := json.Marshal(map[string]any{"@odata.type": "#microsoft.graph.fileAttachment", "name": a.name, "contentType": a.contentType, "isInline": false, "contentId": a.contentID})
	if err != nil {
		return err
	}
	prefix := append(head[:len(head)-1:len(head)-1], []byte(`,"contentBytes":"`)...)
	suffix := []byte(`"}`)
	encLen := int64(base64.StdEncoding.EncodedLen(int(a.size)))
	body := func() (io.Reader, error) {
		pr, pw := io.Pipe()
		go func() {
			dec, err := a.part.decoded(msg)
			if err == nil {
				_, err = pw.Write(prefix)
			}
			if err == nil {
				enc := base64.NewEncoder(base64.StdEncoding, pw)
				if _, err = io.Copy(enc, dec); err == nil {
					err = enc.Close()
				}
			}
			if err == nil {
				_, err = pw.Write(suffix)
			}
			pw.CloseWithError(err)
		}()
		return pr, nil
	}
	_, _, _, err = d.env.graphDo(ctx, graphRequest{method: http.MethodPost, url: d.env.GraphEndpoint(d.base + "/messages/" + pathEscape(id) + "/attachments"), token: d.tok.AccessToken, contentType: "application/json", size: int64(len(prefix)) + encLen + int64(len(suffix)), body: body})
	return err
}

// uploadSession is Graph's answer to createUploadSession and to a chunk.
type uploadSession struct {
	UploadURL          string   `json:"uploadUrl"`
	ExpirationDateTime string   `json:"expirationDateTime"`
	NextExpectedRanges []string `json:"nextExpectedRanges"`
}

// uploadAttachment adds a large attachment through an upload session:
// sequential PUTs of at most UploadChunkSize with Content-Range and no
// Authorization header; after a failed chunk it asks the session where to
// resume (nextExpectedRanges).
func (d *draftDelivery) uploadAttachment(ctx context.Context, msg io.ReaderAt, id string, a draftAttachment) error {
	item := map[string]any{"attachmentType": "file", "name": a.name, "size": a.size, "contentType": a.contentType, "isInline": false}
	if a.contentID != "" {
		item["contentId"] = a.contentID
	}
	req, err := json.Marshal(map[string]any{"AttachmentItem": item})
	if err != nil {
		return err
	}
	_, data, err := d.env.graphCall(ctx, http.MethodPost, d.base+"/messages/"+pathEscape(id)+"/attachments/createUploadSession", d.tok.AccessToken, "application/json", req)
	if err != nil {
		return err
	}
	var sess uploadSession
	if json.Unmarshal(data, &sess) != nil || sess.UploadURL == "" {
		return &Error{Code: CodeBadResponse, State: StateError, Message: d.env.graphHost() + " created an upload session but sent no uploadUrl", Hint: "check MAILGRANT_GRAPH_HOST or your proxy"}
	}
	return d.env.upload(ctx, sess.UploadURL, a.size, func() (io.Reader, error) { return a.part.decoded(msg) })
}

// upload PUTs size bytes from open() to an upload session's URL.
func (e *Env) upload(ctx context.Context, uploadURL string, size int64, open func() (io.Reader, error)) error {
	src, err := open()
	if err != nil {
		return err
	}
	buf := make([]byte, min(int64(UploadChunkSize), size))
	var off, read int64 // read: how far src has been consumed
	failures := 0
	// A session that keeps asking for bytes already sent would loop
	// forever: allow twice the chunks needed, and a few more.
	for puts := 0; off < size; puts++ {
		if puts > 2*int(size/int64(len(buf)))+2*uploadFailures+4 {
			return &Error{Code: CodeUploadStalled, State: StateError, Message: fmt.Sprintf("the upload session of %s makes no progress (at byte %d of %d)", e.graphHost(), off, size), Hint: "try again later; if it persists, check MAILGRANT_GRAPH_HOST or your proxy"}
		}
		if off != read {
			// Resume elsewhere: read the content again up to off.
			if src, err = open(); err != nil {
				return err
			}
			if _, err := io.CopyN(io.Discard, src, off); err != nil {
				return fmt.Errorf("read the attachment again: %w", err)
			}
			read = off
		}
		n := min(int64(len(buf)), size-off)
		if _, err := io.ReadFull(src, buf[:n]); err != nil {
			return fmt.Errorf("read the attachment: %w", err)
		}
		read += n
		chunk := buf[:n]
		status, _, data, err := e.graphDo(ctx, graphRequest{
			method: http.MethodPut, url: uploadURL, contentType: "application/octet-stream", size: n, body: bytesBody(chunk),
			header: map[string]string{"Content-Range": fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, size)},
		})
		if err == nil && status == http.StatusCreated {
			return nil
		}
		if err == nil {
			var s uploadSession
			_ = json.Unmarshal(data, &s)
			next, ok := ParseNextExpectedRanges(s.NextExpectedRanges)
			if !ok {
				next = off + n
			}
			off, failures = next, 0
			continue
		}
		var fe *Error
		if errors.As(err, &fe) && (fe.HTTPStatus == http.StatusNotFound || fe.HTTPStatus == http.StatusUnauthorized || fe.HTTPStatus == http.StatusForbidden) {
			return err // the session is gone or refused: resuming cannot help
		}
		if failures++; failures > uploadFailures || ctx.Err() != nil {
			return err
		}
		// Ask the session where to resume.
		_, _, data, qerr := e.graphDo(ctx, graphRequest{method: http.MethodGet, url: uploadURL})
		if qerr != nil {
			continue // try the same chunk again
		}
		var s uploadSession
		_ = json.Unmarshal(data, &s)
		if next, ok := ParseNextExpectedRanges(s.NextExpectedRanges); ok {
			off = next
		}
	}
	return fmt.Errorf("the upload session did not finish after %d bytes", size)
}

// ParseNextExpectedRanges reads an upload session's nextExpectedRanges
// ("12345-" or "12345-67890", the first is where to resume) and returns the
// first range's start.
func ParseNextExpectedRanges(ranges []string) (int64, bool) {
	if len(ranges) == 0 {
		return 0, false
	}
	start, _, ok := strings.Cut(strings.TrimSpace(ranges[0]), "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(start, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// ErrDraftGone is wrapped by SendDraft's error when the draft no longer
// exists: it was sent (Graph moved it to Sent Items) or deleted.
var ErrDraftGone = errors.New("the draft no longer exists: it was sent or deleted")

// sendDraft posts .../messages/{id}/send and returns Graph's request-id.
func (d *draftDelivery) sendDraft(ctx context.Context, id string) (string, error) {
	_, h, _, err := d.env.graphDo(ctx, graphRequest{method: http.MethodPost, url: d.env.GraphEndpoint(d.base + "/messages/" + pathEscape(id) + "/send"), token: d.tok.AccessToken, body: bytesBody(nil)})
	var fe *Error
	if errors.As(err, &fe) && fe.HTTPStatus == http.StatusNotFound && fe.Code != CodeMailboxNotEnabled && fe.Code != CodeInvalidUser {
		c := *fe
		c.Err = ErrDraftGone
		return "", &c
	}
	if err != nil {
		return "", err
	}
	return h.Get("request-id"), nil
}

// deleteDraft deletes a draft; one already gone counts as deleted.
func (d *draftDelivery) deleteDraft(ctx context.Context, id string) error {
	_, _, err := d.env.graphCall(ctx, http.MethodDelete, d.base+"/messages/"+pathEscape(id), d.tok.AccessToken, "", nil)
	var fe *Error
	if errors.As(err, &fe) && fe.HTTPStatus == http.StatusNotFound {
		return nil
	}
	return err
}

// draftFor is a draftDelivery for a recorded draft, without the
// permission check (the draft exists already).
func draftFor(env *Env, p store.Profile, tok *Token, mailbox string) *draftDelivery {
	return &draftDelivery{env: env.ForProfile(p), p: p, tok: tok, mailbox: mailbox, base: mailboxBase(mailbox)}
}

// DraftExists reports whether the draft draftID still exists in mailbox (""
// for the signed-in user) as a draft. After a crash between recording a
// draft (DeliverOptions.OnDraftRef) and learning how its send went, a draft
// that exists was not sent (send it with SendDraft); one that is gone was
// sent, since Graph moves a sent draft to Sent Items under another id.
func DraftExists(ctx context.Context, env *Env, p store.Profile, tok *Token, mailbox, draftID string) (bool, error) {
	d := draftFor(env, p, tok, mailbox)
	_, data, err := d.env.graphCall(ctx, http.MethodGet, d.base+"/messages/"+pathEscape(draftID)+"?$select=id,isDraft", tok.AccessToken, "", nil)
	var fe *Error
	if errors.As(err, &fe) && fe.HTTPStatus == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var m struct {
		IsDraft *bool `json:"isDraft"`
	}
	_ = json.Unmarshal(data, &m)
	return m.IsDraft == nil || *m.IsDraft, nil
}

// SendDraft sends a complete draft, as Deliver's last step does. When the
// draft is gone its error wraps ErrDraftGone.
func SendDraft(ctx context.Context, env *Env, p store.Profile, tok *Token, mailbox, draftID string) error {
	_, err := draftFor(env, p, tok, mailbox).sendDraft(ctx, draftID)
	return err
}

// DeleteDraft deletes a draft; one already gone is not an error.
func DeleteDraft(ctx context.Context, env *Env, p store.Profile, tok *Token, mailbox, draftID string) error {
	return draftFor(env, p, tok, mailbox).deleteDraft(ctx, draftID)
}
