package main

import (
	"time"

	"github.com/mailgrant/mailgrant/store"
)

// factory makes the two places secrets can be, so that in-process command
// tests can give the commands other ones (cli/cli's cmdutil.Factory): they
// run every command on a store.Memory as well as on the OS keyring.
// Production uses realFactory; a nil *factory in globalOptions means the
// same.
type factory struct {
	// Keyring opens the OS keyring's items under service, each call bounded
	// by timeout (0: store.DefaultKeyringTimeout).
	Keyring func(service string, timeout time.Duration) keyring
	// File opens the encrypted file at path with passphrase.
	File func(path, passphrase string) (*store.File, error)
}

// keyring is the slice of store.Keyring commands use: the secrets, and the
// wizard's check that the keyring works.
type keyring interface {
	store.Secrets
	Probe() error
}

var _ keyring = (*store.Keyring)(nil)

// realFactory is the factory of the mailgrant binary: the OS keyring, and
// the encrypted file at age's scrypt cost.
func realFactory() *factory {
	return &factory{
		Keyring: func(service string, timeout time.Duration) keyring {
			if timeout == 0 {
				return store.NewKeyring(service)
			}
			return store.NewKeyring(service, store.WithTimeout(timeout))
		},
		File: func(path, passphrase string) (*store.File, error) {
			return store.OpenFile(path, passphrase)
		},
	}
}

// deps is the factory in the global options, or the real one.
func (a *app) deps() *factory {
	if a.opts.deps == nil {
		return realFactory()
	}
	return a.opts.deps
}

// openKeyring opens the keyring service of this profile set (sandbox or
// not).
func (a *app) openKeyring(timeout time.Duration) keyring {
	return a.deps().Keyring(store.ServiceName(a.opts.sandbox), timeout)
}
