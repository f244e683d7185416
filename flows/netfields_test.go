package flows

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mailgrant/mailgrant/store"
)

// evil is what a hostile or broken server puts into a field: a title
// change, a screen clear, a cursor move up and a line erase (issue 11
// item 2's reproduction).
const evil = "x\x1b]0;PWNED\x07\x1b[2J\x1b[1A\x1b[2K\u009b31m\r"

// TestNetworkFieldsAreSafe: issue 11 item 2 beyond error bodies. The
// token's claims (account, names, roles), GET /me and a device code's
// user code and address reach the screen and the status table; none of
// them can carry anything a terminal acts on.
func TestNetworkFieldsAreSafe(t *testing.T) {
	t.Run("claims", func(t *testing.T) {
		payload, _ := json.Marshal(map[string]any{
			"tid": evil, "oid": evil, "preferred_username": evil, "upn": evil,
			"name": evil, "scp": evil, "appid": evil, "roles": []string{evil},
		})
		c, err := DecodeClaims("h." + base64.RawURLEncoding.EncodeToString(payload) + ".s")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range append([]string{c.TenantID, c.ObjectID, c.PreferredUsername, c.UPN, c.Name, c.Scope, c.AppID}, c.Roles...) {
			assertSafe(t, s)
		}
	})

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/v1.0/me"):
			_ = json.NewEncoder(w).Encode(map[string]string{"id": "1", "displayName": evil, "mail": evil, "userPrincipalName": evil})
		case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/devicecode"):
			_ = json.NewEncoder(w).Encode(map[string]any{"device_code": "d", "user_code": evil, "verification_uri": evil, "expires_in": 900, "interval": 5})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	env, err := NewEnv(EnvOptions{LoginHost: srv.URL, GraphHost: srv.URL, HTTP: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("me", func(t *testing.T) {
		me, err := env.GetMe(ctx, "token")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{me.DisplayName, me.Mail, me.UserPrincipalName} {
			assertSafe(t, s)
		}
	})

	t.Run("device code", func(t *testing.T) {
		p := store.Profile{Name: "p", Scenario: store.SendAsUser, Tenant: "contoso.onmicrosoft.com", ClientID: "11111111-1111-1111-1111-111111111111"}
		df, err := StartDeviceCode(ctx, env, p, DeviceCodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		assertSafe(t, df.UserCode)
		assertSafe(t, df.VerificationURI)
	})
}

// assertSafe fails when s still holds a control character or lost its text.
func assertSafe(t *testing.T, s string) {
	t.Helper()
	if SafeText(s) != s || strings.ContainsAny(s, "\x1b\x07\r\u009b") {
		t.Errorf("%q reaches the terminal with control characters", s)
	}
	if !strings.Contains(s, "PWNED") {
		t.Errorf("%q lost its visible text", s)
	}
}
