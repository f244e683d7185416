package sandbox

import (
	"crypto/sha1" //nolint:gosec // thumbprints, not signatures.
	"encoding/hex"
	"fmt"
	"strings"
)

// An app registration may hold two client secrets and several certificates
// at once, which is how an admin rotates a credential without downtime: add
// the new one, switch the program to it, then remove the old one.

// SecondSecret is the second client secret of a confidential sandbox app,
// as if the admin had added a new secret under Certificates & secrets for a
// rotation. Both it and App.Secret work.
func SecondSecret(app App) string {
	if app.Secret == "" {
		return ""
	}
	return strings.Replace(app.Secret, "sandbox-secret", "sandbox-secret-2", 1)
}

// RemoveCertificate removes the certificate with the given SHA-1 thumbprint
// (hex, as the portal shows it) from the app, as "Delete" under Certificates
// & secrets does; assertions signed with its key then fail (AADSTS700027).
func (s *Server) RemoveCertificate(clientID, thumbprint string) error {
	app, ok := appByID(clientID)
	if !ok {
		return fmt.Errorf("sandbox: no app registration with client ID %q", clientID)
	}
	key := strings.ToLower(app.ClientID)
	return s.state.update(func(ts *tenantState) {
		var kept []certRecord
		for _, c := range ts.Certificates[key] {
			sum := sha1.Sum(c.DER) //nolint:gosec // thumbprint.
			if !strings.EqualFold(hex.EncodeToString(sum[:]), thumbprint) {
				kept = append(kept, c)
			}
		}
		ts.Certificates[key] = kept
	})
}
