package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// editOptions are the flags of `mailgrant edit`.
type editOptions struct {
	global       *globalOptions
	io           *streams
	profile      string
	permissions  string
	account      string
	from         string
	replyTo      string
	scoping      string
	policyAccess string
	outOfScope   string
	deviceCode   bool
	dryRun       bool
	// set records which flags were given: an empty --from clears it.
	set map[string]bool
}

// editFields are the flags that change a profile.
var editFields = []string{"permissions", "account", "from", "reply-to", "scoping", "policy-access", "out-of-scope"}

// newEditCmd builds `mailgrant edit PROFILE`; runF replaces editRun in tests.
func newEditCmd(s *streams, g *globalOptions, runF func(context.Context, *editOptions) error) *cobra.Command {
	o := &editOptions{global: g, io: s}
	cmd := &cobra.Command{
		Use:   "edit PROFILE",
		Short: "Change a profile's permissions, account, From, Reply-To or Exchange scoping",
		Long: `Change an existing profile. mailgrant first says what the change needs:
nothing (From and Reply-To are saved at once), a check with the new settings,
new admin consent (new application permissions), or a new sign-in (a new
account, new delegated permissions). It then re-authorizes only when needed,
and the working authorization stays stored until the new one is verified: a
change that fails changes nothing. An empty value (--from "") clears From or
Reply-To.`,
		Example: `  mailgrant edit wordpress --from noreply@contoso.com --reply-to help@contoso.com
  mailgrant edit daemon --permissions Mail.Send,Files.Read.All
  mailgrant edit scoped --scoping policy --dry-run`,
		Args: exactArgs(1, "one PROFILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.profile = args[0]
			o.set = map[string]bool{}
			for _, name := range editFields {
				o.set[name] = cmd.Flags().Changed(name)
			}
			if !slices.ContainsFunc(editFields, func(n string) bool { return o.set[n] }) {
				return &usageError{msg: "nothing to change: give --permissions, --account, --from, --reply-to, --scoping, --policy-access or --out-of-scope"}
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return editRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.permissions, "permissions", "", "the required Graph permissions, comma-separated (replaces the list)")
	f.StringVar(&o.account, "account", "", "the account that signs in (delegated) or the mailbox for test sends (app-only)")
	f.StringVar(&o.from, "from", "", "the sender used when a message names none (send and sendmail; the relay sends as the SMTP sender)")
	f.StringVar(&o.replyTo, "reply-to", "", "the Reply-To used when a message has none")
	f.StringVar(&o.scoping, "scoping", "", "rbac: rbac (RBAC for Applications) or policy (ApplicationAccessPolicy)")
	f.StringVar(&o.policyAccess, "policy-access", "", "rbac with policy scoping: RestrictAccess or DenyAccess")
	f.StringVar(&o.outOfScope, "out-of-scope", "", "rbac: a mailbox the app must NOT be able to send as")
	f.BoolVar(&o.deviceCode, "device-code", false, "when a new sign-in is needed, use a device code")
	f.BoolVar(&o.dryRun, "dry-run", false, "say what the change needs, change nothing")
	return cmd
}

// edited applies the flags to a copy of the profile.
func (o *editOptions) edited(p store.Profile) (store.Profile, error) {
	e := p
	e.Permissions = append([]string(nil), p.Permissions...)
	trim := strings.TrimSpace
	if o.set["permissions"] {
		e.Permissions = flows.ParsePermissions(o.permissions)
	}
	if o.set["account"] {
		e.Account = trim(o.account)
	}
	if o.set["from"] {
		e.From = trim(o.from)
	}
	if o.set["reply-to"] {
		e.ReplyTo = trim(o.replyTo)
	}
	if o.set["out-of-scope"] {
		e.OutOfScopeMailbox = trim(o.outOfScope)
	}
	var err error
	if o.set["scoping"] {
		s, err := flows.ParseScoping(o.scoping)
		if err != nil {
			return e, err
		}
		e = flows.ChangeScoping(e, s)
	}
	if o.set["policy-access"] {
		if e.PolicyAccess, err = flows.ParsePolicyAccess(o.policyAccess); err != nil {
			return e, err
		}
	}
	if err := flows.ValidateProfile(e); err != nil {
		return e, err
	}
	return e, nil
}

func editRun(ctx context.Context, o *editOptions) error {
	a, err := newApp(ctx, o.io, *o.global)
	if err != nil {
		return err
	}
	defer a.close()
	p, err := a.loadProfile(o.profile)
	if err != nil {
		return err
	}
	e, err := o.edited(p)
	if err != nil {
		return err
	}
	plan := flows.PlanEdit(p, e)
	w := a.io.err
	if len(plan.Changes) == 0 {
		fmt.Fprintf(w, "Nothing changes: %s already has these settings.\n", p.Name)
		return nil
	}
	fmt.Fprintf(w, "Changes to %s:\n", p.Name)
	for _, c := range plan.Changes {
		fmt.Fprintf(w, "  %s\n", c)
	}
	needs := "Needs: " + plan.Need.String()
	if plan.Why != "" {
		needs += " — " + flows.FillCommands(plan.Why, a.commandPrefix(), p.Name)
	}
	fmt.Fprintln(w, needs+".")
	for _, adv := range plan.Advice {
		fmt.Fprintf(w, "! %s\n", flows.FillCommands(adv, a.commandPrefix(), p.Name))
	}
	if o.dryRun {
		fmt.Fprintln(w, "Dry run: nothing was changed.")
		return nil
	}
	if plan.Need == flows.NeedNothing {
		if _, err := flows.SaveEdited(a.dir, e); err != nil {
			return err
		}
		fmt.Fprintf(a.io.out, "edited %s\n", p.Name)
		return nil
	}
	fmt.Fprintln(w, "The working authorization stays stored until the new one is verified.")
	secrets, err := a.secretsFor(p)
	if err != nil {
		return err
	}
	r := authRequest{profile: e, deviceCode: o.deviceCode, reauth: true}
	if o.set["account"] && !e.Scenario.Delegated() {
		// An app-only profile's account is the mailbox it sends as by
		// default: prove the new one with a test message before saving it.
		r.testSendTo = e.Account
	}
	switch p.Credential {
	case store.CredentialSecret:
		r.clientSecret, err = secrets.Get(p.Name, store.KindClientSecret)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	case store.CredentialCertificate:
		cred, err := flows.LoadAppCredential(secrets, p)
		if err != nil {
			return a.withProfile(err, p.Name)
		}
		r.cert = cred.Cert
	}
	if e.Scenario.Delegated() && plan.Need == flows.NeedCheck {
		return editCheckDelegated(ctx, a, secrets, r)
	}
	if err := authorizePlain(ctx, a, r); err != nil {
		return err
	}
	return nil
}

// editCheckDelegated verifies a delegated profile with fewer permissions by
// a refresh of the stored grant, and keeps the change only if it passes.
func editCheckDelegated(ctx context.Context, a *app, secrets store.Secrets, r authRequest) error {
	w := a.io.err
	tok, err := flows.AccessToken(ctx, a.env, secrets, r.profile)
	if err != nil {
		return a.withProfile(err, r.profile.Name)
	}
	fmt.Fprintln(w, "✓ Token obtained; checking it…")
	st := flows.Verify(ctx, a.env, r.profile, tok, flows.CheckOptions{Progress: progressPrinter(w), Command: a.commandPrefix()})
	saved, err := r.keepChecked(ctx, a.dir, secrets, st, flows.Checked{Token: tok, ClientSecret: r.clientSecret})
	if err != nil {
		return err
	}
	return finish(a, saved, st)
}
