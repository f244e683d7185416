package sandbox

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAuthCodePKCE(t *testing.T) {
	const redirect = "http://127.0.0.1:41234/callback"
	tests := []struct {
		name      string
		app       App
		tenant    string
		user      string
		scope     string
		faults    []string
		tweak     func(form url.Values, verifier string) // change the token request
		redeem    int                                    // times to redeem; 0 = 1
		wantCode  int                                    // AADSTS on the last redemption; 0 = success
		wantClass string
		wantHTTP  int
		check     func(t *testing.T, tok map[string]any)
	}{
		{
			name: "round trip", app: PublicApp, tenant: "organizations", user: AdeleVance.UPN, scope: mailScope,
			check: func(t *testing.T, tok map[string]any) {
				if tok["token_type"] != "Bearer" || tok["expires_in"] != float64(3599) {
					t.Errorf("token_type/expires_in = %v/%v", tok["token_type"], tok["expires_in"])
				}
				if got := tok["scope"]; got != "Mail.Send User.Read openid profile offline_access" {
					t.Errorf("scope = %q", got)
				}
				if tok["refresh_token"] == nil || tok["id_token"] == nil {
					t.Errorf("want refresh and id tokens: %v", tok)
				}
				at := jwtClaims(t, tok["access_token"].(string))
				if at["aud"] != GraphResource || at["tid"] != TenantID || at["upn"] != AdeleVance.UPN ||
					at["appid"] != PublicApp.ClientID || at["iss"] != "https://sts.windows.net/"+TenantID+"/" {
					t.Errorf("access token claims: %v", at)
				}
				if at["scp"] != "Mail.Send User.Read" {
					t.Errorf("scp = %v", at["scp"])
				}
				id := jwtClaims(t, tok["id_token"].(string))
				if id["aud"] != PublicApp.ClientID || id["preferred_username"] != AdeleVance.UPN || id["name"] != AdeleVance.DisplayName {
					t.Errorf("id token claims: %v", id)
				}
			},
		},
		{
			name: "personal account on consumers", app: PublicApp, tenant: "consumers", user: SamPersonal.UPN, scope: "Mail.Send offline_access",
			check: func(t *testing.T, tok map[string]any) {
				at := jwtClaims(t, tok["access_token"].(string))
				if at["tid"] != ConsumersTenantID || at["preferred_username"] != SamPersonal.UPN {
					t.Errorf("claims: %v", at)
				}
				if tok["id_token"] != nil {
					t.Errorf("id_token without openid")
				}
			},
		},
		{
			name: "extra pre-consented permission is granted", app: ExtraApp, tenant: TenantDomain, user: MeganBowen.UPN, scope: mailScope,
			check: func(t *testing.T, tok map[string]any) {
				if !strings.Contains(tok["scope"].(string), "Calendars.Read") {
					t.Errorf("scope = %v, want Calendars.Read too", tok["scope"])
				}
			},
		},
		{
			name: "missing-scope fault", app: PublicApp, tenant: "organizations", user: AdeleVance.UPN, scope: mailScope, faults: []string{FaultMissingScope},
			check: func(t *testing.T, tok map[string]any) {
				if strings.Contains(tok["scope"].(string), "Mail.Send") {
					t.Errorf("scope = %v, want no Mail.Send", tok["scope"])
				}
				if scp := jwtClaims(t, tok["access_token"].(string))["scp"]; scp != "User.Read" {
					t.Errorf("scp = %v", scp)
				}
			},
		},
		{
			name: "web app with its secret", app: WebApp, tenant: TenantID, user: AdeleVance.UPN, scope: mailScope,
			tweak: func(f url.Values, _ string) { f.Set("client_secret", WebApp.Secret) },
		},
		{
			name: "code replay refused", app: PublicApp, tenant: "organizations", user: AdeleVance.UPN, scope: mailScope,
			redeem: 2, wantCode: 54005, wantClass: "invalid_grant", wantHTTP: 400,
		},
		{
			name: "wrong verifier", app: PublicApp, tenant: "organizations", user: AdeleVance.UPN, scope: mailScope,
			tweak:    func(f url.Values, v string) { f.Set("code_verifier", v+"x") },
			wantCode: 501481, wantClass: "invalid_grant", wantHTTP: 400,
		},
		{
			name: "missing verifier", app: PublicApp, tenant: "organizations", user: AdeleVance.UPN, scope: mailScope,
			tweak:    func(f url.Values, _ string) { f.Del("code_verifier") },
			wantCode: 900144, wantClass: "invalid_request", wantHTTP: 400,
		},
		{
			name: "redirect URI differs", app: PublicApp, tenant: "organizations", user: AdeleVance.UPN, scope: mailScope,
			tweak:    func(f url.Values, _ string) { f.Set("redirect_uri", "http://127.0.0.1:41235/callback") },
			wantCode: 500112, wantClass: "invalid_grant", wantHTTP: 400,
		},
		{
			name: "public client sends a secret", app: PublicApp, tenant: "organizations", user: AdeleVance.UPN, scope: mailScope,
			tweak:    func(f url.Values, _ string) { f.Set("client_secret", "anything") },
			wantCode: 700025, wantClass: "invalid_client", wantHTTP: 401,
		},
		{
			name: "web app without secret", app: WebApp, tenant: "organizations", user: AdeleVance.UPN, scope: mailScope,
			wantCode: 7000218, wantClass: "invalid_client", wantHTTP: 401,
		},
		{
			name: "web app with wrong secret", app: WebApp, tenant: "organizations", user: AdeleVance.UPN, scope: mailScope,
			tweak:    func(f url.Values, _ string) { f.Set("client_secret", "wrong") },
			wantCode: 7000215, wantClass: "invalid_client", wantHTTP: 401,
		},
		{
			name: "code from another client", app: PublicApp, tenant: "organizations", user: AdeleVance.UPN, scope: mailScope,
			tweak:    func(f url.Values, _ string) { f.Set("client_id", ExtraApp.ClientID) },
			wantCode: 70000, wantClass: "invalid_grant", wantHTTP: 400,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Given a sandbox and a signed-in user's code
			s := startServer(t, Options{Faults: tt.faults})
			verifier, challenge := pkcePair()
			q := signIn(t, s, tt.tenant, authParams(tt.app, redirect, challenge, tt.scope), tt.user, "accept")
			if q.Get("code") == "" {
				t.Fatalf("no code in redirect: %v", q)
			}
			form := url.Values{
				"client_id": {tt.app.ClientID}, "grant_type": {"authorization_code"}, "code": {q.Get("code")},
				"redirect_uri": {redirect}, "code_verifier": {verifier}, "scope": {tt.scope},
			}
			if tt.tweak != nil {
				tt.tweak(form, verifier)
			}
			// When the code is redeemed (perhaps more than once)
			n := max(tt.redeem, 1)
			var r response
			for i := 0; i < n; i++ {
				r = postForm(t, tokenURL(s, tt.tenant), form)
			}
			// Then
			if tt.wantCode != 0 {
				m := wantOAuthError(t, r, tt.wantHTTP, tt.wantClass, tt.wantCode)
				if secret := form.Get("client_secret"); secret != "" && strings.Contains(r.Body, secret) {
					t.Errorf("error body contains the secret")
				}
				_ = m
				return
			}
			if r.Status != http.StatusOK {
				t.Fatalf("status %d\n%s", r.Status, r.Body)
			}
			tok := r.JSON(t)
			if tt.check != nil {
				tt.check(t, tok)
			}
			// And the access token works on Graph.
			me := graphGet(t, s, "/v1.0/me", tok["access_token"].(string))
			if me.Status != http.StatusOK || me.JSON(t)["userPrincipalName"] != tt.user {
				t.Fatalf("/me = %d %s", me.Status, me.Body)
			}
		})
	}
}

func TestSignInPage(t *testing.T) {
	s := startServer(t, Options{})
	_, challenge := pkcePair()

	t.Run("lists tenant users, preselects login_hint, keeps parameters", func(t *testing.T) {
		p := authParams(PublicApp, "http://localhost:1234", challenge, mailScope)
		p.Set("login_hint", MeganBowen.UPN)
		p.Set("state", `a"b<c>&d`)
		page := get(t, s.URL()+"/organizations/oauth2/v2.0/authorize?"+p.Encode())
		if !strings.Contains(page.Body, "Mailgrant sandbox — simulated sign-in, not Microsoft") || !strings.Contains(page.Body, PublicApp.Name) {
			t.Fatalf("banner or app name missing:\n%s", page.Body)
		}
		f := parseForm(t, page.Body)
		if f.Kind != "signin" || f.Checked != MeganBowen.UPN {
			t.Errorf("kind %q checked %q", f.Kind, f.Checked)
		}
		if f.Hidden.Get("state") != `a"b<c>&d` || f.Hidden.Get("code_challenge") != challenge {
			t.Errorf("hidden inputs: %v", f.Hidden)
		}
		for _, u := range f.Users {
			if u == SamPersonal.UPN || u == InfoMailbox.UPN {
				t.Errorf("%s offered on organizations", u)
			}
		}
		if !strings.Contains(page.Body, `value="accept"`) || !strings.Contains(page.Body, `value="cancel"`) {
			t.Errorf("buttons missing")
		}
	})
	t.Run("common lists personal accounts for an MSA app", func(t *testing.T) {
		page := get(t, s.URL()+"/common/oauth2/v2.0/authorize?"+authParams(PublicApp, "http://localhost", challenge, mailScope).Encode())
		f := parseForm(t, page.Body)
		if !strings.Contains(strings.Join(f.Users, " "), KimPersonal.UPN) || f.Checked != AdeleVance.UPN {
			t.Errorf("users %v checked %q", f.Users, f.Checked)
		}
	})
	t.Run("cancel redirects access_denied 65004", func(t *testing.T) {
		q := signIn(t, s, "organizations", authParams(PublicApp, "http://localhost:1234/cb", challenge, mailScope), AdeleVance.UPN, "cancel")
		if q.Get("error") != "access_denied" || !strings.HasPrefix(q.Get("error_description"), "AADSTS65004: User declined to consent") {
			t.Errorf("redirect query: %v", q)
		}
	})

	pages := []struct {
		name   string
		tenant string
		params url.Values
		code   string
	}{
		{"unknown client", "organizations", authParams(App{ClientID: "00000000-0000-0000-0000-000000000001"}, "http://localhost", challenge, mailScope), "AADSTS700016"},
		{"unregistered redirect URI", "organizations", authParams(PublicApp, "https://evil.example/cb", challenge, mailScope), "AADSTS50011"},
		{"IPv6 loopback not supported", "organizations", authParams(PublicApp, "http://[::1]:8080/", challenge, mailScope), "AADSTS50011"},
		{"work-only app on consumers", "consumers", authParams(WebApp, "http://localhost", challenge, mailScope), "AADSTS9002332"},
		{"unknown tenant", "contoso.example", authParams(PublicApp, "http://localhost", challenge, mailScope), "AADSTS90002"},
	}
	for _, tt := range pages {
		t.Run(tt.name+" is an error page, never a redirect", func(t *testing.T) {
			r := get(t, s.URL()+"/"+tt.tenant+"/oauth2/v2.0/authorize?"+tt.params.Encode())
			if r.Status != http.StatusBadRequest || r.Header.Get("Location") != "" || !strings.Contains(r.Body, tt.code) {
				t.Fatalf("status %d location %q\n%s", r.Status, r.Header.Get("Location"), r.Body)
			}
		})
	}

	redirects := []struct {
		name   string
		change func(url.Values)
		class  string
		code   string
	}{
		{"bad scope", func(v url.Values) { v.Set("scope", "https://evil.example/Mail.Send") }, "invalid_scope", "AADSTS70011"},
		{"token response type", func(v url.Values) { v.Set("response_type", "token") }, "unsupported_response_type", "AADSTS700054"},
		{"short S256 challenge", func(v url.Values) { v.Set("code_challenge", "short") }, "invalid_request", "AADSTS501491"},
		{"prompt none", func(v url.Values) { v.Set("prompt", "none") }, "login_required", "AADSTS50058"},
	}
	for _, tt := range redirects {
		t.Run(tt.name+" is redirected", func(t *testing.T) {
			p := authParams(PublicApp, "http://localhost:9999", challenge, mailScope)
			tt.change(p)
			r := get(t, s.URL()+"/organizations/oauth2/v2.0/authorize?"+p.Encode())
			loc, _ := url.Parse(r.Header.Get("Location"))
			if r.Status != http.StatusFound || loc == nil || loc.Query().Get("error") != tt.class ||
				!strings.HasPrefix(loc.Query().Get("error_description"), tt.code) || loc.Query().Get("state") != p.Get("state") {
				t.Fatalf("status %d location %q", r.Status, r.Header.Get("Location"))
			}
			if loc.Path != "/" {
				t.Errorf("path %q, want / appended to a path-less URI", loc.Path)
			}
		})
	}

	t.Run("form_post answers an auto-posting form", func(t *testing.T) {
		p := authParams(PublicApp, "http://localhost:9999/cb", challenge, mailScope)
		p.Set("response_mode", "form_post")
		page := get(t, s.URL()+"/organizations/oauth2/v2.0/authorize?"+p.Encode())
		r := submit(t, s, parseForm(t, page.Body), AdeleVance.UPN, "accept")
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `data-sandbox-autopost`) || !strings.Contains(r.Body, `name="code"`) ||
			!strings.Contains(r.Body, `action="http://localhost:9999/cb"`) {
			t.Fatalf("status %d\n%s", r.Status, r.Body)
		}
	})
}

// graphGet sends a GET to Graph with a bearer token.
func graphGet(t *testing.T, s *Server, path, token string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}
