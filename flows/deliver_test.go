package flows_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// testFile is an attachment for largeMessage: random bytes and their
// checksum.
type testFile struct {
	name    string
	content []byte
}

func (f testFile) sum() string {
	s := sha256.Sum256(f.content)
	return hex.EncodeToString(s[:])
}

// randomFile makes n pseudo-random bytes (incompressible, like a scan).
func randomFile(name string, n int, seed uint64) testFile {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for k := 0; k < 8; k++ {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	return testFile{name: name, content: b}
}

// largeMessage builds a multipart/mixed message with a text body and the
// files as base64 attachments, wrapped at 76 columns.
func largeMessage(headers, body string, files ...testFile) []byte {
	var b bytes.Buffer
	b.WriteString(headers)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\nThis is a multi-part message.\r\n")
	b.WriteString("--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n")
	for _, f := range files {
		fmt.Fprintf(&b, "--b1\r\nContent-Type: application/octet-stream; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", f.name, f.name)
		enc := base64.StdEncoding.EncodeToString(f.content)
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	b.WriteString("--b1--\r\n")
	return b.Bytes()
}

const largeHeaders = "From: adele.vance@mailgrant-sandbox.onmicrosoft.com\r\n" +
	"To: megan.bowen@mailgrant-sandbox.onmicrosoft.com\r\n" +
	"Subject: the scans\r\n"

// readWriteUser signs Adele in with Mail.ReadWrite besides Mail.Send.
func readWriteUser(t *testing.T, srv *sandbox.Server, env *flows.Env) (store.Profile, *flows.Token) {
	t.Helper()
	p := userProfile("large", sandbox.AdeleVance.UPN, "Mail.Send", "User.Read", "Mail.ReadWrite")
	return p, deviceSignIn(t, srv, env, p)
}

// sentFile finds a sent message's file by name.
func sentFile(t *testing.T, m sandbox.SentMessage, name string) sandbox.SentFile {
	t.Helper()
	for _, f := range m.Files {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("the sent message has no file %s: %+v", name, m.Files)
	return sandbox.SentFile{}
}

func lastSent(t *testing.T, srv *sandbox.Server) sandbox.SentMessage {
	t.Helper()
	sent := srv.Sent()
	if len(sent) == 0 {
		t.Fatal("nothing was sent")
	}
	return sent[len(sent)-1]
}

// TestDeliverLargeMessageThroughDraft: an 8 MB and a 1 MB attachment go
// through a draft (the 8 MB one in an upload session, the 1 MB one in one
// POST), every request under Graph's 4 MB, and arrive intact.
func TestDeliverLargeMessageThroughDraft(t *testing.T) {
	srv, env := startSandbox(t, sandbox.Options{})
	p, tok := readWriteUser(t, srv, env)
	big, small := randomFile("scan.pdf", 8<<20, 1), randomFile("notes.bin", 1<<20, 2)
	msg := largeMessage(largeHeaders, "two files attached", big, small)

	res, err := flows.Deliver(context.Background(), env, p, tok, bytes.NewReader(msg), int64(len(msg)), flows.Envelope{}, flows.DeliverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Path != "draft" || res.DraftID == "" || res.Mailbox != "" {
		t.Errorf("result %+v", res)
	}
	m := lastSent(t, srv)
	if !m.Draft || m.Subject != "the scans" || m.Body != "two files attached" || !slices.Equal(m.To, []string{sandbox.MeganBowen.UPN}) || len(m.Bcc) != 0 {
		t.Errorf("sent %+v", m)
	}
	for _, f := range []testFile{big, small} {
		if got := sentFile(t, m, f.name); got.SHA256 != f.sum() || got.Size != int64(len(f.content)) {
			t.Errorf("%s arrived as %+v", f.name, got)
		}
	}
	if n := srv.RequestCount("/v1.0/me/messages/" + res.DraftID + "/attachments/createUploadSession"); n != 1 {
		t.Errorf("%d upload sessions, want 1 (for the 8 MB file only)", n)
	}
	if n := srv.RequestCount("/upload/"); n != 3 {
		t.Errorf("%d chunk PUTs for 8 MB, want 3", n)
	}
	if ok, err := flows.DraftExists(context.Background(), env, p, tok, "", res.DraftID); err != nil || ok {
		t.Errorf("after the send the draft still resolves: %v %v", ok, err)
	}
	if len(srv.Drafts()) != 0 {
		t.Errorf("drafts left: %v", srv.Drafts())
	}
}

// TestDeliverResumesAFailedChunk: the sandbox cuts the second chunk of the
// upload after half of it arrived; Deliver asks the session where to resume
// and the file arrives intact.
func TestDeliverResumesAFailedChunk(t *testing.T) {
	srv, env := startSandbox(t, sandbox.Options{Faults: []string{sandbox.FaultUploadInterrupt}})
	p, tok := readWriteUser(t, srv, env)
	big := randomFile("video.mp4", 9<<20, 3)
	msg := largeMessage(largeHeaders, "see attached", big)
	if _, err := flows.Deliver(context.Background(), env, p, tok, bytes.NewReader(msg), int64(len(msg)), flows.Envelope{}, flows.DeliverOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := sentFile(t, lastSent(t, srv), big.name); got.SHA256 != big.sum() {
		t.Errorf("the file arrived damaged: %+v", got)
	}
	// 9 MB in 3.75 MB chunks: the first, the second (cut after half), a
	// status GET, then one PUT from the middle of the second to the end.
	if n := srv.RequestCount("/upload/"); n != 4 {
		t.Errorf("%d upload requests, want 4", n)
	}
}

// failingUploads fails every chunk PUT with a network error.
type failingUploads struct{ next http.RoundTripper }

func (f failingUploads) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/upload/") && r.Method == http.MethodPut {
		return nil, errors.New("connection reset by peer")
	}
	return f.next.RoundTrip(r)
}

// TestDeliverDeletesTheDraftWhenAStepFails: uploads that keep failing end
// the delivery, and the draft is gone; so is one whose OnDraft refuses.
func TestDeliverDeletesTheDraftWhenAStepFails(t *testing.T) {
	srv, env := startSandbox(t, sandbox.Options{})
	p, tok := readWriteUser(t, srv, env)
	msg := largeMessage(largeHeaders, "x", randomFile("a.bin", 5<<20, 4))
	ctx := context.Background()

	failing := *env
	wrapTransport(&failing, func(next http.RoundTripper) http.RoundTripper { return failingUploads{next} })
	_, err := flows.Deliver(ctx, &failing, p, tok, bytes.NewReader(msg), int64(len(msg)), flows.Envelope{}, flows.DeliverOptions{})
	if err == nil || flows.Classify(err) != flows.OutcomeTemporary {
		t.Fatalf("err %v (%v)", err, flows.Classify(err))
	}
	if d := srv.Drafts(); len(d) != 0 || srv.RequestCount("/v1.0/me/messages") == 0 {
		t.Errorf("drafts left after a failed upload: %v", d)
	}

	refused := errors.New("the spool is full")
	var seen flows.DraftRef
	_, err = flows.Deliver(ctx, env, p, tok, bytes.NewReader(msg), int64(len(msg)), flows.Envelope{}, flows.DeliverOptions{ExactlyOnce: true, OnDraftRef: func(ref flows.DraftRef) error {
		seen = ref
		ok, err := flows.DraftExists(ctx, env, p, tok, ref.Mailbox, ref.ID)
		if err != nil || !ok {
			t.Errorf("the draft given to OnDraftRef does not exist: %v %v", ok, err)
		}
		return refused
	}})
	if !errors.Is(err, refused) || seen.ID == "" || len(srv.Drafts()) != 0 || len(srv.Sent()) != 0 {
		t.Errorf("err %v, draft %+v, drafts left %v, sent %d", err, seen, srv.Drafts(), len(srv.Sent()))
	}
	if err := flows.DeleteDraft(ctx, env, p, tok, seen.Mailbox, seen.ID); err != nil {
		t.Errorf("deleting a draft already gone: %v", err)
	}
}

// lostSendAnswer passes a draft's send on to Graph but reports a network
// failure instead of its answer, as a connection cut after the request.
type lostSendAnswer struct{ next http.RoundTripper }

func (l lostSendAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err == nil && strings.HasSuffix(r.URL.Path, "/send") {
		resp.Body.Close()
		return nil, errors.New("connection reset by peer")
	}
	return resp, err
}

// TestDeliverExactlyOnce: with ExactlyOnce even a small message goes
// through a draft reported before the send. When the send's answer is
// lost, the draft is kept and Deliver says which it was; DraftExists then
// tells whether it went. A recorded draft that was not sent is sent with
// SendDraft; sending one already gone wraps ErrDraftGone.
func TestDeliverExactlyOnce(t *testing.T) {
	srv, env := startSandbox(t, sandbox.Options{})
	p, tok := readWriteUser(t, srv, env)
	ctx := context.Background()
	msg := []byte(largeHeaders + "\r\nhello\r\n")

	var recorded flows.DraftRef
	lossy := *env
	wrapTransport(&lossy, func(next http.RoundTripper) http.RoundTripper { return lostSendAnswer{next} })
	res, err := flows.Deliver(ctx, &lossy, p, tok, bytes.NewReader(msg), int64(len(msg)), flows.Envelope{}, flows.DeliverOptions{ExactlyOnce: true, OnDraftRef: func(ref flows.DraftRef) error {
		recorded = ref
		return nil
	}})
	if flows.Classify(err) != flows.OutcomeTemporary || res == nil || res.DraftID != recorded.ID || recorded.ID == "" {
		t.Fatalf("lost answer: %+v %v", res, err)
	}
	if ok, err := flows.DraftExists(ctx, env, p, tok, recorded.Mailbox, recorded.ID); err != nil || ok || len(srv.Sent()) != 1 {
		t.Fatalf("the draft went, but DraftExists says %v (%v)", ok, err)
	}
	if err := flows.SendDraft(ctx, env, p, tok, recorded.Mailbox, recorded.ID); !errors.Is(err, flows.ErrDraftGone) {
		t.Errorf("sending a sent draft again: %v", err)
	}

	// A crash after the draft was recorded, before its send: the draft
	// exists, and the recovery sends it.
	crash := errors.New("crash")
	_, err = flows.Deliver(ctx, env, p, tok, bytes.NewReader(msg), int64(len(msg)), flows.Envelope{}, flows.DeliverOptions{ExactlyOnce: true, OnDraft: func(id string) error {
		recorded = flows.DraftRef{ID: id}
		if err := flows.SendDraft(ctx, env, p, tok, "", id); err != nil { // the recovery, run before the "crash" deletes it
			t.Errorf("SendDraft: %v", err)
		}
		return crash
	}})
	if !errors.Is(err, crash) || len(srv.Sent()) != 2 || len(srv.Drafts()) != 0 {
		t.Errorf("err %v, sent %d, drafts %v", err, len(srv.Sent()), srv.Drafts())
	}
}

// TestDeliverRefusals: too large for the tenant, and a large message for a
// profile without Mail.ReadWrite, are refused before any Graph request.
func TestDeliverRefusals(t *testing.T) {
	srv, env := startSandbox(t, sandbox.Options{})
	p := userProfile("small", sandbox.AdeleVance.UPN)
	tok := deviceSignIn(t, srv, env, p)
	msg := largeMessage(largeHeaders, "x", randomFile("a.bin", 5<<20, 5))
	ctx := context.Background()
	before := srv.RequestCount("/v1.0/")

	_, err := flows.Deliver(ctx, env, p, tok, bytes.NewReader(msg), int64(len(msg)), flows.Envelope{}, flows.DeliverOptions{MaxMessageSize: 4 << 20})
	var fe *flows.Error
	if flows.Classify(err) != flows.OutcomeTooLarge || !errors.As(err, &fe) || !strings.Contains(fe.Message, "at most 4.0 MB") {
		t.Errorf("too large: %v", err)
	}
	_, err = flows.Deliver(ctx, env, p, tok, bytes.NewReader(msg), int64(len(msg)), flows.Envelope{}, flows.DeliverOptions{})
	if flows.Classify(err) != flows.OutcomeNeedsPermission || !errors.As(err, &fe) || fe.Code != "needs-mail-readwrite" || !strings.Contains(fe.Message, "Mail.ReadWrite") || !strings.Contains(fe.Hint, "Mail.ReadWrite") {
		t.Errorf("without Mail.ReadWrite: %v", err)
	}
	// A small message whose headers name someone outside the envelope
	// takes a draft too: the refusal says why, not "too large".
	small := []byte(largeHeaders + "Cc: alex.wilber@mailgrant-sandbox.onmicrosoft.com\r\n\r\nhello\r\n")
	_, err = flows.Deliver(ctx, env, p, tok, bytes.NewReader(small), int64(len(small)), flows.Envelope{Recipients: []string{sandbox.MeganBowen.UPN}}, flows.DeliverOptions{})
	if !errors.As(err, &fe) || fe.Code != "needs-mail-readwrite" || strings.Contains(fe.Message, "too large") || !strings.Contains(fe.Message, "alex.wilber@") {
		t.Errorf("header-only recipient without Mail.ReadWrite: %v", err)
	}
	if n := srv.RequestCount("/v1.0/") - before; n != 0 {
		t.Errorf("%d Graph requests for refused messages", n)
	}
}

// TestDeliverFollowsTheEnvelope: envelope-only recipients get the message
// as Bcc; recipients only the headers name do not get it.
func TestDeliverFollowsTheEnvelope(t *testing.T) {
	srv, env := startSandbox(t, sandbox.Options{})
	p, tok := readWriteUser(t, srv, env)
	ctx := context.Background()
	deliver := func(msg string, rcpts ...string) *flows.DeliverResult {
		t.Helper()
		res, err := flows.Deliver(ctx, env, p, tok, strings.NewReader(msg), int64(len(msg)), flows.Envelope{Recipients: rcpts}, flows.DeliverOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	megan, alex, info := sandbox.MeganBowen.UPN, sandbox.AlexWilber.UPN, sandbox.InfoMailbox.UPN

	res := deliver("To: "+megan+"\r\nSubject: s\r\n\r\nhi\r\n", megan, alex)
	m := lastSent(t, srv)
	if res.Path != "sendMail" || !slices.Equal(m.To, []string{megan}) || !slices.Equal(m.Bcc, []string{alex}) {
		t.Errorf("envelope-only as Bcc: %s %+v", res.Path, m)
	}

	deliver("Subject: no recipient headers\r\n\r\nhi\r\n", alex)
	if m = lastSent(t, srv); !slices.Equal(m.Bcc, []string{alex}) || len(m.To)+len(m.Cc) != 0 {
		t.Errorf("a message without recipient headers: %+v", m)
	}

	res = deliver("To: "+megan+", "+info+"\r\nCc: "+alex+"\r\nSubject: s\r\n\r\nhi\r\n", megan)
	m = lastSent(t, srv)
	if res.Path != "draft" || !slices.Equal(m.To, []string{megan}) || len(m.Cc)+len(m.Bcc) != 0 {
		t.Errorf("header-only recipients: %s %+v", res.Path, m)
	}

	deliver("To: "+megan+"\r\nCc: "+alex+"\r\nSubject: s\r\n\r\nhi\r\n", alex, info)
	m = lastSent(t, srv)
	if !slices.Equal(m.Cc, []string{alex}) || !slices.Equal(m.Bcc, []string{info}) || len(m.To) != 0 {
		t.Errorf("Cc kept, To dropped, envelope-only Bcc: %+v", m)
	}
}

// TestSandboxRefusesRequestsOver4MB: Graph's request limit answers 413 in
// Graph's error shape, which Classify reads as too large.
func TestSandboxRefusesRequestsOver4MB(t *testing.T) {
	srv, env := startSandbox(t, sandbox.Options{})
	p := userProfile("big", sandbox.AdeleVance.UPN)
	tok := deviceSignIn(t, srv, env, p)
	body := strings.Repeat("A", 4<<20+4)
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/v1.0/me/sendMail", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 4096)
	n, _ := resp.Body.Read(data)
	resp.Body.Close()
	ge := flows.ParseGraphError(resp.StatusCode, data[:n])
	if resp.StatusCode != http.StatusRequestEntityTooLarge || ge.Code != "RequestEntityTooLarge" || flows.Classify(ge) != flows.OutcomeTooLarge {
		t.Errorf("%d %s %s", resp.StatusCode, ge.Code, data[:n])
	}
	if len(srv.Sent()) != 0 {
		t.Error("a message over the limit was sent")
	}
}

// TestDeliverAppOnlyLargeMessage: an app-only profile whose app holds the
// application permission Mail.ReadWrite sends a large message as a mailbox.
func TestDeliverAppOnlyLargeMessage(t *testing.T) {
	srv, env := startSandbox(t, sandbox.Options{})
	p, mem := appOnly(t, srv, store.SendAsAny, sandbox.LargeMailApp)
	if err := srv.GrantAdminConsent(sandbox.LargeMailApp.ClientID); err != nil {
		t.Fatal(err)
	}
	tok, err := flows.AccessToken(context.Background(), env, mem, p)
	if err != nil {
		t.Fatal(err)
	}
	f := randomFile("report.xlsx", 4<<20, 6)
	msg := largeMessage("To: "+sandbox.MeganBowen.UPN+"\r\nSubject: report\r\n", "monthly", f)
	res, err := flows.Deliver(context.Background(), env, p, tok, bytes.NewReader(msg), int64(len(msg)), flows.Envelope{}, flows.DeliverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := lastSent(t, srv)
	if res.Mailbox != sandbox.AdeleVance.UPN || m.Mailbox != sandbox.AdeleVance.UPN || !m.AppOnly || sentFile(t, m, f.name).SHA256 != f.sum() {
		t.Errorf("%+v %+v", res, m)
	}
}

// TestDeliverSharedMailboxUpload: a signed-in user sending as a shared
// mailbox cannot use upload sessions there (reference §9a, a known Graph
// issue): mailgrant says so before any request, and the sandbox refuses
// such a session as Graph does.
func TestDeliverSharedMailboxUpload(t *testing.T) {
	srv, env := startSandbox(t, sandbox.Options{})
	info := sandbox.InfoMailbox.UPN
	p := userProfile("shared", sandbox.AdeleVance.UPN, "Mail.Send", "Mail.Send.Shared", "User.Read", "Mail.ReadWrite", "Mail.ReadWrite.Shared")
	tok := deviceSignIn(t, srv, env, p)
	msg := largeMessage("From: "+info+"\r\nTo: "+sandbox.MeganBowen.UPN+"\r\nSubject: s\r\n", "x", randomFile("a.bin", 5<<20, 9))
	before := srv.RequestCount("/v1.0/")
	_, err := flows.Deliver(context.Background(), env, p, tok, bytes.NewReader(msg), int64(len(msg)), flows.Envelope{}, flows.DeliverOptions{})
	var fe *flows.Error
	if !errors.As(err, &fe) || fe.Code != "shared-mailbox-upload" || !strings.Contains(fe.Message, info) || flows.Classify(err) != flows.OutcomeNeedsPermission {
		t.Fatalf("Deliver: %v", err)
	}
	if n := srv.RequestCount("/v1.0/") - before; n != 0 {
		t.Errorf("%d Graph requests before the refusal", n)
	}
	// The sandbox itself: a draft in the shared mailbox is allowed, an
	// upload session in it is not.
	call := func(path, body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/v1.0/users/"+info+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := call("/messages", `{"subject":"s","toRecipients":[{"emailAddress":{"address":"`+sandbox.MeganBowen.UPN+`"}}]}`)
	var draft struct{ ID string }
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&draft) != nil || draft.ID == "" {
		t.Fatalf("create a draft in the shared mailbox: %s", resp.Status)
	}
	resp = call("/messages/"+draft.ID+"/attachments/createUploadSession", `{"AttachmentItem":{"attachmentType":"file","name":"a.bin","size":5000000}}`)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("delegated upload session in a shared mailbox: %s, want 403", resp.Status)
	}
}

// TestDeliverOverTheTenantsLimit: a message within the client's
// --max-message-size but over the mailbox's (8 MB on disk, about 11 MB in
// base64, against a 10 MB tenant) is refused by Exchange at send; Deliver
// reports it as too large (a bounce, not a retry), with the fix, and
// leaves no draft behind.
func TestDeliverOverTheTenantsLimit(t *testing.T) {
	srv, env := startSandbox(t, sandbox.Options{MaxMessageBytes: 10 << 20})
	p, tok := readWriteUser(t, srv, env)
	msg := largeMessage(largeHeaders, "one file", randomFile("scan.pdf", 8<<20, 1))
	_, err := flows.Deliver(context.Background(), env, p, tok, bytes.NewReader(msg), int64(len(msg)), flows.Envelope{}, flows.DeliverOptions{MaxMessageSize: 50 << 20})
	var fe *flows.Error
	if !errors.As(err, &fe) || fe.Code != "ErrorMessageSizeExceeded" || flows.Classify(err) != flows.OutcomeTooLarge || !strings.Contains(fe.Hint, "-MaxSendSize") {
		t.Fatalf("err %#v, outcome %v", err, flows.Classify(err))
	}
	if len(srv.Sent()) != 0 || len(srv.Drafts()) != 0 {
		t.Errorf("sent %d, drafts left %v", len(srv.Sent()), srv.Drafts())
	}
}

// TestDeliverExactlyOnceLeavesARefusedDraftToTheCaller: with ExactlyOnce a
// draft whose send Graph refuses is kept and named in the result, so that
// the caller, which recorded its id, forgets the id before deleting it.
func TestDeliverExactlyOnceLeavesARefusedDraftToTheCaller(t *testing.T) {
	srv, env := startSandbox(t, sandbox.Options{})
	p, tok := readWriteUser(t, srv, env)
	ctx := context.Background()
	msg := []byte(largeHeaders + "\r\nrefused at its send\r\n")
	refusing := *env
	wrapTransport(&refusing, func(next http.RoundTripper) http.RoundTripper { return refusedSend{next} })
	var recorded flows.DraftRef
	res, err := flows.Deliver(ctx, &refusing, p, tok, bytes.NewReader(msg), int64(len(msg)), flows.Envelope{}, flows.DeliverOptions{ExactlyOnce: true, OnDraftRef: func(ref flows.DraftRef) error {
		recorded = ref
		return nil
	}})
	if flows.Classify(err) != flows.OutcomeDenied || res == nil || res.DraftID != recorded.ID || recorded.ID == "" {
		t.Fatalf("res %+v, err %v (%v), recorded %+v", res, err, flows.Classify(err), recorded)
	}
	if ok, err := flows.DraftExists(ctx, env, p, tok, recorded.Mailbox, recorded.ID); err != nil || !ok {
		t.Fatalf("the refused draft is gone before its caller forgot it: %v %v", ok, err)
	}
	if err := flows.DeleteDraft(ctx, env, p, tok, recorded.Mailbox, recorded.ID); err != nil || len(srv.Drafts()) != 0 {
		t.Fatalf("delete: %v, drafts left %v", err, srv.Drafts())
	}
}

// refusedSend answers a draft's send as Graph refuses it for good.
type refusedSend struct{ next http.RoundTripper }

func (r refusedSend) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(req.URL.Path, "/send") {
		return r.next.RoundTrip(req)
	}
	body := `{"error":{"code":"ErrorSendAsDenied","message":"The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account."}}`
	return &http.Response{StatusCode: http.StatusForbidden, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}
