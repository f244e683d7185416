package main

import (
	"strings"
	"testing"

	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// TestWrongAccountIsNeverKept: setup and reauth follow flows.Keep. Signing
// in as another account than the profile's saves nothing for a new profile,
// and leaves a stored one exactly as it was.
func TestWrongAccountIsNeverKept(t *testing.T) {
	dir := env(t, "mailgrant-sandbox", "wrong")
	keyring := store.NewKeyring("mailgrant-sandbox")

	// Given a browser that signs in as Alex, for a profile of Adele
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)

	// When setup runs, then it fails and nothing is stored
	r := mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--profile", "wrong", "--account", sandbox.AdeleVance.UPN)
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
	if r := mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--profile", "wrong", "--account", sandbox.AdeleVance.UPN); r.code != 0 {
		t.Fatalf("setup: %d %s", r.code, r.stderr)
	}
	before, _ := keyring.Get("wrong", store.KindRefreshToken)

	// When reauth signs in as Alex, then it fails and the stored token stays
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)
	r = mailgrant(t, "", "--sandbox", "reauth", "wrong", "--non-interactive")
	if r.code != 1 || !strings.Contains(r.stderr, "left as it was") {
		t.Fatalf("reauth as the wrong account: %d %s", r.code, r.stderr)
	}
	if after, _ := keyring.Get("wrong", store.KindRefreshToken); after != before || before == "" {
		t.Fatal("reauth as the wrong account replaced the stored refresh token")
	}
}
