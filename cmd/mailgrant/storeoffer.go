package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/tui"
)

// interactiveKeyringTimeout bounds keyring calls in the wizard, where an
// unlock prompt may be waiting for the admin; scripts keep the short default.
const interactiveKeyringTimeout = 2 * time.Minute

// errNoUsableStore ends the wizard when the keyring does not work and the
// admin declines the encrypted file.
var errNoUsableStore = errors.New("no usable place to keep secrets")

// ensureUsableStore checks, before the wizard starts, that the keyring works
// when new profiles would go there. When it does not, it explains why and
// offers the encrypted file store with its trade-off; it never switches
// silently. Then it opens the encrypted file if the wizard will use it (new
// profiles, or existing file profiles), so that the passphrase is asked
// here and not under the screens.
func (a *app) ensureUsableStore(start tui.Start, profile string) error {
	// In the wizard the keyring may put up an unlock prompt: give the admin
	// time to answer it.
	k := store.NewKeyring(store.ServiceName(a.opts.sandbox), store.WithTimeout(interactiveKeyringTimeout))
	a.useKeyring(k)
	if start != tui.StartReauth && a.newStore == store.BackendKeyring {
		if err := a.offerFileStore(k); err != nil {
			return err
		}
	}
	needFile := start != tui.StartReauth && a.newStore == store.BackendFile
	if ps, err := store.LoadProfiles(a.dir); err == nil {
		for _, p := range ps.List {
			if p.SecretsStore() == store.BackendFile && (start == tui.StartHome || p.Name == profile) {
				needFile = true
			}
		}
	}
	if needFile {
		if _, err := a.fileStore(); err != nil {
			return err
		}
	}
	return nil
}

// offerFileStore probes the keyring; when it fails, it offers the
// encrypted file for the new profile.
func (a *app) offerFileStore(k *store.Keyring) error {
	err := k.Probe()
	if err == nil {
		return nil
	}
	w := a.io.err
	fmt.Fprintf(w, "The OS keyring cannot be used: %v\n", err)
	var ke *store.KeyringError
	if errors.As(err, &ke) && ke.Hint != "" {
		fmt.Fprintf(w, "  To fix it: %s\n", ke.Hint)
	}
	fmt.Fprintf(w, `
mailgrant can keep the secrets in an encrypted file instead:
  %s
Trade-off: the file is protected only by a passphrase. Anyone with the file and
the passphrase has the secrets. mailgrant remembers that the profile uses the
file; scripts give the passphrase in an owner-only file
(%s=/path/to/it) or as the systemd credential %s.
Later, mailgrant move PROFILE --store keyring moves it back.

Use the encrypted file? [y/N] `, a.secretsPath(), store.PassphraseFileEnv, store.CredentialName)
	answer, _ := bufio.NewReader(a.io.in).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return &exitError{code: exitFailure, err: fmt.Errorf("%w: fix the keyring, or run with --store file", errNoUsableStore)}
	}
	a.newStore = store.BackendFile
	a.opts.store = "file"
	return nil
}
