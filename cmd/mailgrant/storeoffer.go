package main

import (
	"bufio"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/mailgrant/mailgrant/store"
)

// interactiveKeyringTimeout bounds keyring calls in the wizard, where an
// unlock prompt may be waiting for the admin; scripts keep the short default.
const interactiveKeyringTimeout = 2 * time.Minute

// errNoUsableStore ends the wizard when the keyring does not work and the
// admin declines the encrypted file.
var errNoUsableStore = errors.New("no usable place to keep secrets")

// ensureUsableStore checks, before the wizard starts, that the keyring works.
// When it does not, it explains why and offers the encrypted file store with
// its trade-off; it never switches silently.
func (a *app) ensureUsableStore() error {
	if _, ok := a.secrets.(*store.Keyring); !ok {
		return nil
	}
	// In the wizard the keyring may put up an unlock prompt: give the admin
	// time to answer it.
	k := store.NewKeyring(store.ServiceName(a.opts.sandbox), store.WithTimeout(interactiveKeyringTimeout))
	a.secrets = k
	err := k.Probe()
	if err == nil {
		return nil
	}
	w := a.io.err
	path := filepath.Join(a.dir, store.SecretsFile)
	fmt.Fprintf(w, "The OS keyring cannot be used: %v\n", err)
	var ke *store.KeyringError
	if errors.As(err, &ke) && ke.Hint != "" {
		fmt.Fprintf(w, "  To fix it: %s\n", ke.Hint)
	}
	fmt.Fprintf(w, `
mailgrant can keep the secrets in an encrypted file instead:
  %s
Trade-off: the file is protected only by a passphrase. Anyone with the file and
the passphrase has the secrets, and scripts need the passphrase too
(MAILGRANT_PASSPHRASE) — use --store file with every command.

Use the encrypted file? [y/N] `, path)
	answer, _ := bufio.NewReader(a.io.in).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return &exitError{code: exitFailure, err: fmt.Errorf("%w: fix the keyring, or run with --store file", errNoUsableStore)}
	}
	pass, ok := store.PassphraseFromEnv()
	if !ok {
		f, isFile := a.io.in.(interface{ Fd() uintptr })
		if !isFile {
			return &exitError{code: exitUsage, err: fmt.Errorf("%w: set MAILGRANT_PASSPHRASE and run with --store file", errNoUsableStore)}
		}
		fmt.Fprint(w, "Passphrase: ")
		b, err := term.ReadPassword(f.Fd())
		fmt.Fprintln(w)
		if err != nil {
			return fmt.Errorf("read the passphrase: %w", err)
		}
		fmt.Fprint(w, "Passphrase again: ")
		again, err := term.ReadPassword(f.Fd())
		fmt.Fprintln(w)
		if err != nil {
			return fmt.Errorf("read the passphrase: %w", err)
		}
		if string(b) != string(again) {
			return &exitError{code: exitUsage, err: errors.New("the passphrases differ; nothing was stored")}
		}
		pass = string(b)
	}
	fs, err := store.OpenFile(path, pass)
	if err != nil {
		return err
	}
	a.secrets = fs
	a.opts.store = "file"
	return nil
}
