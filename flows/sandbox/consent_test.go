package sandbox

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// consentURL is the v2 admin consent URL for app on tenant.
func consentURL(s *Server, tenant string, app App, state string) string {
	v := url.Values{
		"client_id": {app.ClientID}, "scope": {"https://graph.microsoft.com/.default"},
		"redirect_uri": {"http://localhost:8400/consent"}, "state": {state},
	}
	return s.URL() + "/" + tenant + "/v2.0/adminconsent?" + v.Encode()
}

// rolesOf returns the roles of a fresh client_credentials token.
func rolesOf(t *testing.T, s *Server, app App) []any {
	t.Helper()
	roles, _ := jwtClaims(t, appToken(t, s, app))["roles"].([]any)
	return roles
}

func TestAdminConsent(t *testing.T) {
	tests := []struct {
		name      string
		faults    []string
		user      string // "" = the preselected administrator
		action    string
		wantError string
		wantCode  string
		wantRoles int
	}{
		{name: "administrator accepts", action: "accept", wantRoles: 1},
		{name: "non-administrator accepts", user: AdeleVance.UPN, action: "accept", wantError: "access_denied", wantCode: "AADSTS90094"},
		{name: "cancel", action: "cancel", wantError: "consent_required", wantCode: "AADSTS65004"},
		{name: "declined-consent fault", faults: []string{FaultDeclinedConsent}, action: "accept", wantError: "consent_required", wantCode: "AADSTS65004"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Given the consent page
			s := startServer(t, Options{Faults: tt.faults})
			page := get(t, consentURL(s, "organizations", DaemonApp, "xyz"))
			if page.Status != http.StatusOK || !strings.Contains(page.Body, "Mail.Send") || !strings.Contains(page.Body, "simulated sign-in, not Microsoft") {
				t.Fatalf("page %d\n%s", page.Status, page.Body)
			}
			f := parseForm(t, page.Body)
			if f.Kind != "adminconsent" || f.Checked != AlexWilber.UPN {
				t.Fatalf("form %+v", f)
			}
			// When the button is pressed
			r := submit(t, s, f, tt.user, tt.action)
			if r.Status != http.StatusFound {
				t.Fatalf("status %d\n%s", r.Status, r.Body)
			}
			loc, _ := url.Parse(r.Header.Get("Location"))
			q := loc.Query()
			// Then the redirect says what happened
			if loc.Host != "localhost:8400" || q.Get("state") != "xyz" || q.Get("admin_consent") != "True" {
				t.Fatalf("redirect %s", loc)
			}
			if tt.wantError != "" {
				if q.Get("error") != tt.wantError || !strings.HasPrefix(q.Get("error_description"), tt.wantCode+":") {
					t.Fatalf("redirect %s", loc)
				}
			} else if q.Get("tenant") != TenantID || q.Get("scope") != GraphResource+"/Mail.Send" || q.Get("error") != "" {
				t.Fatalf("redirect %s", loc)
			}
			// And the app's tokens carry the consented roles.
			if got := len(rolesOf(t, s, DaemonApp)); got != tt.wantRoles {
				t.Errorf("roles: %d, want %d", got, tt.wantRoles)
			}
		})
	}

	t.Run("common is refused on v2", func(t *testing.T) {
		s := startServer(t, Options{})
		r := get(t, consentURL(s, "common", DaemonApp, "x"))
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "AADSTS90130") || r.Header.Get("Location") != "" {
			t.Fatalf("status %d\n%s", r.Status, r.Body)
		}
	})
	t.Run("unregistered redirect URI is a page", func(t *testing.T) {
		s := startServer(t, Options{})
		u := strings.Replace(consentURL(s, TenantID, DaemonApp, "x"), url.QueryEscape("http://localhost:8400/consent"), url.QueryEscape("https://evil.example/"), 1)
		r := get(t, u)
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "AADSTS50011") {
			t.Fatalf("status %d\n%s", r.Status, r.Body)
		}
	})
	t.Run("persisted across servers sharing StateDir", func(t *testing.T) {
		dir := t.TempDir()
		a := startServer(t, Options{StateDir: dir})
		b := startServer(t, Options{StateDir: dir})
		if len(rolesOf(t, b, DaemonApp)) != 0 {
			t.Fatal("roles before consent")
		}
		f := parseForm(t, get(t, consentURL(a, TenantDomain, DaemonApp, "s")).Body)
		if r := submit(t, a, f, "", "accept"); r.Status != http.StatusFound {
			t.Fatalf("accept: %d", r.Status)
		}
		if got := rolesOf(t, b, DaemonApp); len(got) != 1 || got[0] != "Mail.Send" {
			t.Fatalf("second server roles %v", got)
		}
		// A certificate uploaded in one process works in the other.
		_, der := testCert(t, time.Now().Add(-time.Minute), time.Now().Add(24*time.Hour))
		if err := a.UploadCertificate(DaemonApp.ClientID, der); err != nil {
			t.Fatal(err)
		}
		certs, err := b.certificates(DaemonApp.ClientID)
		if err != nil || len(certs) != 1 {
			t.Fatalf("certificates on b: %v %v", certs, err)
		}
		info, err := os.Stat(filepath.Join(dir, StateFile))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("state file mode %v", info.Mode())
		}
		if err := b.RevokeAdminConsent(DaemonApp.ClientID); err != nil {
			t.Fatal(err)
		}
		if len(rolesOf(t, a, DaemonApp)) != 0 {
			t.Errorf("roles after revocation")
		}
	})
}
