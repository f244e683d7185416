package tui_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// ctrlC is the interrupt key.
func (w *wizard) ctrlC() { w.tm.Send(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}) }

// TestRotateCtrlCAfterSwitchKeepsTheOutcome: ctrl+c once the new secret is
// in use leaves with 130 like any ctrl+c, but must not say that nothing was
// saved (it was), and the last screen keeps what to delete now.
func TestRotateCtrlCAfterSwitchKeepsTheOutcome(t *testing.T) {
	w := startWizardWith(t, seedThree(t))
	expires := time.Now().AddDate(1, 0, 0).UTC().Format(time.DateOnly)
	w.rotateSecretTo(t, sandbox.SecondSecret(sandbox.DaemonApp), expires)
	w.waitFor(t, "now uses it")

	w.ctrlC()
	out, screen := w.finishNow(t)
	if !out.Cancelled {
		t.Errorf("outcome = %+v, want cancelled (exit 130)", out)
	}
	if strings.Contains(screen, "nothing was saved") {
		t.Errorf("the last screen says nothing was saved after the switch:\n%s", screen)
	}
	requireContains(t, screen, "now uses it", "Now delete the old secret")
}

// TestRotateCtrlCDuringWaitSaysNothingSwitched: ctrl+c (asked, then
// confirmed) while a new certificate is awaited says what is true: the
// profile keeps its old certificate, and the new key stays kept for R.
func TestRotateCtrlCDuringWaitSaysNothingSwitched(t *testing.T) {
	w, oldThumb := certProfile(t, false)
	pem := filepath.Join(t.TempDir(), "certd-new.pem")
	w.waitFor(t, "mailgrant profiles", "certd")
	w.press('R')
	w.waitFor(t, "Save public to")
	w.clearField()
	w.tm.Type(pem)
	w.press(tea.KeyEnter)
	w.waitFor(t, "Waiting until a token signed with the new certificate works")

	w.ctrlC()
	w.waitFor(t, "The rotation stops")
	w.ctrlC()
	out, screen := w.finishNow(t)
	if !out.Cancelled {
		t.Errorf("outcome = %+v, want cancelled (exit 130)", out)
	}
	requireContains(t, screen, "nothing was switched", "certd keeps its old credential")
	if p, _ := w.loadProfile(t, "certd"); p.CertificateThumbprint != oldThumb {
		t.Errorf("thumbprint = %q, want the old %q", p.CertificateThumbprint, oldThumb)
	}
	w.requireSecret(t, "certd", store.KindCertificateKeyNext)
}
