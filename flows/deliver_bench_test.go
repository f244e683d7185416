package flows_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
)

// BenchmarkDeliverDraft20MB sends a 20 MB message (a 12 MB and a 4 MB
// attachment, base64) through the draft and upload path to the sandbox on
// loopback, reporting throughput and the bytes mailgrant allocates per
// message (the sandbox runs in the same process and counts too).
func BenchmarkDeliverDraft20MB(b *testing.B) {
	srv, env := startSandbox(b, sandbox.Options{MailboxSendsPerMinute: -1, MailboxUploadBytes: -1})
	p := userProfile("bench-large", sandbox.AdeleVance.UPN, "Mail.Send", "User.Read", "Mail.ReadWrite")
	tok := deviceSignIn(b, srv, env, p)
	msg := largeMessage(largeHeaders, "bench", randomFile("a.bin", 12<<20, 7), randomFile("b.bin", 4<<20, 8))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	ctx := context.Background()
	for b.Loop() {
		if _, err := flows.Deliver(ctx, env, p, tok, bytes.NewReader(msg), int64(len(msg)), flows.Envelope{}, flows.DeliverOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
