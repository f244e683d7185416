package sandbox

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startDevice asks for a device code and returns the response.
func startDevice(t *testing.T, s *Server, tenant string, app App, scope string) map[string]any {
	t.Helper()
	r := postForm(t, s.URL()+"/"+tenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {app.ClientID}, "scope": {scope}})
	if r.Status != http.StatusOK {
		t.Fatalf("devicecode status %d\n%s", r.Status, r.Body)
	}
	return r.JSON(t)
}

// pollDevice polls the token endpoint once.
func pollDevice(t *testing.T, s *Server, tenant string, app App, deviceCode string) response {
	t.Helper()
	return postForm(t, tokenURL(s, tenant), url.Values{
		"client_id": {app.ClientID}, "grant_type": {grantDeviceCode}, "device_code": {deviceCode},
	})
}

func TestDeviceCode(t *testing.T) {
	t.Run("response shape", func(t *testing.T) {
		s := startServer(t, Options{DeviceInterval: 3})
		d := startDevice(t, s, "organizations", PublicApp, mailScope)
		if !regexp.MustCompile(`^[A-Z0-9]{9}$`).MatchString(d["user_code"].(string)) {
			t.Errorf("user_code %q", d["user_code"])
		}
		if d["verification_uri"] != s.URL()+"/devicelogin" || d["expires_in"] != float64(900) || d["interval"] != float64(3) ||
			!strings.Contains(d["message"].(string), d["user_code"].(string)) || d["device_code"] == "" {
			t.Errorf("device code response: %v", d)
		}
	})

	tests := []struct {
		name      string
		app       App
		tenant    string
		faults    []string
		steps     func(t *testing.T, s *Server, clock *testClock, userCode string)
		wantClass string
		wantCode  int
		wantHTTP  int
		wantUser  string
	}{
		{
			name: "pending then approved", app: PublicApp, tenant: "organizations",
			steps: func(t *testing.T, s *Server, _ *testClock, userCode string) {
				if err := s.ApproveDevice(userCode, MeganBowen.UPN, true); err != nil {
					t.Fatal(err)
				}
			},
			wantUser: MeganBowen.UPN,
		},
		{
			name: "personal account on consumers", app: PublicApp, tenant: "consumers",
			steps: func(t *testing.T, s *Server, _ *testClock, userCode string) {
				if err := s.ApproveDevice(strings.ToLower(userCode), SamPersonal.UPN, true); err != nil {
					t.Fatal(err)
				}
			},
			wantUser: SamPersonal.UPN,
		},
		{
			name: "still pending", app: PublicApp, tenant: "organizations",
			wantClass: "authorization_pending", wantCode: 70016, wantHTTP: 400,
		},
		{
			name: "declined", app: PublicApp, tenant: "organizations",
			steps: func(t *testing.T, s *Server, _ *testClock, userCode string) {
				if err := s.ApproveDevice(userCode, "", false); err != nil {
					t.Fatal(err)
				}
			},
			wantClass: "authorization_declined", wantCode: 65004, wantHTTP: 400,
		},
		{
			name: "expired", app: PublicApp, tenant: "organizations",
			steps: func(t *testing.T, s *Server, c *testClock, userCode string) {
				c.Advance(901 * time.Second)
				if err := s.ApproveDevice(userCode, AdeleVance.UPN, true); err == nil {
					t.Errorf("approving an expired code worked")
				}
			},
			wantClass: "expired_token", wantCode: 70019, wantHTTP: 400,
		},
		{
			name: "confidential web app", app: WebApp, tenant: "organizations",
			wantClass: "invalid_client", wantCode: 7000218, wantHTTP: 401,
		},
		{
			name: "public-flows-disabled fault", app: PublicApp, tenant: "organizations", faults: []string{FaultPublicFlowsDisabled},
			wantClass: "invalid_client", wantCode: 7000218, wantHTTP: 401,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Given a device code
			clock := newClock()
			s := startServer(t, Options{Clock: clock, DeviceInterval: 1, Faults: tt.faults})
			d := startDevice(t, s, tt.tenant, tt.app, mailScope)
			dc := d["device_code"].(string)
			// When the user has not acted yet, polling is pending
			if tt.wantCode != 7000218 {
				wantOAuthError(t, pollDevice(t, s, tt.tenant, tt.app, dc), 400, "authorization_pending", 70016)
			}
			if tt.steps != nil {
				tt.steps(t, s, clock, d["user_code"].(string))
			}
			clock.Advance(2 * time.Second)
			r := pollDevice(t, s, tt.tenant, tt.app, dc)
			// Then
			if tt.wantCode != 0 {
				wantOAuthError(t, r, tt.wantHTTP, tt.wantClass, tt.wantCode)
				return
			}
			if r.Status != http.StatusOK {
				t.Fatalf("status %d\n%s", r.Status, r.Body)
			}
			tok := r.JSON(t)
			if jwtClaims(t, tok["access_token"].(string))["upn"] != tt.wantUser || tok["refresh_token"] == nil {
				t.Errorf("token: %v", tok)
			}
			// And the device code is good once.
			wantOAuthError(t, pollDevice(t, s, tt.tenant, tt.app, dc), 400, "invalid_grant", 54005)
		})
	}

	t.Run("slow_down when polled faster than the interval", func(t *testing.T) {
		s := startServer(t, Options{DeviceInterval: 5})
		dc := startDevice(t, s, "organizations", PublicApp, mailScope)["device_code"].(string)
		wantOAuthError(t, pollDevice(t, s, "organizations", PublicApp, dc), 400, "authorization_pending", 70016)
		wantOAuthError(t, pollDevice(t, s, "organizations", PublicApp, dc), 400, "slow_down", 70016)
	})
	t.Run("bad device code", func(t *testing.T) {
		s := startServer(t, Options{})
		wantOAuthError(t, pollDevice(t, s, "organizations", PublicApp, "nope"), 400, "bad_verification_code", 70000)
	})
	t.Run("other tenant than the request", func(t *testing.T) {
		s := startServer(t, Options{})
		dc := startDevice(t, s, "organizations", PublicApp, mailScope)["device_code"].(string)
		wantOAuthError(t, pollDevice(t, s, "common", PublicApp, dc), 400, "bad_verification_code", 70000)
	})
	t.Run("the device login pages approve", func(t *testing.T) {
		clock := newClock()
		s := startServer(t, Options{Clock: clock, DeviceInterval: 1})
		d := startDevice(t, s, "organizations", PublicApp, mailScope)
		code := d["user_code"].(string)
		// Given the code page
		page := get(t, s.URL()+"/devicelogin")
		if page.Status != http.StatusOK || !strings.Contains(page.Body, `name="code"`) {
			t.Fatalf("code page: %d\n%s", page.Status, page.Body)
		}
		// A wrong code is refused on the page
		bad := postForm(t, s.URL()+"/devicelogin", url.Values{"code": {"AAAAAAAAA"}})
		if bad.Status != http.StatusBadRequest || !strings.Contains(bad.Body, "AADSTS70018") {
			t.Fatalf("bad code: %d", bad.Status)
		}
		// When the code is entered, the account picker appears
		pick := postForm(t, s.URL()+"/devicelogin", url.Values{"code": {strings.ToLower(code[:4]) + "-" + code[4:]}})
		f := parseForm(t, pick.Body)
		if f.Kind != "device" || f.Checked != AdeleVance.UPN || f.Hidden.Get("code") != code {
			t.Fatalf("picker: %+v", f)
		}
		// And accepting as Alex approves it
		done := submit(t, s, f, AlexWilber.UPN, "accept")
		if done.Status != http.StatusOK || !strings.Contains(done.Body, "You have signed in") {
			t.Fatalf("accept: %d\n%s", done.Status, done.Body)
		}
		clock.Advance(2 * time.Second)
		r := pollDevice(t, s, "organizations", PublicApp, d["device_code"].(string))
		if r.Status != http.StatusOK || jwtClaims(t, r.JSON(t)["access_token"].(string))["upn"] != AlexWilber.UPN {
			t.Fatalf("token: %d %s", r.Status, r.Body)
		}
		// Then the code cannot be used again on the page.
		again := postForm(t, s.URL()+"/devicelogin", url.Values{"code": {code}})
		if again.Status != http.StatusBadRequest {
			t.Errorf("reused code: %d", again.Status)
		}
	})
	t.Run("server-error fault", func(t *testing.T) {
		s := startServer(t, Options{Faults: []string{FaultServerError}})
		r := postForm(t, s.URL()+"/organizations/oauth2/v2.0/devicecode", url.Values{"client_id": {PublicApp.ClientID}, "scope": {mailScope}})
		wantOAuthError(t, r, 503, "temporarily_unavailable", 90033)
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("no Retry-After")
		}
	})
}
