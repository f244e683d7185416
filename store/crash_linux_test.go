//go:build linux

package store

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
)

// TestSaveProfilesSurvivesAWriteCutShort: issue 11 item 7. A save whose
// write is cut short (here by a file-size limit in a child process, as a
// full disk would) leaves the previous profiles.json whole: it is written to
// a temporary file and renamed, never rewritten in place.
func TestSaveProfilesSurvivesAWriteCutShort(t *testing.T) {
	if dir := os.Getenv("MAILGRANT_TEST_SAVE_CUT_SHORT"); dir != "" {
		saveUnderSizeLimit(dir)
		return
	}
	// Given a profiles.json with one profile
	dir := t.TempDir()
	before := &Profiles{}
	before.Put(Profile{Name: "precious", Scenario: SendAsUser, Tenant: "contoso.onmicrosoft.com", ClientID: "1b2c3d4e-1111-2222-3333-444455556666", Account: "a@contoso.com", Permissions: []string{"Mail.Send"}})
	if err := SaveProfiles(dir, before); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(dir + "/" + ProfilesFile)

	// When a process saves a much larger list and its write fails part-way
	cmd := exec.Command(os.Args[0], "-test.run=^TestSaveProfilesSurvivesAWriteCutShort$")
	cmd.Env = append(os.Environ(), "MAILGRANT_TEST_SAVE_CUT_SHORT="+dir)
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "save failed: true") {
		t.Fatalf("the child's save did not fail as arranged:\n%s", out)
	}

	// Then profiles.json is the old file, whole and readable
	got, _ := os.ReadFile(dir + "/" + ProfilesFile)
	if string(got) != string(want) {
		t.Fatalf("profiles.json was damaged by the failed save (%d bytes, want %d):\n%.200s", len(got), len(want), got)
	}
	if ps, err := LoadProfiles(dir); err != nil || len(ps.List) != 1 {
		t.Fatalf("profiles.json no longer loads: %v", err)
	}
}

// saveUnderSizeLimit runs in the child: files may grow to 4 KiB only, and
// SaveProfiles is asked to write far more.
func saveUnderSizeLimit(dir string) {
	signal.Ignore(syscall.SIGXFSZ) // a failed write, not a dead process
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 4096, Max: 4096}); err != nil {
		fmt.Println("setrlimit:", err)
		return
	}
	big := &Profiles{}
	for i := range 500 {
		big.Put(Profile{Name: fmt.Sprintf("p%03d", i), Scenario: SendAsUser, Tenant: "contoso.onmicrosoft.com", ClientID: "1b2c3d4e-1111-2222-3333-444455556666", Account: "a@contoso.com", Permissions: []string{"Mail.Send"}})
	}
	fmt.Println("save failed:", SaveProfiles(dir, big) != nil)
}
