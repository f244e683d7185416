package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// TestWrongAccountIsNeverKept: setup and reauth follow flows.Keep. Signing
// in as another account than the profile's saves nothing for a new profile,
// and leaves a stored one exactly as it was.
func TestWrongAccountIsNeverKept(t *testing.T) { forEachBackend(t, testWrongAccountIsNeverKept) }

func testWrongAccountIsNeverKept(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant-sandbox", "wrong")
	keyring := b.keyring("mailgrant-sandbox")

	// Given a browser that signs in as Alex, for a profile of Adele
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)

	// When setup runs, then it fails and nothing is stored
	r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--profile", "wrong", "--account", sandbox.AdeleVance.UPN)
	if r.code != 1 || !strings.Contains(r.stderr, "signed in as "+sandbox.AlexWilber.UPN) {
		t.Fatalf("setup as the wrong account: %d %s", r.code, r.stderr)
	}
	if ps, err := store.LoadProfiles(dir); err != nil || len(ps.List) != 0 {
		t.Fatalf("profiles after a wrong-account setup: %v %+v", err, ps)
	}
	if rt, err := keyring.Get("wrong", store.KindRefreshToken); err == nil {
		t.Fatalf("a refresh token of the wrong account was stored: %d bytes", len(rt))
	}

	// Given the profile stored with the right account
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", "")
	if r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--profile", "wrong", "--account", sandbox.AdeleVance.UPN); r.code != 0 {
		t.Fatalf("setup: %d %s", r.code, r.stderr)
	}
	before, _ := keyring.Get("wrong", store.KindRefreshToken)

	// When reauth signs in as Alex, then it fails and the stored token stays
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)
	r = b.mailgrant(t, "", "--sandbox", "reauth", "wrong", "--non-interactive")
	if r.code != 1 || !strings.Contains(r.stderr, "left as it was") {
		t.Fatalf("reauth as the wrong account: %d %s", r.code, r.stderr)
	}
	if after, _ := keyring.Get("wrong", store.KindRefreshToken); after != before || before == "" {
		t.Fatal("reauth as the wrong account replaced the stored refresh token")
	}
}

// TestReauthNewSecretExpiry: reauth with a secret given anew never keeps the
// old secret's expiry date: it takes --secret-expires, as rotate does, or
// says the date is unknown. The same secret given again keeps the date.
func TestReauthNewSecretExpiry(t *testing.T) { forEachBackend(t, testReauthNewSecretExpiry) }

func testReauthNewSecretExpiry(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant-sandbox", "re-secret")
	soon := time.Now().AddDate(0, 0, 9).Format(time.DateOnly)
	if r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "rbac", "--profile", "re-secret", "--secret-expires", soon); r.code != 0 {
		t.Fatalf("setup: %s", r.stderr)
	}
	expiry := func() string {
		if p := readProfile(t, dir, "re-secret"); p.CredentialExpiresAt != nil {
			return p.CredentialExpiresAt.Format(time.DateOnly)
		}
		return "none"
	}

	// A date without a new secret is refused.
	if r := b.mailgrant(t, "", "--sandbox", "reauth", "re-secret", "--non-interactive", "--secret-expires", "2028-01-31"); r.code != 2 || !strings.Contains(r.stderr, "secret-expires") {
		t.Fatalf("--secret-expires alone: %d %s", r.code, r.stderr)
	}

	// A new secret without a date: the old date is gone, and that is said.
	next := sandbox.SecondSecret(sandbox.RBACApp)
	r := b.mailgrant(t, next+"\n", "--sandbox", "reauth", "re-secret", "--non-interactive", "--client-secret-stdin")
	if r.code != 0 || !strings.Contains(r.stderr, "No expiry date was given") {
		t.Fatalf("reauth with a new secret: %d %s", r.code, r.stderr)
	}
	if got := expiry(); got != "none" {
		t.Fatalf("the old secret's expiry %s survived a new secret", got)
	}

	// A new secret with its date: the date is stored.
	r = b.mailgrant(t, sandbox.RBACApp.Secret+"\n", "--sandbox", "reauth", "re-secret", "--non-interactive", "--client-secret-stdin", "--secret-expires", "2028-01-31")
	if r.code != 0 || expiry() != "2028-01-31" {
		t.Fatalf("reauth with a new secret and its date: %d %s; expiry %s", r.code, r.stderr, expiry())
	}

	// The stored secret given again: the date stays.
	r = b.mailgrant(t, sandbox.RBACApp.Secret+"\n", "--sandbox", "reauth", "re-secret", "--non-interactive", "--client-secret-stdin")
	if r.code != 0 || expiry() != "2028-01-31" || strings.Contains(r.stderr, "No expiry date was given") {
		t.Fatalf("reauth with the same secret: %d %s; expiry %s", r.code, r.stderr, expiry())
	}
}
