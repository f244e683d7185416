package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// streams are the command's standard input and outputs.
type streams struct {
	in  io.Reader
	out io.Writer
	err io.Writer
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// isTerminal reports whether r is an interactive terminal.
func isTerminal(r any) bool {
	f, ok := r.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(f.Fd())
}

// globalOptions are the flags every command takes, and the factory of what
// commands reach outside the process for.
type globalOptions struct {
	sandbox   bool
	configDir string
	cloud     string
	store     string
	noBrowser bool
	debug     bool
	deps      *factory // nil: realFactory
}

// app is what a command needs, built once from the global flags: where
// profiles live, the secrets store, the Env, and the sandbox when it runs.
type app struct {
	io        *streams
	opts      globalOptions
	dir       string
	env       *flows.Env
	secrets   store.Secrets
	browser   flows.Browser
	sandbox   *sandbox.Server
	debugLog  io.Closer
	debugPath string
	newStore  store.Backend // where a new profile's secrets go; secrets routes other profiles to their recorded store
	stores    stores        // the keyring and the encrypted file, opened on first use
}

// close stops the sandbox and the debug log.
func (a *app) close() {
	if a.env != nil {
		// Idle keep-alive connections would hold up the sandbox's shutdown.
		a.env.HTTP.CloseIdleConnections()
	}
	if a.sandbox != nil {
		_ = a.sandbox.Close()
	}
	if a.debugLog != nil {
		_ = a.debugLog.Close()
	}
}

// commandPrefix is how the admin runs mailgrant for this profile set, for
// commands mailgrant prints.
func (a *app) commandPrefix() string { return commandLine(a.opts) }

// newApp resolves the global options: config dir, keyring service, hosts,
// and (with --sandbox) an in-process simulated tenant on loopback.
func newApp(ctx context.Context, s *streams, o globalOptions) (*app, error) {
	if !o.sandbox && sandboxFromEnv() {
		o.sandbox = true
	}
	if o.store == "" {
		o.store = os.Getenv("MAILGRANT_STORE")
	}
	switch o.store {
	case "", "keyring", "file":
	default:
		return nil, &flows.InputError{Field: "store", Problem: fmt.Sprintf("unknown store %q", o.store), Hint: "use keyring (the OS keyring, the default) or file (an encrypted file, for machines with no keyring)"}
	}
	dir, err := store.DefaultDir(o.configDir, o.sandbox)
	if err != nil {
		return nil, err
	}
	// Progress lines may come from more than one goroutine (the browser
	// launcher runs beside the wait), so stderr is serialized.
	ls := &streams{in: s.in, out: s.out, err: &lockedWriter{w: s.err}}
	a := &app{io: ls, opts: o, dir: dir, newStore: store.BackendKeyring}
	if o.store == "file" {
		a.newStore = store.BackendFile
	}
	a.secrets = profileSecrets{a: a}
	eo := flows.EnvOptions{Cloud: o.cloud, Sandbox: o.sandbox}
	if o.sandbox {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
		so := sandbox.Options{StateDir: dir, Faults: sandbox.FaultsFromEnv()}
		if v := os.Getenv(sandboxMaxMessageEnv); v != "" {
			n, err := flows.ParseSize(v)
			if err != nil || n <= 0 || n > flows.MaxTenantMessageSize {
				return nil, &usageError{msg: fmt.Sprintf("%s: %q is not a message size up to 150MB; use a size such as 50MB (the sandbox tenant's maximum message size, 35MB when unset)", sandboxMaxMessageEnv, v)}
			}
			so.MaxMessageBytes = n
		}
		srv, err := sandbox.Start(so)
		if err != nil {
			return nil, fmt.Errorf("start the sandbox: %w", err)
		}
		a.sandbox = srv
		eo.LoginHost, eo.GraphHost = srv.URL(), srv.URL()
	} else {
		eo = eo.EnvFromEnvironment()
	}
	env, err := flows.NewEnv(eo)
	if err != nil {
		a.close()
		return nil, err
	}
	a.env = env
	if o.debug {
		if err := a.startDebugLog(); err != nil {
			a.close()
			return nil, err
		}
	}
	a.browser = flows.SystemBrowser{}
	if o.noBrowser {
		a.browser = flows.NoBrowser{}
	}
	return a, nil
}

// loadProfile finds a profile by name.
func (a *app) loadProfile(name string) (store.Profile, error) {
	ps, err := store.LoadProfiles(a.dir)
	if err != nil {
		return store.Profile{}, err
	}
	p, ok := ps.Get(name)
	if !ok {
		return store.Profile{}, &flows.InputError{Field: "profile", Problem: fmt.Sprintf("no profile named %q", name), Hint: a.profileNamesHint(ps)}
	}
	return p, nil
}

// profileNamesHint lists the existing profiles for an error.
func (a *app) profileNamesHint(ps *store.Profiles) string {
	return profileNames(ps, a.commandPrefix())
}

// profileNames lists the existing profiles, or says how to create one.
func profileNames(ps *store.Profiles, prefix string) string {
	if len(ps.List) == 0 {
		return fmt.Sprintf("there are no profiles yet; create one with %s setup", prefix)
	}
	names := make([]string, len(ps.List))
	for i, p := range ps.List {
		names[i] = p.Name
	}
	return "existing profiles: " + strings.Join(names, ", ")
}

// newRootCmd builds the command tree for the command line args (without
// the program name): when args starts with a command's name, that command
// is the only one built. Its commands get their dependencies from deps
// (realFactory in the binary).
func newRootCmd(s *streams, deps *factory, args []string) *cobra.Command {
	o := globalOptions{deps: deps}
	root := &cobra.Command{
		Use:   "mailgrant",
		Short: "Authorize programs to send mail through Microsoft Graph",
		Long: `mailgrant walks you through authorizing a program (a site, a script, a cron job)
to send mail through Microsoft Graph with OAuth, checks that the authorization
still works, and keeps its secret in the OS keyring. Scripts then ask mailgrant
for an access token instead of keeping a password.

Run without a command for the wizard. Try it without Microsoft 365:
  mailgrant --sandbox`,
		Args:          cobra.ArbitraryArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				msg := fmt.Sprintf("unknown command %q", args[0])
				if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
					msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
				}
				return &usageError{msg: msg + "; run mailgrant --help for the list"}
			}
			return wizardRun(cmd.Context(), s, o, wizardHome)
		},
	}
	root.SuggestionsMinimumDistance = 2 // cobra's default, which only its own lookup sets
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{msg: err.Error() + " (see --help)"}
	})
	f := root.PersistentFlags()
	f.BoolVar(&o.sandbox, "sandbox", false, "run against the embedded simulated tenant (also MAILGRANT_SANDBOX=1)")
	f.StringVar(&o.configDir, "config-dir", "", "where profiles.json is kept (default: MAILGRANT_CONFIG_DIR or the user config dir)")
	f.StringVar(&o.cloud, "cloud", "global", "Microsoft cloud: global, usgov, usgovdod or china")
	f.StringVar(&o.store, "store", "", "where a NEW profile's secrets go: keyring (default) or file (encrypted with a passphrase, for machines with no keyring; also MAILGRANT_STORE); existing profiles use the store they recorded (see mailgrant move)")
	f.BoolVar(&o.noBrowser, "no-browser", false, "do not open a browser; print the URL to open yourself")
	f.BoolVar(&o.debug, "debug", false, "write a debug log (no secrets) to mailgrant-debug.log in the config dir")
	// Only the command the line names is built (all of them for help,
	// completion, the wizard or a typo): `mailgrant token P` runs once per
	// message a script sends, and building every command and its flags cost
	// it 0.1 to 0.2 ms (issue 11).
	builders := []struct {
		name  string
		build func() *cobra.Command
	}{
		{"setup", func() *cobra.Command { return newSetupCmd(s, &o, nil) }},
		{"reauth", func() *cobra.Command { return newReauthCmd(s, &o, nil) }},
		{"status", func() *cobra.Command { return newStatusCmd(s, &o, nil) }},
		{"token", func() *cobra.Command { return newTokenCmd(s, &o, nil) }},
		{"list", func() *cobra.Command { return newListCmd(s, &o, nil) }},
		{"delete", func() *cobra.Command { return newDeleteCmd(s, &o, nil) }},
		{"rbac-script", func() *cobra.Command { return newRBACScriptCmd(s, &o, nil) }},
		{"send", func() *cobra.Command { return newSendCmd(s, &o, nil) }},
		{"check-mailboxes", func() *cobra.Command { return newCheckMailboxesCmd(s, &o, nil) }},
		{"sendmail", func() *cobra.Command { return newSendmailCmd(s, deps) }},
		{"print-units", func() *cobra.Command { return newPrintUnitsCmd(s, &o, nil) }},
		{"move", func() *cobra.Command { return newMoveCmd(s, &o, nil) }},
		{"rotate", func() *cobra.Command { return newRotateCmd(s, &o, nil) }},
		{"log", func() *cobra.Command { return newLogCmd(s, &o, nil) }},
		{"edit", func() *cobra.Command { return newEditCmd(s, &o, nil) }},
		{"relay", func() *cobra.Command { return newRelayCmd(s, &o, nil) }},
		{"queue", func() *cobra.Command { return newQueueCmd(s, &o) }},
		{"version", func() *cobra.Command { return newVersionCmd(s) }},
	}
	only := ""
	for _, b := range builders {
		if len(args) > 0 && args[0] == b.name {
			only = b.name
		}
	}
	for _, b := range builders {
		if only == "" || b.name == only {
			root.AddCommand(b.build())
		}
	}
	for _, c := range root.Commands() {
		c.SilenceUsage = true
		c.SilenceErrors = true
		c.SetFlagErrorFunc(root.FlagErrorFunc())
	}
	addCompletions(root, &o)
	return root
}

// exactArgs is cobra.ExactArgs with a usage error naming what is expected.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return &usageError{msg: fmt.Sprintf("expected %s, got %d argument(s)", what, len(args))}
		}
		return nil
	}
}

// sandboxFromEnv reports MAILGRANT_SANDBOX=1.
func sandboxFromEnv() bool { return os.Getenv("MAILGRANT_SANDBOX") == "1" }

// sandboxMaxMessageEnv sets the sandbox tenant's maximum message size (as
// an admin raises a tenant's MaxSendSize), so --max-message-size above
// 35MB can be tried with --sandbox.
const sandboxMaxMessageEnv = "MAILGRANT_SANDBOX_MAX_MESSAGE_SIZE"
