package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// TestCheckAllProfilesIsBounded: the home screen's "check all" runs at most
// flows.CheckAllLimit checks at once, as status does, and still delivers
// every result. No check returns until the limit is in flight; bounded,
// every check past the limit starts after one has returned, while an
// unbounded run starts them all before any returns.
func TestCheckAllProfilesIsBounded(t *testing.T) {
	limit := flows.CheckAllLimit
	n := 2 * limit
	var list []store.Profile
	for i := range n {
		// Each its own mailbox: profiles of one app and mailbox have their
		// own, lower bound (flows.CheckAllPerMailbox).
		list = append(list, store.Profile{Name: fmt.Sprintf("p%02d", i), ClientID: "app", Account: fmt.Sprintf("user%02d@contoso.com", i)})
	}
	var returned, early atomic.Int64
	started := make(chan struct{}, n)
	gate := make(chan struct{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	check := func(ctx context.Context, p store.Profile) profileCheckedMsg {
		if returned.Load() == 0 {
			early.Add(1) // started before any check returned
		}
		started <- struct{}{}
		select {
		case <-gate:
		case <-ctx.Done():
		}
		returned.Add(1)
		return profileCheckedMsg{Name: p.Name, Status: &flows.Status{Name: p.Name, State: flows.StateAuthorized}}
	}

	first := make(chan any, 1)
	go func() { first <- checkAllProfiles(ctx, 7, list, check)() }()
	for range limit {
		select {
		case <-started:
		case <-ctx.Done():
			t.Fatal("the limit was never reached: fewer checks at once than flows.CheckAllLimit")
		}
	}
	// Let any check past the limit that could start, start: bounded, none
	// can; this only gives a broken bound its chance to show.
	for range 1000 {
		runtime.Gosched()
	}
	close(gate)

	msg := <-first
	seen := map[string]bool{}
	for range n {
		m, ok := msg.(profileCheckedMsg)
		if !ok || m.Batch != 7 {
			t.Fatalf("got %#v, want a result of batch 7", msg)
		}
		seen[m.Name] = true
		msg = waitForProfileCheck(m.Next)()
	}
	if msg != nil || len(seen) != n {
		t.Fatalf("%d distinct results then %#v, want %d then nil", len(seen), msg, n)
	}
	if got := early.Load(); got > int64(limit) {
		t.Fatalf("%d checks started before any returned, want at most %d", got, limit)
	}
}

// TestNewCertificatePathRefusedBeforeWork: the form refuses, as the command
// line does (flows.CheckNewFile), a path where a file already is, before a
// certificate is made; it used to be found only when writing.
func TestNewCertificatePathRefusedBeforeWork(t *testing.T) {
	taken := filepath.Join(t.TempDir(), "taken.pem")
	if err := os.WriteFile(taken, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	msg := checkNewCertificatePath(1, taken)().(credentialCheckedMsg)
	if msg.Err == nil || !strings.Contains(msg.Err.Error(), "already exists") || msg.Field != fieldNewCert {
		t.Fatalf("an existing file was accepted: %+v", msg)
	}
	if data, _ := os.ReadFile(taken); string(data) != "keep me" {
		t.Fatal("the check changed the file")
	}
	if msg := checkNewCertificatePath(1, filepath.Join(t.TempDir(), "new.pem"))().(credentialCheckedMsg); msg.Err != nil {
		t.Fatalf("a new path was refused: %v", msg.Err)
	}
}
