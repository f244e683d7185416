package main

import (
	"os"
	"time"

	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/tui"
)

// interactiveKeyringTimeout bounds each keyring call in the wizard, where an
// unlock prompt may be waiting for the admin; scripts keep the short default.
const interactiveKeyringTimeout = 2 * time.Minute

// openFileProfiles opens the encrypted file before the wizard starts when
// the wizard will use it: new profiles go there (--store file), or an
// existing profile it shows keeps its secrets there. The passphrase is then
// asked at the plain terminal and not under the screens.
//
// When some profile keeps its secrets in the file but the wizard starts
// elsewhere (re-authorizing a keyring profile), it is opened too, since Esc
// leads to the list of every profile; failing to open it then is not an
// error here: those profiles show it on the list.
func (a *app) openFileProfiles(start tui.Start, profile string) error {
	needFile := start != tui.StartReauth && a.newBackend() == store.BackendFile
	anyFile := false
	if ps, err := store.LoadProfiles(a.dir); err == nil {
		for _, p := range ps.List {
			if p.SecretsStore() != store.BackendFile {
				continue
			}
			anyFile = true
			if start == tui.StartHome || p.Name == profile {
				needFile = true
			}
		}
	}
	if !needFile && !anyFile {
		return nil
	}
	if _, err := a.fileStore(); err != nil && needFile {
		return err
	}
	return nil
}

// storeOffer is the wizard's keyring check: the wizard draws its first
// frame, then probes the keyring in the background, and when it does not
// work shows why and offers the encrypted file as a screen, with its
// trade-off; it never switches silently. Nil when new profiles do not go to
// the keyring (--store file) or the wizard only re-authorizes.
func (a *app) storeOffer(start tui.Start) *tui.StoreOffer {
	// In the wizard the keyring may put up an unlock prompt: give the admin
	// time to answer it.
	k := a.openKeyring(interactiveKeyringTimeout)
	a.useKeyring(k)
	if start == tui.StartReauth || a.newBackend() != store.BackendKeyring {
		return nil
	}
	pass, _, _ := store.LookupPassphrase() // a refused source is asked for instead
	if f, open := a.openedFile(); f != nil {
		// Already opened before the screens: choosing the file uses it.
		pass = open
	}
	file := a.opts
	file.store = "file"
	return &tui.StoreOffer{
		Probe:      k.Probe,
		Path:       a.secretsPath(),
		Passphrase: pass.Value,
		Open: func(passphrase string) (store.Secrets, error) {
			f, err := a.deps().File(a.secretsPath(), passphrase)
			if err != nil {
				return nil, err
			}
			source := pass
			if passphrase != pass.Value {
				source = store.Passphrase{Value: passphrase, Source: store.FromPrompt}
			}
			a.useFile(f, source)
			a.setNewBackend(store.BackendFile)
			// The routing store: new profiles now go to the file, existing
			// ones stay where they are.
			return a.secrets, nil
		},
		FilePrefix: commandLine(file),
		Exists:     fileExists(a.secretsPath()),
	}
}

// fileExists reports whether path exists.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
