package main

import (
	"context"
	"fmt"

	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/tui"
)

// wizardMode is where the bare `mailgrant` command starts.
type wizardMode int

const (
	// wizardHome shows the profiles, or the chooser when there are none.
	wizardHome wizardMode = iota
)

// wizardRun is the bare `mailgrant` command: the wizard on a terminal, or a
// usage error pointing at the scriptable commands when there is none.
func wizardRun(ctx context.Context, s *streams, o globalOptions, _ wizardMode) error {
	if !isTerminal(s.in) || !isTerminal(s.out) {
		prefix := commandLine(o)
		return &usageError{msg: fmt.Sprintf("the wizard needs a terminal; without one use: %s setup --non-interactive, status, token, list (see %s --help)", prefix, prefix)}
	}
	a, err := newApp(ctx, s, o)
	if err != nil {
		return err
	}
	defer a.close()
	pre := tui.Prefill{}
	if a.opts.sandbox {
		pre = sandboxPrefill(store.SendAsUser)
		pre.Scenario = ""
	}
	return runWizard(ctx, a, tui.StartHome, pre)
}

// runWizard runs the terminal UI and turns its outcome into an exit status.
func runWizard(ctx context.Context, a *app, start tui.Start, pre tui.Prefill) error {
	if err := a.openFileProfiles(start, pre.Profile); err != nil {
		return err
	}
	// Over SSH a browser elsewhere cannot reach this machine's loopback
	// redirect: propose the device code first (d switches back).
	if overSSH() {
		pre.DeviceCode = true
	}
	a.screensOwnTerminal(true)
	defer a.screensOwnTerminal(false)
	out, err := tui.Run(ctx, a.wizardDeps(start, pre))
	switch {
	case err != nil:
		return err
	case out.Cancelled:
		return &exitError{code: exitCancelled}
	case out.Err != nil:
		return &exitError{code: exitFailure, err: out.Err}
	}
	return nil
}

// wizardDeps is what the wizard gets from this run of mailgrant: its
// stores, Env, browser, the flags in force (CommandPrefix) and the prefill.
func (a *app) wizardDeps(start tui.Start, pre tui.Prefill) tui.Deps {
	// The list (or the chooser) is drawn in the first frame when the file is
	// read before the screens start; a file that cannot be read is left to
	// the wizard, which says why.
	var profiles *store.Profiles
	if start == tui.StartHome {
		if ps, err := store.LoadProfiles(a.dir); err == nil {
			profiles = ps
		}
	}
	return tui.Deps{
		Profiles:      profiles,
		Store:         a.storeOffer(start),
		OverSSH:       overSSH(),
		Env:           a.env,
		Secrets:       a.secrets,
		ConfigDir:     a.dir,
		Browser:       a.browser,
		Sandbox:       a.opts.sandbox,
		Prefill:       pre,
		Start:         start,
		Available:     wizardAvailable,
		ServiceName:   store.ServiceName(a.opts.sandbox),
		CommandPrefix: a.commandPrefix(),
		Script:        a.scriptHint,
		// In the bare sandbox wizard each scenario picked on the chooser
		// gets its own sandbox app, secret and users.
		ScenarioPrefill: func() func(store.Scenario) tui.Prefill {
			if !a.opts.sandbox || start != tui.StartHome {
				return nil
			}
			return func(sc store.Scenario) tui.Prefill {
				p := sandboxPrefill(sc)
				p.Scenario = ""
				return p
			}
		}(),
		UploadCertificate: func() func(string, []byte) error {
			if a.sandbox == nil {
				return nil
			}
			return a.sandbox.UploadCertificate
		}(),
	}
}

// wizardAvailable says which scenarios the wizard's screens can authorize:
// all four.
func wizardAvailable(sc store.Scenario) bool { return sc.Valid() }
