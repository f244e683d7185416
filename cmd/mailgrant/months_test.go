package main

import (
	"bufio"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/flows/sandbox/sandboxtest"
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
func TestPolicyScopingCommands(t *testing.T) { forEachBackend(t, testPolicyScopingCommands) }

func testPolicyScopingCommands(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant-sandbox", "pol-restrict", "pol-deny")
	t.Setenv("MAILGRANT_SANDBOX_FAULTS", sandbox.FaultAccessPolicy)
	r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "rbac", "--scoping", "policy", "--profile", "pol-restrict")
	if r.code != 0 || !strings.Contains(r.stderr, "Out-of-scope mailbox refused") {
		t.Fatalf("setup with a policy: %d %s", r.code, r.stderr)
	}
	if p := readProfile(t, dir, "pol-restrict"); p.Scoping != store.ScopingPolicy {
		t.Fatalf("scoping not kept: %q", p.Scoping)
	}
	r = b.mailgrant(t, "", "--sandbox", "status", "--json", "pol-restrict")
	if s := parseStatus(t, r.stdout); r.code != 0 || s.Profiles[0].State != "authorized" {
		t.Fatalf("status with the policy: %d %s", r.code, r.stdout)
	}
	r = b.mailgrant(t, "", "--sandbox", "rbac-script", "pol-restrict")
	if r.code != 0 || !strings.Contains(r.stdout, "New-ApplicationAccessPolicy") || !strings.Contains(r.stdout, "-AccessRight RestrictAccess") {
		t.Fatalf("rbac-script on a policy profile: %d %s", r.code, r.stdout)
	}

	// Tenant-wide Mail.Send with no policy: the out-of-scope send goes out.
	t.Setenv("MAILGRANT_SANDBOX_FAULTS", sandbox.FaultRBACTenantWide)
	r = b.mailgrant(t, "", "--sandbox", "status", "--json", "pol-restrict")
	s := parseStatus(t, r.stdout)
	if r.code != 1 || s.Profiles[0].State != "error" || s.Profiles[0].Error.Code != "policy-unrestricted" {
		t.Fatalf("status without the policy: %d %s", r.code, r.stdout)
	}
	r = b.mailgrant(t, "", "--sandbox", "status", "pol-restrict")
	if !strings.Contains(r.stdout, "rbac-script pol-restrict") {
		t.Fatalf("the hint does not name the script: %s", r.stdout)
	}

	// The DenyAccess form: a block list.
	t.Setenv("MAILGRANT_SANDBOX_FAULTS", sandbox.FaultAccessPolicyDeny)
	r = b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "rbac", "--scoping", "policy", "--policy-access", "DenyAccess", "--profile", "pol-deny")
	if r.code != 0 || !strings.Contains(r.stderr, "block list") {
		t.Fatalf("setup with a deny policy: %d %s", r.code, r.stderr)
	}
	r = b.mailgrant(t, "", "--sandbox", "rbac-script", "pol-deny")
	if !strings.Contains(r.stdout, "-AccessRight DenyAccess") {
		t.Fatalf("rbac-script on a deny profile: %s", r.stdout)
	}

	// Bad input names the field.
	r = b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "send-as-any", "--scoping", "policy", "--profile", "pol-bad")
	if r.code != 2 || !strings.Contains(r.stderr, "scoping") {
		t.Fatalf("policy on send-as-any: %d %s", r.code, r.stderr)
	}
}

// TestRBACScriptServicePrincipal: with a working credential the script
// carries the service principal's object ID from the token's oid claim and
// says so; without one it keeps the placeholder and says why.
func TestRBACScriptServicePrincipal(t *testing.T) { forEachBackend(t, testRBACScriptServicePrincipal) }

func testRBACScriptServicePrincipal(t *testing.T, b *backend) {
	b.env(t, "mailgrant-sandbox", "sp-rbac")
	if r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "rbac", "--profile", "sp-rbac"); r.code != 0 {
		t.Fatalf("setup: %s", r.stderr)
	}
	out := filepath.Join(t.TempDir(), "scope.ps1")
	r := b.mailgrant(t, "", "--sandbox", "rbac-script", "sp-rbac", "-o", out)
	data, _ := os.ReadFile(out)
	if r.code != 0 || !strings.Contains(string(data), "$ObjectId = '"+sandbox.RBACApp.ServicePrincipalID+"'") || !strings.Contains(r.stderr, "oid claim") {
		t.Fatalf("object ID not filled: %d %s\n%s", r.code, r.stderr, data)
	}
	t.Setenv("MAILGRANT_SANDBOX_FAULTS", sandbox.FaultExpiredSecret)
	r = b.mailgrant(t, "", "--sandbox", "rbac-script", "sp-rbac")
	if r.code != 0 || !strings.Contains(r.stdout, "<SERVICE-PRINCIPAL-OBJECT-ID-FROM-ENTERPRISE-APPLICATIONS>") || !strings.Contains(r.stderr, "placeholder") {
		t.Fatalf("placeholder without a token: %d %s", r.code, r.stderr)
	}
}

// TestAppOnlyConsentBeyondMail: an rbac profile that also needs
// Files.Read.All gets the admin-consent step (not "none in Entra"), and its
// registration lists the application ids; a permission that does not exist
// for the scenario's kind is refused with the one to use.
func TestAppOnlyConsentBeyondMail(t *testing.T) { forEachBackend(t, testAppOnlyConsentBeyondMail) }

func testAppOnlyConsentBeyondMail(t *testing.T, b *backend) {
	b.env(t, "mailgrant-sandbox", "rbac-files")
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)
	r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "rbac", "--profile", "rbac-files", "--permissions", "Mail.Send,Files.Read.All")
	if r.code != 0 || !strings.Contains(r.stderr, "lacks admin consent for Files.Read.All") || strings.Contains(r.stderr, "EVERY mailbox") {
		t.Fatalf("rbac with Files.Read.All: %d %s", r.code, r.stderr)
	}
	r = b.mailgrant(t, "", "--sandbox", "status", "--json", "rbac-files")
	if s := parseStatus(t, r.stdout); r.code != 0 || s.Profiles[0].State != "authorized" || len(s.Profiles[0].Granted) != 1 || s.Profiles[0].Granted[0] != "Files.Read.All" {
		t.Fatalf("status: %d %s", r.code, r.stdout)
	}

	r = b.mailgrant(t, "", "setup", "--scenario", "rbac", "--permissions", "Mail.Send,Files.Read.All,Calendars.ReadWrite,Contacts.ReadWrite", "--print-registration")
	for _, want := range []string{"01d4889c-1287-42c6-ac1f-5d1e02578ef6", "ef54d2bf-783f-4e0f-bca1-3210c0444d99", "6918b873-d17a-4dc1-b314-35f528134491", "grants admin consent for Files.Read.All"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("registration lacks %s:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "find its id") {
		t.Errorf("an id is still missing:\n%s", r.stdout)
	}
	r = b.mailgrant(t, "", "setup", "--permissions", "Mail.Send,Calendars.ReadWrite,Contacts.ReadWrite", "--print-registration")
	if !strings.Contains(r.stdout, "1ec239c2-d7c9-4623-a91a-a9775856bb36") || !strings.Contains(r.stdout, "d56682ec-c09e-4743-aaf4-1a3aac4caa21") {
		t.Errorf("delegated ids missing:\n%s", r.stdout)
	}

	r = b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "send-as-any", "--profile", "bad-files", "--permissions", "Mail.Send,Files.Read")
	if r.code != 2 || !strings.Contains(r.stderr, "permissions") || !strings.Contains(r.stderr, "Files.Read.All") {
		t.Fatalf("application Files.Read: %d %s", r.code, r.stderr)
	}
}

// TestRotateSecret: a new secret that does not work exits 1 and changes
// nothing; a working one is switched to with its own expiry date, so the
// old date's warning goes away.
func TestRotateSecret(t *testing.T) { forEachBackend(t, testRotateSecret) }

func testRotateSecret(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant-sandbox", "rot-secret")
	soon := time.Now().AddDate(0, 0, 9).Format(time.DateOnly)
	if r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "rbac", "--profile", "rot-secret", "--secret-expires", soon); r.code != 0 {
		t.Fatalf("setup: %s", r.stderr)
	}
	r := b.mailgrant(t, "", "--sandbox", "status", "rot-secret")
	if !strings.Contains(r.stdout, "mailgrant rotate rot-secret") {
		t.Fatalf("the expiry warning does not point at rotate: %s", r.stdout)
	}
	k := b.keyring("mailgrant-sandbox")

	// Given a secret Entra does not know, when rotating, nothing changes.
	r = b.mailgrant(t, "Sbx8Q~not-a-secret-of-this-app\n", "--sandbox", "rotate", "rot-secret", "--client-secret-stdin", "--secret-expires", "2028-01-31")
	if r.code != 1 || !strings.Contains(r.stderr, "nothing was changed") || !strings.Contains(r.stderr, "AADSTS7000215") {
		t.Fatalf("a bad secret: %d %s", r.code, r.stderr)
	}
	if got, _ := k.Get("rot-secret", store.KindClientSecret); got != sandbox.RBACApp.Secret {
		t.Fatal("a failed rotation replaced the secret")
	}
	if p := readProfile(t, dir, "rot-secret"); p.CredentialExpiresAt == nil || p.CredentialExpiresAt.Format(time.DateOnly) != soon {
		t.Fatalf("a failed rotation changed the expiry: %v", p.CredentialExpiresAt)
	}

	// Given the app's second secret, the profile switches to it.
	next := sandbox.SecondSecret(sandbox.RBACApp)
	r = b.mailgrant(t, next+"\n", "--sandbox", "rotate", "rot-secret", "--client-secret-stdin", "--secret-expires", "2028-01-31")
	if r.code != 0 || !strings.Contains(r.stdout, "rotated rot-secret") || !strings.Contains(r.stderr, "delete the old secret") {
		t.Fatalf("rotate: %d %s", r.code, r.stderr)
	}
	if got, _ := k.Get("rot-secret", store.KindClientSecret); got != next {
		t.Fatal("the new secret is not in the keyring")
	}
	if p := readProfile(t, dir, "rot-secret"); p.CredentialExpiresAt == nil || p.CredentialExpiresAt.Format(time.DateOnly) != "2028-01-31" {
		t.Fatalf("the expiry was not replaced: %v", p.CredentialExpiresAt)
	}
	r = b.mailgrant(t, "", "--sandbox", "status", "rot-secret")
	if r.code != 0 || strings.Contains(r.stdout, "expires on") {
		t.Fatalf("status after rotating: %d %s", r.code, r.stdout)
	}
	assertNotInFiles(t, dir, next)

	// A confidential delegated app: the new secret is proven by a refresh.
	if r := b.mailgrant(t, sandbox.WebApp.Secret+"\n", "--sandbox", "setup", "--non-interactive", "--profile", "rot-web", "--client-id", sandbox.WebApp.ClientID, "--client-secret-stdin"); r.code != 0 {
		t.Fatalf("setup web: %s", r.stderr)
	}
	t.Cleanup(func() {
		for _, kind := range store.Kinds {
			_ = k.Delete("rot-web", kind)
		}
	})
	web := sandbox.SecondSecret(sandbox.WebApp)
	if r := b.mailgrant(t, web+"\n", "--sandbox", "rotate", "rot-web", "--client-secret-stdin"); r.code != 0 || !strings.Contains(r.stderr, "No expiry date was given") {
		t.Fatalf("rotate web: %d %s", r.code, r.stderr)
	}
	if got, _ := k.Get("rot-web", store.KindClientSecret); got != web {
		t.Fatal("the web app's new secret is not in the keyring")
	}
	if r := b.mailgrant(t, "", "--sandbox", "status", "rot-web"); r.code != 0 {
		t.Fatalf("status web: %s", r.stdout)
	}
}

// TestRotateCertificate: rotate writes a new certificate, polls until the
// admin has uploaded it (here: the test, after the first refusal), switches,
// and names the old thumbprint to remove; status then names the thumbprint
// an AADSTS700027 refers to.
func TestRotateCertificate(t *testing.T) { forEachBackend(t, testRotateCertificate) }

func testRotateCertificate(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant", "rot-cert")
	srv := sandboxtest.Start(t, sandbox.Options{})
	oldCert, err := flows.GenerateCertificate("old", 365*24*time.Hour, 2048, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.UploadCertificate(sandbox.RBACApp.ClientID, oldCert.Leaf.Raw); err != nil {
		t.Fatal(err)
	}
	stored, _ := oldCert.StoredForm()
	oldPath := filepath.Join(t.TempDir(), "old.pem")
	_ = os.WriteFile(oldPath, []byte(stored), 0o600)
	r := b.mailgrant(t, "", "setup", "--non-interactive", "--scenario", "rbac", "--profile", "rot-cert", "--tenant", sandbox.TenantID,
		"--client-id", sandbox.RBACApp.ClientID, "--account", sandbox.AdeleVance.UPN, "--certificate-file", oldPath)
	if r.code != 0 {
		t.Fatalf("setup: %s", r.stderr)
	}

	newPath := filepath.Join(t.TempDir(), "new.pem")
	pr, pw := io.Pipe()
	var out strings.Builder
	code := make(chan int, 1)
	go func() {
		c := runWith(b.deps, []string{"rotate", "rot-cert", "--new-certificate", newPath, "--poll-interval", "20ms", "--wait", "1m"}, strings.NewReader(""), &out, pw)
		pw.Close()
		code <- c
	}()
	var stderr strings.Builder
	uploaded := false
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		stderr.WriteString(line + "\n")
		if !uploaded && strings.Contains(line, "not yet:") {
			// The admin uploads the public certificate written for them.
			data, err := os.ReadFile(newPath)
			if err != nil || strings.Contains(string(data), "PRIVATE") {
				t.Errorf("the certificate file: %v", err)
			}
			block, _ := pem.Decode(data)
			if err := srv.UploadCertificate(sandbox.RBACApp.ClientID, block.Bytes); err != nil {
				t.Error(err)
			}
			uploaded = true
		}
	}
	t.Logf("rotate:\n%s", stderr.String())
	if c := <-code; c != 0 || !uploaded || !strings.Contains(out.String(), "rotated rot-cert") {
		t.Fatalf("rotate: exit %d, uploaded %v", c, uploaded)
	}
	if !strings.Contains(stderr.String(), "thumbprint "+oldCert.Thumbprint()+" > Delete") {
		t.Fatal("the old certificate is not named for removal")
	}
	p := readProfileDir(t, dir, "rot-cert")
	if p.CertificateThumbprint == oldCert.Thumbprint() || p.CertificateThumbprint == "" {
		t.Fatalf("the profile still uses the old certificate: %s", p.CertificateThumbprint)
	}
	if _, err := b.keyring("mailgrant").Get("rot-cert", store.KindCertificateKeyNext); err == nil {
		t.Fatal("the pending key was left in the keyring")
	}

	// The admin removes the old certificate: the profile keeps working.
	if err := srv.RemoveCertificate(sandbox.RBACApp.ClientID, oldCert.Thumbprint()); err != nil {
		t.Fatal(err)
	}
	if r := b.mailgrant(t, "", "status", "rot-cert"); r.code != 0 {
		t.Fatalf("status after removing the old certificate: %s", r.stdout)
	}
	// Had they removed the new one, status names the thumbprint to upload.
	if err := srv.RemoveCertificate(sandbox.RBACApp.ClientID, p.CertificateThumbprint); err != nil {
		t.Fatal(err)
	}
	r = b.mailgrant(t, "", "status", "rot-cert")
	if r.code != 1 || !strings.Contains(r.stdout, "AADSTS700027") || !strings.Contains(r.stdout, p.CertificateThumbprint) {
		t.Fatalf("status without the certificate: %d %s", r.code, r.stdout)
	}
}

// readProfileDir reads one profile from the config dir itself.
func readProfileDir(t *testing.T, dir, name string) store.Profile {
	t.Helper()
	ps, err := store.LoadProfiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := ps.Get(name)
	return p
}

// TestSentLog: send appends one line per message (never the subject or the
// body) and mailgrant log reads it back, per profile, as text or JSON.
func TestSentLog(t *testing.T) { forEachBackend(t, testSentLog) }

func testSentLog(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant-sandbox", "log-rbac", "log-other")
	for _, name := range []string{"log-rbac", "log-other"} {
		if r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "rbac", "--profile", name); r.code != 0 {
			t.Fatalf("setup: %s", r.stderr)
		}
	}
	r := b.mailgrant(t, "Secret body text", "--sandbox", "send", "log-rbac", "--to", sandbox.MeganBowen.UPN, "--cc", sandbox.AdeleVance.UPN, "--subject", "Quarterly numbers")
	if r.code != 0 {
		t.Fatalf("send: %s", r.stderr)
	}
	r = b.mailgrant(t, "body", "--sandbox", "send", "log-rbac", "--from", sandbox.AlexWilber.UPN, "--to", sandbox.MeganBowen.UPN, "--subject", "Out of scope")
	if r.code == 0 {
		t.Fatal("a send outside the RBAC scope succeeded")
	}
	if r := b.mailgrant(t, "x", "--sandbox", "send", "log-other", "--to", sandbox.MeganBowen.UPN); r.code != 0 {
		t.Fatalf("send: %s", r.stderr)
	}

	raw, err := os.ReadFile(filepath.Join(dir, "sandbox", "sent.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"Quarterly", "Secret body", "Out of scope", sandbox.MeganBowen.UPN} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the log holds %q:\n%s", secret, raw)
		}
	}
	r = b.mailgrant(t, "", "--sandbox", "log", "--json", "log-rbac")
	var got struct {
		Messages []struct {
			Profile    string `json:"profile"`
			From       string `json:"from"`
			Recipients int    `json:"recipients"`
			Size       int64  `json:"size"`
			Result     string `json:"result"`
			Code       string `json:"code"`
			RequestID  string `json:"request_id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 {
		t.Fatalf("log --json: %v %s", err, r.stdout)
	}
	if len(got.Messages) != 2 {
		t.Fatalf("want the 2 messages of log-rbac, got %+v", got.Messages)
	}
	ok, denied := got.Messages[0], got.Messages[1]
	if ok.Result != "sent" || ok.Recipients != 2 || ok.From != sandbox.AdeleVance.UPN || ok.Size != int64(len("Secret body text")) {
		t.Errorf("the sent record: %+v", ok)
	}
	if denied.Result != "denied" || denied.Code != "ErrorAccessDenied" || denied.From != sandbox.AlexWilber.UPN || denied.RequestID == "" {
		t.Errorf("the refused record: %+v", denied)
	}
	r = b.mailgrant(t, "", "--sandbox", "log")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 4 || !strings.Contains(r.stdout, "denied (ErrorAccessDenied)") {
		t.Fatalf("log: %s", r.stdout)
	}
}

// TestEditProfile: edit says what a change needs and re-authorizes only
// then; a change that does not verify leaves the profile as it was; From and
// Reply-To are saved at once and used by send.
func TestEditProfile(t *testing.T) { forEachBackend(t, testEditProfile) }

func testEditProfile(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant-sandbox", "ed-user", "ed-rbac")
	k := b.keyring("mailgrant-sandbox")
	if r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--profile", "ed-user"); r.code != 0 {
		t.Fatalf("setup: %s", r.stderr)
	}
	if r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "rbac", "--profile", "ed-rbac"); r.code != 0 {
		t.Fatalf("setup: %s", r.stderr)
	}

	// From and Reply-To need nothing: no sign-in, the grant is untouched.
	rt, _ := k.Get("ed-user", store.KindRefreshToken)
	r := b.mailgrant(t, "", "--sandbox", "edit", "ed-user", "--from", sandbox.AdeleVance.UPN, "--reply-to", "help@contoso.com")
	if r.code != 0 || !strings.Contains(r.stderr, "Needs: nothing") || !strings.Contains(r.stderr, "reply-to: (none) → help@contoso.com") {
		t.Fatalf("edit from: %d %s", r.code, r.stderr)
	}
	if after, _ := k.Get("ed-user", store.KindRefreshToken); after != rt {
		t.Fatal("a From change touched the grant")
	}
	if p := readProfile(t, dir, "ed-user"); p.From != sandbox.AdeleVance.UPN || p.ReplyTo != "help@contoso.com" {
		t.Fatalf("not saved: %+v", p)
	}

	// A new delegated account needs a sign-in, as that account.
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.MeganBowen.UPN)
	r = b.mailgrant(t, "", "--sandbox", "edit", "ed-user", "--account", sandbox.MeganBowen.UPN)
	if r.code != 0 || !strings.Contains(r.stderr, "Needs: a new sign-in") {
		t.Fatalf("edit account: %d %s", r.code, r.stderr)
	}
	if p := readProfile(t, dir, "ed-user"); p.Account != sandbox.MeganBowen.UPN || p.From != sandbox.AdeleVance.UPN {
		t.Fatalf("account not changed, or From lost: %+v", p)
	}

	// A dry run says what a scoping change needs, and changes nothing.
	r = b.mailgrant(t, "", "--sandbox", "edit", "ed-rbac", "--scoping", "policy", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stderr, "Needs: new admin consent") || !strings.Contains(r.stderr, "mailgrant --sandbox rbac-script ed-rbac") || !strings.Contains(r.stderr, "nothing was changed") {
		t.Fatalf("dry run: %d %s", r.code, r.stderr)
	}
	if p := readProfile(t, dir, "ed-rbac"); p.Scoping != store.ScopingRBAC {
		t.Fatal("a dry run changed the profile")
	}

	// Fewer delegated permissions: the command the plan names carries the
	// flags in force.
	r = b.mailgrant(t, "", "--sandbox", "edit", "ed-user", "--permissions", "Mail.Send", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stderr, "mailgrant --sandbox reauth ed-user)") {
		t.Fatalf("dry run, fewer permissions: %d %s", r.code, r.stderr)
	}

	// A test mailbox outside the scope fails the check: nothing changes.
	r = b.mailgrant(t, "", "--sandbox", "edit", "ed-rbac", "--account", sandbox.AlexWilber.UPN)
	if r.code != 1 || !strings.Contains(r.stderr, "left as it was") {
		t.Fatalf("edit to an out-of-scope account: %d %s", r.code, r.stderr)
	}
	if p := readProfile(t, dir, "ed-rbac"); p.Account != sandbox.AdeleVance.UPN {
		t.Fatalf("a failed edit changed the account: %s", p.Account)
	}

	// A new application permission needs admin consent, which runs.
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)
	r = b.mailgrant(t, "", "--sandbox", "edit", "ed-rbac", "--permissions", "Mail.Send,Files.Read.All", "--from", sandbox.MeganBowen.UPN, "--reply-to", "help@contoso.com")
	if r.code != 0 || !strings.Contains(r.stderr, "Needs: new admin consent") || !strings.Contains(r.stderr, "lacks admin consent for Files.Read.All") {
		t.Fatalf("edit permissions: %d %s", r.code, r.stderr)
	}
	if p := readProfile(t, dir, "ed-rbac"); len(p.Permissions) != 2 || p.From != sandbox.MeganBowen.UPN {
		t.Fatalf("not saved: %+v", p)
	}

	// Bad input names the field; nothing to change is a usage error.
	if r := b.mailgrant(t, "", "--sandbox", "edit", "ed-rbac", "--from", "not an address"); r.code != 2 || !strings.Contains(r.stderr, "from") {
		t.Fatalf("bad from: %d %s", r.code, r.stderr)
	}
	if r := b.mailgrant(t, "", "--sandbox", "edit", "ed-rbac"); r.code != 2 {
		t.Fatalf("no change: %d %s", r.code, r.stderr)
	}
}

// TestSendDefaults: send uses the profile's From and Reply-To when the
// message has none; --from and --reply-to override them.
func TestSendDefaults(t *testing.T) { forEachBackend(t, testSendDefaults) }

func testSendDefaults(t *testing.T, b *backend) {
	b.env(t, "mailgrant", "def-rbac")
	srv := sandboxtest.Start(t, sandbox.Options{})
	t.Setenv("MAILGRANT_CLIENT_SECRET", sandbox.RBACApp.Secret)
	r := b.mailgrant(t, "", "setup", "--non-interactive", "--scenario", "rbac", "--profile", "def-rbac", "--tenant", sandbox.TenantID,
		"--client-id", sandbox.RBACApp.ClientID, "--account", sandbox.AdeleVance.UPN, "--out-of-scope", sandbox.AlexWilber.UPN)
	if r.code != 0 {
		t.Fatalf("setup: %s", r.stderr)
	}
	if r := b.mailgrant(t, "", "edit", "def-rbac", "--from", sandbox.MeganBowen.UPN, "--reply-to", "help@contoso.com"); r.code != 0 {
		t.Fatalf("edit: %s", r.stderr)
	}
	last := func() sandbox.SentMessage {
		sent := srv.Sent()
		return sent[len(sent)-1]
	}
	if r := b.mailgrant(t, "hello", "send", "def-rbac", "--to", sandbox.AdeleVance.UPN); r.code != 0 {
		t.Fatalf("send: %s", r.stderr)
	}
	if m := last(); m.Mailbox != sandbox.MeganBowen.UPN || len(m.ReplyTo) != 1 || m.ReplyTo[0] != "help@contoso.com" {
		t.Fatalf("defaults not used: %+v", m)
	}
	if r := b.mailgrant(t, "hello", "send", "def-rbac", "--to", sandbox.AdeleVance.UPN, "--from", sandbox.AdeleVance.UPN, "--reply-to", "sales@contoso.com"); r.code != 0 {
		t.Fatalf("send: %s", r.stderr)
	}
	if m := last(); m.Mailbox != sandbox.AdeleVance.UPN || len(m.ReplyTo) != 1 || m.ReplyTo[0] != "sales@contoso.com" {
		t.Fatalf("flags did not override: %+v", m)
	}
	mime := "Subject: hi\r\nTo: " + sandbox.AdeleVance.UPN + "\r\n\r\nbody\r\n"
	if r := b.mailgrant(t, mime, "send", "def-rbac", "--mime"); r.code != 0 {
		t.Fatalf("send --mime: %s", r.stderr)
	}
	if m := last(); m.Mailbox != sandbox.MeganBowen.UPN || len(m.ReplyTo) != 1 || m.ReplyTo[0] != "help@contoso.com" {
		t.Fatalf("MIME defaults not used: %+v", m)
	}
}

// TestConsentPropagation: after admin consent, mailgrant keeps asking for a
// token with a visible countdown until the consent reaches it; when the wait
// ends first, it says consent can take minutes and gives the status command.
func TestConsentPropagation(t *testing.T) { forEachBackend(t, testConsentPropagation) }

func testConsentPropagation(t *testing.T, b *backend) {
	b.env(t, "mailgrant-sandbox", "slow-any", "slower-any")
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)
	t.Setenv("MAILGRANT_SANDBOX_FAULTS", sandbox.FaultSlowConsent)
	t.Setenv("MAILGRANT_CONSENT_WAIT", "1m")
	r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "send-as-any", "--profile", "slow-any")
	if r.code != 0 || !strings.Contains(r.stderr, "Entra can take a few minutes") || !strings.Contains(r.stderr, "consent not in the token yet") {
		t.Fatalf("setup with slow consent: %d %s", r.code, r.stderr)
	}

	// A fresh tenant, and a wait shorter than the propagation.
	t.Setenv("MAILGRANT_CONFIG_DIR", t.TempDir())
	t.Setenv("MAILGRANT_CONSENT_WAIT", "200ms")
	r = b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "send-as-any", "--profile", "slower-any")
	if r.code != 1 || !strings.Contains(r.stderr, "can take several minutes. Check again later with: mailgrant --sandbox status slower-any") {
		t.Fatalf("setup with a short wait: %d %s", r.code, r.stderr)
	}
}

// TestRotateBadInput: rotate refuses what cannot work before touching
// anything, naming the field.
func TestRotateBadInput(t *testing.T) { forEachBackend(t, testRotateBadInput) }

func testRotateBadInput(t *testing.T, b *backend) {
	b.env(t, "mailgrant-sandbox", "rot-pub")
	if r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--profile", "rot-pub"); r.code != 0 {
		t.Fatalf("setup: %s", r.stderr)
	}
	out := filepath.Join(t.TempDir(), "x.pem")
	for _, tt := range []struct {
		stdin string
		args  []string
		field string
	}{
		{"", []string{"--new-certificate", out}, "new-certificate"},
		{"s\n", []string{"--client-secret-stdin"}, "client-secret"},
		{"s\n", []string{"--client-secret-stdin", "--secret-expires", "31/12/2027"}, "secret-expires"},
	} {
		r := b.mailgrant(t, tt.stdin, append([]string{"--sandbox", "rotate", "rot-pub"}, tt.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tt.field) {
			t.Errorf("%v: %d %s", tt.args, r.code, r.stderr)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a certificate was written for a delegated profile")
	}
	if _, err := b.keyring("mailgrant-sandbox").Get("rot-pub", store.KindCertificateKeyNext); err == nil {
		t.Error("a key was kept for a delegated profile")
	}
}

// TestEditAppOnlyAccountIsProven: an app-only profile's account is the
// mailbox it sends as by default, so edit --account proves the new one with
// a test message; a mailbox that does not exist changes nothing.
func TestEditAppOnlyAccountIsProven(t *testing.T) { forEachBackend(t, testEditAppOnlyAccountIsProven) }

func testEditAppOnlyAccountIsProven(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant-sandbox", "edit-any")
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN) // the admin who consents
	if r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "send-as-any", "--profile", "edit-any"); r.code != 0 {
		t.Fatalf("setup: %d %s", r.code, r.stderr)
	}
	before := readProfile(t, dir, "edit-any").Account
	r := b.mailgrant(t, "", "--sandbox", "edit", "edit-any", "--account", "nobody@mailgrant-sandbox.onmicrosoft.com")
	if r.code == 0 {
		t.Fatalf("edit to a mailbox that does not exist: exit 0\n%s", r.stderr)
	}
	if got := readProfile(t, dir, "edit-any").Account; got != before {
		t.Fatalf("the account became %q after a failed edit; want %q kept", got, before)
	}
	r = b.mailgrant(t, "", "--sandbox", "edit", "edit-any", "--account", sandbox.MeganBowen.UPN)
	if r.code != 0 || !strings.Contains(r.stderr, "Test message") {
		t.Fatalf("edit to a real mailbox: %d\n%s", r.code, r.stderr)
	}
	if got := readProfile(t, dir, "edit-any").Account; got != sandbox.MeganBowen.UPN {
		t.Fatalf("account %q after the edit; want %q", got, sandbox.MeganBowen.UPN)
	}
}
