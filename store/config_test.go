package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func sampleProfile(name string) Profile {
	created := time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	expires := created.AddDate(1, 0, 0)
	return Profile{
		Name:                name,
		Scenario:            SendAsUser,
		Cloud:               "global",
		Tenant:              "contoso.onmicrosoft.com",
		ClientID:            "00000000-0000-0000-0000-000000000001",
		Account:             "alice@contoso.com",
		Permissions:         []string{"Mail.Send", "Files.Read.All"},
		Credential:          CredentialSecret,
		CredentialExpiresAt: &expires,
		CreatedAt:           created,
		AuthorizedAt:        &created,
		LastState:           "authorized",
	}
}

func writeProfilesFile(t *testing.T, dir, content string) string {
	t.Helper()
	path := filepath.Join(dir, ProfilesFile)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestProfilesRoundTrip(t *testing.T) {
	// Given profiles saved in a new directory
	dir := filepath.Join(t.TempDir(), "mailgrant")
	want := &Profiles{}
	want.Put(sampleProfile("wordpress"))
	app := sampleProfile("app-only")
	app.Scenario, app.Credential, app.AuthorizedAt = RBAC, CredentialCertificate, nil
	want.Put(app)
	if err := SaveProfiles(dir, want); err != nil {
		t.Fatalf("SaveProfiles: %v", err)
	}

	// When they are loaded again
	got, err := LoadProfiles(dir)

	// Then they are the same, sorted by name, with the schema version
	if err != nil {
		t.Fatalf("LoadProfiles: %v", err)
	}
	if got.Version != SchemaVersion {
		t.Errorf("Version = %d, want %d", got.Version, SchemaVersion)
	}
	if !reflect.DeepEqual(got.List, want.List) {
		t.Errorf("loaded %+v\nwant %+v", got.List, want.List)
	}
	if got.List[0].Name != "app-only" || got.List[1].Name != "wordpress" {
		t.Errorf("order = %s, %s; want sorted by name", got.List[0].Name, got.List[1].Name)
	}
}

func TestLoadProfilesMissingFile(t *testing.T) {
	p, err := LoadProfiles(t.TempDir())
	if err != nil || p == nil || len(p.List) != 0 || p.Version != SchemaVersion {
		t.Fatalf("LoadProfiles of an empty dir = %+v, %v; want an empty list", p, err)
	}
}

func TestSaveProfilesModeAndAtomicity(t *testing.T) {
	dir := t.TempDir()
	p := &Profiles{}
	for i := range 3 {
		// Given a file written, then rewritten
		p.Put(sampleProfile(fmt.Sprintf("p%d", i)))
		if err := SaveProfiles(dir, p); err != nil {
			t.Fatal(err)
		}
	}

	// Then it is readable only by its owner
	fi, err := os.Stat(filepath.Join(dir, ProfilesFile))
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("mode = %o, want 600", mode)
	}

	// And no temporary file is left beside it
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != ProfilesFile {
			t.Errorf("unexpected file %s left in the config directory", e.Name())
		}
	}
}

func TestSaveProfilesTightensMode(t *testing.T) {
	// Given a profiles file with a looser mode (an older or hand-made file)
	dir := t.TempDir()
	path := writeProfilesFile(t, dir, `{"version":1,"profiles":[]}`)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	// When it is saved
	if err := SaveProfiles(dir, &Profiles{}); err != nil {
		t.Fatal(err)
	}
	// Then the new file is 0600 (rename replaces the file, mode and all)
	fi, _ := os.Stat(path)
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("mode = %o, want 600", mode)
	}
}

func TestNewerSchemaRefusedWithoutRewriting(t *testing.T) {
	// Given a file written by a newer mailgrant
	dir := t.TempDir()
	content := `{"version": 99, "profiles": [{"name": "x", "scenario": "future", "new_field": true}]}`
	path := writeProfilesFile(t, dir, content)

	// When this mailgrant loads or updates it
	_, loadErr := LoadProfiles(dir)
	called := false
	updateErr := UpdateProfiles(dir, func(*Profiles) error { called = true; return nil })

	// Then both refuse with a CorruptError saying to upgrade
	for _, err := range []error{loadErr, updateErr} {
		var ce *CorruptError
		if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "newer mailgrant") {
			t.Errorf("err = %v, want a CorruptError about a newer mailgrant", err)
		}
	}
	if called {
		t.Error("UpdateProfiles called fn on a file it cannot read")
	}

	// And the file is untouched
	got, err := os.ReadFile(path)
	if err != nil || string(got) != content {
		t.Errorf("file changed to %q (%v)", got, err)
	}
}

func TestParseProfilesErrors(t *testing.T) {
	tests := []struct {
		name, content, reason string
	}{
		{"not JSON", `{"version":1,`, "not valid JSON"},
		{"wrong type", `{"version":"1"}`, "not valid JSON"},
		{"no version", `{"profiles":[]}`, "no schema version"},
		{"newer", `{"version":3,"profiles":[]}`, "newer mailgrant"},
		{"unknown store", `{"version":2,"profiles":[{"name":"a","scenario":"rbac","store":"tpm"}]}`, `unknown store "tpm"`},
		{"duplicate names", `{"version":1,"profiles":[{"name":"a","scenario":"rbac"},{"name":"a","scenario":"personal"}]}`, `"a" appears twice`},
		{"invalid name", `{"version":1,"profiles":[{"name":"-a","scenario":"rbac"}]}`, "profile 1"},
		{"empty name", `{"version":1,"profiles":[{"name":"","scenario":"rbac"}]}`, "empty"},
		{"unknown scenario", `{"version":1,"profiles":[{"name":"a","scenario":"send-as-everyone"}]}`, "unknown scenario"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Given a damaged file
			dir := t.TempDir()
			path := writeProfilesFile(t, dir, tt.content)

			// When it is loaded
			p, err := LoadProfiles(dir)

			// Then the error names the file and what is wrong, with a hint
			var ce *CorruptError
			if p != nil || !errors.As(err, &ce) {
				t.Fatalf("LoadProfiles = %v, %v; want a *CorruptError", p, err)
			}
			if ce.Path != path || !strings.Contains(ce.Reason, tt.reason) || ce.Hint() == "" {
				t.Errorf("got Path %q Reason %q; want %q and a reason containing %q", ce.Path, ce.Reason, path, tt.reason)
			}
			// And the file is left as it was
			if got, _ := os.ReadFile(path); string(got) != tt.content {
				t.Error("the file was changed")
			}
		})
	}
}

func TestSchema1ProfilesAreKeyringProfiles(t *testing.T) {
	// Given a profiles.json written before stores were recorded (schema 1)
	dir := t.TempDir()
	writeProfilesFile(t, dir, `{"version":1,"profiles":[{"name":"old","scenario":"send-as-user"}]}`)

	// When it is loaded, and a file profile is added and saved
	err := UpdateProfiles(dir, func(ps *Profiles) error {
		old, ok := ps.Get("old")
		if !ok || old.Store != "" || old.SecretsStore() != BackendKeyring {
			t.Errorf("old profile = %+v (ok %v); want no store recorded, read as keyring", old, ok)
		}
		ps.Put(Profile{Name: "new", Scenario: SendAsUser, Store: BackendFile})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Then the file is written as schema 2 and keeps the new profile's store
	data, _ := os.ReadFile(filepath.Join(dir, ProfilesFile))
	if !strings.Contains(string(data), `"version": 2`) || !strings.Contains(string(data), `"store": "file"`) {
		t.Errorf("profiles.json = %s; want version 2 and store file", data)
	}
	ps, err := LoadProfiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := ps.Get("new"); p.SecretsStore() != BackendFile {
		t.Errorf("new profile's store = %q, want file", p.SecretsStore())
	}
	if p, _ := ps.Get("old"); p.SecretsStore() != BackendKeyring {
		t.Errorf("old profile's store = %q, want keyring", p.SecretsStore())
	}
}

func TestValidateName(t *testing.T) {
	valid := []string{"a", "wordpress", "WP-prod.1", "cron_job", "9lives", strings.Repeat("x", 64)}
	invalid := []string{"", "-a", ".a", "_a", "a b", "a/b", "a\\b", "é", "a:b", strings.Repeat("x", 65), "a\n"}
	for _, n := range valid {
		if err := ValidateName(n); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", n, err)
		}
	}
	for _, n := range invalid {
		if err := ValidateName(n); err == nil {
			t.Errorf("ValidateName(%q) = nil, want an error", n)
		}
	}
}

func TestProfilesGetPutRemove(t *testing.T) {
	p := &Profiles{}
	p.Put(sampleProfile("b"))
	p.Put(sampleProfile("a"))
	updated := sampleProfile("b")
	updated.LastState = "reauthorize"
	p.Put(updated)
	if len(p.List) != 2 || p.List[0].Name != "a" {
		t.Fatalf("List = %+v, want a then b", p.List)
	}
	if got, ok := p.Get("b"); !ok || got.LastState != "reauthorize" {
		t.Errorf("Get(b) = %+v, %v; want the replaced profile", got, ok)
	}
	if !p.Remove("a") || p.Remove("a") {
		t.Error("Remove(a) should report true once, then false")
	}
	if _, ok := p.Get("a"); ok {
		t.Error("a is still there after Remove")
	}
}

func TestUpdateProfilesConcurrent(t *testing.T) {
	// Given 20 writers adding one profile each at the same time
	dir := filepath.Join(t.TempDir(), "cfg")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := UpdateProfiles(dir, func(p *Profiles) error {
				p.Put(sampleProfile(fmt.Sprintf("p%02d", i)))
				return nil
			})
			if err != nil {
				t.Errorf("UpdateProfiles %d: %v", i, err)
			}
		}()
	}
	wg.Wait()

	// Then none of them lost another's profile
	p, err := LoadProfiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.List) != 20 {
		t.Fatalf("profiles = %d, want 20", len(p.List))
	}
	for i := range 20 {
		if _, ok := p.Get(fmt.Sprintf("p%02d", i)); !ok {
			t.Errorf("p%02d is missing", i)
		}
	}
}

func TestUpdateProfilesFnErrorWritesNothing(t *testing.T) {
	// Given a saved profile
	dir := t.TempDir()
	if err := UpdateProfiles(dir, func(p *Profiles) error { p.Put(sampleProfile("a")); return nil }); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, ProfilesFile))

	// When an update changes the list and then fails
	boom := errors.New("boom")
	err := UpdateProfiles(dir, func(p *Profiles) error { p.Remove("a"); return boom })

	// Then the error comes back and the file is unchanged
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, ProfilesFile)); !bytes.Equal(before, after) {
		t.Error("the file changed although fn failed")
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("MAILGRANT_CONFIG_DIR", "/from/env")
	tests := []struct {
		override string
		sandbox  bool
		want     string
	}{
		{"", false, "/from/env"},
		{"/from/flag", false, "/from/flag"},
		{"/from/flag", true, filepath.Join("/from/flag", "sandbox")},
	}
	for _, tt := range tests {
		if got, err := DefaultDir(tt.override, tt.sandbox); err != nil || got != tt.want {
			t.Errorf("DefaultDir(%q, %v) = %q, %v; want %q", tt.override, tt.sandbox, got, err, tt.want)
		}
	}

	t.Setenv("MAILGRANT_CONFIG_DIR", "")
	t.Setenv("XDG_CONFIG_HOME", "/xdg")
	t.Setenv("HOME", "/home/u")
	got, err := DefaultDir("", false)
	if err != nil || !strings.HasSuffix(got, "mailgrant") {
		t.Errorf("DefaultDir = %q, %v; want the user config dir's mailgrant folder", got, err)
	}
}

func FuzzParseProfiles(f *testing.F) {
	valid, err := json.Marshal(&Profiles{Version: 1, List: []Profile{sampleProfile("a"), sampleProfile("b")}})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(valid),
		``,
		`null`,
		`{}`,
		`[]`,
		`{"version":1}`,
		`{"version":1,"profiles":null}`,
		`{"version":1,"profiles":[{"name":"a","scenario":"rbac"},{"name":"a","scenario":"rbac"}]}`,
		`{"version":1,"profiles":[{"name":"a b","scenario":"rbac"}]}`,
		`{"version":1,"profiles":[{"name":"a","scenario":"personal","created_at":"not a time"}]}`,
		`{"version":1,"profiles":[{"name":"a","scenario":"personal","authorized_at":null,"permissions":["Mail.Send"]}]}`,
		`{"version":2,"profiles":[]}`,
		`{"version":-1,"profiles":[]}`,
		`{"version":1e400}`,
		`{"version":1,"profiles":[{}]}`,
		"{\"version\":1,\"profiles\":[{\"name\":\"a\u0000\",\"scenario\":\"rbac\"}]}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfiles("profiles.json", data)
		if err != nil {
			var ce *CorruptError
			if p != nil || !errors.As(err, &ce) {
				t.Fatalf("ParseProfiles = %v, %v; want nil and a *CorruptError", p, err)
			}
			return
		}
		if p == nil || p.Version != SchemaVersion {
			t.Fatalf("ParseProfiles returned %+v without an error", p)
		}
		seen := map[string]bool{}
		for _, pr := range p.List {
			if ValidateName(pr.Name) != nil || seen[pr.Name] || !pr.Scenario.Valid() {
				t.Fatalf("accepted an invalid profile %+v", pr)
			}
			seen[pr.Name] = true
		}
		// What was accepted is written back and read again unchanged.
		out, err := json.Marshal(p)
		if err != nil {
			return // e.g. a year past 9999, which JSON cannot carry
		}
		again, err := ParseProfiles("profiles.json", out)
		if err != nil {
			t.Fatalf("re-parsing what was accepted: %v", err)
		}
		if out2, _ := json.Marshal(again); !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the profiles:\n%s\n%s", out, out2)
		}
	})
}

// TestProfileLockHonoursCancel: a second holder waits, and gives up when its
// context is cancelled (Ctrl-C), instead of waiting for ever.
func TestProfileLockHonoursCancel(t *testing.T) {
	l := ProfileLocker{Dir: t.TempDir()}
	unlock, err := l.LockProfile(context.Background(), "p")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := l.LockProfile(ctx, "p"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a held lock was taken or waited past cancel: %v", err)
	}
	other, err := l.LockProfile(context.Background(), "other")
	if err != nil {
		t.Fatalf("another profile's lock is blocked: %v", err)
	}
	other()
	unlock()
	again, err := l.LockProfile(context.Background(), "p")
	if err != nil {
		t.Fatalf("a released lock cannot be taken: %v", err)
	}
	again()
}
