package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// validate refuses global flags with values no command accepts, before any
// command runs, so `--cloud mars list` is exit 2 like `--cloud mars token`.
func (o globalOptions) validate() error {
	if _, ok := flows.Clouds[o.cloud]; o.cloud != "" && !ok {
		return &flows.InputError{Field: "cloud", Problem: fmt.Sprintf("unknown cloud %q", o.cloud), Hint: "use " + strings.Join(flows.CloudNames, ", ")}
	}
	st, field := o.store, "store"
	if st == "" {
		st, field = os.Getenv("MAILGRANT_STORE"), "MAILGRANT_STORE"
	}
	switch st {
	case "", "keyring", "file":
		return nil
	}
	return &flows.InputError{Field: field, Problem: fmt.Sprintf("unknown store %q", st), Hint: "use keyring (the OS keyring, the default) or file (an encrypted file, for machines with no keyring)"}
}

// addCompletions offers profile names for PROFILE arguments and --profile
// flags, and the allowed values of --cloud, --store, --scenario and
// --credential, in every shell cobra's `completion` command supports.
// It also makes every command check the global flags first (validate).
func addCompletions(root *cobra.Command, o *globalOptions) {
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return o.validate() }
	fixed := func(vals ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return vals, cobra.ShellCompDirectiveNoFileComp
		}
	}
	_ = root.RegisterFlagCompletionFunc("cloud", fixed(flows.CloudNames...))
	_ = root.RegisterFlagCompletionFunc("store", fixed("keyring", "file"))
	scenarios := make([]string, len(store.Scenarios))
	for i, sc := range store.Scenarios {
		scenarios[i] = string(sc)
	}
	for _, c := range root.Commands() {
		if strings.Contains(c.Use, "PROFILE") {
			many := c.Name() == "status"
			c.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
				if len(args) > 0 && !many {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return profileChoices(*o, args), cobra.ShellCompDirectiveNoFileComp
			}
		}
		if c.Flags().Lookup("profile") != nil && c.Name() != "setup" {
			_ = c.RegisterFlagCompletionFunc("profile", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return profileChoices(*o, nil), cobra.ShellCompDirectiveNoFileComp
			})
		}
		if c.Flags().Lookup("scenario") != nil {
			_ = c.RegisterFlagCompletionFunc("scenario", fixed(scenarios...))
		}
		if c.Flags().Lookup("credential") != nil {
			_ = c.RegisterFlagCompletionFunc("credential", fixed("none", "secret", "certificate"))
		}
	}
}

// profileChoices lists the stored profiles (with their scenario as the
// description), leaving out those already on the command line.
func profileChoices(o globalOptions, given []string) []string {
	dir, err := store.DefaultDir(o.configDir, o.sandbox || sandboxFromEnv())
	if err != nil {
		return nil
	}
	ps, err := store.LoadProfiles(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range ps.List {
		if !slices.Contains(given, p.Name) {
			out = append(out, p.Name+"\t"+string(p.Scenario)+", "+p.Account)
		}
	}
	return out
}
