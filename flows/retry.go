package flows

import (
	"io"
	"net/http"
	"time"
)

// tokenRetries is how many times a token-endpoint request answered 429 or
// 503 is retried.
const tokenRetries = 2

// DefaultRetryBase is the first wait before retrying a throttled or
// unavailable request that gave no Retry-After: reference §4 asks for at
// least 5 s, then an exponential back-off.
const DefaultRetryBase = 5 * time.Second

// retryTransport retries Entra's token endpoint when it answers 429 or 503,
// honouring Retry-After (capped) or backing off exponentially, a bounded
// number of times. Other failures are returned at once: retrying a refused
// grant or a network failure would only repeat it.
type retryTransport struct {
	next http.RoundTripper
	base time.Duration
	now  func() time.Time
}

func (t retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if err != nil || attempt >= tokenRetries || req.GetBody == nil ||
			(resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
			return resp, err
		}
		wait := retryAfter(resp.Header.Get("Retry-After"), t.now())
		if wait <= 0 {
			wait = t.base << attempt
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = body
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(wait):
		}
	}
}
