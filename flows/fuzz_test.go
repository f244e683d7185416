package flows

import (
	"encoding/base64"
	"net/url"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
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
