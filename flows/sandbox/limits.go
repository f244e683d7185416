package sandbox

import (
	"fmt"
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
