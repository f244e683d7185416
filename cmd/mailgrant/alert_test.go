package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// TestStatusKeepsGrantsAlive: a status run redeems each delegated refresh
// token, stores the rotated one and records when, so the 90-day lapse date
// moves forward; the new refresh token works.
func TestStatusKeepsGrantsAlive(t *testing.T) { forEachBackend(t, testStatusKeepsGrantsAlive) }

func testStatusKeepsGrantsAlive(t *testing.T, b *backend) {
	_, dir := b.sendmailSetup(t, map[string]string{"web": megan})
	old := time.Now().Add(-80 * 24 * time.Hour).UTC()
	if err := store.UpdateProfiles(dir, func(ps *store.Profiles) error {
		p, _ := ps.Get("web")
		p.AuthorizedAt, p.RefreshRotatedAt = &old, &old
		ps.Put(p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	k := b.keyring("mailgrant")
	before, _ := k.Get("web", store.KindRefreshToken)
	if r := b.mailgrant(t, "", "status"); r.code != 0 {
		t.Fatalf("status: %d %s", r.code, r.stderr)
	}
	after, _ := k.Get("web", store.KindRefreshToken)
	if after == "" || after == before {
		t.Fatal("status did not store the rotated refresh token")
	}
	ps, _ := store.LoadProfiles(dir)
	p, _ := ps.Get("web")
	lapse, ok := refreshLapse(p)
	if !ok || time.Until(lapse) < 89*24*time.Hour {
		t.Fatalf("the lapse date did not move: %v (rotated at %v)", lapse, p.RefreshRotatedAt)
	}
	// The stored token is the one that works next time.
	if r := b.mailgrant(t, "", "token", "web", "--no-cache"); r.code != 0 {
		t.Fatalf("token with the rotated refresh token: %d %s", r.code, r.stderr)
	}
}

// TestAlertProblems: what an alert lists, with the command that fixes each.
func TestAlertProblems(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	days := func(n int) *time.Time { t := now.Add(time.Duration(n) * 24 * time.Hour); return &t }
	ps := &store.Profiles{}
	ps.Put(store.Profile{Name: "fresh", Scenario: store.SendAsUser, AuthorizedAt: days(-200), RefreshRotatedAt: days(0)})
	ps.Put(store.Profile{Name: "stale", Scenario: store.SendAsUser, AuthorizedAt: days(-80)})
	ps.Put(store.Profile{Name: "daemon", Scenario: store.SendAsAny, Credential: store.CredentialSecret, CredentialExpiresAt: days(12)})
	ps.Put(store.Profile{Name: "cert", Scenario: store.SendAsAny, Credential: store.CredentialCertificate, CredentialExpiresAt: days(-1)})
	ps.Put(store.Profile{Name: "later", Scenario: store.SendAsAny, Credential: store.CredentialSecret, CredentialExpiresAt: days(31)})
	ps.Put(store.Profile{Name: "revoked", Scenario: store.SendAsUser, AuthorizedAt: days(-1)})
	var results []*flows.Status
	for _, p := range ps.List {
		st := &flows.Status{Name: p.Name, State: flows.StateAuthorized}
		if p.Name == "revoked" {
			st.State = flows.StateReauthorize
			st.Error = &flows.Error{Code: "invalid_grant", Message: "the refresh token was revoked", Hint: "run mailgrant reauth PROFILE"}
		}
		results = append(results, st)
	}
	got := alertProblems(results, ps, now, "mailgrant --sandbox")
	want := map[string][]string{
		"stale":   {"since 2026-09-09 and lapses on 2026-12-08", "mailgrant --sandbox reauth stale"},
		"daemon":  {"client secret expires on 2026-12-10 (in 12 days)", "mailgrant --sandbox reauth daemon"},
		"cert":    {"certificate expired on 2026-11-27", "mailgrant --sandbox reauth cert"},
		"revoked": {"reauthorize: the refresh token was revoked (invalid_grant)", "run mailgrant --sandbox reauth revoked"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d: %+v", len(got), len(want), got)
	}
	for _, p := range got {
		w, ok := want[p.Profile]
		if !ok || !strings.Contains(p.Problem, w[0]) || !strings.Contains(p.Fix, w[1]) {
			t.Errorf("%s: %q / %q; want %q / %q", p.Profile, p.Problem, p.Fix, w[0], w[1])
		}
	}
}

// unitSetting returns the values of a setting in a unit's text.
func unitSetting(text, key string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			out = append(out, v)
		}
	}
	return out
}

// unitWords splits a unit value as systemd does: words separated by
// spaces, double quotes with C escapes, %% for %, $$ for $.
func unitWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				cur.WriteByte('\n')
			case 't':
				cur.WriteByte('\t')
			default:
				cur.WriteByte(s[i])
			}
			inWord = true
		case c == '"':
			quoted, inWord = !quoted, true
		case !quoted && c == ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case (c == '%' || c == '$') && i+1 < len(s) && s[i+1] == c:
			cur.WriteByte(c)
			i++
			inWord = true
		case c == '%' || c == '$':
			t.Fatalf("unescaped %c in %q", c, s)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quotes in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// TestPrintUnitsAndAlert: print-units prints units systemd accepts, and
// the service's ExecStart, run as systemd would (its Environment=, no
// terminal, no DBUS_SESSION_BUS_ADDRESS), checks every profile and mails
// one summary naming each problem and its fix; the exit status is the one
// status has without the alert.
func TestPrintUnitsAndAlert(t *testing.T) {
	srv, dir := sendmailSetup(t, map[string]string{"gone": alex, "web": megan})
	// A confidential app whose secret expires in 10 days.
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", adele)
	expires := time.Now().Add(10 * 24 * time.Hour).UTC().Format(time.DateOnly)
	r := mailgrant(t, sandbox.WebApp.Secret+"\n", "setup", "--non-interactive", "--profile", "site", "--tenant", sandbox.TenantID,
		"--client-id", sandbox.WebApp.ClientID, "--account", adele, "--client-secret-stdin", "--secret-expires", expires)
	if r.code != 0 {
		t.Fatalf("setup site: %s", r.stderr)
	}
	t.Cleanup(func() {
		k := store.NewKeyring("mailgrant")
		for _, kind := range store.Kinds {
			_ = k.Delete("site", kind)
		}
	})
	// A profile whose secret is gone from the keyring.
	if err := store.NewKeyring("mailgrant").Delete("gone", store.KindRefreshToken); err != nil {
		t.Fatal(err)
	}
	// Dir names with a space and a percent sign must survive the unit's quoting.
	odd := filepath.Join(t.TempDir(), "my 100% config")
	if err := os.Rename(dir, odd); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MAILGRANT_CONFIG_DIR", odd)

	bin := mailgrantBinary(t)
	env := serviceEnv(t)
	r = runSendmail(t, bin, env, "", "print-units", "--alert-to", "ops@example.com")
	if r.code != 0 {
		t.Fatalf("print-units: %d %s", r.code, r.stderr)
	}
	units := map[string]string{}
	name := ""
	for _, line := range strings.SplitAfter(r.stdout, "\n") {
		if n, ok := strings.CutPrefix(line, "# ---- /etc/systemd/system/"); ok {
			name = strings.TrimSuffix(strings.TrimSpace(n), " ----")
			continue
		}
		if strings.HasPrefix(line, "# ---- install") {
			name = ""
		}
		if name != "" {
			units[name] += line
		}
	}
	service := units["mailgrant-status.service"]
	if service == "" || units["mailgrant-status.timer"] == "" {
		t.Fatalf("print-units printed no status service and timer:\n%s", r.stdout)
	}
	verifyUnits(t, units)

	// Run ExecStart as the service would.
	argv := unitWords(t, unitSetting(service, "ExecStart")[0])
	if argv[0] != bin || !slices.Equal(argv[1:], []string{"status", "--alert-to", "ops@example.com"}) {
		t.Fatalf("ExecStart %q", argv)
	}
	svcEnv := slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "MAILGRANT_CONFIG_DIR=") })
	for _, v := range unitSetting(service, "Environment") {
		svcEnv = append(svcEnv, unitWords(t, v)...)
	}
	if !slices.Contains(svcEnv, "MAILGRANT_CONFIG_DIR="+odd) {
		t.Fatalf("Environment= does not give the config dir: %q", unitSetting(service, "Environment"))
	}
	withAlert := runSendmail(t, argv[0], svcEnv, "", argv[1:]...)
	if withAlert.code != 1 || !strings.Contains(withAlert.stderr, "alert: 2 problem(s) mailed to ops@example.com") {
		t.Fatalf("status with alert: %d %q", withAlert.code, withAlert.stderr)
	}
	sent := srv.Sent()
	if len(sent) != 1 || !slices.Equal(sent[0].To, []string{"ops@example.com"}) {
		t.Fatalf("sent %+v", sent)
	}
	body := sent[0].Body
	t.Logf("the alert: %s\n%s", sent[0].Subject, body)
	for _, want := range []string{"2 problem(s)", "gone: unauthorized", "Fix: authorize it: mailgrant reauth gone", "site: the client secret expires on " + expires, "mailgrant reauth site"} {
		if !strings.Contains(body, want) {
			t.Errorf("the alert lacks %q:\n%s", want, body)
		}
	}
	// --alert-profile chooses the sender.
	r = runSendmail(t, argv[0], svcEnv, "", "status", "--alert-to", "ops@example.com", "--alert-profile", "web")
	if sent := srv.Sent(); r.code != 1 || len(sent) != 2 || !strings.EqualFold(sent[1].Mailbox, megan) {
		t.Fatalf("--alert-profile web: %d, sent %+v", r.code, sent)
	}
	// The alert does not change the exit status, and when it cannot be
	// sent stderr says so.
	without := runSendmail(t, argv[0], svcEnv, "", "status")
	if without.code != withAlert.code {
		t.Errorf("exit %d without the alert, %d with it", without.code, withAlert.code)
	}
	srv.SetFaults(sandbox.FaultRevoked)
	defer srv.SetFaults()
	r = runSendmail(t, argv[0], svcEnv, "", argv[1:]...)
	if r.code != 1 || !strings.Contains(r.stderr, "the alert to ops@example.com (4 problem(s)) could not be sent: no profile is authorized to send it") {
		t.Fatalf("unsendable alert: %d %q", r.code, r.stderr)
	}
	if got := len(srv.Sent()); got != 2 {
		t.Errorf("%d messages sent, want 2", got)
	}
	// Bad flags are refused before anything is checked.
	if r := mailgrant(t, "", "status", "--alert-to", "not-an-address"); r.code != 2 || !strings.Contains(r.stderr, "alert-to") {
		t.Errorf("bad --alert-to: %d %s", r.code, r.stderr)
	}
	if r := mailgrant(t, "", "status", "--alert-to", "ops@example.com", "--alert-profile", "nope"); r.code != 2 || !strings.Contains(r.stderr, "existing profiles") {
		t.Errorf("bad --alert-profile: %d %s", r.code, r.stderr)
	}
}

// verifyUnits runs systemd-analyze verify on the units when it is
// installed: it checks every setting and that ExecStart's binary exists.
func verifyUnits(t *testing.T, units map[string]string) {
	t.Helper()
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze is not installed; the units are not verified")
		return
	}
	dir := t.TempDir()
	var paths []string
	for name, text := range units {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	slices.Sort(paths)
	out, err := exec.Command(sa, append([]string{"verify", "--man=no"}, paths...)...).CombinedOutput()
	if err != nil || strings.Contains(string(out), "mailgrant-status") {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
