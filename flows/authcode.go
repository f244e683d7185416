package flows

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/oauth2"

	"github.com/mailgrant/mailgrant/assets"
	"github.com/mailgrant/mailgrant/store"
)

// DefaultSignInTimeout bounds how long a browser sign-in may take.
const DefaultSignInTimeout = 5 * time.Minute

// AuthCodeOptions configure StartAuthCode.
type AuthCodeOptions struct {
	// ClientSecret is sent on redemption for confidential web apps; empty for
	// public clients.
	ClientSecret string
	// Timeout bounds the whole sign-in; zero means DefaultSignInTimeout.
	Timeout time.Duration
}

// AuthCodeFlow is one authorization-code sign-in with PKCE: a loopback
// listener waiting for the browser's redirect. Start it with StartAuthCode,
// show URL, then call Wait.
type AuthCodeFlow struct {
	env      *Env
	profile  store.Profile
	conf     *oauth2.Config
	verifier string
	state    string
	authURL  string
	deadline time.Time

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

// StartAuthCode opens the loopback listener (127.0.0.1 and, where available,
// ::1, on one port) and builds the authorize URL. It returns at once.
func StartAuthCode(ctx context.Context, env *Env, p store.Profile, o AuthCodeOptions) (*AuthCodeFlow, error) {
	lns, port, err := listenLoopback()
	if err != nil {
		return nil, &Error{Code: "listener", Message: "cannot open a port on localhost for the browser's redirect: " + err.Error(), Hint: "check local firewall rules, or use the device code sign-in (--device-code)", State: StateError, Err: err}
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultSignInTimeout
	}
	redirect := "http://localhost:" + strconv.Itoa(port)
	f := &AuthCodeFlow{
		env:      env,
		profile:  p,
		conf:     env.oauthConfig(p, o.ClientSecret, redirect, DelegatedScopes(p)),
		verifier: oauth2.GenerateVerifier(),
		state:    randomString(24),
		deadline: env.Now().Add(timeout),
		results:  make(chan callback),
		closedCh: make(chan struct{}),
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.verifier)}
	if p.Account != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", p.Account))
	}
	f.authURL = f.conf.AuthCodeURL(f.state, opts...)
	for _, ln := range lns {
		srv := &http.Server{Handler: http.HandlerFunc(f.serveCallback), ReadHeaderTimeout: 10 * time.Second}
		f.servers = append(f.servers, srv)
		go func() { _ = srv.Serve(ln) }()
	}
	return f, nil
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
		if !isAddrInUse(err) {
			return []net.Listener{ln4}, port, nil // no IPv6 loopback here
		}
		lastErr = err
		ln4.Close()
	}
	return nil, 0, lastErr
}

func isAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }

// URL is the authorize URL to open in the browser.
func (f *AuthCodeFlow) URL() string { return f.authURL }

// RedirectURI is the redirect URI sent (http://localhost:PORT).
func (f *AuthCodeFlow) RedirectURI() string { return f.conf.RedirectURL }

// Close stops the listener. Wait calls it; calling it again is harmless.
func (f *AuthCodeFlow) Close() {
	f.once.Do(func() {
		close(f.closedCh)
		for _, s := range f.servers {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = s.Shutdown(ctx)
			cancel()
		}
	})
}

// serveCallback answers the browser's redirect. Only the root path answers;
// a request without the expected state is refused and the flow keeps waiting.
func (f *AuthCodeFlow) serveCallback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if r.URL.Path != "/" || (r.Method != http.MethodGet && r.Method != http.MethodPost) {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(assets.ResultPage(false, "Bad request", "mailgrant could not read this request."))
		return
	}
	q := r.Form
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.state)) != 1 {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(assets.ResultPage(false, "Unexpected sign-in response", "This response does not belong to the sign-in mailgrant started, so it was ignored. Return to the terminal."))
		return
	}
	cb := callback{query: q, reply: make(chan error, 1)}
	select {
	case f.results <- cb:
	case <-f.closedCh:
		w.WriteHeader(http.StatusGone)
		_, _ = w.Write(assets.ResultPage(false, "Sign-in already finished", "mailgrant is no longer waiting for this sign-in. Return to the terminal."))
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
		_, _ = w.Write(assets.ResultPage(false, "Sign-in did not complete", fe.Message+". "+fe.Hint))
		return
	}
	_, _ = w.Write(assets.ResultPage(true, "mailgrant is authorized", "You can close this tab and return to the terminal."))
}

// Wait blocks until the browser comes back and the code is redeemed, the
// timeout passes, or ctx is cancelled. It closes the listener before it
// returns: a second callback is refused.
func (f *AuthCodeFlow) Wait(ctx context.Context) (*Token, error) {
	defer f.Close()
	ctx, cancel := context.WithDeadline(ctx, f.deadline)
	defer cancel()
	select {
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, &Error{Code: "timeout", Message: "the browser sign-in did not finish in time", Hint: "run it again; if no browser opened, copy the URL shown into one, or use --device-code", State: StateError}
		}
		return nil, &Error{Code: "cancelled", Message: "sign-in cancelled", State: StateError, Err: ctx.Err()}
	case cb := <-f.results:
		tok, err := f.redeem(ctx, cb.query)
		cb.reply <- err
		return tok, err
	}
}

// redeem checks the redirect's query and exchanges the code.
func (f *AuthCodeFlow) redeem(ctx context.Context, q url.Values) (*Token, error) {
	if e := q.Get("error"); e != "" {
		return nil, ParseRedirectError(q)
	}
	code := q.Get("code")
	if code == "" {
		return nil, &Error{Code: "no-code", Message: "the redirect carried neither a code nor an error", Hint: "run the sign-in again", State: StateError}
	}
	ot, err := f.conf.Exchange(f.env.httpContext(ctx), code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		return nil, f.env.tokenError(err)
	}
	tok := f.env.fromOAuth(ot)
	if tok.RefreshToken == "" {
		return nil, &Error{Code: "no-refresh-token", Message: "Entra returned no refresh token", Hint: "make sure offline_access is allowed for the app", State: StateError}
	}
	return tok, nil
}

// ParseRedirectError explains an error redirect (?error=…&error_description=…).
func ParseRedirectError(q url.Values) *Error {
	desc := firstLine(q.Get("error_description"))
	e := &Error{Code: q.Get("error"), Description: desc, State: StateError}
	if n := aadstsNumber(desc); n > 0 {
		e.Code = fmt.Sprintf("AADSTS%d", n)
		e.LookupURL = LookupURL(n)
		if en, ok := aadsts[n]; ok {
			e.Message, e.Hint, e.State = en.cause, en.fix, en.state
			return e
		}
	}
	if en, ok := oauthErrors[q.Get("error")]; ok {
		e.Message, e.Hint, e.State = en.cause, en.fix, en.state
	}
	if e.Message == "" || (desc != "" && e.LookupURL != "") {
		e.Message = desc
	}
	if e.Message == "" {
		e.Message = "the sign-in failed"
	}
	return e
}

// aadstsNumber finds the number of a leading "AADSTSnnnn:" in a description.
func aadstsNumber(desc string) int {
	const prefix = "AADSTS"
	if len(desc) < len(prefix)+1 || desc[:len(prefix)] != prefix {
		return 0
	}
	n := 0
	for _, c := range desc[len(prefix):] {
		if c < '0' || c > '9' || n > 1e8 {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
