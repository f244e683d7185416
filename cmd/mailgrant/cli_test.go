package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/flows/sandbox/sandboxtest"
	"github.com/mailgrant/mailgrant/store"
)

// statusJSON is the part of `status --json` the tests read.
type statusJSON struct {
	Profiles []struct {
		Name     string   `json:"name"`
		Scenario string   `json:"scenario"`
		State    string   `json:"state"`
		Required []string `json:"required"`
		Granted  []string `json:"granted"`
		Missing  []string `json:"missing"`
		Excess   []string `json:"excess"`
		Queued   int      `json:"queued"`
		Failed   int      `json:"failed"`
		Error    *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Hint    string `json:"hint"`
		} `json:"error"`
	} `json:"profiles"`
}

func parseStatus(t *testing.T, out string) statusJSON {
	t.Helper()
	var s statusJSON
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, out)
	}
	return s
}

// graphAccepts reports whether a sandbox's Graph accepts the token.
func graphAccepts(t *testing.T, token, path string) bool {
	t.Helper()
	srv := sandboxtest.Start(t, sandbox.Options{}) // another "process"
	req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/v1.0/"+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// TestSandboxSendAsUser is the first slice's promise: setup against the
// sandbox, status reports authorized, token prints a token Graph accepts.
func TestSandboxSendAsUser(t *testing.T) { forEachBackend(t, testSandboxSendAsUser) }

func testSandboxSendAsUser(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant-sandbox", "cli-user")
	r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--profile", "cli-user")
	if r.code != 0 || !strings.Contains(r.stdout, "authorized cli-user") {
		t.Fatalf("setup: %d %s", r.code, r.stderr)
	}
	r = b.mailgrant(t, "", "--sandbox", "status", "--json")
	s := parseStatus(t, r.stdout)
	if r.code != 0 || len(s.Profiles) != 1 || s.Profiles[0].State != "authorized" {
		t.Fatalf("status: %d %+v", r.code, s)
	}
	r = b.mailgrant(t, "", "--sandbox", "token", "cli-user")
	token := strings.TrimSpace(r.stdout)
	if r.code != 0 || !graphAccepts(t, token, "me") {
		t.Fatalf("token: %d %q", r.code, r.stderr)
	}
	// The refresh token is in the keyring under the sandbox's own service,
	// and in no file.
	rt, err := b.keyring("mailgrant-sandbox").Get("cli-user", store.KindRefreshToken)
	if err != nil || rt == "" {
		t.Fatalf("refresh token not in the keyring: %v", err)
	}
	assertNotInFiles(t, dir, rt, token)
}

// TestHostOverridesRealKeyring: setup --non-interactive against a tenant
// given by MAILGRANT_LOGIN_HOST/GRAPH_HOST keeps the refresh token under the
// keyring service mailgrant, in no file.
func TestHostOverridesRealKeyring(t *testing.T) { forEachBackend(t, testHostOverridesRealKeyring) }

func testHostOverridesRealKeyring(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant", "cli-override")
	srv := sandboxtest.Start(t, sandbox.Options{})
	r := b.mailgrant(t, "", "setup", "--non-interactive", "--profile", "cli-override",
		"--tenant", sandbox.TenantID, "--client-id", sandbox.PublicApp.ClientID, "--account", sandbox.MeganBowen.UPN)
	if r.code != 0 {
		t.Fatalf("setup: %d %s", r.code, r.stderr)
	}
	rt, err := b.keyring("mailgrant").Get("cli-override", store.KindRefreshToken)
	if err != nil || rt == "" {
		t.Fatalf("refresh token not under service mailgrant: %v", err)
	}
	assertNotInFiles(t, dir, rt)

	// token: the first call refreshes, the second comes from the cache.
	tokenPath := "/" + sandbox.TenantID + "/oauth2/v2.0/token"
	before := srv.RequestCount(tokenPath)
	r1 := b.mailgrant(t, "", "token", "cli-override", "--json")
	r2 := b.mailgrant(t, "", "token", "cli-override", "--json")
	if r1.code != 0 || r2.code != 0 {
		t.Fatalf("token: %s %s", r1.stderr, r2.stderr)
	}
	if got := srv.RequestCount(tokenPath) - before; got != 1 {
		t.Errorf("token endpoint called %d times for two token calls, want 1 (cache)", got)
	}
	var tj struct {
		AccessToken string    `json:"access_token"`
		TokenType   string    `json:"token_type"`
		ExpiresAt   time.Time `json:"expires_at"`
		Scopes      []string  `json:"scopes"`
	}
	if err := json.Unmarshal([]byte(r2.stdout), &tj); err != nil || tj.TokenType != "Bearer" || tj.ExpiresAt.Before(time.Now().Add(5*time.Minute)) || len(tj.Scopes) == 0 {
		t.Fatalf("token --json: %v %+v", err, tj)
	}
	cached, _ := b.keyring("mailgrant").Get("cli-override", store.KindAccessToken)
	assertNotInFiles(t, dir, tj.AccessToken, cached)

	// A revoked grant: status says reauthorize, exit 1, with the command to run.
	srv.SetFaults("revoked")
	r = b.mailgrant(t, "", "status", "--json")
	s := parseStatus(t, r.stdout)
	if r.code != 1 || s.Profiles[0].State != "reauthorize" || s.Profiles[0].Error == nil || !strings.Contains(s.Profiles[0].Error.Hint, "reauth cli-override") {
		t.Fatalf("revoked: %d %+v", r.code, s)
	}
	srv.SetFaults()
	if after, _ := b.keyring("mailgrant").Get("cli-override", store.KindRefreshToken); after == "" {
		t.Fatal("a failed status check removed the refresh token")
	}
}

// TestSetupBadInput: each bad or missing field is exit 2, names the field,
// and writes nothing.
func TestSetupBadInput(t *testing.T) { forEachBackend(t, testSetupBadInput) }

func testSetupBadInput(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant", "bad")
	sandboxtest.Start(t, sandbox.Options{})
	good := []string{"setup", "--non-interactive", "--profile", "bad", "--tenant", sandbox.TenantID, "--client-id", sandbox.PublicApp.ClientID, "--account", sandbox.AdeleVance.UPN}
	with := func(flag, value string) []string {
		out := append([]string(nil), good...)
		for i := range out {
			if out[i] == flag {
				out[i+1] = value
				return out
			}
		}
		return append(out, flag, value)
	}
	tests := []struct {
		name  string
		args  []string
		field string
	}{
		{"missing tenant", with("--tenant", ""), "tenant"},
		{"tenant with spaces", with("--tenant", "not a tenant"), "tenant"},
		{"client id not a GUID", with("--client-id", "12345"), "client-id"},
		{"account without domain", with("--account", "mailer"), "account"},
		{"bad profile name", with("--profile", "no/slash"), "profile"},
		{"unknown scenario", with("--scenario", "send-as-nobody"), "scenario"},
		{"unknown cloud", append([]string{"--cloud", "mars"}, good...), "cloud"},
		{"bad permission", with("--permissions", "Mail.Send!"), "permissions"},
		{"app-only without secret", append(with("--scenario", "send-as-any"), "--credential", "secret"), "client-secret"},
		{"certificate for delegated", with("--certificate-file", "/nonexistent.pem"), "credential"},
		{"missing certificate file", append(with("--scenario", "send-as-any"), "--certificate-file", "/nonexistent.pem"), "certificate-file"},
		{"http host not loopback", append([]string{}, good...), "MAILGRANT_LOGIN_HOST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.field == "MAILGRANT_LOGIN_HOST" {
				t.Setenv("MAILGRANT_LOGIN_HOST", "http://login.example.com")
			}
			r := b.mailgrant(t, "", tt.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.field) || !strings.Contains(r.stderr, "hint:") {
				t.Fatalf("want exit 2 naming %s with a hint, got %d: %s", tt.field, r.code, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(dir, store.ProfilesFile)); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("a bad setup wrote profiles.json")
			}
		})
	}
	r := b.mailgrant(t, "", "no-such-command")
	if r.code != 2 {
		t.Errorf("unknown command: exit %d", r.code)
	}
	r = b.mailgrant(t, "", "status", "--bogus")
	if r.code != 2 {
		t.Errorf("unknown flag: exit %d", r.code)
	}
}

// TestAppOnlyScenarios authorizes send-as-any (admin consent in the browser)
// and rbac (new certificate) without screens, then checks them.
func TestAppOnlyScenarios(t *testing.T) { forEachBackend(t, testAppOnlyScenarios) }

func testAppOnlyScenarios(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant-sandbox", "cli-any", "cli-rbac")
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)
	r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "send-as-any", "--profile", "cli-any", "--test-send-to", sandbox.MeganBowen.UPN)
	if r.code != 0 || !strings.Contains(r.stderr, "every mailbox") {
		t.Fatalf("send-as-any: %d %s", r.code, r.stderr)
	}
	pem := filepath.Join(t.TempDir(), "rbac.pem")
	r = b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--scenario", "rbac", "--profile", "cli-rbac", "--new-certificate", pem)
	if r.code != 0 || !strings.Contains(r.stderr, "Thumbprint") || !strings.Contains(r.stderr, "Out-of-scope mailbox refused") {
		t.Fatalf("rbac: %d %s", r.code, r.stderr)
	}
	data, err := os.ReadFile(pem)
	if err != nil || !strings.Contains(string(data), "BEGIN CERTIFICATE") || strings.Contains(string(data), "PRIVATE KEY") {
		t.Fatalf("the public certificate file is wrong: %v", err)
	}
	key, _ := b.keyring("mailgrant-sandbox").Get("cli-rbac", store.KindCertificateKey)
	if !strings.Contains(key, "PRIVATE KEY") {
		t.Fatal("the certificate key is not in the keyring")
	}
	assertNotInFiles(t, dir, strings.Split(key, "-----END PRIVATE KEY-----")[0], sandbox.DaemonApp.Secret)

	r = b.mailgrant(t, "", "--sandbox", "status", "--json", "cli-any", "cli-rbac")
	s := parseStatus(t, r.stdout)
	if r.code != 0 || len(s.Profiles) != 2 || s.Profiles[0].State != "authorized" || s.Profiles[1].State != "authorized" {
		t.Fatalf("status: %d %+v", r.code, s)
	}
	r = b.mailgrant(t, "", "--sandbox", "token", "cli-any")
	if r.code != 0 || !graphAccepts(t, strings.TrimSpace(r.stdout), "users/"+sandbox.AdeleVance.UPN) {
		t.Fatalf("token: %d %s", r.code, r.stderr)
	}
	r = b.mailgrant(t, "", "--sandbox", "rbac-script", "cli-rbac")
	if r.code != 0 || !strings.Contains(r.stdout, `New-ManagementRoleAssignment -App $AppId -Role "Application Mail.Send"`) || !strings.Contains(r.stdout, "Test-ServicePrincipalAuthorization") {
		t.Fatalf("rbac-script: %d %s", r.code, r.stdout)
	}
	r = b.mailgrant(t, "", "--sandbox", "rbac-script", "cli-rbac", "--legacy-policy")
	if !strings.Contains(r.stdout, "New-ApplicationAccessPolicy") || !strings.Contains(r.stdout, "more than an hour") {
		t.Fatalf("legacy: %s", r.stdout)
	}

	// With the secret expired, status explains the state and the fix.
	t.Setenv("MAILGRANT_SANDBOX_FAULTS", "expired-secret")
	r = b.mailgrant(t, "", "--sandbox", "status", "--json", "cli-any")
	s = parseStatus(t, r.stdout)
	if r.code != 1 || s.Profiles[0].State != "credential-expired" || s.Profiles[0].Error.Code != "AADSTS7000222" || s.Profiles[0].Error.Hint == "" {
		t.Fatalf("expired secret: %d %+v", r.code, s)
	}
}

func TestPrintRegistration(t *testing.T) { forEachBackend(t, testPrintRegistration) }

func testPrintRegistration(t *testing.T, b *backend) {
	b.env(t, "mailgrant")
	for sc, want := range map[string][]string{
		"send-as-user": {"http://localhost", "Mobile and desktop", "e383f46e-2787-4529-855e-0e479a3ffac0", "Allow public client flows", "needs the delegated permission Mail.ReadWrite (024d486e-b451-40bb-833d-3e66d98c5c73"},
		"send-as-any":  {"b633e1c5-b582-4048-a93e-9f11b44c7e96", "Application", "admin consent", "needs the application permission Mail.ReadWrite (e2a3a72e-5f79-4c64-b1b1-878b674786c9)"},
		"rbac":         {"Do NOT add Mail.Send", "rbac-script", "Application Mail.ReadWrite"},
		"personal":     {"Personal Microsoft accounts", "consumers"},
	} {
		r := b.mailgrant(t, "", "setup", "--print-registration", "--scenario", sc, "--profile", "p")
		for _, w := range want {
			if r.code != 0 || !strings.Contains(r.stdout, w) {
				t.Errorf("%s: registration lacks %q (exit %d):\n%s", sc, w, r.code, r.stdout)
			}
		}
	}
}

// TestDeleteAndList: delete needs --yes without a terminal, removes every
// keyring item, and says what it cannot revoke.
func TestDeleteAndList(t *testing.T) { forEachBackend(t, testDeleteAndList) }

func testDeleteAndList(t *testing.T, b *backend) {
	b.env(t, "mailgrant-sandbox", "cli-del")
	if r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--profile", "cli-del"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := b.mailgrant(t, "", "--sandbox", "list", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"name": "cli-del"`) || strings.Contains(r.stdout, "0.SBX") {
		t.Fatalf("list: %s", r.stdout)
	}
	if r := b.mailgrant(t, "", "--sandbox", "delete", "cli-del"); r.code != 2 {
		t.Fatalf("delete without --yes and no terminal: exit %d", r.code)
	}
	r = b.mailgrant(t, "", "--sandbox", "delete", "cli-del", "--yes")
	if r.code != 0 || !strings.Contains(r.stderr, "Revoke sessions") {
		t.Fatalf("delete: %d %s", r.code, r.stderr)
	}
	for _, k := range store.Kinds {
		if _, err := b.keyring("mailgrant-sandbox").Get("cli-del", k); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s still in the keyring after delete: %v", k, err)
		}
	}
	if r := b.mailgrant(t, "", "--sandbox", "token", "cli-del"); r.code != 2 || !strings.Contains(r.stderr, "no profile named") {
		t.Fatalf("token after delete: %d %s", r.code, r.stderr)
	}
	if r := b.mailgrant(t, "", "--sandbox", "status"); r.code != 0 || !strings.Contains(r.stdout, "No profiles") {
		t.Fatalf("status with no profiles: %d %s", r.code, r.stdout)
	}
}

// TestConcurrentTokenProcesses: 20 processes ask for a token at once with a
// forced refresh; all succeed and a working refresh token remains stored.
// The sandbox accepts each refresh token once here, so two processes that
// redeemed the same one (no lock, or reading it outside the lock) would fail.
func TestConcurrentTokenProcesses(t *testing.T) {
	env(t, "mailgrant", "cli-conc")
	srv := sandboxtest.Start(t, sandbox.Options{})
	if r := mailgrant(t, "", "setup", "--non-interactive", "--profile", "cli-conc", "--tenant", sandbox.TenantID, "--client-id", sandbox.PublicApp.ClientID, "--account", sandbox.AdeleVance.UPN); r.code != 0 {
		t.Fatal(r.stderr)
	}
	srv.SetFaults("single-use-refresh")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := mailgrantProcess(ctx, t, "token", "cli-conc", "--no-cache")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil || len(strings.TrimSpace(string(out))) < 20 {
				errs <- fmt.Sprintf("%v: %s", err, stderr.String())
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("a concurrent token call failed: %s", e)
	}
	if got := srv.RequestCount("/" + sandbox.TenantID + "/oauth2/v2.0/token"); got < 20 {
		t.Errorf("only %d refreshes for 20 forced calls", got)
	}
	if r := mailgrant(t, "", "status", "cli-conc"); r.code != 0 {
		t.Fatalf("no working refresh token after concurrent refreshes: %s", r.stderr)
	}
}

// assertNotInFiles fails if any secret appears in any file under dir.
func assertNotInFiles(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(path)
		for _, s := range secrets {
			if len(s) >= 8 && strings.Contains(string(data), s) {
				t.Errorf("%s contains a secret (%d characters)", path, len(s))
			}
		}
		return nil
	})
}

// TestFileStore: --store file keeps secrets in the encrypted file, never in
// the keyring, and explains a wrong or missing passphrase.
func TestFileStore(t *testing.T) { forEachBackend(t, testFileStore) }

func testFileStore(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant", "cli-file")
	sandboxtest.Start(t, sandbox.Options{})
	t.Setenv("MAILGRANT_STORE", "file")
	t.Setenv("MAILGRANT_PASSPHRASE", "correct horse battery staple")
	r := b.mailgrant(t, "", "setup", "--non-interactive", "--profile", "cli-file", "--tenant", sandbox.TenantID, "--client-id", sandbox.PublicApp.ClientID, "--account", sandbox.AdeleVance.UPN)
	if r.code != 0 || !strings.Contains(r.stderr, "encrypted file") {
		t.Fatalf("setup: %d %s", r.code, r.stderr)
	}
	if _, err := b.keyring("mailgrant").Get("cli-file", store.KindRefreshToken); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("--store file wrote to the keyring: %v", err)
	}
	f, err := store.OpenFile(filepath.Join(dir, store.SecretsFile), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := f.Get("cli-file", store.KindRefreshToken)
	if err != nil || rt == "" {
		t.Fatalf("no refresh token in the file: %v", err)
	}
	assertNotInFiles(t, dir, rt)
	if r := b.mailgrant(t, "", "token", "cli-file"); r.code != 0 {
		t.Fatalf("token: %s", r.stderr)
	}
	t.Setenv("MAILGRANT_PASSPHRASE", "wrong")
	if r := b.mailgrant(t, "", "token", "cli-file"); r.code == 0 || !strings.Contains(r.stderr, "passphrase does not decrypt") || !strings.Contains(r.stderr, "hint:") {
		t.Fatalf("wrong passphrase: %d %s", r.code, r.stderr)
	}
	os.Unsetenv("MAILGRANT_PASSPHRASE")
	if r := b.mailgrant(t, "", "token", "cli-file"); r.code != 2 || !strings.Contains(r.stderr, "MAILGRANT_PASSPHRASE") {
		t.Fatalf("no passphrase: %d %s", r.code, r.stderr)
	}
}

// TestSecretHygiene runs setup, status, token, send, reauth and delete with known
// secrets and --debug, in separate processes, then scans every file under
// the config dir, the debug log, stdout, stderr and the arguments: no secret
// may appear (but the access token on token's stdout, which is its job).
func TestSecretHygiene(t *testing.T) {
	dir := env(t, "mailgrant", "hygiene")
	sandboxtest.Start(t, sandbox.Options{})
	clientSecret := sandbox.WebApp.Secret
	seen := map[string]bool{clientSecret: true}
	var outputs []string
	runStep := func(stdin string, args ...string) string {
		t.Helper()
		for _, a := range args {
			if strings.Contains(a, clientSecret) {
				t.Fatal("a secret in the arguments")
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := mailgrantProcess(ctx, t, append([]string{"--debug"}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); (err != nil) != strings.HasPrefix(stdin, "WRONG") {
			t.Fatalf("%v: %v\n%s", args, err, errb.String())
		}
		if args[0] != "token" {
			outputs = append(outputs, out.String())
		} else {
			seen[strings.TrimSpace(out.String())] = true
		}
		outputs = append(outputs, errb.String())
		if rt, err := store.NewKeyring("mailgrant").Get("hygiene", store.KindRefreshToken); err == nil {
			seen[rt] = true
		}
		return out.String()
	}
	common := []string{"--tenant", sandbox.TenantID, "--client-id", sandbox.WebApp.ClientID, "--account", sandbox.AdeleVance.UPN}
	runStep(clientSecret+"\n", append([]string{"setup", "--non-interactive", "--profile", "hygiene", "--client-secret-stdin"}, common...)...)
	runStep("", "status", "hygiene", "--json")
	runStep("", "token", "hygiene")
	runStep("a test body\n", "send", "hygiene", "--to", sandbox.MeganBowen.UPN, "--subject", "hygiene", "--body-file", "-")
	runStep("", "reauth", "hygiene", "--non-interactive")
	// Failures print errors: they must not show secrets either.
	wrong := "WRONG-" + clientSecret[6:]
	seen[wrong] = true
	runStep(wrong+"\n", "reauth", "hygiene", "--non-interactive", "--client-secret-stdin")
	runStep("", "token", "hygiene", "--no-cache")
	runStep("", "status", "hygiene")
	if cached, err := store.NewKeyring("mailgrant").Get("hygiene", store.KindAccessToken); err == nil {
		seen[cached] = true
	}
	runStep("", "delete", "hygiene", "--yes")

	if _, err := os.Stat(filepath.Join(dir, debugFile)); err != nil {
		t.Fatalf("no debug log: %v", err)
	}
	if len(seen) < 4 {
		t.Fatalf("the test saw only %d secrets; it would prove nothing", len(seen))
	}
	var list []string
	for s := range seen {
		list = append(list, s)
	}
	assertNotInFiles(t, dir, list...)
	for i, out := range outputs {
		for _, s := range list {
			if len(s) >= 8 && strings.Contains(out, s) {
				t.Errorf("output %d shows a secret (%d characters)", i, len(s))
			}
		}
	}
}

// TestKillNine kills token, status and reauth processes with SIGKILL at many
// points; afterwards profiles.json is readable and the stored authorization
// still works.
func TestKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: starts many processes")
	}
	env(t, "mailgrant", "crash")
	sandboxtest.Start(t, sandbox.Options{})
	if r := mailgrant(t, "", "setup", "--non-interactive", "--profile", "crash", "--tenant", sandbox.TenantID, "--client-id", sandbox.PublicApp.ClientID, "--account", sandbox.AdeleVance.UPN); r.code != 0 {
		t.Fatal(r.stderr)
	}
	commands := [][]string{{"token", "crash", "--no-cache"}, {"status", "crash"}, {"reauth", "crash", "--non-interactive"}}
	for i := 0; i < 24; i++ {
		args := commands[i%len(commands)]
		delay := time.Duration(i*4) * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := mailgrantProcess(ctx, t, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = cmd.Process.Kill() // SIGKILL
		_ = cmd.Wait()
		cancel()
		if r := mailgrant(t, "", "list", "--json"); r.code != 0 {
			t.Fatalf("after killing %v at %s, profiles.json is unreadable: %s", args, delay, r.stderr)
		}
		if r := mailgrant(t, "", "status", "crash"); r.code != 0 {
			t.Fatalf("after killing %v at %s, the authorization no longer works: %s", args, delay, r.stdout+r.stderr)
		}
	}
}

// TestCorruptProfiles: a damaged, older-shaped or newer profiles.json is
// refused with exit 2 and a hint, and left as it is.
func TestCorruptProfiles(t *testing.T) { forEachBackend(t, testCorruptProfiles) }

func testCorruptProfiles(t *testing.T, b *backend) {
	dir := b.env(t, "mailgrant")
	for name, content := range map[string]string{
		"not JSON":       `{"version":1,"profiles":[`,
		"newer version":  `{"version":99,"profiles":[]}`,
		"no version":     `{"profiles":[]}`,
		"bad name":       `{"version":1,"profiles":[{"name":"a/b","scenario":"send-as-user"}]}`,
		"bad scenario":   `{"version":1,"profiles":[{"name":"a","scenario":"send-as-everyone"}]}`,
		"duplicate name": `{"version":1,"profiles":[{"name":"a","scenario":"send-as-user"},{"name":"a","scenario":"send-as-user"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, store.ProfilesFile)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"list"}, {"status"}, {"token", "a"}} {
				r := b.mailgrant(t, "", args...)
				if r.code != 2 || !strings.Contains(r.stderr, "profiles.json") || !strings.Contains(r.stderr, "hint:") {
					t.Errorf("%v: want exit 2 naming profiles.json with a hint, got %d: %s", args, r.code, r.stderr)
				}
			}
			if data, _ := os.ReadFile(path); string(data) != content {
				t.Fatal("the damaged file was rewritten")
			}
		})
	}
}

// TestEveryScenarioAndCredential authorizes each scenario with each kind of
// credential that applies through setup --non-interactive against the
// sandbox, then checks status --json and token for each.
func TestEveryScenarioAndCredential(t *testing.T) { forEachBackend(t, testEveryScenarioAndCredential) }

func testEveryScenarioAndCredential(t *testing.T, b *backend) {
	names := []string{"sc-user", "sc-user-web", "sc-personal", "sc-any-secret", "sc-any-pem", "sc-any-pfx", "sc-any-new", "sc-rbac-secret", "sc-rbac-new"}
	b.env(t, "mailgrant-sandbox", names...)
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", "")
	certDir := t.TempDir()
	cert, err := flows.GenerateCertificate("existing", 365*24*time.Hour, 2048, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := cert.StoredForm()
	pemPath := filepath.Join(certDir, "existing.pem")
	_ = os.WriteFile(pemPath, []byte(stored), 0o600)
	pfx, err := pkcs12.Modern.Encode(cert.Key, cert.Leaf, nil, "pfx-password")
	if err != nil {
		t.Fatal(err)
	}
	pfxPath := filepath.Join(certDir, "existing.pfx")
	_ = os.WriteFile(pfxPath, pfx, 0o600)
	t.Setenv("MAILGRANT_CERTIFICATE_PASSWORD", "pfx-password")

	tests := []struct {
		profile string
		stdin   string
		args    []string
		admin   bool
	}{
		{profile: "sc-user"},
		{profile: "sc-user-web", stdin: sandbox.WebApp.Secret + "\n", args: []string{"--client-id", sandbox.WebApp.ClientID, "--client-secret-stdin"}},
		{profile: "sc-personal", args: []string{"--scenario", "personal"}},
		{profile: "sc-any-secret", args: []string{"--scenario", "send-as-any"}, admin: true},
		{profile: "sc-any-pem", args: []string{"--scenario", "send-as-any", "--certificate-file", pemPath}, admin: true},
		{profile: "sc-any-pfx", args: []string{"--scenario", "send-as-any", "--certificate-file", pfxPath}, admin: true},
		{profile: "sc-any-new", args: []string{"--scenario", "send-as-any", "--new-certificate", filepath.Join(certDir, "new.pem")}, admin: true},
		{profile: "sc-rbac-secret", args: []string{"--scenario", "rbac"}},
		{profile: "sc-rbac-new", args: []string{"--scenario", "rbac", "--new-certificate", filepath.Join(certDir, "rbac.pem"), "--certificate-days", "90"}},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			if tt.admin {
				t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)
			}
			args := append([]string{"--sandbox", "setup", "--non-interactive", "--profile", tt.profile}, tt.args...)
			if r := b.mailgrant(t, tt.stdin, args...); r.code != 0 {
				t.Fatalf("setup: %d %s", r.code, r.stderr)
			}
			r := b.mailgrant(t, "", "--sandbox", "status", "--json", tt.profile)
			if s := parseStatus(t, r.stdout); r.code != 0 || s.Profiles[0].State != "authorized" {
				t.Fatalf("status: %d %s", r.code, r.stdout)
			}
			if r := b.mailgrant(t, "", "--sandbox", "token", tt.profile); r.code != 0 || len(strings.TrimSpace(r.stdout)) < 20 {
				t.Fatalf("token: %d %s", r.code, r.stderr)
			}
		})
	}
}

// TestFaultSwitches: each sandbox failure switch gives the documented state
// and a hint, through the commands.
func TestFaultSwitches(t *testing.T) { forEachBackend(t, testFaultSwitches) }

func testFaultSwitches(t *testing.T, b *backend) {
	b.env(t, "mailgrant-sandbox", "fs-user", "fs-any", "fs-rbac")
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)
	for _, args := range [][]string{
		{"--profile", "fs-user", "--account", sandbox.AlexWilber.UPN},
		{"--profile", "fs-any", "--scenario", "send-as-any"},
		{"--profile", "fs-rbac", "--scenario", "rbac"},
	} {
		if r := b.mailgrant(t, "", append([]string{"--sandbox", "setup", "--non-interactive"}, args...)...); r.code != 0 {
			t.Fatalf("setup %v: %s", args, r.stderr)
		}
	}
	tests := []struct {
		fault, profile, state, code string
	}{
		{"revoked", "fs-user", "reauthorize", "AADSTS50173"},
		{"missing-scope", "fs-user", "consent-missing", "consent-missing"},
		{"missing-role", "fs-any", "consent-missing", "consent-missing"},
		{"expired-secret", "fs-any", "credential-expired", "AADSTS7000222"},
		{"rbac-tenant-wide", "fs-rbac", "error", "rbac-unrestricted"},
		{"server-error", "fs-user", "error", "AADSTS90033"},
		{"throttle", "fs-user", "authorized", ""},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			t.Setenv("MAILGRANT_SANDBOX_FAULTS", tt.fault)
			r := b.mailgrant(t, "", "--sandbox", "status", "--json", tt.profile)
			s := parseStatus(t, r.stdout)
			p := s.Profiles[0]
			if p.State != tt.state {
				t.Fatalf("state %s, want %s", p.State, tt.state)
			}
			if tt.code == "" {
				if r.code != 0 {
					t.Fatalf("exit %d", r.code)
				}
				return
			}
			if r.code != 1 || p.Error == nil || p.Error.Code != tt.code || p.Error.Hint == "" {
				t.Fatalf("want exit 1 with %s and a hint: %d %+v", tt.code, r.code, p.Error)
			}
		})
	}
	t.Run("failed reauth changes nothing", func(t *testing.T) {
		k := b.keyring("mailgrant-sandbox")
		before, _ := k.Get("fs-user", store.KindRefreshToken)
		t.Setenv("MAILGRANT_SANDBOX_FAULTS", "missing-scope")
		r := b.mailgrant(t, "", "--sandbox", "reauth", "fs-user", "--non-interactive")
		if r.code != 1 || !strings.Contains(r.stderr, "left as it was") {
			t.Fatalf("reauth lacking consent: %d %s", r.code, r.stderr)
		}
		if after, _ := k.Get("fs-user", store.KindRefreshToken); after != before {
			t.Fatal("a failed re-authorization replaced the refresh token")
		}
		t.Setenv("MAILGRANT_SANDBOX_FAULTS", "")
		if r := b.mailgrant(t, "", "--sandbox", "status", "fs-user"); r.code != 0 {
			t.Fatalf("the working authorization was lost: %s", r.stdout)
		}
	})
	t.Run("declined-consent", func(t *testing.T) {
		t.Setenv("MAILGRANT_SANDBOX_FAULTS", "declined-consent")
		dir := t.TempDir() // a fresh sandbox state: no consent yet
		r := b.mailgrant(t, "", "--sandbox", "--config-dir", dir, "setup", "--non-interactive", "--scenario", "send-as-any", "--profile", "fs-declined")
		if r.code != 1 || !strings.Contains(r.stderr, "AADSTS65004") || !strings.Contains(r.stderr, "hint:") {
			t.Fatalf("declined consent: %d %s", r.code, r.stderr)
		}
	})
	t.Run("public-flows-disabled", func(t *testing.T) {
		t.Setenv("MAILGRANT_SANDBOX_FAULTS", "public-flows-disabled")
		r := b.mailgrant(t, "", "--sandbox", "setup", "--non-interactive", "--profile", "fs-device", "--device-code")
		if r.code != 1 || !strings.Contains(r.stderr, "Allow public client flows") {
			t.Fatalf("public flows off: %d %s", r.code, r.stderr)
		}
	})
}
