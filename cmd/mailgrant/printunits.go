package main

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/assets"
	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// printUnitsOptions are the flags of `mailgrant print-units`.
type printUnitsOptions struct {
	global       *globalOptions
	io           *streams
	alertTo      string
	alertProfile string
	profiles     []string
	user         string
}

// newPrintUnitsCmd builds `mailgrant print-units`; runF replaces
// printUnitsRun in tests.
func newPrintUnitsCmd(s *streams, g *globalOptions, runF func(context.Context, *printUnitsOptions) error) *cobra.Command {
	o := &printUnitsOptions{global: g, io: s}
	cmd := &cobra.Command{
		Use:   "print-units [--alert-to ADDR] [--alert-profile P] [--profile P]...",
		Short: "Print systemd units that run status daily, ready to copy",
		Long: `Print systemd units, with this binary's path and the config directory filled
in: a daily timer and the oneshot service it starts, which runs mailgrant status
(refreshing every delegated grant, so none lapses unused) and, with --alert-to,
mails one summary when a profile needs attention. The service runs as you
(--user to choose), with hardening options; profiles kept in the encrypted
file get its passphrase from systemd credentials (LoadCredentialEncrypted=).`,
		Example: `  mailgrant print-units --alert-to ops@contoso.com
  mailgrant print-units --alert-to ops@contoso.com --profile wordpress --alert-profile wordpress`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return printUnitsRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.alertTo, "alert-to", "", "the service runs status --alert-to ADDR")
	f.StringVar(&o.alertProfile, "alert-profile", "", "the service sends alerts through this profile")
	f.StringArrayVar(&o.profiles, "profile", nil, "check only this profile (repeatable; default: every profile)")
	f.StringVar(&o.user, "user", "", "the account the service runs as (default: you)")
	return cmd
}

func printUnitsRun(_ context.Context, o *printUnitsOptions) error {
	sandbox := o.global.sandbox || sandboxFromEnv()
	base, err := store.DefaultDir(o.global.configDir, false)
	if err != nil {
		return err
	}
	if base, err = filepath.Abs(base); err != nil {
		return err
	}
	dir, _ := store.DefaultDir(base, sandbox)
	ps, err := store.LoadProfiles(dir)
	if err != nil {
		return err
	}
	prefix := "mailgrant"
	if sandbox {
		prefix = "mailgrant --sandbox"
	}
	so := &statusOptions{alertTo: o.alertTo, alertProfile: o.alertProfile}
	if err := checkAlertFlags(so, ps, prefix); err != nil {
		return err
	}
	d := assets.UnitData{ConfigDir: base, User: o.user, AlertTo: o.alertTo}
	if d.Binary, err = executablePath(); err != nil {
		return err
	}
	if d.User == "" {
		u, err := user.Current()
		if err != nil {
			return &flows.InputError{Field: "user", Problem: "cannot tell who you are: " + err.Error(), Hint: "give --user NAME"}
		}
		d.User = u.Username
	}
	if sandbox {
		d.Flags = append(d.Flags, "--sandbox")
	}
	if o.alertTo != "" {
		d.StatusArgs = append(d.StatusArgs, "--alert-to", o.alertTo)
	}
	if o.alertProfile != "" {
		d.StatusArgs = append(d.StatusArgs, "--alert-profile", o.alertProfile)
	}
	for _, name := range o.profiles {
		p, ok := ps.Get(name)
		if !ok {
			return &flows.InputError{Field: "profile", Problem: fmt.Sprintf("no profile named %q", name), Hint: profileNames(ps, prefix)}
		}
		d.StatusArgs = append(d.StatusArgs, p.Name)
	}
	d.FileStore = o.global.store == "file" || os.Getenv("MAILGRANT_STORE") == "file"
	for _, p := range ps.List {
		if len(o.profiles) == 0 || containsName(o.profiles, p.Name) {
			d.FileStore = d.FileStore || p.SecretsStore() == store.BackendFile
		}
	}
	units, err := assets.Units(d)
	if err != nil {
		return err
	}
	w := o.io.out
	for _, u := range units {
		fmt.Fprintf(w, "# ---- /etc/systemd/system/%s ----\n%s\n", u.Name, u.Text)
	}
	fmt.Fprintf(w, "# ---- install ----\n# Save each unit above under /etc/systemd/system/, then:\n#   sudo systemctl daemon-reload\n#   sudo systemctl enable --now mailgrant-status.timer\n#   sudo systemctl start mailgrant-status.service   # once now; journalctl -u mailgrant-status shows the result\n")
	return nil
}

// executablePath is the absolute path of the running binary, symlinks
// resolved, for ExecStart=.
func executablePath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find this program's path: %w", err)
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return exe, nil
}

// containsName reports whether names holds name.
func containsName(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}
