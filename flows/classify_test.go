package flows

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mailgrant/mailgrant/store"
)

// TestClassify: what sendmail's exit status and the relay's decision rest
// on. Item-level 404s (a draft or upload session gone) are worth another
// try; mailbox-level ones are not.
func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Outcome
	}{
		{"nil", nil, OutcomeSent},
		{"bad input", &InputError{Field: "mime", Problem: "x"}, OutcomeBadMessage},
		{"plain error", fmt.Errorf("boom"), OutcomeTemporary},
		{"upload session expired", &Error{Code: "ErrorItemNotFound", HTTPStatus: 404}, OutcomeTemporary},
		{"draft gone", fmt.Errorf("send the draft: %w", ErrDraftGone), OutcomeTemporary},
		{"no mailbox", &Error{Code: "MailboxNotEnabledForRESTAPI", HTTPStatus: 404}, OutcomeUnknownMailbox},
		{"unknown user", &Error{Code: "ErrorInvalidUser", HTTPStatus: 404}, OutcomeUnknownMailbox},
		{"send as denied", &Error{Code: "ErrorSendAsDenied", HTTPStatus: 403}, OutcomeDenied},
		{"too large", &Error{Code: "RequestEntityTooLarge", HTTPStatus: 413}, OutcomeTooLarge},
		{"throttled", &Error{Code: "TooManyRequests", HTTPStatus: 429}, OutcomeTemporary},
		{"revoked grant", &Error{Code: "AADSTS50173", State: StateReauthorize, HTTPStatus: 400}, OutcomeTemporary},
		{"needs Mail.ReadWrite", &Error{Code: "needs-mail-readwrite"}, OutcomeNeedsPermission},
		{"bad MIME", &Error{Code: "ErrorMimeContentInvalidBase64String", HTTPStatus: 400}, OutcomeBadMessage},
	}
	for _, tt := range tests {
		if got := Classify(tt.err); got != tt.want {
			t.Errorf("%s: Classify = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestDeliverRefusesTwoToHeaders: a message with two To headers is refused
// as malformed before any request, since which one Graph reads would decide
// who gets it.
func TestDeliverRefusesTwoToHeaders(t *testing.T) {
	msg := []byte("From: a@contoso.com\r\nTo: b@contoso.com\r\nTo: c@contoso.com\r\nSubject: s\r\n\r\nbody\r\n")
	_, err := Deliver(context.Background(), &Env{}, store.Profile{Scenario: store.SendAsUser}, &Token{}, bytes.NewReader(msg), int64(len(msg)), Envelope{Recipients: []string{"b@contoso.com"}}, DeliverOptions{})
	if Classify(err) != OutcomeBadMessage || !strings.Contains(err.Error(), "2 To headers") {
		t.Fatalf("Deliver: %v", err)
	}
}
