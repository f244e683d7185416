package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestMemory(t *testing.T) {
	m := NewMemory()

	// Get of a missing secret matches ErrNotFound
	if _, err := m.Get("p", KindRefreshToken); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get missing: err = %v, want ErrNotFound", err)
	}

	// Set, overwrite and Get, kept apart by profile and kind
	for _, step := range []struct {
		profile string
		kind    Kind
		value   string
	}{
		{"p", KindRefreshToken, "one"},
		{"p", KindRefreshToken, "two"},
		{"p", KindClientSecret, "secret"},
		{"q", KindRefreshToken, "other"},
	} {
		if err := m.Set(step.profile, step.kind, step.value); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []struct {
		profile string
		kind    Kind
		value   string
	}{
		{"p", KindRefreshToken, "two"},
		{"p", KindClientSecret, "secret"},
		{"q", KindRefreshToken, "other"},
	} {
		if got, err := m.Get(want.profile, want.kind); err != nil || got != want.value {
			t.Errorf("Get(%s, %s) = %q, %v; want %q", want.profile, want.kind, got, err, want.value)
		}
	}
	if m.Len() != 3 {
		t.Errorf("Len = %d, want 3", m.Len())
	}

	// Delete, including a missing secret
	if err := m.Delete("p", KindRefreshToken); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete("p", KindRefreshToken); err != nil {
		t.Errorf("Delete missing: %v", err)
	}
	if _, err := m.Get("p", KindRefreshToken); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
	}
}

func TestMemoryConcurrent(t *testing.T) {
	m := NewMemory()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := fmt.Sprintf("p%d", i)
			_ = m.Set(p, KindRefreshToken, p)
			if got, err := m.Get(p, KindRefreshToken); err != nil || got != p {
				t.Errorf("Get %s = %q, %v", p, got, err)
			}
			_ = m.Delete(p, KindAccessToken)
		}()
	}
	wg.Wait()
	if m.Len() != 20 {
		t.Errorf("Len = %d, want 20", m.Len())
	}
}
