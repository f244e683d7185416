package flows

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"time"

	"golang.org/x/oauth2"

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
	conf     *oauth2.Config
	verifier string
	authURL  string
	lb       *loopback
}

// StartAuthCode opens the loopback listener (127.0.0.1 and, where available,
// ::1, on one port) and builds the authorize URL. It returns at once.
func StartAuthCode(ctx context.Context, env *Env, p store.Profile, o AuthCodeOptions) (*AuthCodeFlow, error) {
	env = env.ForProfile(p)
	lb, err := newLoopback(o.Timeout, pageText{
		subject: pageSubject(p),
		heading: "Signed in",
		failed:  "Sign-in not completed",
		// The code is redeemed, but the checks (permissions, mailbox, a
		// test message) run after: the page must not say "authorized".
		lines: []string{"You are signed in. mailgrant is now checking that it can send mail with this sign-in."},
	})
	if err != nil {
		return nil, err
	}
	f := &AuthCodeFlow{
		env:      env,
		conf:     env.oauthConfig(p, o.ClientSecret, lb.redirectURI(), DelegatedScopes(p)),
		verifier: oauth2.GenerateVerifier(),
		lb:       lb,
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.verifier)}
	if p.Account != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", p.Account))
	}
	f.authURL = f.conf.AuthCodeURL(lb.state, opts...)
	return f, nil
}

// pageSubject names the profile (and account) on the browser's pages.
func pageSubject(p store.Profile) string {
	if p.Name == "" {
		return p.Account
	}
	if p.Account == "" {
		return "profile " + p.Name
	}
	return "profile " + p.Name + " (" + p.Account + ")"
}

// URL is the authorize URL to open in the browser.
func (f *AuthCodeFlow) URL() string { return f.authURL }

// RedirectURI is the redirect URI sent (http://localhost:PORT).
func (f *AuthCodeFlow) RedirectURI() string { return f.lb.redirectURI() }

// Close stops the listener. Wait calls it; calling it again is harmless.
func (f *AuthCodeFlow) Close() { f.lb.close() }

// Wait blocks until the browser comes back and the code is redeemed, the
// timeout passes, or ctx is cancelled. It closes the listener before it
// returns: a second callback is refused.
func (f *AuthCodeFlow) Wait(ctx context.Context) (*Token, error) {
	var tok *Token
	err := f.lb.wait(ctx, func(ctx context.Context, q url.Values) error {
		var err error
		tok, err = f.redeem(ctx, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	return tok, nil
}

// redeem checks the redirect's query and exchanges the code.
func (f *AuthCodeFlow) redeem(ctx context.Context, q url.Values) (*Token, error) {
	if e := q.Get("error"); e != "" {
		return nil, ParseRedirectError(q)
	}
	code := q.Get("code")
	if code == "" {
		return nil, &Error{Code: CodeNoCode, Message: "the redirect carried neither a code nor an error", Hint: "run the sign-in again", State: StateError}
	}
	ot, err := f.conf.Exchange(f.env.httpContext(ctx), code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		return nil, f.env.tokenError(err)
	}
	tok := f.env.fromOAuth(ot)
	if tok.RefreshToken == "" {
		return nil, &Error{Code: CodeNoRefreshToken, Message: "Entra returned no refresh token", Hint: "make sure offline_access is allowed for the app", State: StateError}
	}
	return tok, nil
}

// ParseRedirectError explains an error redirect (?error=…&error_description=…).
// Every field of the result is safe to print (SafeText): anything on this
// machine can send the loopback listener a redirect.
func ParseRedirectError(q url.Values) *Error {
	return parseRedirectError(q).safe()
}

func parseRedirectError(q url.Values) *Error {
	// Cleaned first, so that what is explained is what will be shown (a
	// description of nothing but control bytes explains nothing).
	desc := SafeText(firstLine(q.Get("error_description")))
	e := &Error{Code: Code(SafeText(q.Get("error"))), Description: desc, State: StateError}
	if n := aadstsNumber(desc); n > 0 {
		e.Code = Code(fmt.Sprintf("AADSTS%d", n))
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
		e.Message = stripAADSTS(desc)
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
