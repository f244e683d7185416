package flows

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/store"
)

func TestParseEntraError(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		wantCode  Code
		wantState State
		wantHint  string
		wantMsg   string
	}{
		{
			name:      "known AADSTS code is explained",
			status:    401,
			body:      `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: t1\r\nCorrelation ID: c1\r\nTimestamp: 2026-01-01 00:00:00Z","error_codes":[7000215],"trace_id":"t1","correlation_id":"c1"}`,
			wantCode:  "AADSTS7000215",
			wantState: StateCredentialExpired,
			wantHint:  "Value",
			wantMsg:   "client secret is invalid",
		},
		{
			name:      "revoked grant asks for reauth",
			status:    400,
			body:      `{"error":"invalid_grant","error_description":"AADSTS50173: The provided grant has expired due to it being revoked.","error_codes":[50173]}`,
			wantCode:  "AADSTS50173",
			wantState: StateReauthorize,
			wantHint:  "reauth",
		},
		{
			name:      "unknown AADSTS keeps Microsoft's words and the lookup URL",
			status:    400,
			body:      `{"error":"invalid_request","error_description":"AADSTS123456: Something new.\r\nTrace ID: x","error_codes":[123456],"trace_id":"x","correlation_id":"y"}`,
			wantCode:  "AADSTS123456",
			wantState: StateError,
			wantMsg:   "Something new.",
		},
		{
			name:      "no JSON at all",
			status:    502,
			body:      `<html>Bad gateway</html>`,
			wantCode:  "http-502",
			wantState: StateError,
			wantMsg:   "HTTP 502",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ParseEntraError(tt.status, []byte(tt.body))
			if e.Code != tt.wantCode || e.State != tt.wantState {
				t.Fatalf("got code %q state %q, want %q %q", e.Code, e.State, tt.wantCode, tt.wantState)
			}
			if !strings.Contains(e.Hint, tt.wantHint) {
				t.Errorf("hint %q does not mention %q", e.Hint, tt.wantHint)
			}
			if !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", e.Message, tt.wantMsg)
			}
			if strings.Contains(e.Message, "Trace ID") {
				t.Errorf("message carries the trace lines: %q", e.Message)
			}
		})
	}
}

func TestParseRedirectError(t *testing.T) {
	q := url.Values{"error": {"access_denied"}, "error_description": {"AADSTS65004: User declined to consent to access the app.\r\nTrace ID: 1"}}
	e := ParseRedirectError(q)
	if e.Code != "AADSTS65004" || e.State != StateConsentMissing || e.Hint == "" {
		t.Fatalf("got %+v", e)
	}
	e = ParseRedirectError(url.Values{"error": {"server_error"}})
	if e.Code != "server_error" || e.Message == "" {
		t.Fatalf("got %+v", e)
	}
}

func TestParseGraphError(t *testing.T) {
	e := ParseGraphError(403, []byte(`{"error":{"code":"ErrorAccessDenied","message":"Access to OData is disabled.","innerError":{"request-id":"r1"}}}`))
	if e.Code != "ErrorAccessDenied" || e.TraceID != "r1" || e.Description != "Access to OData is disabled." || e.Hint == "" {
		t.Fatalf("got %+v", e)
	}
	e = ParseGraphError(500, []byte("not json"))
	if e.Code != "http-500" || !strings.Contains(e.Message, "500") {
		t.Fatalf("got %+v", e)
	}
}

func TestNormalizeScopes(t *testing.T) {
	got := normalizeScopes("openid profile https://graph.microsoft.com/Mail.Send User.Read mail.send offline_access email", "https://graph.microsoft.com")
	if strings.Join(got, " ") != "Mail.Send User.Read" {
		t.Fatalf("got %v", got)
	}
}

func TestDecodeClaims(t *testing.T) {
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"tid":"t","roles":["Mail.Send"],"scp":"Mail.Send User.Read"}`))
	c, err := DecodeClaims("h." + payload + ".s")
	if err != nil || c.TenantID != "t" || len(c.Roles) != 1 || c.Scope != "Mail.Send User.Read" {
		t.Fatalf("got %+v, %v", c, err)
	}
	for _, bad := range []string{"", "a.b", "a.!!!.c", "a." + base64.RawURLEncoding.EncodeToString([]byte("[")) + ".c", strings.Repeat("a", maxJWT+1)} {
		if _, err := DecodeClaims(bad); err == nil {
			t.Errorf("DecodeClaims(%.20q) succeeded", bad)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              0,
		"2":                             2 * time.Second,
		"2.128":                         2128 * time.Millisecond,
		"-1":                            0,
		"junk":                          0,
		"100000":                        maxRetryAfter,
		"Thu, 01 Jan 2026 00:00:05 GMT": 5 * time.Second,
	}
	for in, want := range tests {
		if got := retryAfter(in, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestNewEnvHosts(t *testing.T) {
	tests := []struct {
		login, wantLogin string
		wantErr          bool
	}{
		{"", "https://login.microsoftonline.com", false},
		{"login.example.net", "https://login.example.net", false},
		{"https://login.example.net:8443", "https://login.example.net:8443", false},
		{"http://127.0.0.1:9000", "http://127.0.0.1:9000", false},
		{"http://[::1]:9000", "http://[::1]:9000", false},
		{"http://localhost:9000", "http://localhost:9000", false},
		{"http://login.example.net", "", true},
		{"http://10.0.0.1:80", "", true},
		{"ftp://x", "", true},
		{"https://login.example.net/path", "", true},
	}
	for _, tt := range tests {
		env, err := NewEnv(EnvOptions{LoginHost: tt.login})
		if tt.wantErr {
			var ie *InputError
			if !errors.As(err, &ie) || ie.Field != "MAILGRANT_LOGIN_HOST" {
				t.Errorf("%q: want an InputError naming MAILGRANT_LOGIN_HOST, got %v", tt.login, err)
			}
			continue
		}
		if err != nil || env.LoginURL != tt.wantLogin {
			t.Errorf("%q: got %v %v, want %q", tt.login, env, err, tt.wantLogin)
			continue
		}
		if env.GraphResource() != "https://graph.microsoft.com" {
			t.Errorf("%q: an override changed the resource: %s", tt.login, env.GraphResource())
		}
	}
	env, err := NewEnv(EnvOptions{Cloud: "usgovdod", GraphHost: "http://127.0.0.1:1"})
	if err != nil || env.GraphResource() != "https://dod-graph.microsoft.us" || env.LoginURL != "https://login.microsoftonline.us" {
		t.Fatalf("usgovdod: %+v %v", env, err)
	}
	if _, err := NewEnv(EnvOptions{Cloud: "mars"}); err == nil {
		t.Fatal("unknown cloud accepted")
	}
}

func TestValidators(t *testing.T) {
	good := "1b2c3d4e-1111-2222-3333-444455556666"
	tests := []struct {
		name  string
		err   error
		field string
	}{
		{"tenant empty", ValidateTenant(store.SendAsUser, ""), "tenant"},
		{"tenant junk", ValidateTenant(store.SendAsUser, "not a tenant!"), "tenant"},
		{"tenant common for app-only", ValidateTenant(store.SendAsAny, "common"), "tenant"},
		{"tenant consumers for work", ValidateTenant(store.SendAsUser, "consumers"), "tenant"},
		{"tenant domain for personal", ValidateTenant(store.Personal, "contoso.com"), "tenant"},
		{"client id not a guid", ValidateClientID("1234"), "client-id"},
		{"client id empty", ValidateClientID(" "), "client-id"},
		{"account no at", ValidateAccount(store.SendAsUser, "mailer"), "account"},
		{"account display name", ValidateAccount(store.SendAsUser, "Mailer <m@contoso.com>"), "account"},
		{"account bad domain", ValidateAccount(store.SendAsUser, "m@contoso"), "account"},
		{"permissions empty", ValidatePermissions(nil), "permissions"},
		{"permissions bad", ValidatePermissions([]string{"Mail Send"}), "permissions"},
		{"permissions oidc", ValidatePermissions([]string{"offline_access"}), "permissions"},
	}
	for _, tt := range tests {
		var ie *InputError
		if !errors.As(tt.err, &ie) || ie.Field != tt.field || ie.Hint == "" {
			t.Errorf("%s: want an InputError for %s with a hint, got %v", tt.name, tt.field, tt.err)
		}
	}
	for _, err := range []error{
		ValidateTenant(store.SendAsUser, good),
		ValidateTenant(store.SendAsUser, "contoso.onmicrosoft.com"),
		ValidateTenant(store.Personal, "consumers"),
		ValidateClientID(good),
		ValidateAccount(store.SendAsUser, "mailer@contoso.com"),
		ValidatePermissions([]string{"Mail.Send", "Files.Read.All"}),
	} {
		if err != nil {
			t.Errorf("valid input refused: %v", err)
		}
	}
}

func TestTokenStringMasksSecrets(t *testing.T) {
	tok := &Token{AccessToken: "eyJ-access-secret", RefreshToken: "0.refresh-secret"}
	for _, s := range []string{tok.String(), tok.GoString()} {
		if strings.Contains(s, "access-secret") || strings.Contains(s, "refresh-secret") {
			t.Fatalf("token printed its secrets: %s", s)
		}
	}
}

// TestCatalogueCoversReference: every AADSTS and Graph error code named in
// shared/reference/entra-graph.md has a cause and a fix.
func TestCatalogueCoversReference(t *testing.T) {
	codes := []string{
		"50011", "500113", "50020", "50034", "50058", "50059", "50076", "50079", "50126", "50173", "50194",
		"53003", "54005", "65001", "65004", "70000", "70008", "700082", "700084", "70043", "70011", "70016",
		"70018", "70019", "700016", "700021", "700023", "700024", "700025", "700027", "7000215", "7000218",
		"7000222", "90002", "90014", "90038", "90094", "90120", "50134", "50027", "9001023", "9002313",
		"9002332", "500011", "501481", "501491", "650057",
		"invalid_request", "invalid_grant", "unauthorized_client", "invalid_client", "unsupported_grant_type",
		"invalid_resource", "interaction_required", "consent_required", "invalid_scope", "temporarily_unavailable",
		"authorization_declined", "bad_verification_code", "expired_token", "access_denied", "server_error",
		"ErrorAccessDenied", "ErrorSendAsDenied", "MailboxNotEnabledForRESTAPI", "MailboxNotSupportedForRESTAPI",
		"ErrorInvalidUser", "ResourceNotFound", "ErrorMimeContentInvalidBase64String", "TooManyRequests",
	}
	for _, c := range codes {
		cause, fix, state, ok := Explain(c)
		if !ok || cause == "" || fix == "" || state == "" {
			t.Errorf("%s is not explained", c)
		}
	}
	if _, _, _, ok := Explain("AADSTS7000215"); !ok {
		t.Error("the AADSTS prefix is not accepted")
	}
}

// TestForProfile: a profile's cloud wins over the Env's, host overrides stay.
func TestForProfile(t *testing.T) {
	env, _ := NewEnv(EnvOptions{})
	us := env.ForProfile(store.Profile{Cloud: "usgov"})
	if us.LoginURL != "https://login.microsoftonline.us" || us.GraphURL != "https://graph.microsoft.us" || us.GraphResource() != "https://graph.microsoft.us" {
		t.Fatalf("usgov: %+v", us)
	}
	if env.ForProfile(store.Profile{}) != env || env.ForProfile(store.Profile{Cloud: "global"}) != env {
		t.Fatal("a global profile got another Env")
	}
	over, _ := NewEnv(EnvOptions{LoginHost: "http://127.0.0.1:1"})
	cn := over.ForProfile(store.Profile{Cloud: "china"})
	if cn.LoginURL != "http://127.0.0.1:1" || cn.GraphURL != "https://microsoftgraph.chinacloudapi.cn" || cn.GraphResource() != "https://microsoftgraph.chinacloudapi.cn" {
		t.Fatalf("china with a login override: %+v", cn)
	}
}
