// Package store keeps what mailgrant remembers between runs: profiles (a JSON
// file with no secrets) and secrets (the OS keyring, behind the small Secrets
// interface).
//
//	profiles, err := store.LoadProfiles(dir)
//	secrets := store.NewKeyring(store.ServiceName(sandbox))
//	rt, err := secrets.Get("wordpress", store.KindRefreshToken)
package store

import (
	"errors"
	"time"
)

// Scenario names one of the four ways mailgrant authorizes a program.
type Scenario string

// The four scenarios of DESIGN.md.
const (
	// SendAsUser is delegated Mail.Send for one named work account.
	SendAsUser Scenario = "send-as-user"
	// SendAsAny is application Mail.Send: the app can send as every mailbox.
	SendAsAny Scenario = "send-as-any"
	// Personal is delegated Mail.Send for an Outlook.com (Microsoft) account.
	Personal Scenario = "personal"
	// RBAC is app-only sending restricted by Exchange Online RBAC for Applications.
	RBAC Scenario = "rbac"
)

// Scenarios lists every scenario in the order the chooser shows them.
var Scenarios = []Scenario{SendAsUser, SendAsAny, Personal, RBAC}

// Delegated reports whether a user signs in (true) or the app acts as itself.
func (s Scenario) Delegated() bool { return s == SendAsUser || s == Personal }

// Valid reports whether s is one of the known scenarios.
func (s Scenario) Valid() bool {
	for _, k := range Scenarios {
		if s == k {
			return true
		}
	}
	return false
}

// Credential is the kind of client credential a profile's app registration uses.
type Credential string

// Credential kinds.
const (
	// CredentialNone is a public client (delegated scenarios only).
	CredentialNone Credential = "none"
	// CredentialSecret is a client secret kept in the keyring.
	CredentialSecret Credential = "secret"
	// CredentialCertificate is a certificate whose private key is kept in the keyring.
	CredentialCertificate Credential = "certificate"
)

// Valid reports whether c is a known credential kind.
func (c Credential) Valid() bool {
	return c == CredentialNone || c == CredentialSecret || c == CredentialCertificate
}

// Profile is one authorization: which app, which tenant, which account, and what
// the last check found. It never holds a secret; those live in Secrets.
type Profile struct {
	// Name identifies the profile on the command line (mailgrant token NAME).
	Name string `json:"name"`
	// Scenario is how the profile is authorized.
	Scenario Scenario `json:"scenario"`
	// Cloud is global, usgov, usgovdod or china; empty means global.
	Cloud string `json:"cloud"`
	// Tenant is a tenant GUID, a domain, or consumers for personal accounts.
	Tenant string `json:"tenant"`
	// ClientID is the application (client) ID of the app registration.
	ClientID string `json:"client_id"`
	// Account is the signed-in user (delegated) or the mailbox used for test
	// sends (app-only).
	Account string `json:"account"`
	// Permissions is the required set of Graph permissions, short names such as
	// Mail.Send. OIDC scopes (openid, profile, offline_access) are not listed.
	Permissions []string `json:"permissions"`
	// Credential is the client credential kind; empty means none.
	Credential Credential `json:"credential,omitempty"`
	// CertificateThumbprint is the SHA-1 thumbprint (hex) of the certificate, if any.
	CertificateThumbprint string `json:"certificate_thumbprint,omitempty"`
	// CredentialExpiresAt is when the client secret or certificate expires, if known.
	CredentialExpiresAt *time.Time `json:"credential_expires_at,omitempty"`
	// OutOfScopeMailbox is, for rbac, a mailbox the app must NOT be able to
	// send as; status checks that a send as it is refused.
	OutOfScopeMailbox string `json:"out_of_scope_mailbox,omitempty"`
	// RBACGroup is, for rbac, the mail-enabled group whose members the app may
	// send as (used by the generated PowerShell).
	RBACGroup string `json:"rbac_group,omitempty"`
	// RBACMailboxes is, for rbac, the listed mailboxes the app may send as
	// when no group is given.
	RBACMailboxes []string `json:"rbac_mailboxes,omitempty"`
	// Store is where the profile's secrets are kept: keyring or file. Empty
	// (profiles written before schema 2) means keyring; use SecretsStore.
	Store Backend `json:"store,omitempty"`
	// CreatedAt is when the profile was first saved.
	CreatedAt time.Time `json:"created_at"`
	// AuthorizedAt is when the profile was last authorized; zero if never.
	AuthorizedAt *time.Time `json:"authorized_at,omitempty"`
	// RefreshRotatedAt is when a refresh token was last stored.
	RefreshRotatedAt *time.Time `json:"refresh_rotated_at,omitempty"`
	// LastCheckedAt is when a status check last ran.
	LastCheckedAt *time.Time `json:"last_checked_at,omitempty"`
	// LastState is the state the last check reported.
	LastState string `json:"last_state,omitempty"`

	// Scoping is, for rbac, how Exchange Online restricts the app: RBAC for
	// Applications (empty or "rbac") or an ApplicationAccessPolicy ("policy").
	Scoping Scoping `json:"scoping,omitempty"`
	// PolicyAccess is, for the policy scoping, the policy's -AccessRight:
	// RestrictAccess (an allow list; empty means this) or DenyAccess (a
	// block list).
	PolicyAccess PolicyAccess `json:"policy_access,omitempty"`
	// From is the sender used when a message names none (send, sendmail,
	// the relay); empty means the account.
	From string `json:"from,omitempty"`
	// ReplyTo is the Reply-To used when a message has none.
	ReplyTo string `json:"reply_to,omitempty"`
}

// Backend names where a profile's secrets are kept.
type Backend string

// The places secrets can be kept.
const (
	// BackendKeyring is the OS keyring (the default).
	BackendKeyring Backend = "keyring"
	// BackendFile is the passphrase-encrypted file in the config directory
	// (SecretsFile), for machines with no keyring.
	BackendFile Backend = "file"
)

// Valid reports whether b is keyring or file.
func (b Backend) Valid() bool { return b == BackendKeyring || b == BackendFile }

// SecretsStore returns where the profile's secrets are kept: its Store, or
// the keyring for a profile recorded before stores were recorded.
func (p Profile) SecretsStore() Backend {
	if p.Store == "" {
		return BackendKeyring
	}
	return p.Store
}

// Kind names one secret of a profile; each is one keyring item.
type Kind string

// Secret kinds, as DESIGN.md names the keyring items.
const (
	KindRefreshToken   Kind = "refresh-token"
	KindClientSecret   Kind = "client-secret"
	KindCertificateKey Kind = "certificate-key"
	KindAccessToken    Kind = "access-token"
)

// Kinds lists every kind of secret a profile may have.
var Kinds = []Kind{KindRefreshToken, KindClientSecret, KindCertificateKey, KindAccessToken, KindCertificateKeyNext}

// ErrNotFound is returned by Secrets.Get when no such secret is stored.
var ErrNotFound = errors.New("secret not found")

// Secrets keeps a profile's secrets. Implementations: Keyring (the OS keyring)
// and Memory (for unit tests of code above store).
type Secrets interface {
	// Get returns the secret, or an error wrapping ErrNotFound.
	Get(profile string, kind Kind) (string, error)
	// Set stores the secret, replacing any earlier one.
	Set(profile string, kind Kind, value string) error
	// Delete removes the secret; deleting a missing secret is not an error.
	Delete(profile string, kind Kind) error
}

// ServiceName is the keyring service secrets are kept under. The sandbox keeps
// its secrets apart from real ones.
func ServiceName(sandbox bool) string {
	if sandbox {
		return "mailgrant-sandbox"
	}
	return "mailgrant"
}

// Located is implemented by a Secrets that knows which backend keeps a
// profile's secrets, so that a saved profile records where its secrets
// actually went (flows.Save) rather than what a flag asked for.
type Located interface {
	// BackendFor returns where the profile's secrets are written.
	BackendFor(profile string) Backend
}

var (
	_ Located = (*Keyring)(nil)
	_ Located = (*File)(nil)
)

// BackendFor is BackendKeyring: the OS keyring.
func (k *Keyring) BackendFor(string) Backend { return BackendKeyring }

// BackendFor is BackendFile: the encrypted file.
func (f *File) BackendFor(string) Backend { return BackendFile }
