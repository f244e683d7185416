// Package relay is what happens to a message after an SMTP server (or
// sendmail) accepted it: it is written to the spool (store/spool), paced per
// sending mailbox, sent through Graph with retries, and bounced (RFC 3464)
// when it fails for good.
package relay

import (
	"context"
	"io"
	"path/filepath"
	"time"

	"github.com/mailgrant/mailgrant/flows"
)

// Submission is a message the SMTP server accepted, with its envelope.
type Submission struct {
	Profile    string    // the profile chosen by routing
	From       string    // envelope sender (MAIL FROM)
	Recipients []string  // RCPT TO, each gets the message, nobody else
	Data       io.Reader // the message as received (CRLF or LF line ends)
	Client     string    // remote address, for logs
	AuthUser   string    // authenticated user, if any
}

// Receipt says what became of a submission.
type Receipt struct {
	ID      string        // queue id
	Outcome flows.Outcome // OutcomeSent when delivered in the wait; a permanent outcome when refused (message then NOT kept); OutcomeTemporary when still queued
	Err     error         // the Graph/flows error for a refusal or deferral
	Queued  bool          // true when the message stays in the spool for later delivery
}

// Queue is what the SMTP server hands messages to.
type Queue interface {
	// Submit stores the message durably (file and directory fsynced) and
	// schedules its delivery, then waits up to wait for the first attempt:
	// a permanent refusal within the wait is returned (and the message
	// dropped, the SMTP client is told); otherwise the message is kept and
	// delivered later. An error means nothing was stored (reply 451).
	Submit(ctx context.Context, s Submission, wait time.Duration) (Receipt, error)
}

// DefaultSpoolDir is the spool of a config directory: <config dir>/spool.
func DefaultSpoolDir(configDir string) string { return filepath.Join(configDir, "spool") }
