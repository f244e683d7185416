package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailgrant/mailgrant/store"
)

// TestReauthCertificateRefusesSecret: reauth of a certificate profile
// re-authorizes it with its certificate, so a client secret given to it
// (with or without --secret-expires) is refused with the command that does
// switch it, instead of being dropped while reauth says "authorized".
func TestReauthCertificateRefusesSecret(t *testing.T) {
	forEachBackend(t, testReauthCertificateRefusesSecret)
}

func testReauthCertificateRefusesSecret(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant-sandbox", "re-cert")
	pem := filepath.Join(t.TempDir(), "re-cert.pem")
	if r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "rbac", "--profile", "re-cert", "--new-certificate", pem); r.code != 0 {
		t.Fatalf("setup: %s", r.stderr)
	}
	before := readProfile(t, dir, "re-cert")
	for _, extra := range [][]string{nil, {"--secret-expires", "2099-01-31"}} {
		r := b.mailgrant(t, "a-new-client-secret", append([]string{"--sandbox", "reauth", "re-cert", "--client-secret-stdin"}, extra...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "mailgrant --sandbox rotate re-cert --client-secret-stdin") {
			t.Fatalf("reauth %v with a secret: exit %d\n%s", extra, r.code, r.stderr)
		}
		after := readProfile(t, dir, "re-cert")
		if after.Credential != store.CredentialCertificate || after.CertificateThumbprint != before.CertificateThumbprint || !after.CredentialExpiresAt.Equal(*before.CredentialExpiresAt) {
			t.Fatalf("the refused reauth changed the profile: %+v", after)
		}
	}
	// Without a secret it re-authorizes with the certificate, as before.
	if r := b.mailgrant(t, "", "--sandbox", "reauth", "re-cert"); r.code != 0 {
		t.Fatalf("reauth with the certificate: %d %s", r.code, r.stderr)
	}
}
