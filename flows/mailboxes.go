package flows

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Verdict is what a test send as one mailbox found out.
type Verdict string

// The verdicts of CheckMailboxes (DESIGN.md, check-mailboxes --json).
const (
	// VerdictAllowed: Graph accepted the test message (202).
	VerdictAllowed Verdict = "allowed"
	// VerdictDenied: the app may not send as the mailbox (403
	// ErrorAccessDenied, as Exchange scoping answers, or ErrorSendAsDenied).
	VerdictDenied Verdict = "denied"
	// VerdictNotFound: no such user (404 ErrorInvalidUser,
	// Request_ResourceNotFound or ResourceNotFound).
	VerdictNotFound Verdict = "not-found"
	// VerdictNoMailbox: the user exists but has no Exchange Online mailbox
	// (404 MailboxNotEnabledForRESTAPI or MailboxNotSupportedForRESTAPI).
	VerdictNoMailbox Verdict = "no-mailbox"
	// VerdictError: the check could not say (network, throttling after
	// retries, an expired token, anything else); Message says what.
	VerdictError Verdict = "error"
)

// Symbol marks a verdict without relying on colour.
func (v Verdict) Symbol() string {
	switch v {
	case VerdictAllowed:
		return "✓"
	case VerdictDenied:
		return "✗"
	case VerdictNotFound, VerdictNoMailbox:
		return "·"
	default:
		return "!"
	}
}

// DefaultMailboxConcurrency is how many test sends CheckMailboxes runs at
// once when MailboxCheckOptions.Concurrency is 0.
const DefaultMailboxConcurrency = 8

// MailboxCheckOptions configure CheckMailboxes.
type MailboxCheckOptions struct {
	// To is where the test messages go; empty means each mailbox sends to
	// itself.
	To string
	// Concurrency is how many test sends run at once; 0 means
	// DefaultMailboxConcurrency.
	Concurrency int
	// Progress, when set, is called after each mailbox with how many are
	// done out of how many; calls never overlap and done only grows.
	Progress func(done, total int)
	// Renew, when set, gets a new access token when Graph answers that the
	// current one is no longer valid (401 InvalidAuthenticationToken, as when
	// it expires during a long run). It is called at most once per expired
	// token however many sends notice it; nil means the token is never
	// renewed and such sends end with VerdictError.
	Renew func(context.Context) (*Token, error)
}

// MailboxResult is one mailbox's verdict.
type MailboxResult struct {
	// Mailbox is the address the app tried to send as.
	Mailbox string `json:"mailbox"`
	// Verdict is allowed, denied, not-found, no-mailbox or error.
	Verdict Verdict `json:"verdict"`
	// Code is Graph's error code (ErrorAccessDenied …), or mailgrant's
	// (network, cancelled …); empty when allowed.
	Code Code `json:"code"`
	// Message is Graph's error message, or what went wrong; empty when
	// allowed.
	Message string `json:"message"`
}

// CheckMailboxes finds out which mailboxes an app-only token may send as:
// for each, a test message from that mailbox to itself (or to o.To), at most
// o.Concurrency at a time, each retried after Retry-After when throttled.
// Results come in the order of mailboxes. Only Graph's answers decide a
// verdict; a cancelled ctx leaves the unchecked mailboxes as VerdictError
// with code "cancelled".
func (e *Env) CheckMailboxes(ctx context.Context, token string, mailboxes []string, o MailboxCheckOptions) []MailboxResult {
	results := make([]MailboxResult, len(mailboxes))
	checked := make([]bool, len(mailboxes))
	n := o.Concurrency
	if n <= 0 {
		n = DefaultMailboxConcurrency
	}
	h := &tokenHolder{token: token, renew: o.Renew}
	var mu sync.Mutex
	done := 0
	// The same primitive as CheckAll, with this check's own bound.
	var g errgroup.Group
	g.SetLimit(n)
	for i, mailbox := range mailboxes {
		if ctx.Err() != nil {
			break // the rest stay unchecked
		}
		g.Go(func() error {
			results[i] = e.checkMailbox(ctx, h, mailbox, o.To)
			mu.Lock()
			checked[i] = true
			done++
			if o.Progress != nil {
				o.Progress(done, len(mailboxes))
			}
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait() // verdicts carry the failures, never errors
	for i, ok := range checked {
		if !ok {
			results[i] = MailboxResult{Mailbox: mailboxes[i], Verdict: VerdictError, Code: CodeCancelled, Message: "not checked: cancelled"}
		}
	}
	return results
}

// checkMailbox sends one test message as mailbox and turns the answer into
// a verdict, renewing the token once if Graph says it is no longer valid.
func (e *Env) checkMailbox(ctx context.Context, h *tokenHolder, mailbox, to string) MailboxResult {
	if to == "" {
		to = mailbox
	}
	m := Message{
		From:    mailbox,
		To:      []string{to},
		Subject: "mailgrant mailbox check",
		Body:    fmt.Sprintf("mailgrant check-mailboxes sent this message to check that the app may send as %s. No action is needed.", mailbox),
		// A check should leave no trace in the mailbox beyond the message.
		SkipSentItems: true,
	}
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		tok, gen, terr := h.get()
		if terr != nil {
			err = terr
			break
		}
		err = e.SendMail(ctx, tok, true, m)
		var fe *Error
		if attempt == 0 && h.renew != nil && errors.As(err, &fe) && fe.HTTPStatus == 401 && fe.Code == CodeInvalidAuthenticationToken {
			h.renewAfter(ctx, gen)
			continue
		}
		break
	}
	return verdict(mailbox, err)
}

// verdict maps a send's outcome to a MailboxResult (DESIGN.md verdicts).
func verdict(mailbox string, err error) MailboxResult {
	r := MailboxResult{Mailbox: mailbox, Verdict: VerdictAllowed}
	if err == nil {
		return r
	}
	fe := AsError(err)
	r.Code, r.Message = fe.Code, fe.Description
	if r.Message == "" {
		r.Message = fe.Message
	}
	switch fe.Code {
	case CodeGraphAccessDenied, CodeSendAsDenied:
		r.Verdict = VerdictDenied
	case CodeInvalidUser, CodeUserNotFound, CodeResourceNotFound:
		r.Verdict = VerdictNotFound
	case CodeMailboxNotEnabled, CodeMailboxNotSupported:
		r.Verdict = VerdictNoMailbox
	default:
		r.Verdict = VerdictError
	}
	return r
}

// tokenHolder shares one access token among the workers of a check and
// renews it once when it stops working.
type tokenHolder struct {
	mu    sync.Mutex
	token string
	gen   int
	err   error
	renew func(context.Context) (*Token, error)
}

// get returns the current token and its generation, or the error of a
// renewal that failed.
func (h *tokenHolder) get() (string, int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.token, h.gen, h.err
}

// renewAfter renews the token unless a newer generation than gen is
// already there; other workers wait for the renewal instead of repeating it.
func (h *tokenHolder) renewAfter(ctx context.Context, gen int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gen != gen || h.err != nil {
		return
	}
	h.gen++
	tok, err := h.renew(ctx)
	if err != nil {
		fe := AsError(err)
		c := *fe
		c.Message = "the access token expired and a new one could not be obtained: " + fe.Message
		h.err = &c
		return
	}
	h.token = tok.AccessToken
}
