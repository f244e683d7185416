package tui_test

import (
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/tui"
)

// TestWizardDoneScreenFileStore: when the wizard's secrets go to the
// encrypted file, the done screen says so (the file's path and item, never
// the keyring), the saved profile records the file, and the script command
// is the one cmd built for a file profile (issue 10: the done screen named the
// keyring while the secret was in secrets.age).
func TestWizardDoneScreenFileStore(t *testing.T) {
	var path string
	var scriptFor store.Backend
	w := startWizard(t, func(d *tui.Deps) {
		path = filepath.Join(d.ConfigDir, store.SecretsFile)
		f, err := store.OpenFile(path, "a test passphrase", store.WithScryptWorkFactor(10))
		if err != nil {
			t.Fatal(err)
		}
		d.Secrets = f
		d.Script = func(p store.Profile) tui.ScriptHint {
			scriptFor = p.SecretsStore()
			return tui.ScriptHint{Prefix: "MAILGRANT_PASSPHRASE_FILE=/srv/pass mailgrant --sandbox"}
		}
	})
	w.signIn(t)
	w.waitFor(t, "token mailer")
	out, screen := w.finish(t, tea.KeyEnter)
	if !out.Completed || out.Err != nil {
		t.Fatalf("outcome = %+v", out)
	}
	requireContains(t, screen,
		"encrypted file "+path+", item mailer/refresh-token",
		"MAILGRANT_PASSPHRASE_FILE=/srv/pass mailgrant --sandbox token mailer")
	if strings.Contains(screen, "OS keyring") {
		t.Errorf("the done screen names the keyring:\n%s", screen)
	}
	if scriptFor != store.BackendFile {
		t.Errorf("the script command was built for a %q profile", scriptFor)
	}
	ps, err := store.LoadProfiles(w.deps.ConfigDir)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := ps.Get("mailer"); p.Store != store.BackendFile {
		t.Errorf("profiles.json records store %q, want file", p.Store)
	}
}
