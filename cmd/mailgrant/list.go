package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// listOptions are the flags of `mailgrant list`.
type listOptions struct {
	global *globalOptions
	io     *streams
	json   bool
}

// newListCmd builds `mailgrant list`; runF replaces listRun in tests.
func newListCmd(s *streams, g *globalOptions, runF func(context.Context, *listOptions) error) *cobra.Command {
	o := &listOptions{global: g, io: s}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List profiles and their last known state (no network)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return listRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print {\"profiles\":[…]} as JSON")
	return cmd
}

func listRun(_ context.Context, o *listOptions) error {
	dir, err := store.DefaultDir(o.global.configDir, o.global.sandbox || sandboxFromEnv())
	if err != nil {
		return err
	}
	ps, err := store.LoadProfiles(dir)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(o.io.out)
		enc.SetIndent("", "  ")
		list := make([]store.Profile, len(ps.List))
		for i, p := range ps.List {
			p.Store = p.SecretsStore() // profiles older than schema 2: keyring
			list[i] = p
		}
		return enc.Encode(struct {
			Profiles []store.Profile `json:"profiles"`
		}{list})
	}
	if len(ps.List) == 0 {
		fmt.Fprintf(o.io.out, "No profiles yet. Create one with: %s setup\n", commandLine(*o.global))
		return nil
	}
	tw := tabwriter.NewWriter(o.io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tSCENARIO\tACCOUNT\tLAST STATE\tLAST CHECKED\tSTORE")
	for _, p := range ps.List {
		state, checked := "never checked", "-"
		if p.LastState != "" {
			state = p.LastState + " (" + flows.State(p.LastState).Words() + ")"
		}
		if p.LastCheckedAt != nil {
			checked = p.LastCheckedAt.Local().Format("2006-01-02 15:04 MST")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Scenario, p.Account, state, checked, p.SecretsStore())
	}
	return tw.Flush()
}
