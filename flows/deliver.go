package flows

import (
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
// requests above about 4 MB (reference §9a).
const SinglePostLimit = 3 << 20

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
	// whether the message went (see DraftExists).
	ExactlyOnce bool
	// OnDraft, when set, is called with the draft's id once the draft is
	// complete and before it is sent; an error from it stops the delivery
	// and deletes the draft.
	OnDraft func(draftID string) error
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
// TODO(large): the draft and upload-session path for messages above
// SinglePostLimit and ExactlyOnce; today every message goes as one request.
func Deliver(ctx context.Context, env *Env, p store.Profile, tok *Token, msg io.ReaderAt, size int64, e Envelope, o DeliverOptions) (*DeliverResult, error) {
	limit := o.MaxMessageSize
	if limit <= 0 {
		limit = DefaultMaxMessageSize
	}
	if size > limit {
		return nil, &Error{Code: "ErrorMessageSizeExceeded", Message: fmt.Sprintf("the message is %s; this tenant accepts at most %s", FormatSize(int(size)), FormatSize(int(limit))), Hint: "send large files as a link, or raise the limit with --max-message-size if the tenant allows more", State: StateError}
	}
	raw, err := io.ReadAll(io.NewSectionReader(msg, 0, size))
	if err != nil {
		return nil, fmt.Errorf("read the message: %w", err)
	}
	raw, err = withEnvelopeBcc(raw, e.Recipients)
	if err != nil {
		return nil, err
	}
	m := Message{MIME: raw}
	if sum, err := ParseMIME(raw); err == nil {
		m.From = sum.From
	}
	if m.From == "" {
		m.From = e.From
	}
	if err := Send(ctx, env, p, tok, m); err != nil {
		return nil, err
	}
	return &DeliverResult{Mailbox: m.From, Path: "sendMail"}, nil
}

// withEnvelopeBcc adds a Bcc header naming every envelope recipient that the
// To, Cc and Bcc headers do not. TODO(large): recipients named in the
// headers but absent from the envelope must not receive the message.
func withEnvelopeBcc(raw []byte, rcpts []string) ([]byte, error) {
	if len(rcpts) == 0 {
		return raw, nil
	}
	sum, err := ParseMIME(raw)
	if err != nil {
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(ie.Problem, "no recipient") {
			return nil, err
		}
		sum = &MIMESummary{}
	}
	named := map[string]bool{}
	for _, a := range append(append(append([]string{}, sum.To...), sum.Cc...), sum.Bcc...) {
		named[strings.ToLower(a)] = true
	}
	var extra []string
	for _, r := range rcpts {
		a, err := mail.ParseAddress(r)
		if err != nil {
			return nil, &InputError{Field: "recipient", Problem: fmt.Sprintf("%q is not an email address (%s)", r, addrProblem(err)), Hint: "give recipients as user@example.com"}
		}
		if !named[strings.ToLower(a.Address)] {
			extra = append(extra, a.Address)
			named[strings.ToLower(a.Address)] = true
		}
	}
	if len(extra) == 0 {
		return raw, nil
	}
	var b bytes.Buffer
	b.WriteString("Bcc: " + strings.Join(extra, ", ") + "\r\n")
	b.Write(raw)
	return b.Bytes(), nil
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
	var fe *Error
	if !errors.As(err, &fe) {
		return OutcomeTemporary
	}
	switch fe.Code {
	case "ErrorMessageSizeExceeded", "RequestEntityTooLarge":
		return OutcomeTooLarge
	case "ErrorSendAsDenied", "ErrorAccessDenied":
		return OutcomeDenied
	case "MailboxNotEnabledForRESTAPI", "MailboxNotSupportedForRESTAPI", "ErrorInvalidUser", "ResourceNotFound", "ErrorInvalidRecipients":
		return OutcomeUnknownMailbox
	case "ErrorMimeContentInvalidBase64String", "ErrorMimeContentConversionFailed", "ErrorInvalidMimeContent", "bad-input":
		return OutcomeBadMessage
	case "needs-mail-readwrite":
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
