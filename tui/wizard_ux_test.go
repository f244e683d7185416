package tui_test

import (
	"errors"
	"sync/atomic"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/tui"
)

// failingBrowser stands for a machine with no browser launcher.
type failingBrowser struct{}

func (failingBrowser) Open(string) error {
	return errors.New(`exec: "xdg-open,x-www-browser,www-browser": executable file not found in $PATH`)
}

// With no browser, the sign-in screen offers the device code on the same
// screen with one named key, and d switches to it.
func TestWizardHeadlessOffersDeviceCode(t *testing.T) {
	w := startWizard(t, func(d *tui.Deps) { d.Browser = failingBrowser{} })
	w.signIn(t)
	w.waitFor(t, "No browser could be opened (no browser launcher (xdg-open) is installed", "Press d to sign in with a device code instead")
	w.press('d')
	w.waitFor(t, "On this machine", "and enter the code")
	w.tm.Send(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	w.waitFor(t, "Quit?")
	w.press('y')
	out, _ := w.finishNow(t)
	if !out.Cancelled {
		t.Fatalf("outcome = %+v", out)
	}
}

// The first frame comes before the keyring probe; a keyring that does not
// work is then explained on a screen that offers the encrypted file.
func TestWizardKeyringOfferAfterFirstFrame(t *testing.T) {
	release := make(chan struct{})
	var opened atomic.Bool
	w := startWizard(t, func(d *tui.Deps) {
		d.Start = tui.StartHome // no profiles: the chooser, before and after
		d.Store = &tui.StoreOffer{
			Path: "/home/admin/.config/mailgrant/secrets.age",
			Probe: func() error {
				<-release
				return errors.New("the keyring is locked and no prompt could be shown")
			},
			Open: func(string) (store.Secrets, error) {
				opened.Store(true)
				return store.NewMemory(), nil
			},
			FilePrefix: "mailgrant --sandbox --store file",
		}
	})
	// The chooser is drawn while the probe still waits.
	w.waitFor(t, "What should the program be allowed to do?")
	close(release)
	w.waitFor(t, "The OS keyring cannot be used", "the keyring is locked", "Trade-off", "Use the encrypted file? y/n")
	w.press('y')
	w.waitFor(t, "at least 12 characters")
	w.tm.Send(tea.KeyPressMsg{Code: 'g', Mod: tea.ModCtrl})
	w.waitFor(t, "Generated passphrase")
	w.press(tea.KeyEnter)
	w.waitFor(t, "What should the program be allowed to do?")
	if !opened.Load() {
		t.Fatal("the encrypted file was not opened")
	}
	w.press('q')
	if out, _ := w.finishNow(t); out.Err != nil {
		t.Fatalf("outcome = %+v", out)
	}
}

// Declining the encrypted file ends the wizard with a reason.
func TestWizardKeyringOfferDeclined(t *testing.T) {
	w := startWizard(t, func(d *tui.Deps) {
		d.Store = &tui.StoreOffer{Path: "/x/secrets.age", Probe: func() error { return errors.New("no Secret Service") }}
	})
	w.waitFor(t, "Use the encrypted file? y/n")
	out, _ := w.finish(t, 'n')
	if !errors.Is(out.Err, tui.ErrNoUsableStore) {
		t.Fatalf("outcome = %+v, want no usable store", out)
	}
}

// An encrypted file that already exists is opened with its own passphrase,
// typed once, whatever its length (it may predate the 12-character
// minimum); no new one is asked for or generated.
func TestWizardKeyringOfferExistingFile(t *testing.T) {
	var got atomic.Value
	w := startWizard(t, func(d *tui.Deps) {
		d.Start = tui.StartHome
		d.Store = &tui.StoreOffer{
			Path:   "/home/admin/.config/mailgrant/secrets.age",
			Exists: true,
			Probe:  func() error { return errors.New("no Secret Service") },
			Open: func(pass string) (store.Secrets, error) {
				got.Store(pass)
				return store.NewMemory(), nil
			},
			FilePrefix: "mailgrant --store file",
		}
	})
	w.waitFor(t, "Use the encrypted file? y/n")
	w.press('y')
	w.waitFor(t, "The encrypted file exists: type its passphrase.")
	w.tm.Type("short")
	w.press(tea.KeyEnter)
	w.waitFor(t, "What should the program be allowed to do?")
	if p, _ := got.Load().(string); p != "short" {
		t.Fatalf("the file was opened with %q, want the typed passphrase", p)
	}
	w.press('q')
	if out, _ := w.finishNow(t); out.Err != nil {
		t.Fatalf("outcome = %+v", out)
	}
}
