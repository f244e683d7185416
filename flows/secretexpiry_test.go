package flows_test

import (
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// TestNewSecret: the expiry of a stored secret or certificate never carries
// over to a secret given anew; the same secret given again keeps it.
func TestNewSecret(t *testing.T) {
	mem := store.NewMemory()
	old := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	p := store.Profile{Name: "daemon", Credential: store.CredentialSecret, CredentialExpiresAt: &old, CertificateThumbprint: "AB12"}
	if err := mem.Set(p.Name, store.KindClientSecret, "old-secret"); err != nil {
		t.Fatal(err)
	}
	next, err := flows.ParseSecretExpiry("2028-01-31", old)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		secret   string
		expires  *time.Time
		replaced bool
		want     *time.Time
	}{
		{"no secret given", "", next, false, &old},
		{"the stored secret again", "old-secret", nil, false, &old},
		{"a new secret with its date", "new-secret", next, true, next},
		{"a new secret without a date", "new-secret", nil, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, replaced := flows.NewSecret(mem, p, tc.secret, tc.expires)
			if replaced != tc.replaced {
				t.Fatalf("replaced = %v, want %v", replaced, tc.replaced)
			}
			if (got.CredentialExpiresAt == nil) != (tc.want == nil) || got.CredentialExpiresAt != nil && !got.CredentialExpiresAt.Equal(*tc.want) {
				t.Fatalf("expiry = %v, want %v", got.CredentialExpiresAt, tc.want)
			}
			if replaced && got.CertificateThumbprint != "" {
				t.Fatal("a new secret kept a certificate's thumbprint")
			}
		})
	}
	if _, err := flows.ParseSecretExpiry("31.01.2028", old); err == nil {
		t.Fatal("a date in another format was accepted")
	}
}
