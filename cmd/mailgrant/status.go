package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/relay"
	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/store/spool"
)

// statusOptions are the flags of `mailgrant status`.
type statusOptions struct {
	global     *globalOptions
	io         *streams
	profiles   []string
	json       bool
	testSendTo string
	// alertTo and alertProfile are --alert-to and --alert-profile (alert.go).
	alertTo, alertProfile string
}

// newStatusCmd builds `mailgrant status`; runF replaces statusRun in tests.
func newStatusCmd(s *streams, g *globalOptions, runF func(context.Context, *statusOptions) error) *cobra.Command {
	o := &statusOptions{global: g, io: s}
	cmd := &cobra.Command{
		Use:   "status [PROFILE...]",
		Short: "Check every (or the named) profile",
		Long: `Check that each profile still works: a token can be obtained, it belongs to
the right account, and it carries the required permissions (naming any that are
missing or granted beyond need). A check changes nothing stored except a newer
refresh token. Exit status 0 when every checked profile is authorized, 1 otherwise.`,
		Example: `  mailgrant status
  mailgrant status wordpress --json
  mailgrant status --alert-to ops@contoso.com   # daily, from a timer: mailgrant print-units`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.profiles = args
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return statusRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print {\"profiles\":[…]} as JSON")
	cmd.Flags().StringVar(&o.testSendTo, "test-send-to", "", "also send a real test message to this address")
	cmd.Flags().StringVar(&o.alertTo, "alert-to", "", "mail one summary to ADDR when a profile needs attention (not authorized, a credential expiring within 30 days, a refresh token lapsing within 14)")
	cmd.Flags().StringVar(&o.alertProfile, "alert-profile", "", "send the alert through this profile (default: the first authorized one)")
	return cmd
}

func statusRun(ctx context.Context, o *statusOptions) error {
	a, err := newApp(ctx, o.io, *o.global)
	if err != nil {
		return err
	}
	defer a.close()
	ps, err := store.LoadProfiles(a.dir)
	if err != nil {
		return err
	}
	if err := checkAlertFlags(o, ps, a.commandPrefix()); err != nil {
		return err
	}
	var selected []store.Profile
	if len(o.profiles) == 0 {
		selected = ps.List
	}
	for _, name := range o.profiles {
		p, ok := ps.Get(name)
		if !ok {
			return &usageError{msg: fmt.Sprintf("no profile named %q (%s)", name, a.profileNamesHint(ps))}
		}
		selected = append(selected, p)
	}
	results := checkAll(ctx, a, selected, flows.CheckOptions{TestSendTo: o.testSendTo, Lock: store.ProfileLocker{Dir: a.dir}, Command: a.commandPrefix()})
	if ctx.Err() != nil {
		return &exitError{code: exitCancelled, err: errors.New("status cancelled; nothing recorded")}
	}
	// The relay's queue, per profile; an unreadable spool is not a reason
	// to hide the checks.
	if counts, err := spool.Counts(relay.DefaultSpoolDir(a.dir)); err == nil {
		for _, st := range results {
			st.Queued, st.Failed = counts[st.Name].Queued, counts[st.Name].Failed
		}
	}
	// The last check's time and state are recorded for list and the
	// wizard's home screen; failing to record them does not hide the results.
	switch err := flows.RecordChecks(a.dir, results...); {
	case errors.Is(err, flows.ErrProfileGone):
		fmt.Fprintf(o.io.err, "mailgrant: %v\n", err)
	case err != nil:
		fmt.Fprintf(o.io.err, "mailgrant: the results were not recorded in profiles.json: %v\n", err)
	}
	if o.json {
		if err := writeStatusJSON(o.io.out, results); err != nil {
			return err
		}
	} else {
		writeStatusTable(o.io.out, results, len(ps.List) == 0, a.commandPrefix())
	}
	if o.alertTo != "" {
		sendStatusAlert(ctx, a, o, results)
	}
	for _, st := range results {
		if st.State != flows.StateAuthorized {
			return silentExit(exitFailure)
		}
	}
	return nil
}

// checkAll checks profiles concurrently (flows.CheckAll), keeping their order.
func checkAll(ctx context.Context, a *app, list []store.Profile, opts flows.CheckOptions) []*flows.Status {
	return flows.CheckAll(ctx, list, func(ctx context.Context, p store.Profile) *flows.Status {
		return flows.Check(ctx, a.env, a.secretsOrUnavailable(p), p, opts)
	})
}

func writeStatusJSON(w io.Writer, results []*flows.Status) error {
	if results == nil {
		results = []*flows.Status{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Profiles []*flows.Status `json:"profiles"`
	}{results})
}

func writeStatusTable(w io.Writer, results []*flows.Status, none bool, prefix string) {
	if none {
		fmt.Fprintf(w, "No profiles yet. Create one with: %s setup\n", prefix)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tSTATE\tSCENARIO\tACCOUNT\tTOKEN EXPIRES\tCREDENTIAL EXPIRES")
	for _, st := range results {
		exp, cred := "-", "-"
		if st.TokenExpiresAt != nil {
			exp = st.TokenExpiresAt.Local().Format("2006-01-02 15:04 MST")
		}
		if st.CredentialExpiresAt != nil {
			cred = st.CredentialExpiresAt.Local().Format(time.DateOnly)
		}
		fmt.Fprintf(tw, "%s\t%s %s (%s)\t%s\t%s\t%s\t%s\n", st.Name, st.State.Symbol(), st.State, st.State.Words(), st.Scenario, st.Account, exp, cred)
	}
	tw.Flush()
	for _, st := range results {
		if st.Queued > 0 || st.Failed > 0 {
			fmt.Fprintf(w, "\n%s: %d message(s) queued for the relay, %d failed; see: %s queue list\n", st.Name, st.Queued, st.Failed, prefix)
		}
		for _, step := range st.Steps {
			if step.Result == flows.StepWarning {
				fmt.Fprintf(w, "\n%s: %s %s: %s\n", st.Name, step.Result.Symbol(), flows.StepTitle(step.Name), step.Detail)
			}
		}
		if st.Error == nil {
			continue
		}
		code := ""
		if st.Error.Code != "" {
			code = " (" + string(st.Error.Code) + ")"
		}
		fmt.Fprintf(w, "\n%s: %s%s\n", st.Name, st.Error.Message, code)
		if st.Error.Hint != "" {
			fmt.Fprintf(w, "  hint: %s\n", strings.ReplaceAll(st.Error.Hint, "PROFILE", st.Name))
		}
	}
}
