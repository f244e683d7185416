package main

import (
	"path/filepath"
	"time"

	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/tui"
)

// interactiveKeyringTimeout bounds keyring calls in the wizard, where an
// unlock prompt may be waiting for the admin; scripts keep the short default.
const interactiveKeyringTimeout = 2 * time.Minute

// storeOffer is the wizard's keyring check: the wizard draws its first
// frame, then probes the keyring in the background, and when it does not
// work shows why and offers the encrypted file as a screen, with its
// trade-off; it never switches silently. Nil when the store is not the
// keyring (--store file).
func (a *app) storeOffer() *tui.StoreOffer {
	if _, ok := a.secrets.(*store.Keyring); !ok {
		return nil
	}
	// In the wizard the keyring may put up an unlock prompt: give the admin
	// time to answer it.
	k := store.NewKeyring(store.ServiceName(a.opts.sandbox), store.WithTimeout(interactiveKeyringTimeout))
	a.secrets = k
	path := filepath.Join(a.dir, store.SecretsFile)
	pass, _ := store.PassphraseFromEnv()
	file := a.opts
	file.store = "file"
	return &tui.StoreOffer{
		Probe:      k.Probe,
		Path:       path,
		Passphrase: pass,
		Open: func(pass string) (store.Secrets, error) {
			return store.OpenFile(path, pass)
		},
		FilePrefix: commandLine(file),
	}
}
