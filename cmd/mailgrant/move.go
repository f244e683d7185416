package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// moveOptions are the arguments of `mailgrant move`.
type moveOptions struct {
	global  *globalOptions
	io      *streams
	profile string
	// target is --store: keyring or file.
	target store.Backend
}

// newMoveCmd builds `mailgrant move PROFILE --store keyring|file`; runF
// replaces moveRun in tests.
func newMoveCmd(s *streams, g *globalOptions, runF func(context.Context, *moveOptions) error) *cobra.Command {
	o := &moveOptions{global: g, io: s}
	cmd := &cobra.Command{
		Use:   "move PROFILE --store keyring|file",
		Short: "Move a profile's secrets to the keyring or the encrypted file",
		Long: `Move every secret of the profile (refresh token, client secret, certificate
key, cached access token) to the OS keyring or to the encrypted file. Each copy
is read back and compared, then profiles.json records the new store, and only
then are the old copies deleted. If any step fails, the profile keeps working
from where it was.

The encrypted file's passphrase comes from the systemd credential
mailgrant-passphrase, MAILGRANT_PASSPHRASE_FILE, MAILGRANT_PASSPHRASE, or a
prompt.`,
		Example: `  mailgrant move wordpress --store file       # for cron jobs on a server with no keyring
  mailgrant move wordpress --store keyring`,
		Args: exactArgs(1, "one PROFILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.profile = args[0]
			if f := cmd.Flag("store"); f == nil || !f.Changed {
				return &usageError{msg: "say where the secrets go: " + commandLine(*g) + " move " + shellQuote(args[0]) + " --store keyring, or --store file"}
			}
			o.target = store.Backend(g.store)
			if !o.target.Valid() {
				return &flows.InputError{Field: "store", Problem: fmt.Sprintf("unknown store %q", g.store), Hint: "use keyring or file"}
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return moveRun(cmd.Context(), o)
		},
	}
	return cmd
}

func moveRun(ctx context.Context, o *moveOptions) error {
	a, err := newApp(ctx, o.io, *o.global)
	if err != nil {
		return err
	}
	defer a.close()
	p, err := a.loadProfile(o.profile)
	if err != nil {
		return err
	}
	from := p.SecretsStore()
	if from == o.target {
		fmt.Fprintf(o.io.err, "%s already keeps its secrets in %s; nothing to move.\n", p.Name, a.storeDescription(from))
		return nil
	}
	// No refresh may store a rotated token in the old store meanwhile.
	unlock, err := store.ProfileLocker{Dir: a.dir}.LockProfile(ctx, p.Name)
	if err != nil {
		return fmt.Errorf("lock the profile: %w", err)
	}
	defer unlock()
	src, err := a.secretsFor(p)
	if err != nil {
		return err
	}
	dst, err := a.storeFor(o.target)
	if err != nil {
		return err
	}
	moved, err := store.Move(src, dst, p.Name, func() error {
		return store.UpdateProfiles(a.dir, func(ps *store.Profiles) error {
			cur, ok := ps.Get(p.Name)
			if !ok {
				return fmt.Errorf("profile %q was deleted meanwhile", p.Name)
			}
			cur.Store = o.target
			ps.Put(cur)
			return nil
		})
	})
	var me *store.MoveError
	switch {
	case err != nil && errors.As(err, &me) && me.Step == "cleanup":
		return fmt.Errorf("%s now uses %s, but an old copy could not be deleted from %s: %w; delete it there by hand", p.Name, a.storeDescription(o.target), a.storeDescription(from), err)
	case err != nil:
		return fmt.Errorf("move %s: %w; nothing changed: it still uses %s", p.Name, err, a.storeDescription(from))
	}
	names := make([]string, len(moved))
	for i, k := range moved {
		names[i] = string(k)
	}
	if len(names) == 0 {
		names = []string{"no secrets (the profile is not authorized)"}
	}
	fmt.Fprintf(o.io.out, "moved %s to %s\n", p.Name, o.target)
	fmt.Fprintf(o.io.err, "✓ %s: %s now in %s; removed from %s.\n", p.Name, strings.Join(names, ", "), a.storeDescription(o.target), a.storeDescription(from))
	p.Store = o.target
	a.printScriptCommand(p)
	return nil
}
