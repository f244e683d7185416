package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/flows"
)

// deleteOptions are the flags of `mailgrant delete`.
type deleteOptions struct {
	global  *globalOptions
	io      *streams
	profile string
	yes     bool
}

// newDeleteCmd builds `mailgrant delete PROFILE`; runF replaces deleteRun in tests.
func newDeleteCmd(s *streams, g *globalOptions, runF func(context.Context, *deleteOptions) error) *cobra.Command {
	o := &deleteOptions{global: g, io: s}
	cmd := &cobra.Command{
		Use:   "delete PROFILE",
		Short: "Remove a profile and every secret it has",
		Long: `Remove the profile and every secret it has in the keyring, or in the encrypted
file with --store file (refresh token, client secret, certificate key, cached
access token). mailgrant cannot revoke anything on
Microsoft's side; the command says what an admin does for that.`,
		Example: `  mailgrant delete wordpress
  mailgrant delete wordpress --yes`,
		Args: exactArgs(1, "one PROFILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.profile = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return deleteRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func deleteRun(ctx context.Context, o *deleteOptions) error {
	a, err := newApp(ctx, o.io, *o.global)
	if err != nil {
		return err
	}
	defer a.close()
	p, err := a.loadProfile(o.profile)
	if err != nil {
		return err
	}
	if !o.yes {
		if !isTerminal(o.io.in) {
			return &usageError{msg: "delete needs confirmation: pass --yes when not on a terminal"}
		}
		yes, err := askYesNo(ctx, o.io, fmt.Sprintf("Delete profile %q (%s, %s) and its secrets from %s?", p.Name, p.Scenario, p.Account, a.storeDescription(p.SecretsStore())))
		if err != nil {
			return err
		}
		if !yes {
			fmt.Fprintln(o.io.err, "Nothing deleted.")
			return silentExit(exitCancelled)
		}
	}
	secrets, err := a.secretsFor(p)
	if err != nil {
		return err
	}
	if err := flows.DeleteProfile(ctx, a.dir, secrets, p); err != nil {
		return err
	}
	fmt.Fprintf(o.io.out, "deleted %s\n", p.Name)
	fmt.Fprint(o.io.err, "Its secrets are gone from "+a.storeDescription(p.SecretsStore())+". "+flows.RevokeAdvice(p))
	return nil
}
