package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNewCertificateNeverReplacesAFile: issue 11 item 1. --new-certificate
// pointed at profiles.json, or at a link to it, is refused with exit 2
// before any work and the file is left as it was; --force replaces a link
// itself, never the file it points to.
func TestNewCertificateNeverReplacesAFile(t *testing.T) {
	forEachBackend(t, testNewCertificateNeverReplacesAFile)
}

func testNewCertificateNeverReplacesAFile(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant-sandbox", "nf-first", "nf-rbac", "nf-forced")
	t.Setenv("MAILGRANT_SANDBOX", "1")
	setup := func(profile, path string, extra ...string) result {
		args := append([]string{"setup", "--non-interactive", "--scenario", "rbac", "--profile", profile, "--new-certificate", path}, extra...)
		return b.mailgrant(t, "", args...)
	}
	if r := setup("nf-first", filepath.Join(t.TempDir(), "first.pem")); r.code != 0 {
		t.Fatalf("setup: %d %s", r.code, r.stderr)
	}
	profiles := filepath.Join(dir, "sandbox", "profiles.json")
	before, err := os.ReadFile(profiles)
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.Symlink(profiles, link); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{profiles, link} {
		r := setup("nf-rbac", path)
		if r.code != 2 || !strings.Contains(r.stderr, "already exists") || !strings.Contains(r.stderr, "--force") {
			t.Errorf("%s: want exit 2 naming --force, got %d %s", path, r.code, r.stderr)
		}
		if strings.Contains(r.stderr, "Token obtained") {
			t.Errorf("%s: the flow ran before the path was refused", path)
		}
	}
	if after, _ := os.ReadFile(profiles); string(after) != string(before) {
		t.Fatalf("profiles.json was changed:\n%s", after)
	}
	if r := b.mailgrant(t, "", "list"); strings.Contains(r.stdout, "nf-rbac") {
		t.Fatalf("a refused setup saved a profile: %s", r.stdout)
	}
	if r := setup("nf-forced", link, "--force"); r.code != 0 {
		t.Fatalf("--force: %d %s", r.code, r.stderr)
	}
	if after, _ := os.ReadFile(profiles); !strings.Contains(string(after), "nf-forced") || strings.Contains(string(after), "CERTIFICATE") {
		t.Fatalf("--force wrote through the link into profiles.json:\n%s", after)
	}
	if data, _ := os.ReadFile(link); !strings.Contains(string(data), "BEGIN CERTIFICATE") {
		t.Fatalf("--force did not write the certificate at the link's path: %q", data)
	}
}

// TestNewCertificateWrittenOnlyAfterTheFlow: a setup stopped while it waits
// (here for admin consent, killed) leaves no certificate file behind.
func TestNewCertificateWrittenOnlyAfterTheFlow(t *testing.T) {
	env(t, "mailgrant-sandbox", "nf-any")
	pem := filepath.Join(t.TempDir(), "any.pem")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := mailgrantProcess(ctx, t, "--sandbox", "--no-browser", "setup", "--non-interactive", "--scenario", "send-as-any", "--profile", "nf-any", "--new-certificate", pem)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waiting := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "Waiting for the administrator") {
			waiting = true
			break
		}
	}
	if !waiting {
		t.Fatal("setup never waited for admin consent")
	}
	if _, err := os.Stat(pem); !os.IsNotExist(err) {
		t.Errorf("the certificate file exists while the flow still waits (%v)", err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if _, err := os.Stat(pem); !os.IsNotExist(err) {
		t.Errorf("a killed setup left the certificate file (%v)", err)
	}
}

// TestRBACScriptOutputIsNew: rbac-script --output refuses an existing file
// (exit 2, file unchanged) unless --force.
func TestRBACScriptOutputIsNew(t *testing.T) { forEachBackend(t, testRBACScriptOutputIsNew) }

func testRBACScriptOutputIsNew(t *testing.T, b *backend) {
	b.env(t, "mailgrant-sandbox", "nf-script")
	t.Setenv("MAILGRANT_SANDBOX", "1")
	if r := b.mailgrant(t, "", "setup", "--non-interactive", "--scenario", "rbac", "--profile", "nf-script"); r.code != 0 {
		t.Fatalf("setup: %d %s", r.code, r.stderr)
	}
	out := filepath.Join(t.TempDir(), "scope.ps1")
	if err := os.WriteFile(out, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := b.mailgrant(t, "", "rbac-script", "nf-script", "--output", out); r.code != 2 || !strings.Contains(r.stderr, "already exists") {
		t.Fatalf("want exit 2, got %d %s", r.code, r.stderr)
	}
	if data, _ := os.ReadFile(out); string(data) != "keep me" {
		t.Fatalf("the existing file was replaced: %q", data)
	}
	if r := b.mailgrant(t, "", "rbac-script", "nf-script", "--output", out, "--force"); r.code != 0 {
		t.Fatalf("--force: %d %s", r.code, r.stderr)
	}
	if data, _ := os.ReadFile(out); !strings.Contains(string(data), "New-ManagementRoleAssignment") {
		t.Fatalf("--force did not write the script: %q", data)
	}
}
