package main

import (
	"time"

	"github.com/mailgrant/mailgrant/store"
)

// factory makes what commands reach outside the process for, so that
// in-process command tests can give them something else (cli/cli's
// cmdutil.Factory): the tests run every command against a store.Memory as
// well as the real keyring. Production uses realFactory; a nil *factory in
// globalOptions means the same.
type factory struct {
	// Keyring opens the OS keyring's items under service, each call bounded
	// by timeout (0: store.DefaultKeyringTimeout).
	Keyring func(service string, timeout time.Duration) keyring
}

// keyring is the slice of store.Keyring commands use: the secrets, and the
// wizard's check that the keyring works.
type keyring interface {
	store.Secrets
	Probe() error
}

var _ keyring = (*store.Keyring)(nil)

// realFactory is the factory of the mailgrant binary: the OS keyring.
func realFactory() *factory {
	return &factory{
		Keyring: func(service string, timeout time.Duration) keyring {
			if timeout == 0 {
				return store.NewKeyring(service)
			}
			return store.NewKeyring(service, store.WithTimeout(timeout))
		},
	}
}

// openKeyring opens the keyring service of this profile set (sandbox or
// not) through the factory in the global options.
func (a *app) openKeyring(timeout time.Duration) keyring {
	f := a.opts.deps
	if f == nil {
		f = realFactory()
	}
	return f.Keyring(store.ServiceName(a.opts.sandbox), timeout)
}
