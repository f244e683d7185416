package tui

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// doneAt is the done screen for a saved profile, as the root model shows it.
func doneAt(t *testing.T, d Deps, p store.Profile, w, h int) string {
	t.Helper()
	m := New(context.Background(), d)
	st := &flows.Status{State: flows.StateAuthorized, Steps: []flows.Step{
		{Name: flows.StepToken, Result: flows.StepOK, Detail: "access token valid until 10:00"},
		{Name: flows.StepAccount, Result: flows.StepOK, Detail: "signed in as " + testAccount},
		{Name: flows.StepPermissions, Result: flows.StepOK, Detail: "all present: Mail.Send, User.Read"},
	}}
	m.step = stepDone
	m.done = newDoneScreen(m.styles, m.deps, p, st, "")
	return viewAt(m, w, h)
}

// TestDoneScreenSaysWhereTheSecretIs: the done screen names the store the
// saved profile records (the keyring's service and item, or the encrypted
// file's path) and the script command cmd built for that store, at every
// size. Goldens: go test ./tui -run TestDoneScreenSaysWhereTheSecretIs -update.
func TestDoneScreenSaysWhereTheSecretIs(t *testing.T) {
	const dir = "/home/admin/.config/mailgrant/sandbox"
	profile := func(b store.Backend) store.Profile {
		return store.Profile{Name: "sandbox-mailer", Scenario: store.SendAsUser, Account: testAccount, Store: b}
	}
	tests := []struct {
		name  string
		store store.Backend
		hint  ScriptHint
		want  []string
	}{
		{
			name: "keyring", store: store.BackendKeyring,
			hint: ScriptHint{Prefix: "mailgrant --sandbox"},
			want: []string{"OS keyring, service mailgrant-sandbox, item sandbox-mailer/refresh-token", "mailgrant --sandbox token sandbox-mailer"},
		},
		{
			name: "file", store: store.BackendFile,
			hint: ScriptHint{
				Prefix:      "MAILGRANT_PASSPHRASE_FILE=" + dir + "/passphrase mailgrant --sandbox",
				Prepare:     "(umask 077; cat > " + dir + "/passphrase)",
				PrepareNote: "save the passphrase where scripts read it, readable by you alone (type it, then Enter and Ctrl-D)",
			},
			want: []string{"encrypted file " + dir + "/secrets.age, item sandbox-mailer/refresh-token", "MAILGRANT_PASSPHRASE_FILE=" + dir + "/passphrase mailgrant --sandbox token sandbox-mailer", "umask 077"},
		},
	}
	for _, tt := range tests {
		for _, size := range [][2]int{{60, 20}, {80, 24}, {120, 40}} {
			t.Run(fmt.Sprintf("%s-%dx%d", tt.name, size[0], size[1]), func(t *testing.T) {
				// Given a profile saved in the store, and cmd's script hint
				d := testDeps(t)
				d.ConfigDir = dir
				hint := tt.hint
				d.Script = func(p store.Profile) ScriptHint {
					if p.SecretsStore() != tt.store {
						t.Errorf("Script got a profile in %q, want %q", p.SecretsStore(), tt.store)
					}
					return hint
				}
				// When the done screen is shown at this size
				view := doneAt(t, d, profile(tt.store), size[0], size[1])
				// Then it says where the secret is and the command a script runs,
				// each command on one line so that it can be copied
				// (a command wider than the screen continues on the next
				// line after a backslash, as a shell reads it)
				joined := regexp.MustCompile(`\\\n *`).ReplaceAllString(view, "")
				flat := strings.Join(strings.Fields(joined), " ")
				for _, w := range tt.want {
					if !strings.Contains(flat, w) {
						t.Errorf("the screen lacks %q:\n%s", w, view)
					}
				}
				if !strings.Contains(joined, hint.Prefix+" token sandbox-mailer") || hint.Prepare != "" && !strings.Contains(joined, hint.Prepare) {
					t.Errorf("a command is broken across lines:\n%s", view)
				}
				if rows := strings.Count(strings.TrimRight(view, "\n"), "\n") + 1; rows > size[1] {
					t.Errorf("the screen has %d lines for %d rows", rows, size[1])
				}
				if tt.store == store.BackendFile && strings.Contains(view, "OS keyring") {
					t.Errorf("a file profile's done screen mentions the keyring:\n%s", view)
				}
				golden.RequireEqual(t, []byte(view))
			})
		}
	}
}

// TestDoneScreenWithoutScript: with no Script in Deps the commands use
// CommandPrefix, and an old profile with no store recorded is a keyring one.
func TestDoneScreenWithoutScript(t *testing.T) {
	d := testDeps(t)
	view := doneAt(t, d, store.Profile{Name: "old", Scenario: store.SendAsUser, Account: testAccount}, 80, 24)
	if !strings.Contains(view, "mailgrant --sandbox token old") || !strings.Contains(view, "OS keyring, service mailgrant-sandbox, item old/refresh-token") {
		t.Fatalf("view:\n%s", view)
	}
}

// TestShellLinesPasteAsOneCommand: a command laid out for a narrow screen,
// pasted into a shell line by line (with the screen's indent), is the same
// command: sh prints the same words for it as for the original.
func TestShellLinesPasteAsOneCommand(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	cmds := []string{
		"MAILGRANT_PASSPHRASE_FILE=/home/admin/.config/mailgrant/sandbox/passphrase mailgrant --sandbox token sandbox-mailer",
		"(umask 077; cat > /home/admin/.config/mailgrant/a/very/long/path/that/does/not/fit/in/sixty/columns/passphrase)",
		"mailgrant --sandbox --config-dir '/tmp/my config dir/with spaces' status wordpress",
		"mailgrant --config-dir '/tmp/it'\\''s here' token x",
	}
	for _, cmd := range cmds {
		for _, width := range []int{40, 60, 80} {
			lines := shellLines(cmd, 4, width)
			var pasted []string
			for i, l := range lines {
				if w := 4 + len(l); w > width && !strings.Contains(l, "'") {
					t.Errorf("width %d: line %q is %d cells", width, l, w)
				}
				if i == 0 || strings.HasPrefix(l, " ") {
					l = "    " + l
				}
				pasted = append(pasted, l)
			}
			echo := func(c string) string {
				// printf one word a line, so word splitting shows
				// (the shell's operators are escaped: only the words matter)
				c = strings.NewReplacer("(", "\\(", ")", "\\)", ";", "\\;", ">", "\\>").Replace(c)
				out, err := exec.Command(sh, "-c", "set -- "+c+"\nprintf '%s\\n' \"$@\"").CombinedOutput()
				if err != nil {
					t.Fatalf("sh: %v %s", err, out)
				}
				return string(out)
			}
			if want, got := echo(cmd), echo(strings.Join(pasted, "\n")); got != want {
				t.Errorf("width %d: pasted\n%s\nsplits as\n%s\nwant\n%s", width, strings.Join(pasted, "\n"), got, want)
			}
		}
	}
}
