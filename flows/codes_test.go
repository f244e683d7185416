package flows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
)

// A failure keeps its kind through every wrapper a caller adds, so code
// branches with errors.Is instead of comparing code strings.
func TestErrorIsMatchesByCodeThroughWrapping(t *testing.T) {
	cancelled := &flows.Error{Code: flows.CodeCancelled, Message: "cancelled while waiting"}
	wrapped := fmt.Errorf("rotate demo: %w", fmt.Errorf("waiting: %w", cancelled))
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"wrapped cancelled", wrapped, flows.ErrCancelled, true},
		{"cancelled is not a keyring failure", wrapped, flows.ErrKeyring, false},
		{"keyring", fmt.Errorf("save: %w", &flows.Error{Code: flows.CodeKeyring, Message: "locked"}), flows.ErrKeyring, true},
		{"consent pending", &flows.Error{Code: flows.CodeConsentPending}, flows.ErrConsentPending, true},
		{"a plain error", errors.New("cancelled"), flows.ErrCancelled, false},
		{"no code matches no code", &flows.Error{Message: "x"}, &flows.Error{Message: "y"}, false},
		{"nil", nil, flows.ErrCancelled, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", tt.err, tt.target, got, tt.want)
			}
		})
	}
}

// A Graph call stopped by its context says "cancelled" in a way callers
// can test for, wrapped or not.
func TestCancelledGraphCallIsErrCancelled(t *testing.T) {
	_, env := startSandbox(t, sandbox.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := env.GetMe(ctx, "any-token")
	if !errors.Is(fmt.Errorf("status: %w", err), flows.ErrCancelled) {
		t.Fatalf("a cancelled call gave %v, not ErrCancelled", err)
	}
}

// The codes are wire strings: status --json, check-mailboxes --json and the
// sent-mail log print them, and scripts compare them.
func TestCodesKeepTheirJSONStrings(t *testing.T) {
	tests := []struct {
		code flows.Code
		want string
	}{
		{flows.CodeCancelled, "cancelled"},
		{flows.CodeKeyring, "keyring"},
		{flows.CodeConsentPending, "consent-pending"},
		{flows.CodeNeedsMailReadWrite, "needs-mail-readwrite"},
		{flows.CodeRBACUnrestricted, "rbac-unrestricted"},
		{flows.CodePolicyUnrestricted, "policy-unrestricted"},
		{flows.CodeCertificateRejected, "AADSTS700027"},
		{flows.CodeConsentDeclined, "AADSTS65004"},
		{flows.CodeAccessDenied, "access_denied"},
		{flows.CodeGraphAccessDenied, "ErrorAccessDenied"},
		{flows.CodeSendAsDenied, "ErrorSendAsDenied"},
		{flows.CodeInvalidAuthenticationToken, "InvalidAuthenticationToken"},
		{flows.CodeUserNotFound, "Request_ResourceNotFound"},
		{flows.CodeMailboxNotEnabled, "MailboxNotEnabledForRESTAPI"},
		{flows.CodeInvalidUser, "ErrorInvalidUser"},
	}
	for _, tt := range tests {
		e, err := json.Marshal(&flows.Error{Code: tt.code, Message: "m"})
		if err != nil {
			t.Fatal(err)
		}
		m, err := json.Marshal(flows.MailboxResult{Mailbox: "a@b", Verdict: flows.VerdictError, Code: tt.code})
		if err != nil {
			t.Fatal(err)
		}
		want := `"code":"` + tt.want + `"`
		if !strings.Contains(string(e), want) || !strings.Contains(string(m), want) {
			t.Errorf("%s: JSON %s / %s, want %s", tt.want, e, m, want)
		}
	}
}
