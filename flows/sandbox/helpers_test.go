package sandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows/clock"
)

// testClock is the sandbox tests' settable clock.
type testClock = clock.Fake

// newClock is a settable clock for Options.Clock, at the real time.
func newClock() *testClock { return newClockAt(time.Now()) }

// newClockAt is a settable clock for Options.Clock, at at.
func newClockAt(at time.Time) *testClock { return clock.NewFake(at) }

// startServer starts a sandbox on loopback for the test.
func startServer(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// noRedirect is an HTTP client playing a browser that does not follow
// redirects, so tests can read Location.
var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// response is a read HTTP response.
type response struct {
	Status int
	Header http.Header
	Body   string
}

// JSON decodes the body into a map.
func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("body is not JSON (status %d): %v\n%s", r.Status, err, r.Body)
	}
	return m
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

func get(t *testing.T, u string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func postForm(t *testing.T, u string, v url.Values) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

// tokenURL is the token endpoint for a tenant.
func tokenURL(s *Server, tenant string) string {
	return s.URL() + "/" + tenant + "/oauth2/v2.0/token"
}

// wantOAuthError checks an Entra error response's status, class and code.
func wantOAuthError(t *testing.T, r response, status int, class string, code int) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d\n%s", r.Status, status, r.Body)
	}
	m := r.JSON(t)
	if m["error"] != class {
		t.Fatalf("error = %v, want %s\n%s", m["error"], class, r.Body)
	}
	codes, _ := m["error_codes"].([]any)
	if len(codes) != 1 || codes[0] != float64(code) {
		t.Fatalf("error_codes = %v, want [%d]\n%s", m["error_codes"], code, r.Body)
	}
	return m
}

// wantGraphError checks a Graph error response's status and code.
func wantGraphError(t *testing.T, r response, status int, code string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d\n%s", r.Status, status, r.Body)
	}
	m := r.JSON(t)
	e, _ := m["error"].(map[string]any)
	if e == nil || e["code"] != code {
		t.Fatalf("error.code = %v, want %s\n%s", e["code"], code, r.Body)
	}
	inner, _ := e["innerError"].(map[string]any)
	if inner == nil || inner["request-id"] == "" || inner["date"] == "" || inner["client-request-id"] == "" {
		t.Fatalf("innerError incomplete: %s", r.Body)
	}
	return e
}

// jwtClaims decodes a JWT's payload without checking it.
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// pkcePair returns a verifier and its S256 challenge.
func pkcePair() (verifier, challenge string) {
	verifier = randomToken(32)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// htmlForm is a form read from a sandbox page.
type htmlForm struct {
	Kind, Action string
	Hidden       url.Values
	Checked      string
	Users        []string
}

var (
	formRe  = regexp.MustCompile(`(?s)<form method="post" action="([^"]*)" data-sandbox-form="([^"]*)">(.*?)</form>`)
	inputRe = regexp.MustCompile(`<input ([^>]*)>`)
	attrRx  = regexp.MustCompile(`([a-z-]+)="([^"]*)"`)
)

// parseForm reads the sandbox form of a page.
func parseForm(t *testing.T, body string) htmlForm {
	t.Helper()
	m := formRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no sandbox form on the page:\n%s", body)
	}
	f := htmlForm{Action: html.UnescapeString(m[1]), Kind: m[2], Hidden: url.Values{}}
	for _, in := range inputRe.FindAllStringSubmatch(m[3], -1) {
		a := map[string]string{}
		for _, kv := range attrRx.FindAllStringSubmatch(in[1], -1) {
			a[kv[1]] = html.UnescapeString(kv[2])
		}
		switch a["type"] {
		case "hidden":
			f.Hidden.Add(a["name"], a["value"])
		case "radio":
			f.Users = append(f.Users, a["value"])
			if strings.Contains(in[1], " checked") {
				f.Checked = a["value"]
			}
		}
	}
	return f
}

// submit posts a form with a user (or, if "", the preselected one) and an
// action.
func submit(t *testing.T, s *Server, f htmlForm, user, action string) response {
	t.Helper()
	v := url.Values{}
	for k, vs := range f.Hidden {
		v[k] = append([]string(nil), vs...)
	}
	if user == "" {
		user = f.Checked
	}
	if user != "" {
		v.Set("user", user)
	}
	v.Set("action", action)
	return postForm(t, s.URL()+f.Action, v)
}

// authParams are the usual parameters of an authorize request.
func authParams(app App, redirect, challenge, scope string) url.Values {
	v := url.Values{
		"client_id":     {app.ClientID},
		"response_type": {"code"},
		"redirect_uri":  {redirect},
		"scope":         {scope},
		"state":         {"st-" + randomToken(6)},
	}
	if challenge != "" {
		v.Set("code_challenge", challenge)
		v.Set("code_challenge_method", "S256")
	}
	return v
}

// signIn drives the sign-in page for params as user with action and returns
// the redirect's query.
func signIn(t *testing.T, s *Server, tenant string, params url.Values, user, action string) url.Values {
	t.Helper()
	page := get(t, s.URL()+"/"+tenant+"/oauth2/v2.0/authorize?"+params.Encode())
	if page.Status != http.StatusOK {
		t.Fatalf("authorize page status %d\n%s", page.Status, page.Body)
	}
	f := parseForm(t, page.Body)
	resp := submit(t, s, f, user, action)
	if resp.Status != http.StatusFound {
		t.Fatalf("sign-in POST status %d, want 302\n%s", resp.Status, resp.Body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := loc.Scheme+"://"+loc.Host, strings.TrimSuffix(params.Get("redirect_uri"), "/"); !strings.HasPrefix(want, got) {
		t.Fatalf("redirected to %s, want %s", loc, want)
	}
	q := loc.Query()
	if q.Get("state") != params.Get("state") {
		t.Fatalf("state = %q, want %q", q.Get("state"), params.Get("state"))
	}
	return q
}

// delegatedToken runs the whole auth-code flow and returns the token JSON.
func delegatedToken(t *testing.T, s *Server, tenant string, app App, user, scope string) map[string]any {
	t.Helper()
	verifier, challenge := pkcePair()
	redirect := "http://localhost:53682/"
	q := signIn(t, s, tenant, authParams(app, redirect, challenge, scope), user, "accept")
	form := url.Values{
		"client_id": {app.ClientID}, "grant_type": {"authorization_code"}, "code": {q.Get("code")},
		"redirect_uri": {redirect}, "code_verifier": {verifier},
	}
	if !app.Public {
		form.Set("client_secret", app.Secret)
	}
	r := postForm(t, tokenURL(s, tenant), form)
	if r.Status != http.StatusOK {
		t.Fatalf("token status %d\n%s", r.Status, r.Body)
	}
	return r.JSON(t)
}

// appToken gets a client_credentials token with the app's secret.
func appToken(t *testing.T, s *Server, app App) string {
	t.Helper()
	r := postForm(t, tokenURL(s, TenantID), url.Values{
		"client_id": {app.ClientID}, "grant_type": {"client_credentials"},
		"scope": {"https://graph.microsoft.com/.default"}, "client_secret": {app.Secret},
	})
	if r.Status != http.StatusOK {
		t.Fatalf("client_credentials status %d\n%s", r.Status, r.Body)
	}
	return r.JSON(t)["access_token"].(string)
}

const mailScope = "offline_access openid profile https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/User.Read"

// httpTestServer serves h with httptest (without SetURL) and returns its URL.
func httpTestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
