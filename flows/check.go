package flows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mailgrant/mailgrant/store"
)

// StepResult is the outcome of one step of a status check.
type StepResult string

// Step results.
const (
	StepOK      StepResult = "ok"
	StepFailed  StepResult = "failed"
	StepWarning StepResult = "warning"
	StepSkipped StepResult = "skipped"
)

// Symbol marks a step result without relying on colour.
func (r StepResult) Symbol() string {
	switch r {
	case StepOK:
		return "✓"
	case StepFailed:
		return "✗"
	case StepWarning:
		return "!"
	default:
		return "-"
	}
}

// Step names, in the order a check runs them.
const (
	StepToken       = "token"
	StepAccount     = "account"
	StepPermissions = "permissions"
	StepSend        = "send"
	StepScope       = "scope"
	StepCredential  = "credential"
)

// StepTitle is the human title of a step.
func StepTitle(name string) string {
	switch name {
	case StepToken:
		return "Token obtained"
	case StepAccount:
		return "Right account"
	case StepPermissions:
		return "Required permissions"
	case StepSend:
		return "Test message"
	case StepScope:
		return "Out-of-scope mailbox refused"
	case StepCredential:
		return "Credential expiry"
	}
	return name
}

// Step is one layer of a status check and what it found.
type Step struct {
	// Name is one of the Step… constants.
	Name string `json:"name"`
	// Result is ok, failed, warning or skipped.
	Result StepResult `json:"result"`
	// Detail says what was found, in one line.
	Detail string `json:"detail,omitempty"`
	// Err explains a failure.
	Err *Error `json:"error,omitempty"`
}

// Status is the outcome of a check: cmd prints it as text or JSON, the TUI
// shows it as a screen.
type Status struct {
	Name     string         `json:"name"`
	Scenario store.Scenario `json:"scenario"`
	Cloud    string         `json:"cloud"`
	Tenant   string         `json:"tenant"`
	ClientID string         `json:"client_id"`
	Account  string         `json:"account"`
	Store    store.Backend  `json:"store"` // where the secrets are: keyring or file
	// Queued and Failed count the profile's messages in the relay's spool:
	// waiting to be sent, and given up on (mailgrant queue list).
	Queued         int        `json:"queued"`
	Failed         int        `json:"failed"`
	State          State      `json:"state"`
	SignedInAs     string     `json:"signed_in_as,omitempty"`
	Required       []string   `json:"required"`
	Granted        []string   `json:"granted"`
	Missing        []string   `json:"missing"`
	Excess         []string   `json:"excess"`
	TokenExpiresAt *time.Time `json:"token_expires_at"`
	// CredentialExpiresAt is when the client secret or certificate expires,
	// when known.
	CredentialExpiresAt *time.Time `json:"credential_expires_at,omitempty"`
	// CertificateThumbprint is the SHA-1 thumbprint (hex) of the profile's
	// certificate: the key Entra must hold (AADSTS700027 names it).
	CertificateThumbprint string    `json:"certificate_thumbprint,omitempty"`
	CheckedAt             time.Time `json:"checked_at"`
	Steps                 []Step    `json:"steps"`
	Error                 *Error    `json:"error,omitempty"`
	// Rotated is true when the check stored a newer refresh token.
	Rotated bool `json:"-"`
}

// CheckOptions configure a status check.
type CheckOptions struct {
	// TestSendTo, when set, sends a real test message to this address.
	TestSendTo string
	// Progress, when set, is called as each step finishes.
	Progress func(Step)
	// Lock, when set, serializes the refresh with other processes.
	Lock Locker
	// Command is how the admin runs mailgrant, with the flags in force
	// ("mailgrant --sandbox --config-dir DIR"), for the commands hints
	// name; empty means "mailgrant".
	Command string
}

// newStatus starts a Status for a profile.
func newStatus(env *Env, p store.Profile) *Status {
	cloud := p.Cloud
	if cloud == "" {
		cloud = "global"
	}
	return &Status{
		Name: p.Name, Scenario: p.Scenario, Cloud: cloud, Tenant: p.Tenant, ClientID: p.ClientID,
		Account: p.Account, Store: p.SecretsStore(), Required: nonNil(p.Permissions), Granted: []string{}, Missing: []string{}, Excess: []string{},
		CheckedAt: env.Now().UTC(), Steps: []Step{}, CredentialExpiresAt: p.CredentialExpiresAt,
		CertificateThumbprint: p.CertificateThumbprint,
	}
}

// CredentialWarning is how long before a client secret or certificate
// expires that a check starts warning.
const CredentialWarning = 30 * 24 * time.Hour

// credentialStep warns when the credential expires soon.
func (s *Status) credentialStep(env *Env, p store.Profile, o CheckOptions) {
	if p.CredentialExpiresAt == nil {
		return
	}
	left := p.CredentialExpiresAt.Sub(env.Now())
	if left > CredentialWarning {
		return
	}
	what := string(p.Credential)
	if p.CertificateThumbprint != "" {
		what += " " + p.CertificateThumbprint
	}
	s.add(o, Step{Name: StepCredential, Result: StepWarning, Detail: fmt.Sprintf(
		"the %s expires on %s (in %d days): replace it without downtime with mailgrant rotate %s",
		what, p.CredentialExpiresAt.Format(time.DateOnly), int(left.Hours()/24), p.Name)})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// add records a step, and on failure the state and error it implies.
func (s *Status) add(o CheckOptions, st Step) {
	s.Steps = append(s.Steps, st)
	if st.Result == StepFailed && s.Error == nil {
		s.Error = st.Err
		s.State = st.Err.State
	}
	if o.Progress != nil {
		o.Progress(st)
	}
}

// fail ends a check before any step could run (no secret, no token).
func (s *Status) fail(o CheckOptions, step string, err error) *Status {
	fe := AsError(err)
	s.add(o, Step{Name: step, Result: StepFailed, Detail: fe.Message, Err: fe})
	return s
}

// Verify runs the layered check on a token just obtained: right account,
// required permissions present (excess named), optional test send.
func Verify(ctx context.Context, env *Env, p store.Profile, tok *Token, o CheckOptions) *Status {
	env = env.ForProfile(p)
	s := newStatus(env, p)
	exp := tok.ExpiresAt.UTC()
	s.TokenExpiresAt = &exp
	s.add(o, Step{Name: StepToken, Result: StepOK, Detail: "access token valid until " + exp.Local().Format("15:04 MST")})
	if p.Scenario.Delegated() {
		if !s.checkAccount(ctx, env, p, tok, o) {
			return s.named(p.Name, o.Command)
		}
	}
	switch {
	case p.Scenario == store.RBAC:
		s.checkRBAC(ctx, env, p, tok, o)
	case p.Scenario.Delegated():
		s.comparePermissions(o, tok.Scopes)
	default:
		s.comparePermissions(o, tok.Roles)
	}
	if p.Scenario != store.RBAC {
		switch {
		case s.State == "" && o.TestSendTo != "":
			s.testSend(ctx, env, p, tok, o.TestSendTo, o)
		case o.TestSendTo == "":
			s.add(o, Step{Name: StepSend, Result: StepSkipped, Detail: "no test message requested"})
		}
	}
	if s.State == "" {
		s.State = StateAuthorized
	}
	s.credentialStep(env, p, o)
	return s.named(p.Name, o.Command)
}

// checkRBAC checks an rbac profile: the token must not carry tenant-wide
// Mail.Send (Exchange RBAC grants it per mailbox, and an Entra grant would
// make the restriction useless, reference §11); a send as the in-scope
// account must be accepted; a send as the out-of-scope mailbox, when one is
// given, must be refused. A profile scoped by an access policy is checked
// by checkPolicy instead. A new profile is checked the same way, by the
// setup command and the wizard alike: the test send decides between
// authorized (the role already applies) and pending (Exchange refuses it
// until the role is assigned and applied), never an assumption.
func (s *Status) checkRBAC(ctx context.Context, env *Env, p store.Profile, tok *Token, o CheckOptions) {
	if p.UsesPolicy() {
		s.checkPolicy(ctx, env, p, tok, o)
		return
	}
	var required []string
	for _, r := range s.Required {
		if !strings.EqualFold(r, "Mail.Send") {
			required = append(required, r)
		}
	}
	s.Required = nonNil(required)
	s.comparePermissions(o, tok.Roles)
	if slices.ContainsFunc(tok.Roles, func(r string) bool { return strings.EqualFold(r, "Mail.Send") }) {
		s.Steps[len(s.Steps)-1] = Step{Name: StepPermissions, Result: StepFailed, Detail: "the app holds tenant-wide Mail.Send", Err: &Error{
			Code: CodeRBACUnrestricted, State: StateError,
			Message: "the app also holds the tenant-wide application permission Mail.Send in Entra, so the Exchange RBAC restriction has no effect: it can send as every mailbox",
			Hint:    "remove the grant: Entra admin center > Enterprise applications > the app > Permissions > Mail.Send (Application) > Revoke; or remove Mail.Send from API permissions and grant consent again; if an ApplicationAccessPolicy narrows it instead, record that: mailgrant edit PROFILE --scoping policy",
		}}
		if s.Error == nil {
			s.Error, s.State = s.Steps[len(s.Steps)-1].Err, StateError
		}
		return
	}
	if s.State != "" {
		return
	}
	to := o.TestSendTo
	if to == "" {
		to = p.Account
	}
	if !s.testSend(ctx, env, p, tok, to, o) {
		// Exchange refuses the in-scope mailbox until the role assignment
		// has applied: that is waiting, not a failure of the credential.
		if last := s.Steps[len(s.Steps)-1]; last.Err != nil && last.Err.HTTPStatus == 403 {
			pe := pendingError(p)
			pe.Message = fmt.Sprintf("Exchange refused a send as %s: the role is not assigned or not applied yet", p.Account)
			pe.Code, pe.HTTPStatus = last.Err.Code, 403
			s.Steps[len(s.Steps)-1].Err = pe
			s.Error, s.State = pe, StatePending
		}
		return
	}
	if p.OutOfScopeMailbox == "" {
		return
	}
	s.probeOutOfScope(ctx, env, p, tok, o)
}

// pendingError says an rbac profile waits for its Exchange role, and what
// to do: run the PowerShell, wait, check again. PROFILE is replaced by the
// front end (the command with the flags in force, or a key).
func pendingError(p store.Profile) *Error {
	return &Error{
		Code: CodePending, State: StatePending,
		Message: "waiting for the Exchange role: an Exchange administrator runs the PowerShell (mailgrant rbac-script PROFILE), and Exchange takes 30 minutes to 2 hours to apply it",
		Hint:    "check again later: mailgrant status PROFILE",
	}
}

// checkAccount compares GET /me with the profile's account, and for personal
// profiles the kind of account.
func (s *Status) checkAccount(ctx context.Context, env *Env, p store.Profile, tok *Token, o CheckOptions) bool {
	me, err := env.GetMe(ctx, tok.AccessToken)
	if err != nil {
		fe := AsError(err)
		s.add(o, Step{Name: StepAccount, Result: StepFailed, Detail: fe.Message, Err: fe})
		return false
	}
	signedIn := me.UserPrincipalName
	if signedIn == "" {
		signedIn = me.Mail
	}
	s.SignedInAs = signedIn
	personal := tok.Identity.TenantID == ConsumersTenantID
	switch {
	case p.Scenario == store.Personal && tok.Identity.TenantID != "" && !personal:
		s.add(o, Step{Name: StepAccount, Result: StepFailed, Detail: "signed in with a work or school account", Err: &Error{
			Code: CodeWrongAccountType, State: StateError,
			Message: fmt.Sprintf("%s is a work or school account, not a personal Microsoft account", signedIn),
			Hint:    "sign in with an Outlook.com / Hotmail account, or choose the send-as-user scenario for work accounts",
		}})
		return false
	case p.Scenario != store.Personal && personal:
		s.add(o, Step{Name: StepAccount, Result: StepFailed, Detail: "signed in with a personal account", Err: &Error{
			Code: CodeWrongAccountType, State: StateError,
			Message: fmt.Sprintf("%s is a personal Microsoft account, not an account of tenant %s", signedIn, p.Tenant),
			Hint:    "sign in with your work account, or choose the personal scenario for Outlook.com",
		}})
		return false
	case !strings.EqualFold(signedIn, p.Account) && !strings.EqualFold(me.Mail, p.Account):
		s.add(o, Step{Name: StepAccount, Result: StepFailed, Detail: "signed in as " + signedIn, Err: &Error{
			Code: CodeWrongAccount, State: StateError,
			Message: fmt.Sprintf("signed in as %s, not %s", signedIn, p.Account),
			Hint:    fmt.Sprintf("sign in again as %s (a private browser window avoids the remembered account), or change the profile's account", p.Account),
		}})
		return false
	}
	s.add(o, Step{Name: StepAccount, Result: StepOK, Detail: "signed in as " + signedIn})
	return true
}

// LacksAny reports whether some required permission is not among those
// granted (names compare case-insensitively, as Entra's do).
func LacksAny(granted, required []string) bool {
	for _, r := range required {
		if !slices.ContainsFunc(granted, func(g string) bool { return strings.EqualFold(g, r) }) {
			return true
		}
	}
	return false
}

// comparePermissions fills Granted, Missing and Excess.
func (s *Status) comparePermissions(o CheckOptions, granted []string) {
	s.Granted = nonNil(granted)
	has := func(list []string, p string) bool {
		return slices.ContainsFunc(list, func(g string) bool { return strings.EqualFold(g, p) })
	}
	for _, r := range s.Required {
		if !has(granted, r) {
			s.Missing = append(s.Missing, r)
		}
	}
	for _, g := range granted {
		if !has(s.Required, g) {
			s.Excess = append(s.Excess, g)
		}
	}
	kind := "delegated"
	if !s.Scenario.Delegated() {
		kind = "application"
	}
	switch {
	case len(s.Missing) > 0:
		hint := "sign in again and accept every permission, or have an admin grant consent for the app"
		if !s.Scenario.Delegated() {
			hint = "add the application permission under API permissions and have an admin grant consent"
		}
		s.add(o, Step{Name: StepPermissions, Result: StepFailed, Detail: "missing " + strings.Join(s.Missing, ", "), Err: &Error{
			Code: CodeConsentMissing, State: StateConsentMissing,
			Message: fmt.Sprintf("the token lacks the %s permission %s", kind, strings.Join(s.Missing, ", ")),
			Hint:    hint,
		}})
	case len(s.Excess) > 0:
		s.add(o, Step{Name: StepPermissions, Result: StepWarning, Detail: "all present; also granted beyond need: " + strings.Join(s.Excess, ", ")})
	case len(s.Required) == 0:
		s.add(o, Step{Name: StepPermissions, Result: StepOK, Detail: "none required in the token, none granted beyond need"})
	default:
		s.add(o, Step{Name: StepPermissions, Result: StepOK, Detail: "all present: " + strings.Join(s.Required, ", ")})
	}
}

// testSend sends a real message to the address and reports whether Graph
// accepted it.
func (s *Status) testSend(ctx context.Context, env *Env, p store.Profile, tok *Token, to string, o CheckOptions) bool {
	m := Message{
		To:      []string{to},
		Subject: "mailgrant test message",
		Body:    fmt.Sprintf("This message was sent by mailgrant to check the profile %q. No action is needed.", p.Name),
	}
	if !p.Scenario.Delegated() {
		m.From = p.Account
	}
	if err := env.SendMail(ctx, tok.AccessToken, !p.Scenario.Delegated(), m); err != nil {
		fe := AsError(err)
		s.add(o, Step{Name: StepSend, Result: StepFailed, Detail: fe.Message, Err: fe})
		return false
	}
	from := ""
	if m.From != "" {
		from = " as " + m.From
	}
	s.add(o, Step{Name: StepSend, Result: StepOK, Detail: "Graph accepted a message" + from + " to " + to + " (202; delivery follows)"})
	return true
}

// Secrets is the slice of store.Secrets that flows uses.
type Secrets interface {
	Get(profile string, kind store.Kind) (string, error)
	Set(profile string, kind store.Kind, value string) error
	Delete(profile string, kind store.Kind) error
}

// AccessToken obtains a fresh access token for a stored profile. Delegated:
// it reads the refresh token, redeems it, and stores the rotated one before
// returning. App-only: a client-credentials grant with the kept credential.
func AccessToken(ctx context.Context, env *Env, secrets Secrets, p store.Profile) (*Token, error) {
	env = env.ForProfile(p)
	if !p.Scenario.Delegated() {
		cred, err := LoadAppCredential(secrets, p)
		if err != nil {
			return nil, err
		}
		return AppToken(ctx, env, p, cred)
	}
	rt, err := secrets.Get(p.Name, store.KindRefreshToken)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Code: CodeNoSecret, State: StateUnauthorized,
			Message: fmt.Sprintf("no refresh token for %q in its store (%s)", p.Name, p.SecretsStore()),
			Hint:    "authorize it: mailgrant reauth PROFILE"}
	}
	if err != nil {
		return nil, &Error{Code: CodeKeyring, State: StateError, Message: "cannot read the stored secret: " + err.Error(), Hint: keyringHint(err), Err: err}
	}
	secret := ""
	if p.Credential == store.CredentialSecret {
		secret, err = secrets.Get(p.Name, store.KindClientSecret)
		if err != nil {
			return nil, &Error{Code: CodeNoSecret, State: StateUnauthorized, Message: "no client secret in the profile's store (" + string(p.SecretsStore()) + ")", Hint: "authorize it again: mailgrant reauth PROFILE", Err: err}
		}
	}
	return Refresh(ctx, env, p, rt, secret, func(rotated string) error {
		return secrets.Set(p.Name, store.KindRefreshToken, rotated)
	})
}

// Check runs a full status check on a stored profile. It changes nothing
// stored except a newer refresh token, which it stores before anything else.
func Check(ctx context.Context, env *Env, secrets Secrets, p store.Profile, o CheckOptions) *Status {
	env = env.ForProfile(p)
	tok, err := GetToken(ctx, env, secrets, p, TokenOptions{Lock: o.Lock})
	if err != nil {
		return newStatus(env, p).fail(o, StepToken, withThumbprint(err, p)).named(p.Name, o.Command)
	}
	s := Verify(ctx, env, p, tok, o)
	s.Rotated = tok.Rotated
	return s
}

// withThumbprint names the profile's certificate in a signature-validation
// failure (AADSTS700027), so the admin can compare it with the thumbprints
// listed under Certificates & secrets.
func withThumbprint(err error, p store.Profile) error {
	fe := AsError(err)
	if p.CertificateThumbprint == "" || fe.Code != CodeCertificateRejected {
		return err
	}
	c := *fe
	c.Hint = fmt.Sprintf("mailgrant signs with the certificate whose thumbprint is %s: it must be listed under the app registration's Certificates & secrets (upload it, or rotate to a new one with mailgrant rotate PROFILE)", p.CertificateThumbprint)
	return &c
}

// named puts the profile's name and the command with the flags in force
// where hints say "mailgrant VERB PROFILE", so a hint is a command the
// admin can run as it stands.
func (s *Status) named(name, command string) *Status {
	if command == "" {
		command = "mailgrant"
	}
	fill := func(e *Error) *Error {
		if e == nil {
			return nil
		}
		c := *e
		c.Hint = FillCommands(c.Hint, command, name)
		c.Message = FillCommands(c.Message, command, name)
		return &c
	}
	s.Error = fill(s.Error)
	for i := range s.Steps {
		s.Steps[i].Err = fill(s.Steps[i].Err)
	}
	return s
}

// Record writes a check's outcome into the profile (last checked, state,
// refresh-token rotation time).
func Record(p *store.Profile, s *Status) {
	at := s.CheckedAt
	p.LastCheckedAt = &at
	p.LastState = string(s.State)
	if s.Rotated {
		p.RefreshRotatedAt = &at
	}
}
