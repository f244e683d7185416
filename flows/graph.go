package flows

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// maxBody caps how much of a response mailgrant reads.
const maxBody = 1 << 20

// graphRetries is how many times a throttled (429) or unavailable (503)
// Graph request is retried.
const graphRetries = 3

// maxRetryAfter caps how long one Retry-After may make mailgrant wait.
const maxRetryAfter = 2 * time.Minute

// graphErrorBody is Graph's error shape (reference §9).
type graphErrorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			RequestID       string `json:"request-id"`
			ClientRequestID string `json:"client-request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// ParseGraphError decodes a Graph error response into an explained Error
// whose fields are safe to print (SafeText).
func ParseGraphError(status int, body []byte) *Error {
	return parseGraphError(status, body).safe()
}

func parseGraphError(status int, body []byte) *Error {
	var g graphErrorBody
	_ = json.Unmarshal(body, &g)
	e := &Error{Code: Code(g.Error.Code), HTTPStatus: status, Description: firstLine(g.Error.Message), TraceID: g.Error.InnerError.RequestID, State: StateError}
	if e.Code == "" {
		e.Code = Code(fmt.Sprintf("http-%d", status))
	}
	if en, ok := graphErrors[string(e.Code)]; ok {
		e.Message, e.Hint, e.State = en.cause, en.fix, en.state
		return e
	}
	e.Message = e.Description
	if e.Message == "" {
		e.Message = fmt.Sprintf("Graph answered HTTP %d", status)
	}
	return e
}

// graphCall sends one Graph request with the bearer token, retrying 429 and
// 503 after Retry-After (or an exponential back-off when it is absent). It
// returns the status and body of a 2xx response, or an *Error.
func (e *Env) graphCall(ctx context.Context, method, path, token, contentType string, body []byte) (int, []byte, error) {
	r := graphRequest{method: method, url: e.GraphEndpoint(path), token: token, contentType: contentType}
	if body != nil {
		r.body, r.size = bytesBody(body), int64(len(body))
	}
	status, _, data, err := e.graphDo(ctx, r)
	return status, data, err
}

// graphRequest is one Graph request for graphDo.
type graphRequest struct {
	method, url string
	// token is the bearer token; "" sends no Authorization header (an
	// upload session's URL carries its own token).
	token       string
	contentType string
	// body opens the request body afresh for each attempt; nil sends none.
	body func() (io.Reader, error)
	// size is the body's length in bytes.
	size int64
	// header holds extra request headers, such as Content-Range.
	header map[string]string
}

// bytesBody is a graphRequest body over a byte slice.
func bytesBody(b []byte) func() (io.Reader, error) {
	return func() (io.Reader, error) { return bytes.NewReader(b), nil }
}

// graphDo sends r, retrying 429 and 503 after Retry-After (or an
// exponential back-off when it is absent). It returns the status, headers
// and body of a 2xx response, or an *Error.
func (e *Env) graphDo(ctx context.Context, r graphRequest) (int, http.Header, []byte, error) {
	backoff := time.Second
	for attempt := 0; ; attempt++ {
		var body io.Reader
		if r.body != nil {
			b, err := r.body()
			if err != nil {
				return 0, nil, nil, err
			}
			body = b
		}
		req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
		if err != nil {
			return 0, nil, nil, err
		}
		if body != nil {
			req.ContentLength = r.size
			if r.size == 0 {
				req.Body = http.NoBody
			}
		}
		if r.token != "" {
			req.Header.Set("Authorization", "Bearer "+r.token)
		}
		req.Header.Set("Accept", "application/json")
		if r.contentType != "" {
			req.Header.Set("Content-Type", r.contentType)
		}
		for k, v := range r.header {
			req.Header.Set(k, v)
		}
		resp, err := e.clientFor(int(r.size)).Do(req)
		if err != nil {
			return 0, nil, nil, networkError(e.graphHost(), err)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		if err != nil {
			return 0, nil, nil, networkError(e.graphHost(), err)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp.StatusCode, resp.Header, data, nil
		}
		retryable := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable
		if !retryable || attempt >= graphRetries {
			ge := ParseGraphError(resp.StatusCode, data)
			if retryable {
				ge.Message += fmt.Sprintf(" (still after %d retries)", graphRetries)
				ge.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), e.Now())
			}
			return resp.StatusCode, resp.Header, nil, ge
		}
		wait := retryAfter(resp.Header.Get("Retry-After"), e.Now())
		if wait <= 0 {
			wait = backoff
			backoff *= 2
		}
		select {
		case <-ctx.Done():
			return 0, nil, nil, networkError(e.graphHost(), ctx.Err())
		case <-e.after(wait):
		}
	}
}

// clientFor gives a large upload (a MIME message with attachments) time to
// travel at a slow 64 KiB/s on top of the client's usual timeout.
func (e *Env) clientFor(size int) *http.Client {
	if size < 1<<20 || e.HTTP.Timeout == 0 {
		return e.HTTP
	}
	c := *e.HTTP
	c.Timeout += time.Duration(size/(64<<10)) * time.Second
	return &c
}

// retryAfter reads a Retry-After header: seconds (possibly fractional, as
// Graph sends) or an HTTP date. It returns 0 when absent or unreadable.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(h, 64); err == nil {
		if secs < 0 {
			return 0
		}
		d := time.Duration(secs * float64(time.Second))
		return min(d, maxRetryAfter)
	}
	if t, err := http.ParseTime(h); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter)
	}
	return 0
}

// Me is the signed-in user, from GET /me.
type Me struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	Mail              string `json:"mail"`
	UserPrincipalName string `json:"userPrincipalName"`
}

// GetMe reads the signed-in user.
func (e *Env) GetMe(ctx context.Context, token string) (*Me, error) {
	_, data, err := e.graphCall(ctx, http.MethodGet, "me?$select=id,displayName,mail,userPrincipalName", token, "", nil)
	if err != nil {
		return nil, err
	}
	var me Me
	if err := json.Unmarshal(data, &me); err != nil {
		return nil, &Error{Code: CodeBadResponse, Message: fmt.Sprintf("%s sent an unreadable /me response", e.graphHost()), Hint: "check MAILGRANT_GRAPH_HOST or your proxy", State: StateError}
	}
	me.DisplayName, me.Mail, me.UserPrincipalName = SafeText(me.DisplayName), SafeText(me.Mail), SafeText(me.UserPrincipalName)
	return &me, nil
}
