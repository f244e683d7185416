package main

import (
	"context"
	"encoding/json"
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
	json    bool
	noCache bool
}

// newTokenCmd builds `mailgrant token PROFILE`; runF replaces tokenRun in tests.
func newTokenCmd(s *streams, g *globalOptions, runF func(context.Context, *tokenOptions) error) *cobra.Command {
	o := &tokenOptions{global: g, io: s}
	cmd := &cobra.Command{
		Use:   "token PROFILE",
		Short: "Print a valid Graph access token on standard output",
		Long: `Print a valid Microsoft Graph access token for the profile on standard output,
and nothing else, for scripts that call Graph themselves (curl, an SDK). A token
is not an SMTP password: Microsoft 365 refuses Graph tokens for SMTP AUTH, so
msmtp's passwordeval cannot use it. To send mail from a program, use
mailgrant send (a message from the command line) or mailgrant sendmail (a
drop-in sendmail for PHP, cron and mail(1)). A token kept in the
keyring is reused while it is valid for more than 5 minutes; otherwise the
refresh token is redeemed and the rotated one stored before the access token is
printed. Concurrent calls for one profile wait for each other instead of
redeeming the same refresh token twice.`,
		Example: `  curl -H "Authorization: Bearer $(mailgrant token wordpress)" https://graph.microsoft.com/v1.0/me
  mailgrant send wordpress --to admin@contoso.com --subject test --body-file - < report.txt
  mailgrant token wordpress --json`,
		Args: exactArgs(1, "one PROFILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.profile = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return tokenRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print {\"access_token\",\"token_type\",\"expires_at\",\"scopes\",\"roles\"}")
	cmd.Flags().BoolVar(&o.noCache, "no-cache", false, "always obtain a new access token")
	return cmd
}

func tokenRun(ctx context.Context, o *tokenOptions) error {
	a, err := newApp(ctx, o.io, *o.global)
	if err != nil {
		return err
	}
	defer a.close()
	p, secrets, err := a.openProfile(o.profile)
	if err != nil {
		return err
	}
	tok, err := flows.GetToken(ctx, a.env, secrets, p, flows.TokenOptions{Lock: store.ProfileLocker{Dir: a.dir}, UseCache: !o.noCache})
	if err != nil {
		return a.withProfile(err, p.Name)
	}
	if tok.Rotated {
		// Remember when the refresh token rotated; a failure here must not
		// keep the script from its token.
		_ = flows.RecordRotation(a.dir, p.Name, a.env.Now())
	}
	if o.json {
		out := struct {
			AccessToken string    `json:"access_token"`
			TokenType   string    `json:"token_type"`
			ExpiresAt   time.Time `json:"expires_at"`
			Scopes      []string  `json:"scopes"`
			Roles       []string  `json:"roles"`
		}{tok.AccessToken, "Bearer", tok.ExpiresAt.UTC(), nonNilStrings(tok.Scopes), nonNilStrings(tok.Roles)}
		enc := json.NewEncoder(o.io.out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	_, err = fmt.Fprintln(o.io.out, tok.AccessToken)
	return err
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
