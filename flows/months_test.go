package flows_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/assets"
	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// TestAccessPolicyScoping: an rbac profile that records an
// ApplicationAccessPolicy needs tenant-wide Mail.Send, and is authorized
// only when the out-of-scope send is refused (RestrictAccess or DenyAccess).
func TestAccessPolicyScoping(t *testing.T) {
	tests := []struct {
		name      string
		faults    []string
		access    store.PolicyAccess
		scoping   store.Scoping
		wantState flows.State
		wantCode  flows.Code
	}{
		{name: "restrict policy in force", faults: []string{sandbox.FaultAccessPolicy}, scoping: store.ScopingPolicy, wantState: flows.StateAuthorized},
		{name: "deny policy in force", faults: []string{sandbox.FaultAccessPolicyDeny}, scoping: store.ScopingPolicy, access: store.PolicyDeny, wantState: flows.StateAuthorized},
		{name: "tenant-wide without a policy", faults: []string{sandbox.FaultRBACTenantWide}, scoping: store.ScopingPolicy, wantState: flows.StateError, wantCode: "policy-unrestricted"},
		{name: "no tenant-wide Mail.Send", scoping: store.ScopingPolicy, wantState: flows.StateConsentMissing, wantCode: "consent-missing"},
		{name: "rbac scoping still refuses the tenant-wide grant", faults: []string{sandbox.FaultAccessPolicy}, scoping: store.ScopingRBAC, wantState: flows.StateError, wantCode: "rbac-unrestricted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, env, _ := setup(t, sandbox.Options{Faults: tt.faults})
			p := appProfile(store.RBAC, sandbox.RBACApp)
			p.Scoping, p.PolicyAccess = tt.scoping, tt.access
			p.OutOfScopeMailbox = sandbox.OutOfScopeMailboxes[0]
			if err := flows.ValidateProfile(p); err != nil {
				t.Fatal(err)
			}
			mem := store.NewMemory()
			_ = mem.Set(p.Name, store.KindClientSecret, sandbox.RBACApp.Secret)
			st := flows.Check(context.Background(), env, mem, p, flows.CheckOptions{})
			if st.State != tt.wantState {
				t.Fatalf("state %s, want %s (%+v)", st.State, tt.wantState, st.Error)
			}
			if tt.wantCode != "" && (st.Error == nil || st.Error.Code != tt.wantCode || st.Error.Hint == "") {
				t.Fatalf("want %s, got %+v", tt.wantCode, st.Error)
			}
			if tt.wantState == flows.StateAuthorized {
				last := st.Steps[len(st.Steps)-1]
				if last.Name != flows.StepScope || last.Result != flows.StepOK {
					t.Fatalf("the out-of-scope send was not checked: %+v", st.Steps)
				}
				if len(srv.Sent()) != 1 {
					t.Fatalf("sent %d messages, want the one in-scope test", len(srv.Sent()))
				}
			}
		})
	}
}

// TestScopingValidation: the scoping fields fit only the rbac scenario.
func TestScopingValidation(t *testing.T) {
	p := appProfile(store.SendAsAny, sandbox.DaemonApp)
	p.Scoping = store.ScopingPolicy
	if err := flows.ValidateProfile(p); err == nil || !strings.Contains(err.Error(), "scoping") {
		t.Fatalf("policy scoping on send-as-any: %v", err)
	}
	p = appProfile(store.RBAC, sandbox.RBACApp)
	p.PolicyAccess = store.PolicyDeny
	if err := flows.ValidateProfile(p); err == nil || !strings.Contains(err.Error(), "policy-access") {
		t.Fatalf("DenyAccess without a policy: %v", err)
	}
	if _, err := flows.ParseScoping("exchange"); err == nil {
		t.Fatal("an unknown scoping was accepted")
	}
}

// TestServicePrincipalFromToken: the RBAC script gets the service
// principal's object ID from an app-only token's oid claim, and keeps the
// placeholder without a token.
func TestServicePrincipalFromToken(t *testing.T) {
	_, env, _ := setup(t, sandbox.Options{})
	p := appProfile(store.RBAC, sandbox.RBACApp)
	tok, err := flows.AppToken(context.Background(), env, p, flows.AppCredential{Secret: sandbox.RBACApp.Secret})
	if err != nil {
		t.Fatal(err)
	}
	if tok.ServicePrincipalID != sandbox.RBACApp.ServicePrincipalID {
		t.Fatalf("oid %q, want the service principal %s", tok.ServicePrincipalID, sandbox.RBACApp.ServicePrincipalID)
	}
	data := flows.WithServicePrincipal(flows.RBACScript(p, "mailgrant"), tok, time.Now())
	script := assets.RenderRBACScript(data, false)
	if !strings.Contains(script, "$ObjectId = '"+sandbox.RBACApp.ServicePrincipalID+"'") || strings.Contains(script, "<SERVICE-PRINCIPAL") || !strings.Contains(script, "oid claim") {
		t.Fatalf("the object ID was not filled in:\n%s", script)
	}
	script = assets.RenderRBACScript(flows.WithServicePrincipal(flows.RBACScript(p, "mailgrant"), nil, time.Now()), false)
	if !strings.Contains(script, "<SERVICE-PRINCIPAL-OBJECT-ID-FROM-ENTERPRISE-APPLICATIONS>") {
		t.Fatalf("no placeholder without a token:\n%s", script)
	}
}

// TestPermissionKinds: a permission name is checked against the scenario's
// kind, and the error names the one to use.
func TestPermissionKinds(t *testing.T) {
	err := flows.ValidatePermissionsFor(store.RBAC, []string{"Mail.Send", "Files.Read"})
	if err == nil || !strings.Contains(err.Error(), "Files.Read.All") {
		t.Fatalf("application Files.Read: %v", err)
	}
	if err := flows.ValidatePermissionsFor(store.SendAsUser, []string{"Mail.Send", "Files.Read"}); err != nil {
		t.Fatalf("delegated Files.Read: %v", err)
	}
	if err := flows.ValidatePermissionsFor(store.SendAsAny, []string{"Mail.Send", "Files.Read.All", "Calendars.ReadWrite"}); err != nil {
		t.Fatalf("application Files.Read.All: %v", err)
	}
	// Consent is needed for what an app-only profile needs in Entra: not
	// Mail.Send under RBAC for Applications, Mail.Send under a policy.
	p := appProfile(store.RBAC, sandbox.RBACApp)
	if flows.NeedsAdminConsent(p, &flows.Token{}) {
		t.Fatal("rbac with Mail.Send alone asked for consent")
	}
	p.Permissions = []string{"Mail.Send", "Files.Read.All"}
	if !flows.NeedsAdminConsent(p, &flows.Token{}) || flows.NeedsAdminConsent(p, &flows.Token{Roles: []string{"Files.Read.All"}}) {
		t.Fatal("rbac with Files.Read.All: wrong consent decision")
	}
	p.Scoping = store.ScopingPolicy
	if !flows.NeedsAdminConsent(p, &flows.Token{Roles: []string{"Files.Read.All"}}) {
		t.Fatal("policy scoping without Mail.Send did not ask for consent")
	}
}

// TestRotation: a refused secret changes nothing; a pending certificate is
// kept and reused until it is proven; a certificate that never gets
// uploaded times out without switching.
func TestRotation(t *testing.T) {
	srv, env, _ := setup(t, sandbox.Options{})
	dir := t.TempDir()
	ctx := context.Background()
	mem := store.NewMemory()
	p := appProfile(store.RBAC, sandbox.RBACApp)
	p, err := flows.SaveApp(t.Context(), dir, mem, p, flows.AppCredential{Secret: sandbox.RBACApp.Secret})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Date(2028, 1, 31, 0, 0, 0, 0, time.UTC)
	if _, err := flows.RotateSecret(ctx, env, dir, mem, p, "wrong", &exp); err == nil || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("a wrong secret: %v", err)
	}
	if v, _ := mem.Get(p.Name, store.KindClientSecret); v != sandbox.RBACApp.Secret {
		t.Fatal("a wrong secret replaced the stored one")
	}

	made := 0
	gen := func() (*flows.Certificate, error) {
		made++
		return flows.GenerateCertificate("next", 24*time.Hour, 2048, time.Now())
	}
	c1, resumed, err := flows.PendingCertificate(mem, p, time.Now(), gen)
	if err != nil || resumed {
		t.Fatal(err, resumed)
	}
	_, _, err = flows.RotateCertificate(ctx, env, dir, mem, p, c1, flows.PollOptions{Interval: time.Millisecond, Timeout: 20 * time.Millisecond})
	if err == nil {
		t.Fatal("a certificate nobody uploaded was switched to")
	}
	if v, _ := mem.Get(p.Name, store.KindClientSecret); v != sandbox.RBACApp.Secret {
		t.Fatal("a timed-out rotation changed the credential")
	}
	c2, resumed, err := flows.PendingCertificate(mem, p, time.Now(), gen)
	if err != nil || !resumed || c2.Thumbprint() != c1.Thumbprint() || made != 1 {
		t.Fatalf("the pending certificate was not resumed: %v %v %d", err, resumed, made)
	}
	if err := srv.UploadCertificate(p.ClientID, c2.Leaf.Raw); err != nil {
		t.Fatal(err)
	}
	saved, old, err := flows.RotateCertificate(ctx, env, dir, mem, p, c2, flows.PollOptions{Interval: time.Millisecond, Timeout: time.Second})
	if err != nil || old != "" || saved.CertificateThumbprint != c2.Thumbprint() || saved.Credential != store.CredentialCertificate {
		t.Fatalf("rotate to the uploaded certificate: %v %q %+v", err, old, saved)
	}
	if _, err := mem.Get(p.Name, store.KindClientSecret); err == nil {
		t.Fatal("the old secret is still stored after switching to a certificate")
	}
}

// TestSentLogRotation: the log rotates by size, keeps Keep old files, reads
// back oldest first across them, filters by profile, skips a damaged line,
// and strips control characters from what it shows.
func TestSentLogRotation(t *testing.T) {
	dir := t.TempDir()
	l := flows.SentLog{Dir: dir, MaxBytes: 400, Keep: 2}
	p := store.Profile{Name: "site"}
	for i := 0; i < 12; i++ {
		r := flows.SentRecordFor(time.Now(), p, "info@contoso.com\x1b[31m", i, int64(i), "send", &flows.DeliverResult{RequestID: "req"}, nil)
		if i%2 == 1 {
			r.Profile = "other"
		}
		if err := l.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, flows.SentLogFile+".3")); err == nil {
		t.Fatal("more rotated files than Keep")
	}
	if _, err := os.Stat(filepath.Join(dir, flows.SentLogFile+".2")); err != nil {
		t.Fatal("the log was not rotated")
	}
	f, _ := os.OpenFile(filepath.Join(dir, flows.SentLogFile), os.O_APPEND|os.O_WRONLY, 0o600)
	_, _ = f.WriteString("{\"time\":\"2026-01-0\n")
	f.Close()
	recs, bad, err := flows.ReadSentLog(dir, "site")
	if err != nil || bad != 1 {
		t.Fatalf("read: %v, %d bad", err, bad)
	}
	if len(recs) == 0 || len(recs) >= 6 {
		t.Fatalf("want some but not all of site's 6 records (the oldest rotated away), got %d", len(recs))
	}
	for i, r := range recs {
		if r.Profile != "site" || strings.ContainsRune(r.From, 0x1b) || (i > 0 && r.Recipients <= recs[i-1].Recipients) {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
	if recs[len(recs)-1].Recipients != 10 {
		t.Fatalf("the newest record is missing: %+v", recs[len(recs)-1])
	}
}

// FuzzParseSentLine: no line of a damaged log makes the parser panic, and
// whatever it accepts is printable.
func FuzzParseSentLine(f *testing.F) {
	f.Add([]byte(`{"time":"2026-11-28T08:00:00Z","profile":"site","from":"a@b.c","recipients":2,"size":10,"result":"sent"}`))
	f.Add([]byte(`{"time":"2026-11-28T08:00:00Z","profile":"s\u001b","result":"x","recipients":-1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := flows.ParseSentLine(line)
		if err != nil {
			return
		}
		for _, s := range []string{r.Profile, r.From, r.Via, r.RequestID, r.Result, r.Code} {
			if flows.SafeText(s) != s {
				t.Fatalf("unprintable field accepted: %q", s)
			}
		}
	})
}

// TestPlanEdit: what each kind of change needs.
func TestPlanEdit(t *testing.T) {
	user := delegated("u", sandbox.TenantID, sandbox.PublicApp, sandbox.AdeleVance.UPN)
	rbac := appProfile(store.RBAC, sandbox.RBACApp)
	with := func(p store.Profile, f func(*store.Profile)) store.Profile {
		p.Permissions = append([]string(nil), p.Permissions...)
		f(&p)
		return p
	}
	tests := []struct {
		name      string
		old, new_ store.Profile
		want      flows.EditNeed
	}{
		{"from only", user, with(user, func(p *store.Profile) { p.From = "info@contoso.com" }), flows.NeedNothing},
		{"delegated new permission", user, with(user, func(p *store.Profile) { p.Permissions = append(p.Permissions, "Calendars.Read") }), flows.NeedSignIn},
		{"delegated fewer permissions", user, with(user, func(p *store.Profile) { p.Permissions = []string{"Mail.Send"} }), flows.NeedCheck},
		{"delegated new account", user, with(user, func(p *store.Profile) { p.Account = sandbox.MeganBowen.UPN }), flows.NeedSignIn},
		{"app-only new test mailbox", rbac, with(rbac, func(p *store.Profile) { p.Account = sandbox.MeganBowen.UPN }), flows.NeedCheck},
		{"app-only new permission", rbac, with(rbac, func(p *store.Profile) { p.Permissions = append(p.Permissions, "Files.Read.All") }), flows.NeedConsent},
		{"app-only fewer permissions: a check", with(rbac, func(p *store.Profile) { p.Permissions = append(p.Permissions, "Files.Read.All") }), rbac, flows.NeedCheck},
		{"rbac to policy needs Mail.Send consent", rbac, with(rbac, func(p *store.Profile) { p.Scoping = store.ScopingPolicy }), flows.NeedConsent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := flows.PlanEdit(tt.old, tt.new_)
			if pl.Need != tt.want {
				t.Fatalf("need %v, want %v (%+v)", pl.Need, tt.want, pl)
			}
		})
	}
}

// TestDefaultHeaders: sendmail and the relay get the profile's From and
// Reply-To only where the message has none.
func TestDefaultHeaders(t *testing.T) {
	p := store.Profile{From: "info@contoso.com", ReplyTo: "help@contoso.com"}
	got := string(flows.WithDefaultHeaders([]byte("Subject: hi\r\nTo: a@b.c\r\n\r\nbody"), p))
	if got != "From: info@contoso.com\r\nReply-To: help@contoso.com\r\nSubject: hi\r\nTo: a@b.c\r\n\r\nbody" {
		t.Fatalf("added: %q", got)
	}
	in := "from: x@y.z\nREPLY-TO: r@y.z\nSubject: hi\n\nReply-To: in the body\n"
	if got := string(flows.WithDefaultHeaders([]byte(in), p)); got != in {
		t.Fatalf("changed a message that has both: %q", got)
	}
	bad := store.Profile{ReplyTo: "x@y.z\r\nBcc: evil@example.com"}
	if got := string(flows.WithDefaultHeaders([]byte("Subject: hi\n\nbody"), bad)); strings.Contains(got, "evil") {
		t.Fatalf("a header was injected: %q", got)
	}
}

// FuzzWithDefaultHeaders: any message in, no panic, and the message comes
// out whole after at most the two added headers.
func FuzzWithDefaultHeaders(f *testing.F) {
	f.Add([]byte("Subject: hi\r\nTo: a@b.c\r\n\r\nbody"))
	f.Add([]byte("\r\n\r\n"))
	f.Add([]byte(" folded: x\nReply-To: y@z.c\n"))
	p := store.Profile{From: "info@contoso.com", ReplyTo: "help@contoso.com"}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := flows.WithDefaultHeaders(raw, p)
		if !strings.HasSuffix(string(out), string(raw)) || len(out)-len(raw) > 80 {
			t.Fatalf("the message was changed: %q → %q", raw, out)
		}
	})
}

// TestWaitForConsent: the wait ends as soon as the consent reaches the
// token, reporting the time left on the way; a skipped wait returns the
// token as it is.
func TestWaitForConsent(t *testing.T) {
	srv, env, _ := setup(t, sandbox.Options{Faults: []string{sandbox.FaultSlowConsent}})
	p := appProfile(store.SendAsAny, sandbox.DaemonApp)
	cred := flows.AppCredential{Secret: sandbox.DaemonApp.Secret}
	if err := srv.GrantAdminConsent(p.ClientID); err != nil {
		t.Fatal(err)
	}
	skip := make(chan struct{})
	close(skip)
	tok, err := flows.WaitForConsent(context.Background(), env, p, cred, flows.PollOptions{Interval: time.Hour, Timeout: time.Hour, Skip: skip})
	if err != nil || tok == nil || !flows.NeedsAdminConsent(p, tok) {
		t.Fatalf("skipped: %v %v", err, tok)
	}
	waits := 0
	tok, err = flows.WaitForConsent(context.Background(), env, p, cred, flows.PollOptions{Interval: 50 * time.Millisecond, Timeout: time.Minute, Waiting: func(error, time.Duration) { waits++ }})
	if err != nil || flows.NeedsAdminConsent(p, tok) || waits == 0 {
		t.Fatalf("waited %d times: %v %v", waits, err, tok)
	}
}

// BenchmarkSentLogAppend is the cost the sent-mail log adds to each message
// (lock file, append, occasional rotation).
func BenchmarkSentLogAppend(b *testing.B) {
	l := flows.SentLog{Dir: b.TempDir()}
	r := flows.SentRecordFor(time.Now(), store.Profile{Name: "site"}, "info@contoso.com", 3, 12345, "relay", &flows.DeliverResult{RequestID: "0f6c7c2e-1b9d-4f5e-9a51-3c2d1e0f9a8b"}, nil)
	for b.Loop() {
		if err := l.Append(r); err != nil {
			b.Fatal(err)
		}
	}
}
