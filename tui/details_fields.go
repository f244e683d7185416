package tui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/textinput"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// field is one input of the details form. Which fields show, and in which
// order, depends on the scenario and the credential chosen (fields).
type field int

const (
	fieldProfile field = iota
	fieldTenant
	fieldClientID
	fieldAccount
	fieldPermissions
	// fieldOutOfScope, fieldRBACGroup and fieldRBACMailboxes are for rbac.
	fieldOutOfScope
	fieldRBACGroup
	fieldRBACMailboxes
	// fieldCredential is the app-only credential choice; it is picked with
	// ←/→, not typed.
	fieldCredential
	fieldSecret
	fieldCertFile
	fieldCertPassword
	fieldNewCert
	fieldCertDays
	// fieldScoping (rbac) and fieldPolicyAccess (an access policy) are the
	// Exchange scoping choice, picked with ←/→ like the credential.
	fieldScoping
	fieldPolicyAccess
	fieldCount
)

// isChoice reports whether f is picked with ←/→ rather than typed.
func isChoice(f field) bool {
	return f == fieldCredential || f == fieldScoping || f == fieldPolicyAccess
}

// scopingChoices are the Exchange scopings the form offers an rbac profile,
// the recommended first; accessChoices the access policy's access rights.
var (
	scopingChoices = []store.Scoping{store.ScopingRBAC, store.ScopingPolicy}
	accessChoices  = []store.PolicyAccess{store.PolicyRestrict, store.PolicyDeny}
)

// scopingLabel is how a scoping reads on the form, and scopingConsequence
// what choosing it means for the app's rights and for the check.
func scopingLabel(s store.Scoping) string {
	if s == store.ScopingPolicy {
		return "Application access policy (legacy)"
	}
	return "RBAC for Applications (recommended)"
}

func scopingConsequence(s store.Scoping) string {
	if s == store.ScopingPolicy {
		return "the app keeps tenant-wide Mail.Send in Entra and the policy narrows it in Exchange; the proof is the test sends: in scope accepted, out of scope refused"
	}
	return "the app holds no tenant-wide Mail.Send; Exchange grants it on the chosen mailboxes only"
}

func accessLabel(a store.PolicyAccess) string {
	if a == store.PolicyDeny {
		return "DenyAccess (block list)"
	}
	return "RestrictAccess (allow list)"
}

func accessConsequence(a store.PolicyAccess) string {
	if a == store.PolicyDeny {
		return "the app may send as every mailbox except the group's members; give one of them as Out of scope"
	}
	return "the app may send only as the group's members"
}

// credChoice is the kind of credential an app-only profile uses.
type credChoice int

const (
	credSecret credChoice = iota
	credCertFile
	credNewCert
	// credStored keeps the certificate already in the keyring (offered when
	// re-authorizing a certificate profile).
	credStored
)

// label is how the choice reads on the form.
func (c credChoice) label() string {
	switch c {
	case credCertFile:
		return "certificate file"
	case credNewCert:
		return "new certificate"
	case credStored:
		return "stored certificate"
	}
	return "client secret"
}

// defaultCertDays is the validity offered for a new certificate.
const defaultCertDays = 365

// fields lists the fields the form shows, in order.
func (s detailsScreen) fields() []field {
	fs := []field{fieldProfile, fieldTenant, fieldClientID, fieldAccount, fieldPermissions}
	if s.scenario.Delegated() {
		return append(fs, fieldSecret)
	}
	if s.scenario == store.RBAC {
		fs = append(fs, fieldScoping)
		if s.scopingChoice() == store.ScopingPolicy {
			fs = append(fs, fieldPolicyAccess)
		}
		fs = append(fs, fieldOutOfScope, fieldRBACGroup, fieldRBACMailboxes)
	}
	fs = append(fs, fieldCredential)
	switch s.credential() {
	case credSecret:
		fs = append(fs, fieldSecret)
	case credCertFile:
		fs = append(fs, fieldCertFile, fieldCertPassword)
	case credNewCert:
		fs = append(fs, fieldNewCert, fieldCertDays)
	}
	return fs
}

// credential is the chosen credential kind.
func (s detailsScreen) credential() credChoice {
	if len(s.choices) == 0 {
		return credSecret
	}
	return s.choices[s.choice]
}

// scopingChoice is the Exchange scoping picked, and accessChoice the
// access policy's access right.
func (s detailsScreen) scopingChoice() store.Scoping { return scopingChoices[s.scoping] }

func (s detailsScreen) accessChoice() store.PolicyAccess { return accessChoices[s.access] }

// label names a field; the account is a test mailbox for app-only
// scenarios.
func (s detailsScreen) label(f field) string {
	switch f {
	case fieldProfile:
		return "Profile name"
	case fieldTenant:
		return "Tenant"
	case fieldClientID:
		return "Client ID"
	case fieldAccount:
		if !s.scenario.Delegated() {
			return "Test mailbox"
		}
		return "Account"
	case fieldPermissions:
		return "Permissions"
	case fieldOutOfScope:
		return "Out of scope"
	case fieldRBACGroup:
		if s.scopingChoice() == store.ScopingPolicy && s.accessChoice() == store.PolicyDeny {
			return "Blocked group"
		}
		return "Allowed group"
	case fieldScoping:
		return "Exchange scope"
	case fieldPolicyAccess:
		return "Policy type"
	case fieldRBACMailboxes:
		return "or mailboxes"
	case fieldCredential:
		return "Credential"
	case fieldCertFile:
		return "Certificate"
	case fieldCertPassword:
		return "PFX password"
	case fieldNewCert:
		return "Save public to"
	case fieldCertDays:
		return "Valid for days"
	default:
		return "Client secret"
	}
}

// newInputs builds every text field with its placeholder and echo mode.
func newInputs(sc store.Scenario) []textinput.Model {
	inputs := make([]textinput.Model, fieldCount)
	for i := range inputs {
		in := textinput.New()
		in.Prompt = ""
		in.SetStyles(inputStyles())
		in.CharLimit = 256
		inputs[i] = in
	}
	inputs[fieldProfile].CharLimit = 64
	inputs[fieldTenant].Placeholder = "Directory (tenant) ID or domain"
	inputs[fieldClientID].Placeholder = "Application (client) ID"
	inputs[fieldAccount].Placeholder = "name@domain"
	inputs[fieldPermissions].Placeholder = strings.Join(flows.DefaultPermissions(sc), ", ")
	inputs[fieldOutOfScope].Placeholder = "optional: a mailbox the app must NOT send as"
	inputs[fieldRBACGroup].Placeholder = "mail-enabled group whose members it may send as"
	inputs[fieldRBACMailboxes].Placeholder = "a@contoso.com, b@contoso.com (default: test mailbox)"
	inputs[fieldRBACMailboxes].CharLimit = 2048
	inputs[fieldCertFile].Placeholder = "path of a .pem (certificate + key) or .pfx file"
	inputs[fieldCertFile].CharLimit = 4096
	inputs[fieldCertPassword].Placeholder = "only for a .pfx file with a password"
	inputs[fieldNewCert].Placeholder = "path for the public .pem to upload, e.g. mailer.pem"
	inputs[fieldNewCert].CharLimit = 4096
	inputs[fieldCertDays].CharLimit = 4
	for _, f := range []field{fieldSecret, fieldCertPassword} {
		inputs[f].EchoMode = textinput.EchoPassword
		inputs[f].EchoCharacter = '•'
	}
	if sc.Delegated() {
		inputs[fieldSecret].Placeholder = "leave empty for a public client (Mobile and desktop app)"
	} else {
		inputs[fieldSecret].Placeholder = "the secret's Value from Certificates & secrets"
	}
	return inputs
}

// setValidators gives every field its validator; the name's depends on the
// existing profiles. Files are checked on submit, in a command.
func (s *detailsScreen) setValidators() {
	sc, existing, allow, prefix := s.scenario, s.existing, s.allow, s.prefix
	s.inputs[fieldProfile].Validate = func(v string) error {
		if err := store.ValidateName(v); err != nil {
			return &flows.InputError{Field: "profile", Problem: err.Error(), Hint: "for example wordpress or backup-mailer"}
		}
		if existing[v] && v != allow {
			return &flows.InputError{Field: "profile", Problem: fmt.Sprintf("a profile named %s exists", v), Hint: fmt.Sprintf("choose another name or run %s reauth %s", prefix, v)}
		}
		return nil
	}
	s.inputs[fieldTenant].Validate = func(v string) error { return flows.ValidateTenant(sc, v) }
	s.inputs[fieldClientID].Validate = flows.ValidateClientID
	s.inputs[fieldAccount].Validate = func(v string) error { return flows.ValidateAccount(sc, v) }
	s.inputs[fieldPermissions].Validate = func(v string) error {
		return flows.ValidatePermissionsFor(sc, flows.ParsePermissions(v))
	}
	s.inputs[fieldSecret].Validate = validateSecret(sc)
	s.inputs[fieldOutOfScope].Validate = func(v string) error {
		if strings.TrimSpace(v) == "" {
			return nil
		}
		return validateAddress("out-of-scope", v)
	}
	s.inputs[fieldRBACGroup].Validate = validateGroup
	s.inputs[fieldRBACMailboxes].Validate = func(v string) error {
		for _, a := range flows.ParsePermissions(v) {
			if err := validateAddress("rbac-mailboxes", a); err != nil {
				return err
			}
		}
		return nil
	}
	s.inputs[fieldCertFile].Validate = func(v string) error {
		if strings.TrimSpace(v) == "" {
			return &flows.InputError{Field: "certificate-file", Problem: "is empty", Hint: "give the path of a .pem file with the certificate and its private key, or a .pfx file"}
		}
		return nil
	}
	s.inputs[fieldCertPassword].Validate = nil
	s.inputs[fieldNewCert].Validate = func(v string) error {
		if strings.TrimSpace(v) == "" {
			return &flows.InputError{Field: "new-certificate", Problem: "is empty", Hint: "give a path for the public certificate, such as mailer.pem; the private key goes to the keyring"}
		}
		return nil
	}
	s.inputs[fieldCertDays].Validate = validateCertDays
}

// validateSecret checks a client secret: required for app-only profiles,
// optional (a confidential web app) for delegated ones.
func validateSecret(sc store.Scenario) func(string) error {
	return func(v string) error {
		if v == "" && !sc.Delegated() {
			return &flows.InputError{Field: "client-secret", Problem: "is empty", Hint: "app-only access needs the app's client secret (or choose a certificate)"}
		}
		if strings.TrimSpace(v) != v {
			return &flows.InputError{Field: "client-secret", Problem: "starts or ends with a space", Hint: "copy the secret's Value exactly"}
		}
		return nil
	}
}

// validateAddress checks one mail address, naming field in the error.
func validateAddress(field, v string) error {
	if err := flows.ValidateAccount(store.SendAsAny, v); err != nil {
		ie := *asInputError(err)
		ie.Field = field
		return &ie
	}
	return nil
}

// asInputError returns err's InputError, or one wrapping its text.
func asInputError(err error) *flows.InputError {
	var ie *flows.InputError
	if errors.As(err, &ie) {
		return ie
	}
	return &flows.InputError{Field: "value", Problem: err.Error()}
}

// validateGroup checks a group name for the PowerShell, where it is quoted.
func validateGroup(v string) error {
	if strings.ContainsAny(v, "\"`$'\n") {
		return &flows.InputError{Field: "rbac-group", Problem: "contains a quote, $ or `", Hint: "give the group's name or address as Exchange knows it, such as mailers@contoso.com"}
	}
	return nil
}

// validateCertDays checks the validity of a new certificate.
func validateCertDays(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 || n > 1096 {
		return &flows.InputError{Field: "certificate-days", Problem: fmt.Sprintf("%q is not a number of days from 1 to 1096", v), Hint: "for example 365; Entra accepts certificates valid up to 3 years"}
	}
	return nil
}
