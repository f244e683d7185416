package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// tokenOptions are the flags of `mailgrant token`.
type tokenOptions struct {
	global  *globalOptions
	io      *streams
	profile string
}

// newTokenCmd builds `mailgrant token PROFILE`; runF replaces tokenRun in tests.
func newTokenCmd(s *streams, g *globalOptions, runF func(context.Context, *tokenOptions) error) *cobra.Command {
	o := &tokenOptions{global: g, io: s}
	cmd := &cobra.Command{
		Use:   "token PROFILE",
		Short: "Print a valid Graph access token on standard output",
		Long: `Print a valid Microsoft Graph access token for the profile on standard output,
and nothing else, for scripts (msmtp's passwordeval, curl). The rotated refresh
token is stored in the keyring before the access token is printed.`,
		Example: `  curl -H "Authorization: Bearer $(mailgrant token wordpress)" https://graph.microsoft.com/v1.0/me`,
		Args:    exactArgs(1, "one PROFILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.profile = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return tokenRun(cmd.Context(), o)
		},
	}
	return cmd
}

func tokenRun(ctx context.Context, o *tokenOptions) error {
	a, err := newApp(ctx, o.io, *o.global)
	if err != nil {
		return err
	}
	defer a.close()
	p, err := a.loadProfile(o.profile)
	if err != nil {
		return err
	}
	tok, err := flows.AccessToken(ctx, a.env, a.secrets, p)
	if err != nil {
		return hintWithProfile(err, p.Name)
	}
	// Remember when the refresh token rotated; a failure here must not keep
	// the script from its token.
	_ = store.UpdateProfiles(a.dir, func(ps *store.Profiles) error {
		if cur, ok := ps.Get(p.Name); ok {
			now := time.Now().UTC()
			cur.RefreshRotatedAt = &now
			ps.Put(cur)
		}
		return nil
	})
	_, err = fmt.Fprintln(o.io.out, tok.AccessToken)
	return err
}

// hintWithProfile fills the profile's name into an error's hint.
func hintWithProfile(err error, name string) error {
	fe := flows.AsError(err)
	c := *fe
	c.Hint = replaceProfile(c.Hint, name)
	return &c
}
