package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/tui"
)

// reauthOptions are the flags of `mailgrant reauth`.
type reauthOptions struct {
	global         *globalOptions
	io             *streams
	profile        string
	secretStdin    bool
	secretExpires  string
	deviceCode     bool
	nonInteractive bool
	interactive    bool
}

// newReauthCmd builds `mailgrant reauth PROFILE`; runF replaces reauthRun in tests.
func newReauthCmd(s *streams, g *globalOptions, runF func(context.Context, *reauthOptions) error) *cobra.Command {
	o := &reauthOptions{global: g, io: s}
	cmd := &cobra.Command{
		Use:   "reauth PROFILE",
		Short: "Re-authorize an existing profile",
		Long: `Sign in again for an existing profile, for example after its refresh token
expired or was revoked. The working authorization stays stored until the new
one has succeeded, been verified and been stored: a failed or cancelled
re-authorization changes nothing.`,
		Example: `  mailgrant reauth wordpress
  mailgrant reauth wordpress --non-interactive
  printf %s "$NEW_SECRET" | mailgrant reauth daemon --client-secret-stdin --secret-expires 2027-11-30`,
		Args: exactArgs(1, "one PROFILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.profile = args[0]
			o.interactive = !o.nonInteractive && isTerminal(s.in)
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return reauthRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.secretStdin, "client-secret-stdin", false, "read a new client secret from standard input")
	cmd.Flags().StringVar(&o.secretExpires, "secret-expires", "", "the new client secret's expiry date (YYYY-MM-DD, as the portal shows it); without it a new secret's expiry is unknown")
	cmd.Flags().BoolVar(&o.deviceCode, "device-code", false, "sign in with a device code (delegated profiles)")
	cmd.Flags().BoolVar(&o.nonInteractive, "non-interactive", false, "no screens: plain progress lines (also when stdin is not a terminal)")
	return cmd
}

func reauthRun(ctx context.Context, o *reauthOptions) error {
	a, err := newApp(ctx, o.io, *o.global)
	if err != nil {
		return err
	}
	defer a.close()
	p, err := a.loadProfile(o.profile)
	if err != nil {
		return err
	}
	given, err := readClientSecret(o.io.in, o.secretStdin)
	if err != nil {
		return err
	}
	if given != "" && p.Credential == store.CredentialCertificate {
		// reauth signs in with the certificate; the secret would be dropped.
		return &flows.InputError{
			Field:   "client-secret",
			Problem: p.Name + " signs in with a certificate, and reauth does not switch it to a client secret",
			Hint:    fmt.Sprintf("to switch it, run: %s rotate %s --client-secret-stdin --secret-expires YYYY-MM-DD; to re-authorize it with its certificate, give no secret (and unset MAILGRANT_CLIENT_SECRET)", a.commandPrefix(), p.Name),
		}
	}
	expires, err := flows.ParseSecretExpiry(o.secretExpires, a.env.Now())
	if err != nil {
		return err
	}
	secrets, err := a.secretsFor(p)
	if err != nil {
		return err
	}
	var stored string
	if p.Credential == store.CredentialSecret {
		stored, err = secrets.Get(p.Name, store.KindClientSecret)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	secret := cmp.Or(given, stored)
	// A secret given anew replaces the stored one: its expiry is the date
	// given with it, or unknown, never the old secret's (as rotate does).
	p, newSecret := flows.NewSecret(secrets, p, given, expires)
	if !newSecret && expires != nil {
		return &flows.InputError{Field: "secret-expires", Problem: "only applies to a new client secret", Hint: "give the new secret with --client-secret-stdin or MAILGRANT_CLIENT_SECRET, or leave --secret-expires out"}
	}
	if o.interactive && expires != nil {
		return &flows.InputError{Field: "secret-expires", Problem: "the wizard does not take the new secret's expiry", Hint: "add --non-interactive (the secret on standard input or in MAILGRANT_CLIENT_SECRET)"}
	}
	if o.interactive {
		return runWizard(ctx, a, tui.StartReauth, tui.Prefill{Profile: p.Name, Scenario: p.Scenario, Tenant: p.Tenant, ClientID: p.ClientID, Account: p.Account, Permissions: p.Permissions, ClientSecret: secret, OutOfScope: p.OutOfScopeMailbox, DeviceCode: o.deviceCode})
	}
	if err := flows.ValidateProfile(p); err != nil {
		return err
	}
	if o.deviceCode && !p.Scenario.Delegated() {
		return &flows.InputError{Field: "device-code", Problem: "device code sign-in is for delegated profiles", Hint: p.Name + " is " + string(p.Scenario) + ": it signs in with the app's credential"}
	}
	r := authRequest{profile: p, clientSecret: secret, deviceCode: o.deviceCode, reauth: true}
	if p.Credential == store.CredentialCertificate {
		cred, err := flows.LoadAppCredential(secrets, p)
		if err != nil {
			return a.withProfile(err, p.Name)
		}
		r.cert = cred.Cert
	}
	if !p.Scenario.Delegated() && r.cert == nil && r.clientSecret == "" {
		return &flows.InputError{Field: "client-secret", Problem: "no client secret in the keyring or given", Hint: "pipe it with --client-secret-stdin or set MAILGRANT_CLIENT_SECRET"}
	}
	if err := authorizePlain(ctx, a, r); err != nil {
		return err
	}
	if newSecret && expires == nil {
		fmt.Fprint(a.io.err, noSecretExpiryWarning)
	}
	return nil
}
