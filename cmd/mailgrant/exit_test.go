package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mailgrant/mailgrant/flows"
)

// A flow that says it was cancelled ends the process with 130 however the
// commands wrapped its error, and the line printed does not repeat the code.
func TestCancelledFlowErrorExits130(t *testing.T) {
	// Given a cancelled flow error without a context error under it,
	// wrapped twice as commands do.
	err := fmt.Errorf("reauth demo: %w", fmt.Errorf("waiting: %w",
		&flows.Error{Code: flows.CodeCancelled, Message: "cancelled while waiting", State: flows.StateError}))
	// When it is reported.
	var out strings.Builder
	code := reportError(&out, err)
	// Then the exit status is 130 and the line is the message alone.
	if code != exitCancelled {
		t.Errorf("exit %d, want %d", code, exitCancelled)
	}
	if got := out.String(); got != "mailgrant: cancelled while waiting\n" {
		t.Errorf("printed %q", got)
	}
	// And another code is a failure, printed with its code.
	out.Reset()
	code = reportError(&out, fmt.Errorf("token demo: %w", &flows.Error{Code: flows.CodeKeyring, Message: "the keyring is locked"}))
	if code != exitFailure || !strings.Contains(out.String(), "(keyring)") {
		t.Errorf("keyring failure: exit %d, printed %q", code, out.String())
	}
}
