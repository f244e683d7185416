package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/assets"
	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// rbacScriptOptions are the flags of `mailgrant rbac-script`.
type rbacScriptOptions struct {
	global  *globalOptions
	io      *streams
	profile string
	legacy  bool
	output  string
	force   bool
}

// newRBACScriptCmd builds `mailgrant rbac-script PROFILE`.
func newRBACScriptCmd(s *streams, g *globalOptions, runF func(context.Context, *rbacScriptOptions) error) *cobra.Command {
	o := &rbacScriptOptions{global: g, io: s}
	cmd := &cobra.Command{
		Use:   "rbac-script PROFILE",
		Short: "Print the Exchange Online PowerShell that restricts an app-only profile",
		Long: `Print the Exchange Online PowerShell for the rbac scenario: RBAC for Applications
(New-ServicePrincipal, New-ManagementScope, New-ManagementRoleAssignment with the
role "Application Mail.Send", Test-ServicePrincipalAuthorization), or with
--legacy-policy the older New-ApplicationAccessPolicy (the default for a profile
set up with --scoping policy; DenyAccess when its --policy-access says so).
The service principal's object ID is filled in from an app-only token's oid
claim when the profile's credential works. Changes take 30 minutes to 2 hours
(RBAC) or more than an hour (access policy) to apply.`,
		Example: `  mailgrant rbac-script scoped-daemon > scope.ps1
  mailgrant rbac-script scoped-daemon --legacy-policy`,
		Args: exactArgs(1, "one PROFILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.profile = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return rbacScriptRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.legacy, "legacy-policy", false, "print New-ApplicationAccessPolicy instead of RBAC for Applications")
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write the script to this new file instead of standard output")
	cmd.Flags().BoolVar(&o.force, "force", false, "replace an existing --output file")
	return cmd
}

func rbacScriptRun(ctx context.Context, o *rbacScriptOptions) error {
	a, err := newApp(ctx, o.io, *o.global)
	if err != nil {
		return err
	}
	defer a.close()
	p, err := a.loadProfile(o.profile)
	if err != nil {
		return err
	}
	if p.Scenario.Delegated() {
		return &flows.InputError{Field: "profile", Problem: fmt.Sprintf("%s is a %s profile", p.Name, p.Scenario), Hint: "Exchange scoping applies to app-only profiles (send-as-any, rbac)"}
	}
	legacy := o.legacy || p.UsesPolicy()
	data := flows.RBACScript(p, a.commandPrefix())
	if !legacy {
		data = a.fillServicePrincipal(ctx, p, data)
	}
	script := assets.RenderRBACScript(data, legacy)
	if o.output != "" {
		if err := flows.WriteNewFile("output", o.output, []byte(script), 0o644, o.force); err != nil {
			return withForceHint(err)
		}
		fmt.Fprintf(o.io.err, "wrote %s\n", o.output)
		return nil
	}
	_, err = fmt.Fprint(o.io.out, script)
	return err
}

// fillServicePrincipal asks for an app-only token with the profile's
// credential and puts its oid (the service principal's object ID) into the
// script; when no token can be had, the placeholder stays and stderr says why.
func (a *app) fillServicePrincipal(ctx context.Context, p store.Profile, data assets.RBACScript) assets.RBACScript {
	tok, err := a.appTokenFor(ctx, p)
	if err == nil && tok.ServicePrincipalID != "" {
		fmt.Fprintf(a.io.err, "✓ Service principal object ID %s: the oid claim of an app-only token just obtained with the profile's credential.\n", tok.ServicePrincipalID)
		return flows.WithServicePrincipal(data, tok, a.env.Now())
	}
	why := "the token carries no oid claim"
	if err != nil {
		why = "no app-only token could be obtained: " + flows.AsError(withProfile(err, p.Name)).Message
	}
	fmt.Fprintf(a.io.err, "! The script keeps a placeholder for the service principal's object ID (%s); copy it from Entra > Enterprise applications > the app > Object ID.\n", why)
	return data
}

// appTokenFor runs the client-credentials grant with the profile's stored
// credential (flows.AccessToken, as the wizard's PowerShell screen does).
func (a *app) appTokenFor(ctx context.Context, p store.Profile) (*flows.Token, error) {
	secrets, err := a.secretsFor(p)
	if err != nil {
		return nil, err
	}
	return flows.AccessToken(ctx, a.env, secrets, p)
}
