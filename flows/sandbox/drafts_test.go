package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// graphReq makes a Graph request with a bearer token ("" for none).
func graphReq(t *testing.T, method, u, token, contentType, body string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

const rwScope = mailScope + " https://graph.microsoft.com/Mail.ReadWrite"

// TestDraftsAndUploadSessions walks the draft path by hand: Mail.ReadWrite
// is required, the upload URL refuses a bearer token, a wrong token and a
// bad Content-Range, a chunk out of order gets 416 with
// nextExpectedRanges, the last chunk 201 with Location, and after the send
// the draft's id no longer resolves; the outbox .eml has the file and the
// recipients PATCH set.
func TestDraftsAndUploadSessions(t *testing.T) {
	dir := t.TempDir()
	clock := newClock()
	s := startServer(t, Options{StateDir: dir, Clock: clock})
	plain := delegatedToken(t, s, "organizations", PublicApp, AdeleVance.UPN, mailScope)["access_token"].(string)
	rw := delegatedToken(t, s, "organizations", PublicApp, AdeleVance.UPN, rwScope)["access_token"].(string)
	mime := base64.StdEncoding.EncodeToString([]byte("From: " + AdeleVance.UPN + "\r\nTo: " + MeganBowen.UPN + "\r\nBcc: " + AlexWilber.UPN + "\r\nSubject: big\r\n\r\nsee attached\r\n"))

	wantGraphError(t, graphReq(t, "POST", s.URL()+"/v1.0/me/messages", plain, "text/plain", mime), http.StatusForbidden, "ErrorAccessDenied")
	created := graphReq(t, "POST", s.URL()+"/v1.0/me/messages", rw, "text/plain", mime)
	if created.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.Status, created.Body)
	}
	id := created.JSON(t)["id"].(string)
	msgURL := s.URL() + "/v1.0/me/messages/" + id
	if r := graphReq(t, "PATCH", msgURL, rw, "application/json", `{"toRecipients":[{"emailAddress":{"address":"`+MeganBowen.UPN+`"}}],"bccRecipients":[]}`); r.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}

	content := []byte(strings.Repeat("0123456789", 1000))
	r := graphReq(t, "POST", msgURL+"/attachments/createUploadSession", rw, "application/json", fmt.Sprintf(`{"AttachmentItem":{"attachmentType":"file","name":"digits.txt","size":%d,"contentType":"text/plain"}}`, len(content)))
	if r.Status != http.StatusCreated {
		t.Fatalf("createUploadSession: %d %s", r.Status, r.Body)
	}
	upload := r.JSON(t)["uploadUrl"].(string)
	put := func(token, rng string, chunk []byte) response {
		return graphReq(t, "PUT", upload, token, "application/octet-stream", string(chunk), "Content-Range", rng)
	}
	wantGraphError(t, put(rw, "bytes 0-999/10000", content[:1000]), http.StatusUnauthorized, "InvalidAuthenticationToken")
	wantGraphError(t, graphReq(t, "PUT", strings.Replace(upload, "authtoken=", "authtoken=x", 1), "", "", string(content[:1000]), "Content-Range", "bytes 0-999/10000"), http.StatusNotFound, "ErrorItemNotFound")
	wantGraphError(t, put("", "bytes 0-999/9999", content[:1000]), http.StatusBadRequest, "InvalidContentRange")
	wantGraphError(t, put("", "bytes 0-998/10000", content[:1000]), http.StatusBadRequest, "InvalidContentRange")
	if r := put("", "bytes 0-5999/10000", content[:6000]); r.Status != http.StatusOK || !strings.Contains(r.Body, `"6000-"`) {
		t.Fatalf("first chunk: %d %s", r.Status, r.Body)
	}
	if r := put("", "bytes 7000-9999/10000", content[7000:]); r.Status != http.StatusRequestedRangeNotSatisfiable || !strings.Contains(r.Body, `"6000-"`) {
		t.Fatalf("chunk out of order: %d %s", r.Status, r.Body)
	}
	r = put("", "bytes 6000-9999/10000", content[6000:])
	if r.Status != http.StatusCreated || !strings.Contains(r.Header.Get("Location"), "/messages('"+id+"')/attachments('") {
		t.Fatalf("last chunk: %d %v %s", r.Status, r.Header, r.Body)
	}
	if r := graphReq(t, "POST", msgURL+"/send", rw, "", ""); r.Status != http.StatusAccepted {
		t.Fatalf("send: %d %s", r.Status, r.Body)
	}
	wantGraphError(t, graphReq(t, "GET", msgURL, rw, "", ""), http.StatusNotFound, "ErrorItemNotFound")

	sent := s.Sent()
	if len(sent) != 1 || !sent[0].Draft || len(sent[0].Bcc) != 0 || len(sent[0].Files) != 1 || sent[0].Files[0].Size != 10000 || sent[0].EML == "" {
		t.Fatalf("sent %+v", sent)
	}
	eml, err := os.ReadFile(sent[0].EML)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(eml), EnvelopeHeader+": "+MeganBowen.UPN+"\r\n") || strings.Contains(string(eml), "Bcc:") ||
		!strings.Contains(string(eml), base64.StdEncoding.EncodeToString(content)[:76]) || filepath.Dir(sent[0].EML) != filepath.Join(dir, OutboxDir) {
		t.Errorf("outbox .eml:\n%.600s", eml)
	}

	// A draft from JSON, with a file added by POST, is sent with both.
	created = graphReq(t, "POST", s.URL()+"/v1.0/me/messages", rw, "application/json", `{"subject":"json","body":{"contentType":"HTML","content":"<p>hi</p>"},"toRecipients":[{"emailAddress":{"address":"`+MeganBowen.UPN+`"}}]}`)
	if created.Status != http.StatusCreated {
		t.Fatalf("create from JSON: %d %s", created.Status, created.Body)
	}
	id = created.JSON(t)["id"].(string)
	if r := graphReq(t, "POST", s.URL()+"/v1.0/me/messages/"+id+"/attachments", rw, "application/json", `{"@odata.type":"#microsoft.graph.fileAttachment","name":"a.txt","contentType":"text/plain","contentBytes":"aGVsbG8="}`); r.Status != http.StatusCreated {
		t.Fatalf("add attachment: %d %s", r.Status, r.Body)
	}
	if r := graphReq(t, "POST", s.URL()+"/v1.0/me/messages/"+id+"/send", rw, "", ""); r.Status != http.StatusAccepted {
		t.Fatalf("send: %d %s", r.Status, r.Body)
	}
	if m := s.Sent()[1]; m.Subject != "json" || m.ContentType != "HTML" || len(m.Files) != 1 || m.Files[0].Size != 5 || m.MIME {
		t.Errorf("JSON draft sent as %+v", m)
	}

	// An upload session expires.
	created = graphReq(t, "POST", s.URL()+"/v1.0/me/messages", rw, "text/plain", mime)
	id = created.JSON(t)["id"].(string)
	r = graphReq(t, "POST", s.URL()+"/v1.0/me/messages/"+id+"/attachments/createUploadSession", rw, "application/json", `{"AttachmentItem":{"attachmentType":"file","name":"a","size":10}}`)
	upload = r.JSON(t)["uploadUrl"].(string)
	clock.Advance(16 * time.Minute)
	wantGraphError(t, put("", "bytes 0-9/10", content[:10]), http.StatusNotFound, "ErrorItemNotFound")
	if r := graphReq(t, "DELETE", s.URL()+"/v1.0/me/messages/"+id, rw, "", ""); r.Status != http.StatusNoContent || len(s.Drafts()) != 0 {
		t.Fatalf("delete: %d %v", r.Status, s.Drafts())
	}
}

// TestMailboxLimits: requests over 4 MB get 413; a mailbox sends at most
// the configured number of messages a minute (429 with Retry-After until
// the minute has passed); an app has at most the configured number of
// requests in flight on one mailbox.
func TestMailboxLimits(t *testing.T) {
	clock := newClock()
	s := startServer(t, Options{Clock: clock, MailboxSendsPerMinute: 3})
	tok := delegatedToken(t, s, "organizations", PublicApp, AdeleVance.UPN, mailScope)["access_token"].(string)
	send := func() response {
		return graphReq(t, "POST", s.URL()+"/v1.0/me/sendMail", tok, "application/json", jsonMail(MeganBowen.UPN, ""))
	}

	wantGraphError(t, graphReq(t, "POST", s.URL()+"/v1.0/me/sendMail", tok, "text/plain", strings.Repeat("QUFB", 1<<20+1)), http.StatusRequestEntityTooLarge, "RequestEntityTooLarge")
	for i := 0; i < 3; i++ {
		if r := send(); r.Status != http.StatusAccepted {
			t.Fatalf("send %d: %d %s", i, r.Status, r.Body)
		}
	}
	clock.Advance(20 * time.Second)
	r := send()
	wantGraphError(t, r, http.StatusTooManyRequests, "TooManyRequests")
	if r.Header.Get("Retry-After") != "40" {
		t.Errorf("Retry-After %q, want 40", r.Header.Get("Retry-After"))
	}
	clock.Advance(41 * time.Second)
	if r := send(); r.Status != http.StatusAccepted {
		t.Fatalf("after a minute: %d %s", r.Status, r.Body)
	}

	slow := startServer(t, Options{GraphLatency: 300 * time.Millisecond, MailboxConcurrency: 2})
	slowTok := delegatedToken(t, slow, "organizations", PublicApp, AdeleVance.UPN, mailScope)["access_token"].(string)
	var wg sync.WaitGroup
	statuses := make(chan int, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", slow.URL()+"/v1.0/me", nil)
			req.Header.Set("Authorization", "Bearer "+slowTok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for st := range statuses {
		counts[st]++
	}
	if counts[http.StatusOK] != 2 || counts[http.StatusTooManyRequests] != 1 {
		t.Errorf("3 concurrent requests with a limit of 2: %v", counts)
	}
}

// TestMessageSizeAndUploadLimits: a draft larger than the mailbox may send
// (its files counted in base64) is refused at send with
// ErrorMessageSizeExceeded and stays a draft; an app that has sent the
// upload limit's bytes to a mailbox within five minutes gets 429 with
// Retry-After on its next upload chunk (the upload URL counts like any
// Graph request), and may go on once the window has passed; a bodiless
// send is not an upload.
func TestMessageSizeAndUploadLimits(t *testing.T) {
	clock := newClock()
	s := startServer(t, Options{Clock: clock, MaxMessageBytes: 20000, MailboxUploadBytes: 30000})
	rw := delegatedToken(t, s, "organizations", PublicApp, AdeleVance.UPN, rwScope)["access_token"].(string)
	mime := base64.StdEncoding.EncodeToString([]byte("From: " + AdeleVance.UPN + "\r\nTo: " + MeganBowen.UPN + "\r\nSubject: big\r\n\r\nsee attached\r\n"))
	draftWithFile := func(size int) (msgURL string, put func(rng string, chunk []byte) response) {
		created := graphReq(t, "POST", s.URL()+"/v1.0/me/messages", rw, "text/plain", mime)
		if created.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", created.Status, created.Body)
		}
		msgURL = s.URL() + "/v1.0/me/messages/" + created.JSON(t)["id"].(string)
		r := graphReq(t, "POST", msgURL+"/attachments/createUploadSession", rw, "application/json", fmt.Sprintf(`{"AttachmentItem":{"attachmentType":"file","name":"f.bin","size":%d}}`, size))
		if r.Status != http.StatusCreated {
			t.Fatalf("createUploadSession: %d %s", r.Status, r.Body)
		}
		upload := r.JSON(t)["uploadUrl"].(string)
		return msgURL, func(rng string, chunk []byte) response {
			return graphReq(t, "PUT", upload, "", "application/octet-stream", string(chunk), "Content-Range", rng)
		}
	}

	// 16,000 bytes are about 21,700 in base64: over the 20,000 limit.
	content := []byte(strings.Repeat("0123456789abcdef", 1000))
	msgURL, put := draftWithFile(len(content))
	if r := put(fmt.Sprintf("bytes 0-%d/%d", len(content)-1, len(content)), content); r.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	wantGraphError(t, graphReq(t, "POST", msgURL+"/send", rw, "", ""), http.StatusBadRequest, "ErrorMessageSizeExceeded")
	if len(s.Sent()) != 0 || len(s.Drafts()) != 1 {
		t.Fatalf("after the refusal: sent %d, drafts %v", len(s.Sent()), s.Drafts())
	}
	if r := graphReq(t, "DELETE", msgURL, rw, "", ""); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d", r.Status)
	}

	// About 16,250 bytes uploaded so far; the chunk that crosses the
	// 30,000 limit still passes, and so does a bodiless send.
	small := content[:14000]
	msgURL, put = draftWithFile(len(small))
	if r := put("bytes 0-13999/14000", small); r.Status != http.StatusCreated {
		t.Fatalf("upload crossing the limit: %d %s", r.Status, r.Body)
	}
	if r := graphReq(t, "POST", msgURL+"/send", rw, "", ""); r.Status != http.StatusAccepted {
		t.Fatalf("a bodiless send after the uploads: %d %s", r.Status, r.Body)
	}
	clock.Advance(time.Minute)
	r := graphReq(t, "POST", s.URL()+"/v1.0/me/messages", rw, "text/plain", mime)
	wantGraphError(t, r, http.StatusTooManyRequests, "ApplicationThrottled")
	if got := r.Header.Get("Retry-After"); got != "240" {
		t.Errorf("Retry-After %q, want 240 (the first uploads leave the window 5 minutes after they came)", got)
	}
	clock.Advance(4*time.Minute + time.Second)
	if r := graphReq(t, "POST", s.URL()+"/v1.0/me/messages", rw, "text/plain", mime); r.Status != http.StatusCreated {
		t.Fatalf("after the window: %d %s", r.Status, r.Body)
	}
}

// TestUploadChunksCountAsConcurrentRequests: an app's upload PUTs hold one
// of its four concurrent-request slots on the mailbox, like any Graph
// request.
func TestUploadChunksCountAsConcurrentRequests(t *testing.T) {
	s := startServer(t, Options{MailboxConcurrency: 1, GraphLatency: 0})
	rw := delegatedToken(t, s, "organizations", PublicApp, AdeleVance.UPN, rwScope)["access_token"].(string)
	mime := base64.StdEncoding.EncodeToString([]byte("From: " + AdeleVance.UPN + "\r\nTo: " + MeganBowen.UPN + "\r\nSubject: big\r\n\r\nx\r\n"))
	created := graphReq(t, "POST", s.URL()+"/v1.0/me/messages", rw, "text/plain", mime)
	msgURL := s.URL() + "/v1.0/me/messages/" + created.JSON(t)["id"].(string)
	r := graphReq(t, "POST", msgURL+"/attachments/createUploadSession", rw, "application/json", `{"AttachmentItem":{"attachmentType":"file","name":"f.bin","size":10}}`)
	upload := r.JSON(t)["uploadUrl"].(string)

	// A chunk whose body trickles in holds the slot while the app asks
	// for something else on the same mailbox.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("PUT", upload, pr)
	req.ContentLength = 10
	req.Header.Set("Content-Range", "bytes 0-9/10")
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- nil
			return
		}
		done <- resp
	}()
	if _, err := pw.Write([]byte("01234")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	var got response
	for time.Now().Before(deadline) {
		got = graphReq(t, "GET", msgURL, rw, "", "")
		if got.Status == http.StatusTooManyRequests {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	wantGraphError(t, got, http.StatusTooManyRequests, "ApplicationThrottled")
	_, _ = pw.Write([]byte("56789"))
	pw.Close()
	if resp := <-done; resp == nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("the chunk: %v", resp)
	} else {
		resp.Body.Close()
	}
	if r := graphReq(t, "GET", msgURL, rw, "", ""); r.Status != http.StatusOK {
		t.Fatalf("after the chunk: %d %s", r.Status, r.Body)
	}
}
