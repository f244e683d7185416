package flows

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/mailgrant/mailgrant/assets"
)

// loopback is the listener a browser redirect comes back to (sign-in and
// admin consent). It answers on 127.0.0.1 and ::1 on one port, only on /,
// only to a request carrying its state, and only once.
type loopback struct {
	port     int
	state    string
	deadline time.Time
	success  string // page title when the handler succeeds
	servers  []*http.Server
	once     sync.Once
	results  chan callback
	closedCh chan struct{}
}

// callback is one redirect that carried the expected state.
type callback struct {
	query url.Values
	reply chan error // the outcome, rendered to the browser
}

// newLoopback opens the listeners. timeout bounds the whole wait (zero means
// DefaultSignInTimeout); success is the title the browser shows on success.
func newLoopback(env *Env, timeout time.Duration, success string) (*loopback, error) {
	lns, port, err := listenLoopback()
	if err != nil {
		return nil, &Error{Code: "listener", Message: "cannot open a port on localhost for the browser's redirect: " + err.Error(), Hint: "check local firewall rules, or use the device code sign-in (--device-code)", State: StateError, Err: err}
	}
	if timeout <= 0 {
		timeout = DefaultSignInTimeout
	}
	l := &loopback{
		port:     port,
		state:    randomString(24),
		deadline: env.Now().Add(timeout),
		success:  success,
		results:  make(chan callback),
		closedCh: make(chan struct{}),
	}
	for _, ln := range lns {
		srv := &http.Server{Handler: http.HandlerFunc(l.serve), ReadHeaderTimeout: 10 * time.Second}
		l.servers = append(l.servers, srv)
		go func() { _ = srv.Serve(ln) }()
	}
	return l, nil
}

// listenLoopback listens on 127.0.0.1:0 and then on [::1] with the same port,
// so the redirect to http://localhost:PORT reaches us whichever address the
// browser resolves. ::1 is skipped where the machine has no IPv6 loopback; if
// its port is taken, another port is tried.
func listenLoopback() ([]net.Listener, int, error) {
	var lastErr error
	for range 10 {
		ln4, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, 0, err
		}
		port := ln4.Addr().(*net.TCPAddr).Port
		ln6, err := net.Listen("tcp6", "[::1]:"+strconv.Itoa(port))
		if err == nil {
			return []net.Listener{ln4, ln6}, port, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return []net.Listener{ln4}, port, nil // no IPv6 loopback here
		}
		lastErr = err
		ln4.Close()
	}
	return nil, 0, lastErr
}

// redirectURI is http://localhost:PORT (DESIGN.md: the admin registers
// http://localhost; Entra ignores the port of loopback URIs).
func (l *loopback) redirectURI() string { return "http://localhost:" + strconv.Itoa(l.port) }

// close stops the listeners; calling it again is harmless.
func (l *loopback) close() {
	l.once.Do(func() {
		close(l.closedCh)
		for _, s := range l.servers {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = s.Shutdown(ctx)
			cancel()
		}
	})
}

// serve answers the browser's redirect. Only the root path answers; a request
// without the expected state is refused and the flow keeps waiting.
func (l *loopback) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if r.URL.Path != "/" || (r.Method != http.MethodGet && r.Method != http.MethodPost) {
		http.NotFound(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(assets.ResultPage(false, "Bad request", "mailgrant could not read this request."))
		return
	}
	q := r.Form
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(l.state)) != 1 {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(assets.ResultPage(false, "Unexpected response", "This response does not belong to the sign-in mailgrant started, so it was ignored. Return to the terminal."))
		return
	}
	cb := callback{query: q, reply: make(chan error, 1)}
	select {
	case l.results <- cb:
	case <-l.closedCh:
		w.WriteHeader(http.StatusGone)
		_, _ = w.Write(assets.ResultPage(false, "Already finished", "mailgrant is no longer waiting for this response. Return to the terminal."))
		return
	case <-r.Context().Done():
		return
	}
	var outcome error
	select {
	case outcome = <-cb.reply:
	case <-time.After(30 * time.Second):
		outcome = errors.New("mailgrant is still working; see the terminal")
	}
	if outcome != nil {
		fe := AsError(outcome)
		_, _ = w.Write(assets.ResultPage(false, "Not completed", fe.Message+". "+fe.Hint))
		return
	}
	_, _ = w.Write(assets.ResultPage(true, l.success, "You can close this tab and return to the terminal."))
}

// wait blocks until one callback with the right state arrives and handle has
// processed it, the deadline passes, or ctx is cancelled. It closes the
// listeners before it returns.
func (l *loopback) wait(ctx context.Context, handle func(context.Context, url.Values) error) error {
	defer l.close()
	ctx, cancel := context.WithDeadline(ctx, l.deadline)
	defer cancel()
	select {
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &Error{Code: "timeout", Message: "the browser did not come back in time", Hint: "run it again; if no browser opened, copy the URL shown into one, or use --device-code", State: StateError}
		}
		return &Error{Code: "cancelled", Message: "cancelled", State: StateError, Err: ctx.Err()}
	case cb := <-l.results:
		err := handle(ctx, cb.query)
		cb.reply <- err
		return err
	}
}
