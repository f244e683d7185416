package main

import (
	"context"
	"fmt"
	"os"

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
--legacy-policy the older New-ApplicationAccessPolicy. Changes take 30 minutes to
2 hours (RBAC) or more than an hour (access policy) to apply.`,
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
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write the script to this file instead of standard output")
	return cmd
}

func rbacScriptRun(_ context.Context, o *rbacScriptOptions) error {
	dir, err := store.DefaultDir(o.global.configDir, o.global.sandbox || sandboxFromEnv())
	if err != nil {
		return err
	}
	ps, err := store.LoadProfiles(dir)
	if err != nil {
		return err
	}
	prefix := commandLine(*o.global)
	p, ok := ps.Get(o.profile)
	if !ok {
		return &flows.InputError{Field: "profile", Problem: fmt.Sprintf("no profile named %q", o.profile), Hint: profileNames(ps, prefix)}
	}
	if p.Scenario.Delegated() {
		return &flows.InputError{Field: "profile", Problem: fmt.Sprintf("%s is a %s profile", p.Name, p.Scenario), Hint: "Exchange scoping applies to app-only profiles (send-as-any, rbac)"}
	}
	script := assets.RenderRBACScript(flows.RBACScript(p, prefix), o.legacy)
	if o.output != "" {
		if err := os.WriteFile(o.output, []byte(script), 0o644); err != nil {
			return &flows.InputError{Field: "output", Problem: err.Error(), Hint: "give a writable path"}
		}
		fmt.Fprintf(o.io.err, "wrote %s\n", o.output)
		return nil
	}
	_, err = fmt.Fprint(o.io.out, script)
	return err
}
