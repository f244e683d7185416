package store

import "github.com/zalando/go-keyring"

// osBackend is the OS keyring through go-keyring. On Secret Service platforms
// it first makes sure a D-Bus session bus is reachable, so that a missing bus
// is reported as such (and godbus does not autolaunch a bus of its own).
type osBackend struct{}

func (osBackend) get(service, user string) (string, error) {
	if err := sessionBusCheck(); err != nil {
		return "", err
	}
	return keyring.Get(service, user)
}

func (osBackend) set(service, user, value string) error {
	if err := sessionBusCheck(); err != nil {
		return err
	}
	return keyring.Set(service, user, value)
}

func (osBackend) delete(service, user string) error {
	if err := sessionBusCheck(); err != nil {
		return err
	}
	return keyring.Delete(service, user)
}
