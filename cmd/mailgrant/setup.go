package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/assets"
	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/store/envsecret"
	"github.com/mailgrant/mailgrant/tui"
)

// setupOptions are the flags of `mailgrant setup`.
type setupOptions struct {
	global            *globalOptions
	io                *streams
	profile           string
	scenario          string
	tenant            string
	clientID          string
	account           string
	permissions       string
	credential        string
	certificateFile   string
	newCertificate    string
	force             bool
	certificateDays   int
	secretStdin       bool
	secretExpires     string
	deviceCode        bool
	printRegistration bool
	outOfScope        string
	rbacGroup         string
	rbacMailboxes     string
	nonInteractive    bool
	testSendTo        string
	scoping           string
	policyAccess      string
	// interactive is decided from the flags and whether stdin is a terminal.
	interactive bool
}

// newSetupCmd builds `mailgrant setup`; runF replaces setupRun in tests.
func newSetupCmd(s *streams, g *globalOptions, runF func(context.Context, *setupOptions) error) *cobra.Command {
	o := &setupOptions{global: g, io: s}
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Authorize a new profile (the wizard; flags prefill it)",
		Long: `Authorize a new profile. Flags prefill the wizard's fields and skip the
screens they answer. With --non-interactive, or when standard input is not a
terminal, the same flow runs without screens and prints progress lines; a
missing or invalid field is exit status 2 with the field named.

Scenarios: send-as-user (recommended: delegated, one account), send-as-any
(application permission: the app can send as EVERY mailbox), personal
(Outlook.com), rbac (application access restricted by Exchange Online RBAC).

A client secret is never a flag: type it into the wizard, pipe it with
--client-secret-stdin, or set MAILGRANT_CLIENT_SECRET. A PFX password comes
from MAILGRANT_CERTIFICATE_PASSWORD.`,
		Example: `  mailgrant setup
  mailgrant setup --profile wordpress --tenant contoso.onmicrosoft.com \
      --client-id 1b2c3d4e-0000-0000-0000-000000000000 --account mailer@contoso.com
  mailgrant setup --scenario send-as-any --profile daemon ... --new-certificate daemon.pem
  mailgrant setup --scenario rbac --print-registration
  mailgrant --sandbox setup --non-interactive --scenario rbac`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.interactive = !o.nonInteractive && !o.printRegistration && isTerminal(s.in)
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return setupRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.profile, "profile", "", "profile name, used later as in: mailgrant token NAME")
	f.StringVar(&o.scenario, "scenario", "", "send-as-user (default), send-as-any, personal or rbac")
	f.StringVar(&o.tenant, "tenant", "", "Directory (tenant) ID or domain (consumers for personal)")
	f.StringVar(&o.clientID, "client-id", "", "Application (client) ID of the app registration")
	f.StringVar(&o.account, "account", "", "account that signs in (delegated) or mailbox for test sends (app-only)")
	f.StringVar(&o.permissions, "permissions", "", "more Graph permissions, comma-separated, added to the scenario's (Mail.Send, and User.Read for delegated ones)")
	f.StringVar(&o.credential, "credential", "", "none, secret or certificate (default: none for delegated, secret for app-only)")
	f.StringVar(&o.certificateFile, "certificate-file", "", "an existing certificate with its private key (.pem or .pfx)")
	f.StringVar(&o.newCertificate, "new-certificate", "", "generate a self-signed certificate; write its public part to this file for upload")
	f.BoolVar(&o.force, "force", false, "replace an existing --new-certificate file")
	f.IntVar(&o.certificateDays, "certificate-days", 365, "validity of a new certificate, in days")
	f.BoolVar(&o.secretStdin, "client-secret-stdin", false, "read the app's client secret from standard input")
	f.StringVar(&o.secretExpires, "secret-expires", "", "the client secret's expiry date (YYYY-MM-DD, as the portal shows it), so status can warn before it lapses")
	f.BoolVar(&o.deviceCode, "device-code", false, "sign in with a device code (over SSH, or with no browser here)")
	f.BoolVar(&o.printRegistration, "print-registration", false, "print what to configure in Entra for this scenario, and exit")
	f.StringVar(&o.outOfScope, "out-of-scope", "", "rbac: a mailbox the app must NOT be able to send as (status checks it is refused)")
	f.StringVar(&o.rbacGroup, "rbac-group", "", "rbac: the mail-enabled group whose members the app may send as")
	f.StringVar(&o.rbacMailboxes, "rbac-mailboxes", "", "rbac: comma-separated mailboxes the app may send as (instead of a group)")
	f.BoolVar(&o.nonInteractive, "non-interactive", false, "no screens: plain progress lines (also when stdin is not a terminal)")
	f.StringVar(&o.testSendTo, "test-send-to", "", "after authorizing, send a real test message to this address")
	f.StringVar(&o.scoping, "scoping", "", "rbac: how Exchange restricts the app: rbac (RBAC for Applications, default) or policy (ApplicationAccessPolicy, keeps tenant-wide Mail.Send)")
	f.StringVar(&o.policyAccess, "policy-access", "", "rbac with --scoping policy: RestrictAccess (only the group, default) or DenyAccess (all but the group)")
	return cmd
}

// buildProfile builds the profile the flags describe, filling sandbox
// defaults for what was not given.
func (o *setupOptions) buildProfile(a *app) (store.Profile, error) {
	sc := store.Scenario(o.scenario)
	if sc == "" {
		sc = store.SendAsUser
	}
	if !sc.Valid() {
		return store.Profile{}, &flows.InputError{Field: "scenario", Problem: fmt.Sprintf("unknown scenario %q", o.scenario), Hint: "use send-as-user, send-as-any, personal or rbac"}
	}
	trim := strings.TrimSpace
	var err error
	p := store.Profile{Name: trim(o.profile), Scenario: sc, Cloud: a.env.Cloud.Name, Tenant: trim(o.tenant), ClientID: trim(o.clientID), Account: trim(o.account), OutOfScopeMailbox: trim(o.outOfScope), RBACGroup: trim(o.rbacGroup)}
	if o.rbacMailboxes != "" {
		p.RBACMailboxes = flows.ParsePermissions(o.rbacMailboxes)
	}
	if sc == store.Personal && p.Tenant == "" {
		p.Tenant = "consumers"
	}
	if o.permissions != "" {
		p.Permissions = flows.AddPermissions(sc, flows.ParsePermissions(o.permissions))
	} else {
		p.Permissions = flows.DefaultPermissions(sc)
	}
	switch o.credential {
	case "":
		p.Credential = store.CredentialNone
		if !sc.Delegated() {
			p.Credential = store.CredentialSecret
		}
		if o.certificateFile != "" || o.newCertificate != "" {
			p.Credential = store.CredentialCertificate
		}
	case "none", "secret", "certificate":
		p.Credential = store.Credential(o.credential)
	default:
		return p, &flows.InputError{Field: "credential", Problem: fmt.Sprintf("unknown credential %q", o.credential), Hint: "use none, secret or certificate"}
	}
	if a.opts.sandbox {
		pre := sandboxPrefill(sc, p.Permissions...)
		p.Tenant = firstNonEmpty(p.Tenant, pre.Tenant)
		p.ClientID = firstNonEmpty(p.ClientID, pre.ClientID)
		p.Account = firstNonEmpty(p.Account, pre.Account)
		p.Name = firstNonEmpty(p.Name, pre.Profile)
		if sc == store.RBAC {
			p.OutOfScopeMailbox = firstNonEmpty(p.OutOfScopeMailbox, pre.OutOfScope)
			if p.RBACGroup == "" && len(p.RBACMailboxes) == 0 {
				p.RBACMailboxes = sandbox.InScopeMailboxes
			}
		}
	}
	if o.scoping != "" {
		if p.Scoping, err = flows.ParseScoping(o.scoping); err != nil {
			return p, err
		}
	}
	if o.policyAccess != "" {
		if p.PolicyAccess, err = flows.ParsePolicyAccess(o.policyAccess); err != nil {
			return p, err
		}
	}
	if o.secretExpires != "" {
		exp, err := flows.ParseSecretExpiry(o.secretExpires)
		if err != nil {
			return p, err
		}
		if p.Credential != store.CredentialSecret && !(p.Credential == store.CredentialNone && p.Scenario.Delegated()) {
			return p, &flows.InputError{Field: "secret-expires", Problem: "only applies to a client secret", Hint: "a certificate's expiry is read from the certificate"}
		}
		p.CredentialExpiresAt = exp
	}
	return p, o.checkCredentialFlags(p)
}

// checkCredentialFlags refuses credential flags that do not fit the scenario.
func (o *setupOptions) checkCredentialFlags(p store.Profile) error {
	switch {
	case o.certificateFile != "" && o.newCertificate != "":
		return &flows.InputError{Field: "certificate-file", Problem: "--certificate-file and --new-certificate exclude each other", Hint: "give one of them"}
	case p.Credential == store.CredentialCertificate && p.Scenario.Delegated():
		return &flows.InputError{Field: "credential", Problem: "certificates are for app-only scenarios here", Hint: "delegated profiles use no credential or a client secret"}
	case p.Credential == store.CredentialNone && !p.Scenario.Delegated():
		return &flows.InputError{Field: "credential", Problem: "app-only access needs a client secret or a certificate", Hint: "use --credential secret or certificate"}
	case p.Credential == store.CredentialCertificate && o.certificateFile == "" && o.newCertificate == "":
		return &flows.InputError{Field: "certificate-file", Problem: "no certificate given", Hint: "give --certificate-file FILE (.pem or .pfx) or --new-certificate OUT"}
	case o.deviceCode && !p.Scenario.Delegated():
		return &flows.InputError{Field: "device-code", Problem: "device code sign-in is for delegated scenarios", Hint: "app-only scenarios sign in with the app's credential"}
	case o.certificateDays < 1 || o.certificateDays > 1096:
		return &flows.InputError{Field: "certificate-days", Problem: fmt.Sprintf("%d is out of range", o.certificateDays), Hint: "use 1 to 1096 days"}
	}
	return nil
}

// sandboxPrefill is what the sandbox offers for a scenario: its tenant, the
// app registered for it (for send-as-any with Mail.ReadWrite among perms,
// the app that holds it, so that large messages work), and its users.
func sandboxPrefill(sc store.Scenario, perms ...string) tui.Prefill {
	pre := tui.Prefill{
		Profile:  "sandbox-" + string(sc),
		Scenario: sc,
		Tenant:   sandbox.TenantDomain,
		ClientID: sandbox.PublicApp.ClientID,
		Note:     "Sandbox: the tenant, app and users are simulated; pick any listed user.",
	}
	tenant := sandbox.TenantDomain
	switch sc {
	case store.SendAsUser:
		pre.Profile = "sandbox-mailer"
	case store.Personal:
		pre.Tenant, tenant = "consumers", "consumers"
	case store.SendAsAny:
		app := sandbox.DaemonApp
		if !flows.LacksAny(perms, []string{"Mail.ReadWrite"}) {
			app = sandbox.LargeMailApp
		}
		pre.ClientID, pre.ClientSecret = app.ClientID, app.Secret
	case store.RBAC:
		pre.ClientID, pre.ClientSecret = sandbox.RBACApp.ClientID, sandbox.RBACApp.Secret
		pre.OutOfScope = sandbox.OutOfScopeMailboxes[0]
	}
	for _, u := range sandbox.UsersFor(tenant) {
		if u.Mailbox && !u.Shared {
			pre.Accounts = append(pre.Accounts, u.UPN)
		}
	}
	if sc == store.RBAC {
		pre.Accounts = sandbox.InScopeMailboxes
	}
	if len(pre.Accounts) > 0 {
		pre.Account = pre.Accounts[0]
	}
	return pre
}

// sandboxSecret is the client secret of the sandbox app clientID, or "".
func sandboxSecret(clientID string) string {
	for _, a := range sandbox.Apps {
		if strings.EqualFold(a.ClientID, clientID) {
			return a.Secret
		}
	}
	return ""
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// readClientSecret takes the secret from stdin (--client-secret-stdin) or
// MAILGRANT_CLIENT_SECRET; never from a flag.
func readClientSecret(in io.Reader, fromStdin bool) (string, error) {
	if fromStdin && isTerminal(in) {
		return "", &flows.InputError{Field: "client-secret-stdin", Problem: "standard input is a terminal, where the secret would show as you type", Hint: "pipe it (printf %s \"$SECRET\" | mailgrant …), or leave the flag out and type it into the wizard's masked field"}
	}
	if fromStdin {
		line, err := bufio.NewReader(io.LimitReader(in, 64<<10)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the client secret from stdin: %w", err)
		}
		secret := strings.TrimRight(line, "\r\n")
		if secret == "" {
			return "", &flows.InputError{Field: "client-secret", Problem: "standard input was empty", Hint: "pipe the secret's Value, e.g. printf %s \"$SECRET\" | mailgrant setup --client-secret-stdin …"}
		}
		return secret, nil
	}
	return envsecret.Get(envsecret.ClientSecret), nil
}

func setupRun(ctx context.Context, o *setupOptions) error {
	a, err := newApp(ctx, o.io, *o.global)
	if err != nil {
		return err
	}
	defer a.close()
	p, err := o.buildProfile(a)
	if err != nil {
		return err
	}
	if o.printRegistration {
		fmt.Fprint(o.io.out, renderRegistration(a, p))
		return nil
	}
	secret, err := readClientSecret(o.io.in, o.secretStdin)
	if err != nil {
		return err
	}
	if secret != "" && o.credential == "" && p.Credential == store.CredentialNone {
		p.Credential = store.CredentialSecret // a confidential web app
	}
	if secret == "" && a.opts.sandbox && p.Credential == store.CredentialSecret {
		secret = sandboxSecret(p.ClientID)
	}
	if o.interactive {
		pre := tui.Prefill{Profile: o.profile, Scenario: store.Scenario(o.scenario), Tenant: o.tenant, ClientID: o.clientID, Account: o.account, Permissions: p.Permissions, ClientSecret: secret, OutOfScope: o.outOfScope, DeviceCode: o.deviceCode}
		if a.opts.sandbox {
			sp := sandboxPrefill(p.Scenario)
			pre.Accounts, pre.Note = sp.Accounts, sp.Note
			pre.Tenant, pre.ClientID, pre.Account = p.Tenant, p.ClientID, p.Account
			pre.OutOfScope = firstNonEmpty(pre.OutOfScope, sp.OutOfScope)
			pre.Profile = p.Name
		}
		return runWizard(ctx, a, tui.StartSetup, pre)
	}
	if err := flows.ValidateProfile(p); err != nil {
		return err
	}
	ps, err := store.LoadProfiles(a.dir)
	if err != nil {
		return err
	}
	if _, exists := ps.Get(p.Name); exists {
		return &flows.InputError{Field: "profile", Problem: fmt.Sprintf("a profile named %q exists", p.Name), Hint: fmt.Sprintf("choose another --profile, or re-authorize it: %s reauth %s", a.commandPrefix(), p.Name)}
	}
	r := authRequest{profile: p, deviceCode: o.deviceCode, testSendTo: o.testSendTo}
	switch p.Credential {
	case store.CredentialSecret:
		if secret == "" {
			return &flows.InputError{Field: "client-secret", Problem: "no client secret given", Hint: "pipe it with --client-secret-stdin or set MAILGRANT_CLIENT_SECRET (never a flag)"}
		}
		r.clientSecret = secret
	case store.CredentialCertificate:
		if r.cert, r.certIsNew, err = o.certificate(a, p); err != nil {
			return err
		}
		r.certPath, r.force = o.newCertificate, o.force
	}
	return authorizePlain(ctx, a, r)
}

// certificate loads --certificate-file or generates --new-certificate. The
// new certificate's file is written only once its key is stored
// (authorizeAppPlain); a path that exists is refused here, before any work,
// unless --force.
func (o *setupOptions) certificate(a *app, p store.Profile) (*flows.Certificate, bool, error) {
	if o.certificateFile != "" {
		c, err := flows.LoadCertificateFile(o.certificateFile, envsecret.Get(envsecret.CertificatePassword), a.env.Now())
		return c, false, err
	}
	if err := checkNewFile("new-certificate", o.newCertificate, o.force); err != nil {
		return nil, false, err
	}
	c, err := flows.GenerateCertificate("mailgrant "+p.Name, time.Duration(o.certificateDays)*24*time.Hour, 2048, a.env.Now())
	if err != nil {
		return nil, false, err
	}
	return c, true, nil
}

// renderRegistration is the app-registration checklist for a profile.
func renderRegistration(a *app, p store.Profile) string {
	return assets.RenderRegistration(flows.Registration(a.env, p))
}
