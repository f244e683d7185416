package flows

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"

	"github.com/mailgrant/mailgrant/store"
)

// This file is the one way a whole RFC 5322 message leaves mailgrant:
// `send --mime`, `sendmail` and the relay all call Deliver, and all read its
// failures through Classify. Deliver picks the path by size: one sendMail
// request up to SinglePostLimit, else a draft with upload sessions.

// SinglePostLimit is the largest message (before base64) sent in one
// sendMail request: base64 makes it a third larger, and Graph refuses
// requests above about 4 MB (reference §9a). It is 3.5 MB encoded, under
// the limit with room for a few added headers.
const SinglePostLimit = (7 << 19) / 4 * 3

// DefaultMaxMessageSize is Exchange Online's default maximum message size;
// tenants can raise theirs up to 150 MB (DeliverOptions.MaxMessageSize).
const DefaultMaxMessageSize = 35 << 20

// Envelope is who a message is from and who must receive it, as SMTP (or
// sendmail's arguments) says it. Every recipient gets the message and nobody
// else: a recipient the headers do not name is delivered as Bcc.
type Envelope struct {
	// From is the envelope sender (MAIL FROM, sendmail -f). The mailbox
	// sent as is the message's From header when it has one, else this.
	From string
	// Recipients are the envelope recipients (RCPT TO, sendmail arguments
	// or, with -t, the To, Cc and Bcc headers).
	Recipients []string
}

// DeliverOptions tune Deliver.
type DeliverOptions struct {
	// MaxMessageSize is the tenant's maximum message size in bytes; 0 means
	// DefaultMaxMessageSize. Larger messages are refused before any request.
	MaxMessageSize int64
	// ExactlyOnce sends through a draft whose id is reported to OnDraft
	// before the send, so a caller that records it can tell after a crash
	// whether the message went (see DraftExists). When the send itself
	// fails, the draft is kept and Deliver returns its DeliverResult with
	// the error, for the caller to settle: after a temporary failure (its
	// answer may have been lost) DraftExists says whether it went, and
	// SendDraft sends it if not; after a refusal the caller forgets the
	// id, then deletes the draft (DeleteDraft).
	ExactlyOnce bool
	// OnDraft, when set, is called with the draft's id once the draft is
	// complete and before it is sent; an error from it stops the delivery
	// and deletes the draft.
	OnDraft func(draftID string) error
	// OnDraftRef, when set, is called like OnDraft with the draft's
	// mailbox as well, which DraftExists, SendDraft and DeleteDraft need.
	OnDraftRef func(ref DraftRef) error
	// Mailbox, when set, is the mailbox to send as, whatever the message's
	// From header says (send --from).
	Mailbox string
}

// DraftRef names a draft: its mailbox ("" for the signed-in user, /me) and
// its id.
type DraftRef struct {
	Mailbox string `json:"mailbox,omitempty"`
	ID      string `json:"id"`
}

// DeliverResult says how a message went.
type DeliverResult struct {
	// Mailbox is the mailbox the message was sent as (empty for /me).
	Mailbox string
	// Path is "sendMail" (one request) or "draft" (draft, uploads, send).
	Path string
	// DraftID is the draft's id on the draft path.
	DraftID string
	// RequestID is Graph's request-id of the final request, for support.
	RequestID string
}

// Deliver sends the RFC 5322 message in msg (size bytes) for profile p with
// token tok, to exactly the envelope's recipients.
//
// A message larger than the tenant's limit is refused before any request.
// One that fits in one request (SinglePostLimit) goes as one MIME sendMail,
// with envelope-only recipients added as Bcc. A larger one, one whose
// headers name recipients outside the envelope, and every message with
// ExactlyOnce goes through a draft (see DraftExists): that needs
// Mail.ReadWrite, and a profile without it gets an *Error with Code
// "needs-mail-readwrite" (OutcomeNeedsPermission) before any request.
// msg is read as needed, never held whole in memory on the draft path.
func Deliver(ctx context.Context, env *Env, p store.Profile, tok *Token, msg io.ReaderAt, size int64, e Envelope, o DeliverOptions) (*DeliverResult, error) {
	limit := o.MaxMessageSize
	if limit <= 0 {
		limit = DefaultMaxMessageSize
	}
	if size > limit {
		return nil, &Error{Code: CodeMessageSizeExceeded, Message: fmt.Sprintf("the message is %s; this tenant accepts at most %s", FormatSize(int(size)), FormatSize(int(limit))), Hint: "send large files as a link, or raise the limit with --max-message-size if the tenant allows more", State: StateError}
	}
	sum, err := parseMIMEAt(msg, size, len(e.Recipients) == 0)
	if err != nil {
		return nil, err
	}
	plan, err := planRecipients(msg, size, e.Recipients)
	if err != nil {
		return nil, err
	}
	from := o.Mailbox
	if from == "" {
		from = sum.From
	}
	if from == "" {
		from = e.From
	}
	bccLine := plan.bccHeader()
	if !o.ExactlyOnce && len(plan.headerOnly) == 0 && fitsOneRequest(size+int64(len(bccLine))) {
		raw := make([]byte, 0, size+int64(len(bccLine)))
		raw = append(raw, bccLine...)
		buf := bytes.NewBuffer(raw)
		if _, err := io.Copy(buf, io.NewSectionReader(msg, 0, size)); err != nil {
			return nil, fmt.Errorf("read the message: %w", err)
		}
		if err := Send(ctx, env, p, tok, Message{From: from, MIME: buf.Bytes()}); err != nil {
			return nil, err
		}
		return &DeliverResult{Mailbox: sendingMailbox(p, from), Path: "sendMail"}, nil
	}
	why := WhyLarge
	switch {
	case len(plan.headerOnly) > 0:
		why = fmt.Sprintf("its headers name %s, who is not among its recipients and must be left out (sendmail -t would send to everyone the headers name)", strings.Join(plan.headerOnly, ", "))
	case o.ExactlyOnce:
		why = "exactly-once delivery was asked for"
	}
	d, err := newDraftDelivery(env, p, tok, from, why)
	if err != nil {
		return nil, err
	}
	return d.deliver(ctx, msg, size, plan, o)
}

// fitsOneRequest reports whether a message of n bytes, base64-encoded, fits
// in one sendMail request.
func fitsOneRequest(n int64) bool { return n <= SinglePostLimit }

// sendingMailbox is the mailbox a message from "from" is sent as: "" for
// the signed-in user (/me), else the address.
func sendingMailbox(p store.Profile, from string) string {
	if p.Scenario.Delegated() && (from == "" || sameAddress(from, p.Account)) {
		return ""
	}
	if from == "" {
		from = p.Account
	}
	if a, err := mail.ParseAddress(from); err == nil {
		return a.Address
	}
	return from
}

// recipientPlan is who receives a message: the header recipients that are
// in the envelope keep their place (To, Cc, Bcc), envelope-only recipients
// are added as Bcc, and header recipients outside the envelope are left
// out. Without an envelope the headers decide alone.
type recipientPlan struct {
	to, cc, bcc []*mail.Address
	// headerOnly are addresses the headers name that the envelope does
	// not: they must not receive the message, so the draft path sets the
	// draft's recipients instead of trusting the headers.
	headerOnly []string
	// envOnly are envelope recipients the headers do not name; they go as
	// Bcc.
	envOnly []string
}

// changed reports whether the final recipients differ from the headers'.
func (r recipientPlan) changed() bool { return len(r.headerOnly)+len(r.envOnly) > 0 }

// bccHeader is a Bcc header line naming the envelope-only recipients, or
// "" when there are none.
func (r recipientPlan) bccHeader() string {
	if len(r.envOnly) == 0 {
		return ""
	}
	return "Bcc: " + strings.Join(r.envOnly, ", ") + "\r\n"
}

// planRecipients reads the To, Cc and Bcc headers of the message and
// splits them against the envelope's recipients.
func planRecipients(msg io.ReaderAt, size int64, rcpts []string) (recipientPlan, error) {
	var plan recipientPlan
	m, err := mail.ReadMessage(bufio.NewReader(io.NewSectionReader(msg, 0, size)))
	if err != nil {
		return plan, &InputError{Field: "mime", Problem: fmt.Sprintf("the header section does not parse: %v", err), Hint: "give a whole RFC 5322 message"}
	}
	headers := map[string][]*mail.Address{}
	for _, h := range []string{"To", "Cc", "Bcc"} {
		if len(m.Header[h]) > 1 {
			// RFC 5322 allows one of each; which one a server reads is
			// anyone's guess, so who would receive it is unknown.
			return plan, &InputError{Field: "mime", Problem: fmt.Sprintf("the message has %d %s headers; a message has at most one", len(m.Header[h]), h), Hint: "put every address in one " + h + " header, separated by commas"}
		}
		if m.Header.Get(h) == "" {
			continue
		}
		list, err := m.Header.AddressList(h)
		if err != nil {
			return plan, &InputError{Field: "mime", Problem: fmt.Sprintf("the %s header: %s", h, addrProblem(err)), Hint: "give a whole RFC 5322 message"}
		}
		headers[h] = list
	}
	if len(rcpts) == 0 {
		plan.to, plan.cc, plan.bcc = headers["To"], headers["Cc"], headers["Bcc"]
		return plan, nil
	}
	inEnvelope := map[string]bool{}
	var envelope []string
	for _, r := range rcpts {
		a, err := mail.ParseAddress(r)
		if err != nil {
			return plan, &InputError{Field: "recipient", Problem: fmt.Sprintf("%q is not an email address (%s)", r, addrProblem(err)), Hint: "give recipients as user@example.com"}
		}
		if k := strings.ToLower(a.Address); !inEnvelope[k] {
			inEnvelope[k] = true
			envelope = append(envelope, a.Address)
		}
	}
	placed := map[string]bool{}
	for _, h := range []struct {
		name string
		dst  *[]*mail.Address
	}{{"To", &plan.to}, {"Cc", &plan.cc}, {"Bcc", &plan.bcc}} {
		for _, a := range headers[h.name] {
			k := strings.ToLower(a.Address)
			switch {
			case placed[k]:
			case inEnvelope[k]:
				*h.dst = append(*h.dst, a)
				placed[k] = true
			default:
				plan.headerOnly = append(plan.headerOnly, a.Address)
				placed[k] = true
			}
		}
	}
	for _, a := range envelope {
		if !placed[strings.ToLower(a)] {
			plan.envOnly = append(plan.envOnly, a)
			plan.bcc = append(plan.bcc, &mail.Address{Address: a})
		}
	}
	return plan, nil
}

// Outcome is what a failed (or successful) delivery means for whoever asked
// for it: sendmail turns it into an exit status, the relay into an SMTP
// reply or a retry.
type Outcome int

// The outcomes of a delivery.
const (
	// OutcomeSent: Graph accepted the message (202).
	OutcomeSent Outcome = iota
	// OutcomeTemporary: throttled past the retries, a 5xx, the network, or
	// a grant that needs re-authorization; the message was not sent and
	// trying again later may work.
	OutcomeTemporary
	// OutcomeBadMessage: the message itself is malformed (bad MIME, no
	// recipient, bad address).
	OutcomeBadMessage
	// OutcomeUnknownMailbox: the sender or a recipient mailbox does not
	// exist or has no Exchange Online mailbox.
	OutcomeUnknownMailbox
	// OutcomeDenied: the profile may not send as this sender
	// (ErrorSendAsDenied, ErrorAccessDenied, outside an RBAC scope).
	OutcomeDenied
	// OutcomeTooLarge: above the tenant's maximum message size.
	OutcomeTooLarge
	// OutcomeNeedsPermission: the message needs a permission the profile
	// lacks (Mail.ReadWrite for the draft path).
	OutcomeNeedsPermission
	// OutcomeFailed: any other permanent failure.
	OutcomeFailed
)

// String names the outcome for logs and JSON.
func (o Outcome) String() string {
	switch o {
	case OutcomeSent:
		return "sent"
	case OutcomeTemporary:
		return "temporary"
	case OutcomeBadMessage:
		return "bad-message"
	case OutcomeUnknownMailbox:
		return "unknown-mailbox"
	case OutcomeDenied:
		return "denied"
	case OutcomeTooLarge:
		return "too-large"
	case OutcomeNeedsPermission:
		return "needs-permission"
	}
	return "failed"
}

// Permanent reports whether trying again cannot help.
func (o Outcome) Permanent() bool { return o != OutcomeSent && o != OutcomeTemporary }

// Classify says what a Deliver (or Send, or GetToken) error means.
func Classify(err error) Outcome {
	if err == nil {
		return OutcomeSent
	}
	var ie *InputError
	if errors.As(err, &ie) {
		return OutcomeBadMessage
	}
	if errors.Is(err, ErrDraftGone) {
		// The draft or its upload session went away under the delivery
		// (an expired session, an earlier send finishing): starting again
		// may work; it says nothing about the mailboxes.
		return OutcomeTemporary
	}
	var fe *Error
	if !errors.As(err, &fe) {
		return OutcomeTemporary
	}
	switch fe.Code {
	case CodeItemNotFound:
		// A draft, attachment or upload session not found: as above.
		return OutcomeTemporary
	case CodeMessageSizeExceeded, CodeRequestTooLarge:
		return OutcomeTooLarge
	case CodeSendAsDenied, CodeGraphAccessDenied:
		return OutcomeDenied
	case CodeMailboxNotEnabled, CodeMailboxNotSupported, CodeInvalidUser, CodeResourceNotFound, CodeInvalidRecipients:
		return OutcomeUnknownMailbox
	case CodeMimeInvalidBase64, CodeMimeConversionFailed, CodeInvalidMime, CodeBadInput:
		return OutcomeBadMessage
	case CodeNeedsMailReadWrite, CodeSharedMailboxUpload:
		return OutcomeNeedsPermission
	}
	switch fe.State {
	case StateReauthorize, StateCredentialExpired, StateUnauthorized, StateConsentMissing:
		return OutcomeTemporary
	}
	switch {
	case fe.HTTPStatus == 429 || fe.HTTPStatus >= 500 || fe.HTTPStatus == 0:
		return OutcomeTemporary
	case fe.HTTPStatus == 413:
		return OutcomeTooLarge
	case fe.HTTPStatus == 401:
		return OutcomeTemporary
	case fe.HTTPStatus == 403:
		return OutcomeDenied
	case fe.HTTPStatus == 404:
		return OutcomeUnknownMailbox
	}
	return OutcomeFailed
}
