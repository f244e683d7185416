package relay

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// TestGraphSenderReplyToAndSentLog: issue 12 items 5 and 6 for the relay. A
// message that names no Reply-To gets the profile's (mailgrant edit
// --reply-to), one that names its own keeps it; each message Graph takes
// is a line of the sent-mail log, as send and sendmail write it, with the
// relay named and no subject.
func TestGraphSenderReplyToAndSentLog(t *testing.T) {
	r := newRig(t, sandbox.Options{})
	profile := r.sender.Profile
	r.sender.Profile = func(name string) (store.Profile, flows.Secrets, error) {
		p, s, err := profile(name)
		p.ReplyTo = "helpdesk@contoso.com"
		return p, s, err
	}
	r.sender.LogDir = t.TempDir()
	for i, replyTo := range []string{"", "Reply-To: own@contoso.com\r\n"} {
		msg := []byte(fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: secret subject %d\r\n%s\r\nbody\r\n", sandbox.AdeleVance.UPN, sandbox.MeganBowen.UPN, i, replyTo))
		e := flows.Envelope{From: sandbox.AdeleVance.UPN, Recipients: []string{sandbox.MeganBowen.UPN}}
		if _, err := r.sender.Deliver(context.Background(), "app", bytes.NewReader(msg), int64(len(msg)), e, flows.DeliverOptions{}); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	sent := r.srv.Sent()
	if len(sent) != 2 {
		t.Fatalf("the sandbox got %d messages, want 2", len(sent))
	}
	if !slices.Equal(sent[0].ReplyTo, []string{"helpdesk@contoso.com"}) {
		t.Errorf("a message without Reply-To got %q, want the profile's", sent[0].ReplyTo)
	}
	if !slices.Equal(sent[1].ReplyTo, []string{"own@contoso.com"}) {
		t.Errorf("a message with its own Reply-To got %q", sent[1].ReplyTo)
	}
	records, _, err := flows.ReadSentLog(r.sender.LogDir, "app")
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 2 {
		t.Fatalf("the sent-mail log has %d lines, want 2: %+v", len(records), records)
	}
	for _, rec := range records {
		if rec.Via != "relay" || rec.Result != "sent" || rec.Recipients != 1 || rec.Profile != "app" {
			t.Errorf("log line %+v", rec)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(r.sender.LogDir, flows.SentLogFile)); bytes.Contains(data, []byte("secret subject")) || bytes.Contains(data, []byte("body")) {
		t.Errorf("the log holds a subject or a body:\n%s", data)
	}
}
