package flows

import (
	"encoding/base64"
	"net/url"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/oauth2"
)

// FuzzParseRedirect feeds arbitrary redirect queries (what a browser, or
// anything else on this machine, can send to the loopback listener).
func FuzzParseRedirect(f *testing.F) {
	f.Add("code=abc&state=xyz")
	f.Add("error=access_denied&error_description=AADSTS65004%3A+User+declined&state=s")
	f.Add("error=x&error_description=AADSTS99999999999999999999")
	f.Add("error=%ZZ")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		if q.Get("error") == "" {
			return
		}
		e := ParseRedirectError(q)
		if e == nil || e.Message == "" {
			t.Fatalf("no explanation for %q", raw)
		}
	})
}

// FuzzParseEntraError feeds arbitrary token-endpoint error bodies.
func FuzzParseEntraError(f *testing.F) {
	f.Add(400, []byte(`{"error":"invalid_grant","error_description":"AADSTS50173: revoked","error_codes":[50173]}`))
	f.Add(401, []byte(`{"error":"invalid_client","error_codes":[]}`))
	f.Add(503, []byte(`<html>`))
	f.Add(400, []byte(`{"error_codes":[-1]}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := ParseEntraError(status, body)
		if e == nil || e.Message == "" || e.Code == "" {
			t.Fatalf("unexplained error for %q", body)
		}
	})
}

// FuzzParseGraphError feeds arbitrary Graph error bodies.
func FuzzParseGraphError(f *testing.F) {
	f.Add(403, []byte(`{"error":{"code":"ErrorAccessDenied","message":"Access to OData is disabled."}}`))
	f.Add(429, []byte(`{"error":{"code":"TooManyRequests"}}`))
	f.Add(500, []byte(`nope`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := ParseGraphError(status, body)
		if e == nil || e.Message == "" || e.Code == "" {
			t.Fatalf("unexplained error for %q", body)
		}
	})
}

// FuzzDecodeClaims feeds arbitrary JWTs (tokens come from the network).
func FuzzDecodeClaims(f *testing.F) {
	f.Add("a." + base64.RawURLEncoding.EncodeToString([]byte(`{"tid":"t","roles":["Mail.Send"]}`)) + ".c")
	f.Add("a.b.c")
	f.Add("...")
	f.Fuzz(func(t *testing.T, jwt string) {
		c, err := DecodeClaims(jwt)
		if (c == nil) == (err == nil) {
			t.Fatalf("claims %v and error %v", c, err)
		}
	})
}

// FuzzNormalizeScopes feeds arbitrary scope strings from token responses.
func FuzzNormalizeScopes(f *testing.F) {
	f.Add("openid https://graph.microsoft.com/Mail.Send User.Read")
	f.Add("https:// / //")
	f.Fuzz(func(t *testing.T, scope string) {
		for _, s := range normalizeScopes(scope, "https://graph.microsoft.com") {
			if s == "" || isOIDC(s) {
				t.Fatalf("normalizeScopes(%q) kept %q", scope, s)
			}
		}
	})
}

// FuzzParseCachedToken feeds arbitrary keyring content to the access-token
// cache reader (the keyring is outside input: another tool may write it).
func FuzzParseCachedToken(f *testing.F) {
	f.Add(`{"access_token":"a","expires_at":"2030-01-01T00:00:00Z","client_id":"c","tenant":"t"}`)
	f.Add(`{"access_token":""}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := parseCachedToken(raw)
		if err == nil && (c.AccessToken == "" || c.ExpiresAt.IsZero()) {
			t.Fatalf("accepted an incomplete token from %q", raw)
		}
	})
}

// FuzzSafeText: whatever comes in, nothing a terminal would act on comes out,
// and clean text passes unchanged.
func FuzzSafeText(f *testing.F) {
	f.Add("evil\x1b[2J")
	f.Add("\x1b]0;PWNED\x07✓ Saved")
	f.Add("a\u202eb\u2066c\u200fd")
	f.Add("Grüße, 日本語 — ok")
	f.Add("\xc2\x9b31m")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		out := SafeText(s)
		if !utf8.ValidString(out) {
			t.Fatalf("SafeText(%q) = %q: invalid UTF-8", s, out)
		}
		for _, r := range out {
			if r < 0x20 || (r >= 0x7f && r < 0xa0) || unicode.Is(unicode.Cf, r) || (unicode.IsSpace(r) && r != ' ') {
				t.Fatalf("SafeText(%q) = %q keeps %U", s, out, r)
			}
		}
		if SafeText(out) != out {
			t.Fatalf("SafeText is not idempotent on %q", s)
		}
	})
}

// FuzzParseSecretExpiry feeds arbitrary expiry dates (typed into the
// wizard or given as --secret-expires): a date is returned, or an input
// error naming the field.
func FuzzParseSecretExpiry(f *testing.F) {
	for _, s := range []string{"2027-11-30", "", "31/12/2027", "2027-02-30", " 2027-01-01\n", "9999-12-31"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSecretExpiry(s, now)
		if err != nil {
			ie, ok := err.(*InputError)
			if !ok || ie.Field != "secret-expires" || got != nil {
				t.Fatalf("ParseSecretExpiry(%q) = %v, %v", s, got, err)
			}
			return
		}
		if got != nil && got.Before(now) {
			t.Fatalf("ParseSecretExpiry(%q) = %v, in the past", s, got)
		}
	})
}

// FuzzExpiresIn: whatever a token endpoint sends as expires_in, a lifetime
// is believed only when it is positive and at most a year.
func FuzzExpiresIn(f *testing.F) {
	f.Add("3599")
	f.Add("-1")
	f.Add("99999999999999999999")
	f.Add("1e3")
	f.Fuzz(func(t *testing.T, raw string) {
		d, ok := expiresIn((&oauth2.Token{}).WithExtra(map[string]any{"expires_in": raw}))
		if ok != (d > 0) || d > maxExpiresIn*time.Second {
			t.Fatalf("expires_in %q gave %s, %v", raw, d, ok)
		}
	})
}

func TestExpiresIn(t *testing.T) {
	tests := []struct {
		name string
		tok  *oauth2.Token
		want time.Duration
	}{
		{"field", &oauth2.Token{ExpiresIn: 3599}, 3599 * time.Second},
		{"JSON number", (&oauth2.Token{}).WithExtra(map[string]any{"expires_in": float64(3599)}), 3599 * time.Second},
		{"string", (&oauth2.Token{}).WithExtra(map[string]any{"expires_in": "60"}), time.Minute},
		{"garbage", (&oauth2.Token{}).WithExtra(map[string]any{"expires_in": "soon"}), 0},
		{"too long", &oauth2.Token{ExpiresIn: 1 << 40}, 0},
		{"none", &oauth2.Token{}, 0},
	}
	for _, tt := range tests {
		if got, ok := expiresIn(tt.tok); got != tt.want || ok != (tt.want > 0) {
			t.Errorf("%s: %s %v, want %s", tt.name, got, ok, tt.want)
		}
	}
}
