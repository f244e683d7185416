package store

import (
	"fmt"
	"sync"
)

// Memory keeps secrets in a map, for unit tests of code above store. Use one
// per test; it is safe for concurrent use.
type Memory struct {
	mu    sync.Mutex
	items map[string]string
}

var _ Secrets = (*Memory)(nil)

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{items: map[string]string{}}
}

// Get returns the secret, or an error wrapping ErrNotFound when there is none.
func (m *Memory) Get(profile string, kind Kind) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.items[itemName(profile, kind)]
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrNotFound, itemName(profile, kind))
	}
	return v, nil
}

// Set stores the secret, replacing any earlier one.
func (m *Memory) Set(profile string, kind Kind, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[itemName(profile, kind)] = value
	return nil
}

// Delete removes the secret; deleting a missing secret is not an error.
func (m *Memory) Delete(profile string, kind Kind) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, itemName(profile, kind))
	return nil
}

// Len returns how many secrets are stored, so tests can check that a command
// stored or removed what it should.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}
