// Package envsecret takes the secrets mailgrant accepts from the environment
// once, at start, and removes them from the process's environment, so that
// no child process inherits them: pkg/browser runs xdg-open, which starts a
// browser that would otherwise keep the client secret and the passphrase in
// its environment for its whole life.
//
//	envsecret.Take()                                    // first thing in main
//	secret := envsecret.Get(envsecret.ClientSecret)
package envsecret

import (
	"os"
	"sync"
)

// The variables that hold secrets.
const (
	// ClientSecret is an app's client secret.
	ClientSecret = "MAILGRANT_CLIENT_SECRET"
	// Passphrase unlocks the encrypted secrets file (--store file).
	Passphrase = "MAILGRANT_PASSPHRASE"
	// CertificatePassword opens a PFX file.
	CertificatePassword = "MAILGRANT_CERTIFICATE_PASSWORD"
)

// Names lists every variable Take removes.
var Names = []string{ClientSecret, Passphrase, CertificatePassword}

var (
	mu    sync.Mutex
	taken = map[string]string{}
)

// Take reads every variable of Names that is set, keeps its value for
// Lookup, and unsets it in the process. main calls it before anything can
// start a child process.
func Take() {
	mu.Lock()
	defer mu.Unlock()
	for _, name := range Names {
		if v, ok := os.LookupEnv(name); ok {
			taken[name] = v
			_ = os.Unsetenv(name)
		}
	}
}

// Lookup returns a secret variable's value and whether it was set: the
// environment's, when it is set there now (as tests do with t.Setenv), else
// the value Take removed.
func Lookup(name string) (string, bool) {
	if v, ok := os.LookupEnv(name); ok {
		return v, true
	}
	mu.Lock()
	defer mu.Unlock()
	v, ok := taken[name]
	return v, ok
}

// Get is Lookup without the flag: "" when unset.
func Get(name string) string {
	v, _ := Lookup(name)
	return v
}
