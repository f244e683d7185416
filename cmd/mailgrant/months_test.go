package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// readProfile reads one sandbox profile from profiles.json as the file
// holds it.
func readProfile(t *testing.T, dir, name string) store.Profile {
	t.Helper()
	ps, err := store.LoadProfiles(filepath.Join(dir, "sandbox"))
	if err != nil {
		t.Fatal(err)
	}
	p, ok := ps.Get(name)
	if !ok {
		t.Fatalf("no profile %s in %s", name, dir)
	}
	return p
}

// TestPolicyScopingCommands: setup --scoping policy is kept in the profile;
// status passes it with tenant-wide Mail.Send narrowed by the policy (both
// forms), fails it without a policy, and rbac-script prints the policy.
func TestPolicyScopingCommands(t *testing.T) {
	dir := env(t, "mailgrant-sandbox", "pol-restrict", "pol-deny")
	t.Setenv("MAILGRANT_SANDBOX_FAULTS", sandbox.FaultAccessPolicy)
	r := mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "rbac", "--scoping", "policy", "--profile", "pol-restrict")
	if r.code != 0 || !strings.Contains(r.stderr, "Out-of-scope mailbox refused") {
		t.Fatalf("setup with a policy: %d %s", r.code, r.stderr)
	}
	if p := readProfile(t, dir, "pol-restrict"); p.Scoping != store.ScopingPolicy {
		t.Fatalf("scoping not kept: %q", p.Scoping)
	}
	r = mailgrant(t, "", "--sandbox", "status", "--json", "pol-restrict")
	if s := parseStatus(t, r.stdout); r.code != 0 || s.Profiles[0].State != "authorized" {
		t.Fatalf("status with the policy: %d %s", r.code, r.stdout)
	}
	r = mailgrant(t, "", "--sandbox", "rbac-script", "pol-restrict")
	if r.code != 0 || !strings.Contains(r.stdout, "New-ApplicationAccessPolicy") || !strings.Contains(r.stdout, "-AccessRight RestrictAccess") {
		t.Fatalf("rbac-script on a policy profile: %d %s", r.code, r.stdout)
	}

	// Tenant-wide Mail.Send with no policy: the out-of-scope send goes out.
	t.Setenv("MAILGRANT_SANDBOX_FAULTS", sandbox.FaultRBACTenantWide)
	r = mailgrant(t, "", "--sandbox", "status", "--json", "pol-restrict")
	s := parseStatus(t, r.stdout)
	if r.code != 1 || s.Profiles[0].State != "error" || s.Profiles[0].Error.Code != "policy-unrestricted" {
		t.Fatalf("status without the policy: %d %s", r.code, r.stdout)
	}
	r = mailgrant(t, "", "--sandbox", "status", "pol-restrict")
	if !strings.Contains(r.stdout, "rbac-script pol-restrict") {
		t.Fatalf("the hint does not name the script: %s", r.stdout)
	}

	// The DenyAccess form: a block list.
	t.Setenv("MAILGRANT_SANDBOX_FAULTS", sandbox.FaultAccessPolicyDeny)
	r = mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "rbac", "--scoping", "policy", "--policy-access", "DenyAccess", "--profile", "pol-deny")
	if r.code != 0 || !strings.Contains(r.stderr, "block list") {
		t.Fatalf("setup with a deny policy: %d %s", r.code, r.stderr)
	}
	r = mailgrant(t, "", "--sandbox", "rbac-script", "pol-deny")
	if !strings.Contains(r.stdout, "-AccessRight DenyAccess") {
		t.Fatalf("rbac-script on a deny profile: %s", r.stdout)
	}

	// Bad input names the field.
	r = mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "send-as-any", "--scoping", "policy", "--profile", "pol-bad")
	if r.code != 2 || !strings.Contains(r.stderr, "scoping") {
		t.Fatalf("policy on send-as-any: %d %s", r.code, r.stderr)
	}
}

// TestRBACScriptServicePrincipal: with a working credential the script
// carries the service principal's object ID from the token's oid claim and
// says so; without one it keeps the placeholder and says why.
func TestRBACScriptServicePrincipal(t *testing.T) {
	env(t, "mailgrant-sandbox", "sp-rbac")
	if r := mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "rbac", "--profile", "sp-rbac"); r.code != 0 {
		t.Fatalf("setup: %s", r.stderr)
	}
	out := filepath.Join(t.TempDir(), "scope.ps1")
	r := mailgrant(t, "", "--sandbox", "rbac-script", "sp-rbac", "-o", out)
	data, _ := os.ReadFile(out)
	if r.code != 0 || !strings.Contains(string(data), "$ObjectId = '"+sandbox.RBACApp.ServicePrincipalID+"'") || !strings.Contains(r.stderr, "oid claim") {
		t.Fatalf("object ID not filled: %d %s\n%s", r.code, r.stderr, data)
	}
	t.Setenv("MAILGRANT_SANDBOX_FAULTS", sandbox.FaultExpiredSecret)
	r = mailgrant(t, "", "--sandbox", "rbac-script", "sp-rbac")
	if r.code != 0 || !strings.Contains(r.stdout, "<SERVICE-PRINCIPAL-OBJECT-ID-FROM-ENTERPRISE-APPLICATIONS>") || !strings.Contains(r.stderr, "placeholder") {
		t.Fatalf("placeholder without a token: %d %s", r.code, r.stderr)
	}
}

// TestAppOnlyConsentBeyondMail: an rbac profile that also needs
// Files.Read.All gets the admin-consent step (not "none in Entra"), and its
// registration lists the application ids; a permission that does not exist
// for the scenario's kind is refused with the one to use.
func TestAppOnlyConsentBeyondMail(t *testing.T) {
	env(t, "mailgrant-sandbox", "rbac-files")
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)
	r := mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "rbac", "--profile", "rbac-files", "--permissions", "Mail.Send,Files.Read.All")
	if r.code != 0 || !strings.Contains(r.stderr, "lacks admin consent for Files.Read.All") || strings.Contains(r.stderr, "EVERY mailbox") {
		t.Fatalf("rbac with Files.Read.All: %d %s", r.code, r.stderr)
	}
	r = mailgrant(t, "", "--sandbox", "status", "--json", "rbac-files")
	if s := parseStatus(t, r.stdout); r.code != 0 || s.Profiles[0].State != "authorized" || len(s.Profiles[0].Granted) != 1 || s.Profiles[0].Granted[0] != "Files.Read.All" {
		t.Fatalf("status: %d %s", r.code, r.stdout)
	}

	r = mailgrant(t, "", "setup", "--scenario", "rbac", "--permissions", "Mail.Send,Files.Read.All,Calendars.ReadWrite,Contacts.ReadWrite", "--print-registration")
	for _, want := range []string{"01d4889c-1287-42c6-ac1f-5d1e02578ef6", "ef54d2bf-783f-4e0f-bca1-3210c0444d99", "6918b873-d17a-4dc1-b314-35f528134491", "grants admin consent for Files.Read.All"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("registration lacks %s:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "find its id") {
		t.Errorf("an id is still missing:\n%s", r.stdout)
	}
	r = mailgrant(t, "", "setup", "--permissions", "Mail.Send,Calendars.ReadWrite,Contacts.ReadWrite", "--print-registration")
	if !strings.Contains(r.stdout, "1ec239c2-d7c9-4623-a91a-a9775856bb36") || !strings.Contains(r.stdout, "d56682ec-c09e-4743-aaf4-1a3aac4caa21") {
		t.Errorf("delegated ids missing:\n%s", r.stdout)
	}

	r = mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "send-as-any", "--profile", "bad-files", "--permissions", "Mail.Send,Files.Read")
	if r.code != 2 || !strings.Contains(r.stderr, "permissions") || !strings.Contains(r.stderr, "Files.Read.All") {
		t.Fatalf("application Files.Read: %d %s", r.code, r.stderr)
	}
}
