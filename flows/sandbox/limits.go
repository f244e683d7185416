package sandbox

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
)

// Exchange Online's and Graph's per-mailbox limits (reference §9a, §10).
const (
	// DefaultMaxRequestBytes is Graph's request size limit: "about 4 MB";
	// Microsoft gives no exact byte count, so the sandbox takes 4 MiB.
	DefaultMaxRequestBytes = 4 << 20
	// DefaultMailboxConcurrency is Outlook's limit of concurrent requests
	// per app and mailbox.
	DefaultMailboxConcurrency = 4
	// DefaultMailboxSendsPerMinute is Exchange Online's limit of messages a
	// mailbox sends per minute.
	DefaultMailboxSendsPerMinute = 30
	// DefaultMaxMessageBytes is Exchange Online's default maximum message
	// size, 35 MB (admins may raise it to 150 MB).
	DefaultMaxMessageBytes = 35 << 20
	// DefaultMailboxUploadBytes is Outlook's limit of uploaded bytes
	// (PATCH, POST, PUT) per app and mailbox in uploadWindow.
	DefaultMailboxUploadBytes = 150 << 20
	// uploadWindow is the period DefaultMailboxUploadBytes counts over.
	uploadWindow = 5 * time.Minute
)

// errRequestTooLarge is Graph's answer to a request body over the limit.
// Graph answers 413 (Request Entity Too Large) for sendMail; the code in
// its JSON body is not documented, and a createMessage over the limit has
// been reported to answer 400 "The maximum request length supported is
// 4MB." The sandbox answers 413 with code RequestEntityTooLarge and that
// message.
var errRequestTooLarge = &graphError{Status: http.StatusRequestEntityTooLarge, Code: "RequestEntityTooLarge", Message: "The maximum request length supported is 4MB."}

// maxRequest is the request size limit in force.
func (s *Server) maxRequest() int64 {
	if s.opts.MaxRequestBytes > 0 {
		return s.opts.MaxRequestBytes
	}
	return DefaultMaxRequestBytes
}

// limitRequest refuses a request whose Content-Length is over the limit,
// and makes reading a longer body without one fail (readAllLimit).
func (s *Server) limitRequest(r *http.Request) *graphError {
	if r.ContentLength > s.maxRequest() {
		return errRequestTooLarge
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(nil, r.Body, s.maxRequest())
	}
	return nil
}

// mailboxKey names the mailbox a Graph path is about, for the limits.
func mailboxKey(c accessClaims, target string) string {
	if target == "" {
		return strings.ToLower(c.Oid)
	}
	if u, ok := userByName(target); ok {
		return strings.ToLower(u.ID)
	}
	return strings.ToLower(target)
}

// acquireMailbox takes one of the app's concurrent-request slots on a
// mailbox, or answers 429 as Outlook does past the limit.
func (s *Server) acquireMailbox(appID, mailbox string) (func(), *graphError) {
	limit := s.opts.MailboxConcurrency
	if limit == 0 {
		limit = DefaultMailboxConcurrency
	}
	if limit < 0 {
		return func() {}, nil
	}
	key := strings.ToLower(appID) + "/" + mailbox
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight[key] >= limit {
		return nil, gerr(http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
	}
	s.inflight[key]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.inflight[key]--; s.inflight[key] <= 0 {
			delete(s.inflight, key)
		}
	}, nil
}

// countSend records a message sent from mailbox (its UPN), or returns the
// wait before the mailbox may send again when it has reached its limit of
// messages a minute. The status Exchange answers with is not documented for
// Graph; the sandbox answers 429 with Retry-After, as Graph's throttling
// does.
func (s *Server) countSend(mailbox string) time.Duration {
	limit := s.opts.MailboxSendsPerMinute
	if limit == 0 {
		limit = DefaultMailboxSendsPerMinute
	}
	if limit < 0 {
		return 0
	}
	key := strings.ToLower(mailbox)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	recent := s.sendTimes[key][:0]
	for _, t := range s.sendTimes[key] {
		if now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	s.sendTimes[key] = recent
	if len(recent) >= limit {
		return max(recent[0].Add(time.Minute).Sub(now), time.Second)
	}
	s.sendTimes[key] = append(recent, now)
	return 0
}

// writeSendLimited answers a send refused by countSend.
func (s *Server) writeSendLimited(w http.ResponseWriter, r *http.Request, mailbox string, wait time.Duration) {
	w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(wait.Seconds()))))
	s.writeGraphError(w, r, gerr(http.StatusTooManyRequests, "TooManyRequests", "The mailbox %s has sent its %d messages of the last minute (Exchange Online's limit). Retry after the time given in Retry-After.", safeText(mailbox), s.sendLimit()))
}

func (s *Server) sendLimit() int {
	if s.opts.MailboxSendsPerMinute == 0 {
		return DefaultMailboxSendsPerMinute
	}
	return s.opts.MailboxSendsPerMinute
}

// uploadMark is one request's body bytes, counted against the upload limit.
type uploadMark struct {
	at time.Time
	n  int64
}

// uploadLimit is the upload limit in force; 0 means none.
func (s *Server) uploadLimit() int64 {
	switch {
	case s.opts.MailboxUploadBytes < 0:
		return 0
	case s.opts.MailboxUploadBytes == 0:
		return DefaultMailboxUploadBytes
	}
	return s.opts.MailboxUploadBytes
}

// limitUpload refuses a request that sends a body (POST, PATCH, PUT; a
// bodiless POST such as .../send is not an upload) when
// the app has already sent the limit's worth of bytes to the mailbox in the
// last five minutes, as Outlook does with 429 and Retry-After. Otherwise it
// counts the body's bytes as they are read; the request that crosses the
// limit still passes, the next one waits.
func (s *Server) limitUpload(w http.ResponseWriter, r *http.Request, key string) bool {
	limit := s.uploadLimit()
	if limit == 0 || r.Body == nil || r.ContentLength == 0 || (r.Method != http.MethodPost && r.Method != http.MethodPatch && r.Method != http.MethodPut) {
		return true
	}
	now := s.now()
	s.mu.Lock()
	marks := s.uploaded[key][:0]
	var total int64
	for _, m := range s.uploaded[key] {
		if now.Sub(m.at) < uploadWindow {
			marks = append(marks, m)
			total += m.n
		}
	}
	s.uploaded[key] = marks
	var wait time.Duration
	if total >= limit {
		// Wait until enough of the oldest bytes leave the window.
		for _, m := range marks {
			total -= m.n
			if total < limit {
				wait = max(m.at.Add(uploadWindow).Sub(now), time.Second)
				break
			}
		}
	}
	s.mu.Unlock()
	if wait > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(wait.Seconds()))))
		s.writeGraphError(w, r, gerr(http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its MailboxUploadLimit: %d MB in %s per app and mailbox. Retry after the time given in Retry-After.", limit>>20, uploadWindow))
		return false
	}
	r.Body = &countingBody{ReadCloser: r.Body, count: func(n int) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.uploaded[key] = append(s.uploaded[key], uploadMark{at: s.now(), n: int64(n)})
	}}
	return true
}

// countingBody reports the bytes read from a request body.
type countingBody struct {
	io.ReadCloser
	count func(int)
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.count(n)
	}
	return n, err
}

// maxMessage is the maximum message size in force; 0 means none.
func (s *Server) maxMessage() int64 {
	switch {
	case s.opts.MaxMessageBytes < 0:
		return 0
	case s.opts.MaxMessageBytes == 0:
		return DefaultMaxMessageBytes
	}
	return s.opts.MaxMessageBytes
}

// messageSize is a draft's size as Exchange measures it: the MIME message,
// attachments included in base64 (wrapped at 76 columns), which makes a
// file about a third larger than on disk. Call with s.mu held.
func (d *draft) messageSize() int64 {
	size := int64(len(d.raw))
	if d.raw == nil {
		// A JSON draft: its text plus room for the headers.
		size = int64(len(d.msg.Subject)+len(d.msg.Body)) + 1024
	}
	for _, f := range d.files {
		enc := (f.size + 2) / 3 * 4
		size += enc + (enc+75)/76*2
	}
	return size
}

// errMessageTooLarge is Exchange's refusal of a message over the maximum
// message size. The HTTP status Graph answers with is not documented; the
// sandbox answers 400 with the documented code.
func errMessageTooLarge(size, limit int64) *graphError {
	return gerr(http.StatusBadRequest, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size: it is %d bytes; this mailbox sends at most %d.", size, limit)
}
