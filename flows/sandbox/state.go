package sandbox

import (
	"crypto/sha1" //nolint:gosec // x5t is a SHA-1 thumbprint by definition (reference §6).
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// StateFile is the name of the file, inside Options.StateDir, that holds the
// tenant's persistent state: admin consents, uploaded certificates and
// refresh-token revocations.
const StateFile = "sandbox-tenant.json"

// stateVersion is the schema version of StateFile.
const stateVersion = 1

// tenantState is what the tenant remembers between processes. It holds no
// secrets: certificates are public, consents and revocations are facts.
type tenantState struct {
	Version int `json:"version"`
	// AdminConsents maps a lower-case client ID to its consent.
	AdminConsents map[string]consentRecord `json:"admin_consents,omitempty"`
	// Certificates maps a lower-case client ID to its uploaded certificates.
	Certificates map[string][]certRecord `json:"certificates,omitempty"`
	// Revocations maps a lower-case user object ID to TokensValidFrom in
	// Unix milliseconds: refresh tokens issued at or before it are revoked.
	Revocations map[string]int64 `json:"revocations,omitempty"`
}

// consentRecord is a tenant-wide admin consent for an app.
type consentRecord struct {
	Roles     []string  `json:"roles"`
	GrantedBy string    `json:"granted_by,omitempty"`
	GrantedAt time.Time `json:"granted_at"`
}

// certRecord is a certificate uploaded to an app registration.
type certRecord struct {
	DER      []byte    `json:"der"`
	SHA1     string    `json:"x5t"`
	SHA256   string    `json:"x5t_s256"`
	Subject  string    `json:"subject"`
	NotAfter time.Time `json:"not_after"`
	Added    time.Time `json:"added"`
}

// parse returns the record's certificate.
func (c certRecord) parse() (*x509.Certificate, error) { return x509.ParseCertificate(c.DER) }

// stateStore keeps tenantState in memory or, with a directory, in StateFile,
// re-read on every access so that separate processes share one tenant.
type stateStore struct {
	mu  sync.Mutex
	dir string
	mem tenantState
}

func newStateStore(dir string) *stateStore {
	return &stateStore{dir: dir, mem: tenantState{Version: stateVersion}}
}

// path is the state file's path.
func (st *stateStore) path() string { return filepath.Join(st.dir, StateFile) }

// load returns the current state; the caller holds st.mu.
func (st *stateStore) load() (tenantState, error) {
	if st.dir == "" {
		return st.mem, nil
	}
	b, err := os.ReadFile(st.path())
	if errors.Is(err, fs.ErrNotExist) {
		return tenantState{Version: stateVersion}, nil
	}
	if err != nil {
		return tenantState{}, fmt.Errorf("read sandbox state: %w", err)
	}
	var ts tenantState
	if err := json.Unmarshal(b, &ts); err != nil {
		return tenantState{}, fmt.Errorf("read sandbox state %s: %w", st.path(), err)
	}
	if ts.Version > stateVersion {
		return tenantState{}, fmt.Errorf("sandbox state %s has version %d, newer than this build's %d", st.path(), ts.Version, stateVersion)
	}
	return ts, nil
}

// read returns a snapshot of the state.
func (st *stateStore) read() (tenantState, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.load()
}

// update applies fn to the state and saves it (atomically, mode 0600).
// Concurrent writers in separate processes can lose an update; the sandbox
// accepts that.
func (st *stateStore) update(fn func(*tenantState)) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	ts, err := st.load()
	if err != nil {
		return err
	}
	// Copy the maps, so the in-memory snapshot handed out earlier never changes.
	ts.AdminConsents = cloneMap(ts.AdminConsents)
	ts.Certificates = cloneMap(ts.Certificates)
	ts.Revocations = cloneMap(ts.Revocations)
	fn(&ts)
	ts.Version = stateVersion
	if st.dir == "" {
		st.mem = ts
		return nil
	}
	b, err := json.MarshalIndent(ts, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(st.dir, 0o700); err != nil {
		return fmt.Errorf("save sandbox state: %w", err)
	}
	tmp, err := os.CreateTemp(st.dir, StateFile+".*.tmp")
	if err != nil {
		return fmt.Errorf("save sandbox state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save sandbox state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save sandbox state: %w", err)
	}
	if err := os.Rename(tmp.Name(), st.path()); err != nil {
		return fmt.Errorf("save sandbox state: %w", err)
	}
	return nil
}

func cloneMap[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// GrantAdminConsent records tenant-wide admin consent for the app's
// application permissions (App.AppRoles), as the portal's "Grant admin
// consent" button does. Later client_credentials tokens carry those roles.
// It fails only if the state file cannot be written or the client ID is
// unknown.
func (s *Server) GrantAdminConsent(clientID string) error {
	if _, ok := appByID(clientID); !ok {
		return fmt.Errorf("sandbox: no app registration with client ID %q", clientID)
	}
	return s.grantAdminConsent(clientID, "")
}

// grantAdminConsent records consent for clientID granted by upn.
func (s *Server) grantAdminConsent(clientID, upn string) error {
	app, ok := appByID(clientID)
	if !ok {
		return nil
	}
	now := s.now()
	return s.state.update(func(ts *tenantState) {
		ts.AdminConsents[strings.ToLower(app.ClientID)] = consentRecord{Roles: app.AppRoles, GrantedBy: upn, GrantedAt: now}
	})
}

// RevokeAdminConsent removes the app's tenant-wide admin consent, so its
// app-only tokens come without roles again. An unknown client ID is ignored.
func (s *Server) RevokeAdminConsent(clientID string) error {
	return s.state.update(func(ts *tenantState) {
		delete(ts.AdminConsents, strings.ToLower(clientID))
	})
}

// consentedRoles returns the application permissions admin-consented for
// the app, nil when there is no consent.
func (s *Server) consentedRoles(clientID string) ([]string, error) {
	ts, err := s.state.read()
	if err != nil {
		return nil, err
	}
	return ts.AdminConsents[strings.ToLower(clientID)].Roles, nil
}

// RevokeUser revokes every refresh token issued so far to the user (UPN or
// object ID), as "Revoke sessions" in the Entra admin center does; using
// one fails with invalid_grant AADSTS50173. Tokens from later sign-ins work.
func (s *Server) RevokeUser(upn string) error {
	u, ok := userByName(upn)
	if !ok {
		return fmt.Errorf("sandbox: no user %q", upn)
	}
	now := s.now()
	return s.state.update(func(ts *tenantState) {
		ts.Revocations[strings.ToLower(u.ID)] = now.UnixMilli()
	})
}

// tokensValidFrom returns the user's revocation time in Unix milliseconds,
// 0 if never revoked.
func (s *Server) tokensValidFrom(userID string) (int64, error) {
	ts, err := s.state.read()
	if err != nil {
		return 0, err
	}
	return ts.Revocations[strings.ToLower(userID)], nil
}

// UploadCertificate registers a DER-encoded X.509 certificate on the app, as
// uploading it under "Certificates & secrets" does. The app may then sign
// client assertions with the matching private key. Uploading the same
// certificate twice is harmless.
func (s *Server) UploadCertificate(clientID string, der []byte) error {
	app, ok := appByID(clientID)
	if !ok {
		return fmt.Errorf("sandbox: no app registration with client ID %q", clientID)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("sandbox: not an X.509 certificate: %w", err)
	}
	s1 := sha1.Sum(cert.Raw) //nolint:gosec // thumbprint, not a signature.
	s256 := sha256.Sum256(cert.Raw)
	rec := certRecord{
		DER: cert.Raw, SHA1: b64.EncodeToString(s1[:]), SHA256: b64.EncodeToString(s256[:]),
		Subject: cert.Subject.String(), NotAfter: cert.NotAfter, Added: s.now(),
	}
	key := strings.ToLower(app.ClientID)
	return s.state.update(func(ts *tenantState) {
		for _, c := range ts.Certificates[key] {
			if c.SHA256 == rec.SHA256 {
				return
			}
		}
		ts.Certificates[key] = append(append([]certRecord(nil), ts.Certificates[key]...), rec)
	})
}

// certificates returns the certificates uploaded for an app.
func (s *Server) certificates(clientID string) ([]certRecord, error) {
	ts, err := s.state.read()
	if err != nil {
		return nil, err
	}
	return ts.Certificates[strings.ToLower(clientID)], nil
}

// parsePEMCertificates returns the DER bytes of every CERTIFICATE block in
// data, or data itself when it is not PEM (a DER upload).
func parsePEMCertificates(data []byte) [][]byte {
	var out [][]byte
	rest := data
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type == "CERTIFICATE" {
			out = append(out, blk.Bytes)
		}
	}
	if len(out) == 0 && !strings.Contains(string(data), "-----BEGIN") {
		out = append(out, data)
	}
	return out
}
