package flows

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/mailgrant/mailgrant/flows/clock"
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
//
// Each attempt has its own timeout (the client's), so the waits between
// attempts are not cut short by one overall deadline.
type retryTransport struct {
	next    http.RoundTripper
	base    time.Duration
	clock   clock.Clock   // reads Retry-After dates and waits
	timeout time.Duration // per attempt; 0 means none
}

func (t retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		ctx, cancel := req.Context(), context.CancelFunc(func() {})
		if t.timeout > 0 {
			ctx, cancel = context.WithTimeout(req.Context(), t.timeout)
		}
		resp, err := t.next.RoundTrip(req.WithContext(ctx))
		if err != nil {
			cancel()
			return nil, err
		}
		if attempt >= tokenRetries || req.GetBody == nil ||
			(resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
			resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
			return resp, nil
		}
		wait := retryAfter(resp.Header.Get("Retry-After"), t.clock.Now())
		if wait <= 0 {
			wait = t.base << attempt
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		cancel()
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = body
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-t.clock.After(wait):
		}
	}
}

// cancelOnClose releases an attempt's timeout once its body is read.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
