package tui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/tui"
)

// With the profiles read before the wizard starts, its very first frame is
// the chooser (no profiles) or the list, not a frame that waits for the file
// (issue 11: the first frame came a tick later than a bare program's).
func TestFirstFrameShowsPreloadedProfiles(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		profiles *store.Profiles
		want     string
	}{
		{"no profiles", &store.Profiles{Version: store.SchemaVersion}, "What should the program be allowed to do?"},
		{"one profile", &store.Profiles{Version: store.SchemaVersion, List: []store.Profile{{Name: "wordpress", Scenario: store.SendAsUser, CreatedAt: at}}}, "wordpress"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tui.New(context.Background(), tui.Deps{ConfigDir: t.TempDir(), Start: tui.StartHome, Profiles: tc.profiles, Secrets: store.NewMemory()})
			if v := ansi.Strip(m.View().Content); !strings.Contains(v, tc.want) {
				t.Fatalf("first frame lacks %q:\n%s", tc.want, v)
			}
		})
	}
}
