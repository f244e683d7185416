package store

import (
	"errors"
	"testing"
)

// faulty is a Memory whose Set fails for one kind, or whose Get returns a
// changed value, to play a target that cannot keep a secret.
type faulty struct {
	*Memory
	failSet Kind
	corrupt bool
}

func (f faulty) Set(profile string, kind Kind, value string) error {
	if kind == f.failSet {
		return errors.New("disk full")
	}
	return f.Memory.Set(profile, kind, value)
}

func (f faulty) Get(profile string, kind Kind) (string, error) {
	v, err := f.Memory.Get(profile, kind)
	if f.corrupt && err == nil {
		v += "!"
	}
	return v, err
}

func TestMoveFailuresLeaveTheSourceInUse(t *testing.T) {
	commitErr := errors.New("profiles.json is read-only")
	tests := []struct {
		name   string
		dst    func() Secrets
		commit error
		step   string
	}{
		{"a copy fails", func() Secrets { return faulty{Memory: NewMemory(), failSet: KindClientSecret} }, nil, "copy"},
		{"a copy reads back different", func() Secrets { return faulty{Memory: NewMemory(), corrupt: true} }, nil, "verify"},
		{"recording the store fails", func() Secrets { return NewMemory() }, commitErr, "commit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Given a profile with two secrets, and a stale copy in the target
			src := NewMemory()
			_ = src.Set("p", KindRefreshToken, "rt")
			_ = src.Set("p", KindClientSecret, "cs")
			dst := tt.dst()
			var inner *Memory
			switch d := dst.(type) {
			case faulty:
				inner = d.Memory
			case *Memory:
				inner = d
			}
			_ = inner.Set("p", KindCertificateKey, "stale")
			committed := false
			// When it is moved and a step fails
			_, err := Move(src, dst, "p", func() error { committed = true; return tt.commit })
			// Then the error names the step, the source is untouched, and the
			// target holds nothing of the profile
			var me *MoveError
			if !errors.As(err, &me) || me.Step != tt.step {
				t.Fatalf("err = %v, want a MoveError at %s", err, tt.step)
			}
			if tt.step != "commit" && committed {
				t.Error("the new store was recorded although the copy failed")
			}
			if v, _ := src.Get("p", KindRefreshToken); v != "rt" {
				t.Error("the source lost its refresh token")
			}
			if v, _ := src.Get("p", KindClientSecret); v != "cs" {
				t.Error("the source lost its client secret")
			}
			if inner.Len() != 0 {
				t.Errorf("the target still holds %d items", inner.Len())
			}
		})
	}
}

func TestMoveMovesEveryKind(t *testing.T) {
	src, dst := NewMemory(), NewMemory()
	for _, k := range Kinds {
		_ = src.Set("p", k, "v-"+string(k))
	}
	_ = src.Set("other", KindRefreshToken, "keep")
	moved, err := Move(src, dst, "p", func() error { return nil })
	if err != nil || len(moved) != len(Kinds) {
		t.Fatalf("moved %v, err %v", moved, err)
	}
	for _, k := range Kinds {
		if v, err := dst.Get("p", k); err != nil || v != "v-"+string(k) {
			t.Errorf("%s in the target: %q %v", k, v, err)
		}
		if _, err := src.Get("p", k); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s still in the source", k)
		}
	}
	if v, _ := src.Get("other", KindRefreshToken); v != "keep" {
		t.Error("another profile's secret was moved")
	}
}
