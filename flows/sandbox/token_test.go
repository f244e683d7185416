package sandbox

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t thumbprint
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRefreshToken(t *testing.T) {
	clock := newClock()
	dir := t.TempDir()
	s := startServer(t, Options{Clock: clock, StateDir: dir})
	first := delegatedToken(t, s, "organizations", PublicApp, AdeleVance.UPN, mailScope)
	rt1 := first["refresh_token"].(string)
	refresh := func(srv *Server, tenant string, app App, rt string, extra url.Values) response {
		f := url.Values{"client_id": {app.ClientID}, "grant_type": {"refresh_token"}, "refresh_token": {rt}}
		for k, v := range extra {
			f[k] = v
		}
		return postForm(t, tokenURL(srv, tenant), f)
	}

	t.Run("rotation: a new refresh token, and the old one still works", func(t *testing.T) {
		r := refresh(s, "organizations", PublicApp, rt1, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("status %d\n%s", r.Status, r.Body)
		}
		tok := r.JSON(t)
		rt2, _ := tok["refresh_token"].(string)
		if rt2 == "" || rt2 == rt1 || !strings.HasPrefix(rt2, "0.SBX.") {
			t.Fatalf("want a new refresh token, got %q", rt2)
		}
		if tok["scope"] != "Mail.Send User.Read openid profile offline_access" {
			t.Errorf("scope = %v", tok["scope"])
		}
		if again := refresh(s, "organizations", PublicApp, rt1, nil); again.Status != http.StatusOK {
			t.Fatalf("old refresh token refused: %s", again.Body)
		}
		if r := refresh(s, "organizations", PublicApp, rt2, nil); r.Status != http.StatusOK {
			t.Fatalf("new refresh token refused: %s", r.Body)
		}
	})
	t.Run("a second server (another process) accepts the token", func(t *testing.T) {
		other := startServer(t, Options{Clock: clock, StateDir: dir})
		r := refresh(other, TenantID, PublicApp, rt1, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("status %d\n%s", r.Status, r.Body)
		}
		at := r.JSON(t)["access_token"].(string)
		if me := graphGet(t, other, "/v1.0/me", first["access_token"].(string)); me.Status != http.StatusOK {
			t.Fatalf("access token from the first server refused: %s", me.Body)
		}
		if me := graphGet(t, s, "/v1.0/me", at); me.Status != http.StatusOK {
			t.Fatalf("access token from the second server refused: %s", me.Body)
		}
	})
	t.Run("narrower scope is fine, wider is 65001", func(t *testing.T) {
		if r := refresh(s, "organizations", PublicApp, rt1, url.Values{"scope": {"Mail.Send"}}); r.Status != http.StatusOK {
			t.Fatalf("status %d\n%s", r.Status, r.Body)
		}
		r := refresh(s, "organizations", PublicApp, rt1, url.Values{"scope": {"Files.Read.All"}})
		wantOAuthError(t, r, 400, "invalid_grant", 65001)
	})
	t.Run("another client's token", func(t *testing.T) {
		wantOAuthError(t, refresh(s, "organizations", ExtraApp, rt1, nil), 400, "invalid_grant", 70000)
	})
	t.Run("garbage", func(t *testing.T) {
		wantOAuthError(t, refresh(s, "organizations", PublicApp, "0.SBX.abc.def", nil), 400, "invalid_grant", 9002313)
	})
	t.Run("missing refresh_token", func(t *testing.T) {
		wantOAuthError(t, refresh(s, "organizations", PublicApp, "", nil), 400, "invalid_request", 900144)
	})
	t.Run("revoked fault", func(t *testing.T) {
		s.SetFaults(FaultRevoked)
		defer s.SetFaults()
		m := wantOAuthError(t, refresh(s, "organizations", PublicApp, rt1, nil), 400, "invalid_grant", 50173)
		if d := m["error_description"].(string); !strings.Contains(d, "TokensValidFrom") || !strings.Contains(d, "\r\nTrace ID: ") ||
			!strings.Contains(d, "\r\nCorrelation ID: ") || !strings.Contains(d, "\r\nTimestamp: ") {
			t.Errorf("description %q", d)
		}
		if m["error_uri"] != "https://login.microsoftonline.com/error?code=50173" || m["trace_id"] == "" || m["correlation_id"] == "" || m["timestamp"] == "" {
			t.Errorf("error shape: %v", m)
		}
	})
	t.Run("idle for more than 90 days", func(t *testing.T) {
		old := delegatedToken(t, s, "organizations", PublicApp, MeganBowen.UPN, mailScope)["refresh_token"].(string)
		clock.Advance(91 * 24 * time.Hour)
		wantOAuthError(t, refresh(s, "organizations", PublicApp, old, nil), 400, "invalid_grant", 700082)
	})
	t.Run("RevokeUser revokes earlier tokens only, in every process", func(t *testing.T) {
		clock.Advance(time.Second)
		before := delegatedToken(t, s, "organizations", PublicApp, AlexWilber.UPN, mailScope)["refresh_token"].(string)
		clock.Advance(time.Second)
		if err := s.RevokeUser(AlexWilber.UPN); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
		wantOAuthError(t, refresh(s, "organizations", PublicApp, before, nil), 400, "invalid_grant", 50173)
		other := startServer(t, Options{Clock: clock, StateDir: dir})
		wantOAuthError(t, refresh(other, "organizations", PublicApp, before, nil), 400, "invalid_grant", 50173)
		after := delegatedToken(t, s, "organizations", PublicApp, AlexWilber.UPN, mailScope)["refresh_token"].(string)
		if r := refresh(s, "organizations", PublicApp, after, nil); r.Status != http.StatusOK {
			t.Fatalf("token from a new sign-in refused: %s", r.Body)
		}
	})
	t.Run("confidential app needs its secret", func(t *testing.T) {
		rt := delegatedToken(t, s, "organizations", WebApp, AdeleVance.UPN, mailScope)["refresh_token"].(string)
		wantOAuthError(t, refresh(s, "organizations", WebApp, rt, nil), 401, "invalid_client", 7000218)
		if r := refresh(s, "organizations", WebApp, rt, url.Values{"client_secret": {WebApp.Secret}}); r.Status != http.StatusOK {
			t.Fatalf("status %d\n%s", r.Status, r.Body)
		}
		// HTTP Basic client authentication works too.
		req, _ := http.NewRequest(http.MethodPost, tokenURL(s, "organizations"), strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(WebApp.ClientID), url.QueryEscape(WebApp.Secret))
		if r := do(t, req); r.Status != http.StatusOK {
			t.Fatalf("basic auth: status %d\n%s", r.Status, r.Body)
		}
	})
	t.Run("personal account's token is refused on organizations", func(t *testing.T) {
		rt := delegatedToken(t, s, "consumers", PublicApp, KimPersonal.UPN, mailScope)["refresh_token"].(string)
		wantOAuthError(t, refresh(s, "organizations", PublicApp, rt, nil), 400, "invalid_grant", 50020)
		if r := refresh(s, "common", PublicApp, rt, nil); r.Status != http.StatusOK {
			t.Fatalf("common: %s", r.Body)
		}
	})
}

func TestClientCredentials(t *testing.T) {
	clock := newClock()
	ccForm := func(app App, secret string) url.Values {
		return url.Values{"client_id": {app.ClientID}, "grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}, "client_secret": {secret}}
	}
	tests := []struct {
		name      string
		faults    []string
		consent   bool
		advance   time.Duration
		tenant    string
		form      url.Values
		wantHTTP  int
		wantClass string
		wantCode  int
		wantRoles []string
	}{
		{name: "secret after admin consent", consent: true, form: ccForm(DaemonApp, DaemonApp.Secret), wantRoles: []string{"Mail.Send"}},
		{name: "secret before admin consent: no roles", form: ccForm(DaemonApp, DaemonApp.Secret), wantRoles: nil},
		{name: "tenant domain works", consent: true, tenant: TenantDomain, form: ccForm(DaemonApp, DaemonApp.Secret), wantRoles: []string{"Mail.Send"}},
		{name: "organizations works", consent: true, tenant: "organizations", form: ccForm(DaemonApp, DaemonApp.Secret), wantRoles: []string{"Mail.Send"}},
		{name: "missing-role fault", consent: true, faults: []string{FaultMissingRole}, form: ccForm(DaemonApp, DaemonApp.Secret), wantRoles: nil},
		{name: "rbac app gets no Mail.Send role, only what else it requires", consent: true, form: ccForm(RBACApp, RBACApp.Secret), wantRoles: []string{"Files.Read.All"}},
		{name: "rbac-tenant-wide fault", faults: []string{FaultRBACTenantWide}, form: ccForm(RBACApp, RBACApp.Secret), wantRoles: []string{"Mail.Send"}},
		{name: "wrong secret", form: ccForm(DaemonApp, "nope"), wantHTTP: 401, wantClass: "invalid_client", wantCode: 7000215},
		{name: "expired-secret fault", faults: []string{FaultExpiredSecret}, form: ccForm(DaemonApp, DaemonApp.Secret), wantHTTP: 401, wantClass: "invalid_client", wantCode: 7000222},
		{name: "secret past its expiry", advance: time.Until(DaemonApp.SecretExpires) + time.Hour, form: ccForm(DaemonApp, DaemonApp.Secret), wantHTTP: 401, wantClass: "invalid_client", wantCode: 7000222},
		{name: "common refused", tenant: "common", form: ccForm(DaemonApp, DaemonApp.Secret), wantHTTP: 400, wantClass: "invalid_request", wantCode: 9001023},
		{name: "consumers refused", tenant: "consumers", form: ccForm(DaemonApp, DaemonApp.Secret), wantHTTP: 400, wantClass: "invalid_request", wantCode: 9001023},
		{name: "scope not .default", form: func() url.Values {
			f := ccForm(DaemonApp, DaemonApp.Secret)
			f.Set("scope", "https://graph.microsoft.com/Mail.Send")
			return f
		}(), wantHTTP: 400, wantClass: "invalid_scope", wantCode: 70011},
		{name: "unknown client", form: ccForm(App{ClientID: "11111111-2222-3333-4444-555555555555"}, "x"), wantHTTP: 400, wantClass: "unauthorized_client", wantCode: 700016},
		{name: "public client has no credential", form: func() url.Values {
			f := ccForm(PublicApp, "")
			f.Del("client_secret")
			return f
		}(), wantHTTP: 401, wantClass: "invalid_client", wantCode: 7000218},
		{name: "server-error fault", faults: []string{FaultServerError}, form: ccForm(DaemonApp, DaemonApp.Secret), wantHTTP: 503, wantClass: "temporarily_unavailable", wantCode: 90033},
		{name: "unknown grant type", form: url.Values{"client_id": {DaemonApp.ClientID}, "grant_type": {"password"}}, wantHTTP: 400, wantClass: "unsupported_grant_type", wantCode: 70003},
		{name: "missing grant type", form: url.Values{"client_id": {DaemonApp.ClientID}}, wantHTTP: 400, wantClass: "invalid_request", wantCode: 900144},
		{name: "unknown tenant", tenant: "nobody.onmicrosoft.com", form: ccForm(DaemonApp, DaemonApp.Secret), wantHTTP: 400, wantClass: "invalid_request", wantCode: 90002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClockAt(clock.Now().Add(tt.advance))
			s := startServer(t, Options{Faults: tt.faults, Clock: c})
			if tt.consent {
				if err := s.GrantAdminConsent(DaemonApp.ClientID); err != nil {
					t.Fatal(err)
				}
				if err := s.GrantAdminConsent(RBACApp.ClientID); err != nil {
					t.Fatal(err)
				}
			}
			tenant := tt.tenant
			if tenant == "" {
				tenant = TenantID
			}
			r := postForm(t, tokenURL(s, tenant), tt.form)
			if tt.wantCode != 0 {
				wantOAuthError(t, r, tt.wantHTTP, tt.wantClass, tt.wantCode)
				if sec := tt.form.Get("client_secret"); len(sec) > 3 && strings.Contains(r.Body, sec) {
					t.Errorf("the error shows the secret")
				}
				return
			}
			if r.Status != http.StatusOK {
				t.Fatalf("status %d\n%s", r.Status, r.Body)
			}
			tok := r.JSON(t)
			if _, has := tok["refresh_token"]; has {
				t.Errorf("client credentials must not return a refresh token")
			}
			claims := jwtClaims(t, tok["access_token"].(string))
			var roles []string
			if rs, ok := claims["roles"].([]any); ok {
				for _, r := range rs {
					roles = append(roles, r.(string))
				}
			}
			if !slices.Equal(roles, tt.wantRoles) {
				t.Errorf("roles = %v, want %v", roles, tt.wantRoles)
			}
			if claims["idtyp"] != "app" || claims["scp"] != nil || claims["tid"] != TenantID {
				t.Errorf("claims: %v", claims)
			}
		})
	}
}

// testCert makes an RSA key and a self-signed certificate valid in [from, to).
func testCert(t *testing.T, from, to time.Time) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "mailgrant test"},
		NotBefore:    from, NotAfter: to,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

// assertionOpts shape a client assertion.
type assertionOpts struct {
	alg        string // PS256 (default) or RS256
	sha1Thumb  bool   // x5t instead of x5t#S256
	iss, sub   string
	aud        string
	exp, nbf   time.Time
	jti        string
	signWith   *rsa.PrivateKey
	certForHdr []byte
}

// makeAssertion signs a client assertion.
func makeAssertion(t *testing.T, o assertionOpts) string {
	t.Helper()
	hdr := map[string]string{"alg": o.alg, "typ": "JWT"}
	if o.alg == "" {
		hdr["alg"] = "PS256"
	}
	if o.sha1Thumb {
		s := sha1.Sum(o.certForHdr) //nolint:gosec // thumbprint
		hdr["x5t"] = b64.EncodeToString(s[:])
	} else {
		s := sha256.Sum256(o.certForHdr)
		hdr["x5t#S256"] = b64.EncodeToString(s[:])
	}
	claims := map[string]any{"iss": o.iss, "sub": o.sub, "aud": o.aud, "exp": o.exp.Unix(), "nbf": o.nbf.Unix(), "iat": o.nbf.Unix(), "jti": o.jti}
	hb, _ := json.Marshal(hdr)
	cb, _ := json.Marshal(claims)
	input := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	if hdr["alg"] == "RS256" {
		sig, err = rsa.SignPKCS1v15(rand.Reader, o.signWith, crypto.SHA256, digest[:])
	} else {
		sig, err = rsa.SignPSS(rand.Reader, o.signWith, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64.EncodeToString(sig)
}

func TestClientAssertion(t *testing.T) {
	now := time.Now()
	key, der := testCert(t, now.Add(-time.Hour), now.Add(24*time.Hour))
	oldKey, oldDER := testCert(t, now.Add(-48*time.Hour), now.Add(-time.Hour))
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)

	base := func(s *Server) assertionOpts {
		return assertionOpts{
			iss: DaemonApp.ClientID, sub: DaemonApp.ClientID,
			aud: s.URL() + "/" + TenantID + "/oauth2/v2.0/token",
			exp: now.Add(5 * time.Minute), nbf: now, jti: randomID(), signWith: key, certForHdr: der,
		}
	}
	tests := []struct {
		name     string
		upload   bool
		tweak    func(s *Server, o *assertionOpts)
		replay   bool
		wantCode int
		wantText string
	}{
		{name: "PS256 with x5t#S256 after upload", upload: true},
		{name: "RS256 with SHA-1 x5t", upload: true, tweak: func(_ *Server, o *assertionOpts) { o.alg = "RS256"; o.sha1Thumb = true }},
		{name: "aud with the tenant's domain", upload: true, tweak: func(s *Server, o *assertionOpts) { o.aud = s.URL() + "/" + TenantDomain + "/oauth2/v2.0/token" }},
		{name: "aud names Microsoft, not the server called", upload: true, tweak: func(_ *Server, o *assertionOpts) {
			o.aud = "https://login.microsoftonline.com/" + TenantID + "/oauth2/v2.0/token"
		}, wantCode: 700023},
		{name: "refused before upload", wantCode: 700027, wantText: "key was not found"},
		{name: "wrong audience", upload: true, tweak: func(_ *Server, o *assertionOpts) { o.aud = "https://login.microsoftonline.com/common/oauth2/token" }, wantCode: 700023},
		{name: "expired assertion", upload: true, tweak: func(_ *Server, o *assertionOpts) {
			o.exp = now.Add(-10 * time.Minute)
			o.nbf = now.Add(-20 * time.Minute)
		}, wantCode: 700024},
		{name: "not yet valid", upload: true, tweak: func(_ *Server, o *assertionOpts) { o.nbf = now.Add(time.Hour); o.exp = now.Add(2 * time.Hour) }, wantCode: 700024},
		{name: "iss is not the client", upload: true, tweak: func(_ *Server, o *assertionOpts) { o.iss = PublicApp.ClientID }, wantCode: 700021},
		{name: "signed by another key", upload: true, tweak: func(_ *Server, o *assertionOpts) { o.signWith = otherKey }, wantCode: 700027},
		{name: "expired certificate", upload: true, tweak: func(_ *Server, o *assertionOpts) { o.signWith = oldKey; o.certForHdr = oldDER }, wantCode: 700027, wantText: "expired"},
		{name: "replayed jti", upload: true, replay: true, wantCode: 50013, wantText: "replayed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Options{})
			if err := s.GrantAdminConsent(DaemonApp.ClientID); err != nil {
				t.Fatal(err)
			}
			if tt.upload {
				for _, d := range [][]byte{der, oldDER} {
					pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})
					r := do(t, mustRequest(t, http.MethodPost, s.URL()+"/sandbox/apps/"+DaemonApp.ClientID+"/certificates", string(pemCert)))
					if r.Status != http.StatusCreated {
						t.Fatalf("upload: %d %s", r.Status, r.Body)
					}
				}
			}
			o := base(s)
			if tt.tweak != nil {
				tt.tweak(s, &o)
			}
			form := url.Values{
				"client_id": {DaemonApp.ClientID}, "grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"},
				"client_assertion_type": {jwtBearer}, "client_assertion": {makeAssertion(t, o)},
			}
			r := postForm(t, tokenURL(s, TenantID), form)
			if tt.replay {
				if r.Status != http.StatusOK {
					t.Fatalf("first use: %d %s", r.Status, r.Body)
				}
				r = postForm(t, tokenURL(s, TenantID), form)
			}
			if tt.wantCode != 0 {
				m := wantOAuthError(t, r, 401, "invalid_client", tt.wantCode)
				if !strings.Contains(m["error_description"].(string), tt.wantText) {
					t.Errorf("description %q lacks %q", m["error_description"], tt.wantText)
				}
				return
			}
			if r.Status != http.StatusOK {
				t.Fatalf("status %d\n%s", r.Status, r.Body)
			}
			if roles := jwtClaims(t, r.JSON(t)["access_token"].(string))["roles"]; roles == nil {
				t.Errorf("no roles")
			}
		})
	}
}

func mustRequest(t *testing.T, method, u, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestErrorShapeAndDiscovery(t *testing.T) {
	s := startServer(t, Options{})
	t.Run("GET on the token endpoint", func(t *testing.T) {
		m := wantOAuthError(t, get(t, tokenURL(s, "organizations")), 400, "invalid_request", 900561)
		for _, k := range []string{"error_description", "timestamp", "trace_id", "correlation_id", "error_uri"} {
			if m[k] == nil || m[k] == "" {
				t.Errorf("%s missing", k)
			}
		}
	})
	t.Run("correlation id echoes client-request-id", func(t *testing.T) {
		req := mustRequest(t, http.MethodPost, tokenURL(s, "organizations"), "grant_type=password&client_id="+PublicApp.ClientID)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("client-request-id", "0f0e0d0c-0b0a-4908-8706-050403020100")
		if m := do(t, req).JSON(t); m["correlation_id"] != "0f0e0d0c-0b0a-4908-8706-050403020100" {
			t.Errorf("correlation_id = %v", m["correlation_id"])
		}
	})
	t.Run("discovery points at the sandbox", func(t *testing.T) {
		r := get(t, s.URL()+"/"+TenantID+"/v2.0/.well-known/openid-configuration")
		m := r.JSON(t)
		if m["token_endpoint"] != s.URL()+"/"+TenantID+"/oauth2/v2.0/token" ||
			m["authorization_endpoint"] != s.URL()+"/"+TenantID+"/oauth2/v2.0/authorize" ||
			m["device_authorization_endpoint"] != s.URL()+"/"+TenantID+"/oauth2/v2.0/devicecode" ||
			m["issuer"] != s.URL()+"/"+TenantID+"/v2.0" {
			t.Errorf("discovery: %v", m)
		}
		if r := get(t, s.URL()+"/nope.example/v2.0/.well-known/openid-configuration"); r.Status != 400 {
			t.Errorf("unknown tenant: %d", r.Status)
		}
	})
	t.Run("discovery uses the Host header without SetURL", func(t *testing.T) {
		n := New(Options{})
		srv := httpTestServer(t, n)
		m := get(t, srv+"/common/v2.0/.well-known/openid-configuration").JSON(t)
		if m["token_endpoint"] != srv+"/common/oauth2/v2.0/token" {
			t.Errorf("token_endpoint %v", m["token_endpoint"])
		}
	})
	t.Run("RequestCount counts by prefix", func(t *testing.T) {
		if n := s.RequestCount("/organizations/oauth2/v2.0/token"); n != 2 {
			t.Errorf("token requests = %d, want 2", n)
		}
	})
}

func TestFaultsFromEnv(t *testing.T) {
	t.Setenv(FaultsEnv, " Throttle, ,revoked ")
	if got := FaultsFromEnv(); !slices.Equal(got, []string{"throttle", "revoked"}) {
		t.Errorf("FaultsFromEnv = %v", got)
	}
	for _, n := range FaultNames {
		if FaultDescriptions[n] == "" || !KnownFault(n) {
			t.Errorf("fault %s has no description", n)
		}
	}
	if len(FaultDescriptions) != len(FaultNames) {
		t.Errorf("FaultDescriptions and FaultNames differ")
	}
}

func TestUsersFor(t *testing.T) {
	count := func(us []User, personal bool) int {
		n := 0
		for _, u := range us {
			if u.Personal == personal {
				n++
			}
		}
		return n
	}
	for _, tt := range []struct {
		tenant         string
		work, personal int
	}{
		{TenantID, 5, 0}, {strings.ToUpper(TenantDomain), 5, 0}, {"organizations", 5, 0},
		{"consumers", 0, 2}, {ConsumersTenantID, 0, 2}, {"Common", 5, 2}, {"nope", 0, 0},
	} {
		us := UsersFor(tt.tenant)
		if count(us, false) != tt.work || count(us, true) != tt.personal {
			t.Errorf("UsersFor(%q): %d work, %d personal", tt.tenant, count(us, false), count(us, true))
		}
	}
}
