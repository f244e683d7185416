package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// TestRotateCertificateFitsTheTerminal: while a new certificate is awaited
// the countdown and how to stop it, and once it switched what to remove
// now, are on screen at every size checked (the root cuts a frame taller
// than the terminal at the bottom).
func TestRotateCertificateFitsTheTerminal(t *testing.T) {
	old := "0123456789ABCDEF0123456789ABCDEF01234567"
	p := store.Profile{Name: "certd", Scenario: store.SendAsAny, ClientID: testClientID, Account: testAccount,
		Credential: store.CredentialCertificate, CertificateThumbprint: old}
	c, err := flows.GenerateCertificate("certd", 24*time.Hour, 2048, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m := New(context.Background(), testDeps(t))
	next, _ := m.toRotate(p)
	m = next.(Model)
	m.rotate.attempt = nextAttempt()
	m.rotate, _ = m.rotate.certificatePrepared(certificatePreparedMsg{Attempt: m.rotate.attempt, Cert: c,
		Path: "/home/admin/certs/certd-2026-11-28.pem", Uploaded: true, At: time.Now()})
	m.rotate.lastTry = &flows.Error{Code: "invalid_client", Message: "AADSTS700027: Client assertion contains an invalid signature. [Reason - The key was not found.]"}
	waiting := m
	saved := p
	saved.CertificateThumbprint = c.Thumbprint()
	m.rotate, _ = m.rotate.finished(saved, old, nil)
	done := m

	for _, sz := range sizes {
		if v := joinLinesInternal(viewAt(waiting, sz[0], sz[1])); !strings.Contains(v, "left") || !strings.Contains(v, "esc stops waiting") || !strings.Contains(v, "Upload it") {
			t.Errorf("%dx%d: the wait lacks its countdown, esc or the upload step:\n%s", sz[0], sz[1], viewAt(waiting, sz[0], sz[1]))
		}
		v := joinLinesInternal(viewAt(done, sz[0], sz[1]))
		if !strings.Contains(v, "certd now uses it") || !strings.Contains(v, "thumbprint "+old+" > Delete") {
			t.Errorf("%dx%d: the switch or the old certificate to remove is not on screen:\n%s", sz[0], sz[1], viewAt(done, sz[0], sz[1]))
		}
		if strings.Contains(v, "Now: a certificate (thumbprint "+old) {
			t.Errorf("%dx%d: after the switch the screen still says the old certificate is in use:\n%s", sz[0], sz[1], v)
		}
	}
}

func joinLinesInternal(s string) string { return strings.Join(strings.Fields(s), " ") }
