package flows

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mailgrant/mailgrant/assets"
)

// loopback is the listener a browser redirect comes back to (sign-in and
// admin consent). It answers on 127.0.0.1 and ::1 on one port, only to a
// Host naming that port on a loopback name, only on /, only to a request
// carrying its state, and only once. The redirect is answered with a 303 to
// resultPath, so the code and state leave the address bar, the history and
// any Referer.
type loopback struct {
	port     int
	state    string
	deadline time.Time
	pages    pageText
	servers  []*http.Server
	// listeners are closed by close too: Shutdown closes only those its
	// Serve goroutine has started on, and one may not have started yet.
	listeners []net.Listener
	once      sync.Once
	results   chan callback
	closedCh  chan struct{}

	mu       sync.Mutex
	result   []byte        // the page resultPath shows, once the outcome is known
	served   chan struct{} // closed when the result page has been fetched
	servedMu sync.Once
}

// resultPath is where the browser is sent after the redirect.
const resultPath = "/done"

// resultGrace is how long the listener stays open after the outcome, for
// the browser to follow the 303 and fetch the result page.
const resultGrace = 5 * time.Second

// pageText is what the result pages say for one kind of flow.
type pageText struct {
	// subject names the profile and account for the page title.
	subject string
	// heading and lines are the success page's.
	heading string
	lines   []string
	// failed is the failure page's heading.
	failed string
}

// callback is one redirect that carried the expected state.
type callback struct {
	query url.Values
	reply chan error // the outcome, rendered to the browser
}

// loopbackHeaderTimeout and loopbackReadTimeout bound how long one request
// may take to arrive (variables so that tests can shorten them).
var (
	loopbackHeaderTimeout = 5 * time.Second
	loopbackReadTimeout   = 10 * time.Second
)

// newLoopback opens the listeners. timeout bounds the whole wait (zero means
// DefaultSignInTimeout); pages is what the browser is shown.
func newLoopback(timeout time.Duration, pages pageText) (*loopback, error) {
	lns, port, err := listenLoopback()
	if err != nil {
		return nil, &Error{Code: CodeListener, Message: "cannot open a port on localhost for the browser's redirect: " + err.Error(), Hint: "check local firewall rules, or use the device code sign-in (--device-code)", State: StateError, Err: err}
	}
	if timeout <= 0 {
		timeout = DefaultSignInTimeout
	}
	// The deadline is the system clock's, not the Env's: it becomes a
	// context deadline, and only the system clock drives those.
	l := &loopback{
		port:     port,
		state:    randomString(24),
		deadline: time.Now().Add(timeout),
		pages:    pages,
		results:  make(chan callback),
		closedCh: make(chan struct{}),
		served:   make(chan struct{}),
	}
	for _, ln := range lns {
		srv := &http.Server{
			Handler: http.HandlerFunc(l.serve),
			// A browser sends its request at once; anything slower is not
			// a browser and must not hold the listener open.
			ReadHeaderTimeout: loopbackHeaderTimeout,
			ReadTimeout:       loopbackReadTimeout,
			IdleTimeout:       10 * time.Second,
			MaxHeaderBytes:    16 << 10,
		}
		l.servers = append(l.servers, srv)
		l.listeners = append(l.listeners, ln)
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
			if err := s.Shutdown(ctx); err != nil {
				// A request still trickling in (or a handler still
				// answering) would outlive Shutdown: cut it off.
				_ = s.Close()
			}
			cancel()
		}
		for _, ln := range l.listeners {
			_ = ln.Close()
		}
	})
}

// securityHeaders are sent with every loopback answer: no script, no
// framing, no Referer, no sniffing, no caching.
var securityHeaders = [...][2]string{
	{"Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
	{"Referrer-Policy", "no-referrer"},
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
	{"Cache-Control", "no-store"},
	{"Content-Type", "text/html; charset=utf-8"},
}

// hostAllowed reports whether a request's Host names this listener:
// 127.0.0.1, [::1] or localhost with its port. Anything else (a DNS
// rebinding name, another port) is refused.
func (l *loopback) hostAllowed(host string) bool {
	h, port, err := net.SplitHostPort(host)
	if err != nil || port != strconv.Itoa(l.port) {
		return false
	}
	return h == "127.0.0.1" || h == "::1" || strings.EqualFold(h, "localhost")
}

// serve answers the browser's redirect. Only the root path answers; a request
// without the expected state is refused and the flow keeps waiting.
func (l *loopback) serve(w http.ResponseWriter, r *http.Request) {
	for _, h := range securityHeaders {
		w.Header().Set(h[0], h[1])
	}
	if !l.hostAllowed(r.Host) {
		w.WriteHeader(http.StatusMisdirectedRequest)
		_, _ = w.Write(assets.ResultPage(l.ignoredPage("This address is not mailgrant's", "mailgrant answers only at http://localhost with the port of the sign-in it started.")))
		return
	}
	if r.URL.Path == resultPath && r.Method == http.MethodGet {
		l.serveResult(w)
		return
	}
	if r.URL.Path != "/" || (r.Method != http.MethodGet && r.Method != http.MethodPost) {
		http.NotFound(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(assets.ResultPage(l.ignoredPage("mailgrant could not read this request", "The request was malformed, so it was ignored.")))
		return
	}
	q := r.Form
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(l.state)) != 1 {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(assets.ResultPage(l.ignoredPage("This page is not from the current sign-in", "This response does not belong to the sign-in mailgrant is waiting for (it may come from an older tab or another program), so it was ignored.")))
		return
	}
	cb := callback{query: q, reply: make(chan error, 1)}
	select {
	case l.results <- cb:
	case <-l.closedCh:
		w.WriteHeader(http.StatusGone)
		_, _ = w.Write(assets.ResultPage(assets.Result{Outcome: assets.Failed, Heading: "mailgrant is no longer waiting", Subject: l.pages.subject, Lines: []string{"This sign-in already finished, timed out or was cancelled."}, Next: "Return to the terminal. To sign in again, run the command again."}))
		return
	case <-r.Context().Done():
		return
	}
	var page assets.Result
	select {
	case outcome := <-cb.reply:
		page = l.outcomePage(outcome)
	case <-time.After(30 * time.Second):
		page = assets.Result{Outcome: assets.Ignored, Heading: "mailgrant is still working", Subject: l.pages.subject, Next: "Return to the terminal to see how it ends."}
	}
	l.mu.Lock()
	l.result = assets.ResultPage(page)
	l.mu.Unlock()
	// 303: the browser fetches resultPath with GET, so the code and state
	// leave the address bar and history and are never sent as a Referer.
	w.Header().Set("Location", resultPath)
	w.WriteHeader(http.StatusSeeOther)
}

// serveResult shows the outcome page after the 303.
func (l *loopback) serveResult(w http.ResponseWriter) {
	l.mu.Lock()
	page := l.result
	l.mu.Unlock()
	if page == nil {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write(assets.ResultPage(l.ignoredPage("Nothing to show yet", "The sign-in has not come back to mailgrant yet.")))
		return
	}
	_, _ = w.Write(page)
	l.servedMu.Do(func() { close(l.served) })
}

// ignoredPage is the page for a request mailgrant did not act on: the real
// sign-in is still waiting.
func (l *loopback) ignoredPage(heading, why string) assets.Result {
	return assets.Result{
		Outcome: assets.Ignored,
		Heading: heading,
		Subject: l.pages.subject,
		Lines:   []string{why, "The real sign-in is still waiting."},
		Next:    "Return to the terminal and open the link mailgrant shows there.",
	}
}

// outcomePage is the page for the redirect mailgrant waited for.
func (l *loopback) outcomePage(outcome error) assets.Result {
	if outcome == nil {
		return assets.Result{Outcome: assets.Succeeded, Heading: l.pages.heading, Subject: l.pages.subject, Lines: l.pages.lines, Next: "Return to the terminal to see the result."}
	}
	fe := AsError(outcome)
	r := assets.Result{Outcome: assets.Failed, Heading: l.pages.failed, Subject: l.pages.subject, Code: string(fe.Code), Next: "Return to the terminal: mailgrant has stopped waiting and says what to do next."}
	if fe.Code == CodeAccessDenied || fe.Code == CodeConsentDeclined {
		r.Heading = "Sign-in cancelled"
		r.Lines = []string{"The sign-in was cancelled, or the permissions were declined.", "To try again, run the command again and choose Accept on the permissions page."}
		return r
	}
	r.Lines = []string{sentence(fe.Message)}
	if fe.Hint != "" {
		r.Lines = append(r.Lines, "To fix it: "+strings.TrimSuffix(fe.Hint, ".")+".")
	}
	return r
}

// sentence capitalizes s and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
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
			return &Error{Code: CodeTimeout, Message: "the browser did not come back in time", Hint: "run it again; if no browser opened, copy the URL shown into one, or use --device-code", State: StateError}
		}
		return &Error{Code: CodeCancelled, Message: "cancelled", State: StateError, Err: ctx.Err()}
	case cb := <-l.results:
		err := handle(ctx, cb.query)
		cb.reply <- err
		// Keep the listener for the browser to follow the 303 and fetch
		// the result page, but not for long.
		select {
		case <-l.served:
		case <-time.After(resultGrace):
		case <-ctx.Done():
		}
		return err
	}
}
