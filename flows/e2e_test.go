package flows_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/flows/sandbox/sandboxtest"
	"github.com/mailgrant/mailgrant/store"
)

// These tests run the grants over real HTTP against the sandbox on loopback,
// with the real browser path: pkg/browser runs the stand-in xdg-open, which
// follows the URL, submits the simulated sign-in page, and follows the
// redirect back to the loopback listener.

// setup starts a sandbox and the stand-in browser and returns an Env for it.
func setup(t *testing.T, opts sandbox.Options) (*sandbox.Server, *flows.Env, string) {
	t.Helper()
	srv := sandboxtest.Start(t, opts)
	log := sandboxtest.InstallFakeBrowser(t)
	env, err := flows.NewEnv(flows.EnvOptions{}.EnvFromEnvironment())
	if err != nil {
		t.Fatal(err)
	}
	return srv, env, log
}

func delegated(name, tenant string, app sandbox.App, account string) store.Profile {
	return store.Profile{Name: name, Scenario: store.SendAsUser, Tenant: tenant, ClientID: app.ClientID, Account: account, Permissions: []string{"Mail.Send", "User.Read"}, Credential: store.CredentialNone}
}

// signIn runs the authorization-code flow with the system browser.
func signIn(t *testing.T, env *flows.Env, p store.Profile, secret string) (*flows.Token, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	flow, err := flows.StartAuthCode(ctx, env, p, flows.AuthCodeOptions{ClientSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = flows.SystemBrowser{}.Open(flow.URL()) }()
	return flow.Wait(ctx)
}

func TestDelegatedSignIn(t *testing.T) {
	tests := []struct {
		name        string
		profile     store.Profile
		secret      string
		browserUser string
		action      string
		faults      []string
		wantErrCode flows.Code
		wantState   flows.State
		wantMissing string
		wantExcess  string
	}{
		{name: "send as user", profile: delegated("a", sandbox.TenantDomain, sandbox.PublicApp, sandbox.AdeleVance.UPN), wantState: flows.StateAuthorized},
		{name: "tenant by id", profile: delegated("a", sandbox.TenantID, sandbox.PublicApp, sandbox.MeganBowen.UPN), wantState: flows.StateAuthorized},
		{name: "confidential web app with its secret", profile: delegated("a", sandbox.TenantDomain, sandbox.WebApp, sandbox.AdeleVance.UPN), secret: sandbox.WebApp.Secret, wantState: flows.StateAuthorized},
		{name: "confidential web app without secret", profile: delegated("a", sandbox.TenantDomain, sandbox.WebApp, sandbox.AdeleVance.UPN), wantErrCode: "AADSTS7000218"},
		{name: "cancelled in the browser", profile: delegated("a", sandbox.TenantDomain, sandbox.PublicApp, sandbox.AdeleVance.UPN), action: "cancel", wantErrCode: "AADSTS65004"},
		{name: "another account signs in", profile: delegated("a", sandbox.TenantDomain, sandbox.PublicApp, sandbox.AdeleVance.UPN), browserUser: sandbox.MeganBowen.UPN, wantState: flows.StateError},
		{name: "consent lacks Mail.Send", profile: delegated("a", sandbox.TenantDomain, sandbox.PublicApp, sandbox.AdeleVance.UPN), faults: []string{"missing-scope"}, wantState: flows.StateConsentMissing, wantMissing: "Mail.Send"},
		{name: "permission beyond need", profile: delegated("a", sandbox.TenantDomain, sandbox.ExtraApp, sandbox.AdeleVance.UPN), wantState: flows.StateAuthorized, wantExcess: "Calendars.Read"},
		{name: "personal account", profile: store.Profile{Name: "p", Scenario: store.Personal, Tenant: "consumers", ClientID: sandbox.PublicApp.ClientID, Account: sandbox.SamPersonal.UPN, Permissions: []string{"Mail.Send", "User.Read"}}, wantState: flows.StateAuthorized},
		{name: "work account for a personal profile", profile: store.Profile{Name: "p", Scenario: store.Personal, Tenant: "common", ClientID: sandbox.PublicApp.ClientID, Account: sandbox.AdeleVance.UPN, Permissions: []string{"Mail.Send"}}, browserUser: sandbox.AdeleVance.UPN, wantState: flows.StateError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, env, log := setup(t, sandbox.Options{Faults: tt.faults})
			t.Setenv("MAILGRANT_FAKE_BROWSER_USER", tt.browserUser)
			t.Setenv("MAILGRANT_FAKE_BROWSER_ACTION", tt.action)
			tok, err := signIn(t, env, tt.profile, tt.secret)
			if tt.wantErrCode != "" {
				var fe *flows.Error
				if !errors.As(err, &fe) || fe.Code != tt.wantErrCode || fe.Hint == "" {
					t.Fatalf("want %s with a hint, got %v", tt.wantErrCode, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("sign-in failed: %v", err)
			}
			if data, _ := os.ReadFile(log); !strings.Contains(string(data), "/oauth2/v2.0/authorize") {
				t.Errorf("the browser was not sent to the authorize URL; log: %s", data)
			}
			st := flows.Verify(context.Background(), env, tt.profile, tok, flows.CheckOptions{})
			if st.State != tt.wantState {
				t.Fatalf("state %s, want %s (%+v)", st.State, tt.wantState, st.Error)
			}
			if tt.wantMissing != "" && strings.Join(st.Missing, ",") != tt.wantMissing {
				t.Errorf("missing %v, want %s", st.Missing, tt.wantMissing)
			}
			if tt.wantExcess != "" && strings.Join(st.Excess, ",") != tt.wantExcess {
				t.Errorf("excess %v, want %s", st.Excess, tt.wantExcess)
			}
			if st.State == flows.StateError && (st.Error == nil || st.Error.Hint == "") {
				t.Errorf("a failed check without an explanation: %+v", st)
			}
			if tt.browserUser != "" && tt.profile.Scenario == store.SendAsUser && !strings.Contains(st.Error.Message, "signed in as "+tt.browserUser) {
				t.Errorf("the error does not say who signed in: %q", st.Error.Message)
			}
		})
	}
}

// TestStoredProfileLifecycle: save, check (the rotated refresh token is
// stored), a token Graph accepts, a test send, then revocation.
func TestStoredProfileLifecycle(t *testing.T) {
	srv, env, _ := setup(t, sandbox.Options{})
	dir := t.TempDir()
	secrets := store.NewMemory()
	p := delegated("site", sandbox.TenantDomain, sandbox.PublicApp, sandbox.AdeleVance.UPN)
	tok, err := signIn(t, env, p, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := flows.Save(t.Context(), dir, secrets, p, tok, ""); err != nil {
		t.Fatal(err)
	}
	first, _ := secrets.Get("site", store.KindRefreshToken)

	st := flows.Check(context.Background(), env, secrets, p, flows.CheckOptions{TestSendTo: sandbox.MeganBowen.UPN})
	if st.State != flows.StateAuthorized || !st.Rotated {
		t.Fatalf("check: %s %+v", st.State, st.Error)
	}
	second, _ := secrets.Get("site", store.KindRefreshToken)
	if second == first || second == "" {
		t.Fatal("the rotated refresh token was not stored")
	}
	sent := srv.Sent()
	if len(sent) != 1 || sent[0].To[0] != sandbox.MeganBowen.UPN {
		t.Fatalf("sent: %+v", sent)
	}

	// A second server (another process) accepts the stored refresh token.
	other := sandboxtest.Start(t, sandbox.Options{})
	env2, _ := flows.NewEnv(flows.EnvOptions{LoginHost: other.URL(), GraphHost: other.URL()})
	tok2, err := flows.AccessToken(context.Background(), env2, secrets, p)
	if err != nil {
		t.Fatalf("a refresh token from one sandbox is refused by another: %v", err)
	}
	if _, err := env2.GetMe(context.Background(), tok2.AccessToken); err != nil {
		t.Fatalf("Graph refused the token: %v", err)
	}

	srv.SetFaults("revoked")
	st = flows.Check(context.Background(), env, secrets, p, flows.CheckOptions{})
	if st.State != flows.StateReauthorize || st.Error.Code != "AADSTS50173" || !strings.Contains(st.Error.Hint, "reauth") {
		t.Fatalf("revoked: %s %+v", st.State, st.Error)
	}
	if now, _ := secrets.Get("site", store.KindRefreshToken); now == "" {
		t.Fatal("a failed check removed the refresh token")
	}

	secrets2 := store.NewMemory()
	st = flows.Check(context.Background(), env, secrets2, p, flows.CheckOptions{})
	if st.State != flows.StateUnauthorized {
		t.Fatalf("no secret: %s", st.State)
	}
}

// failingSecrets refuses to store, as a locked keyring would.
type failingSecrets struct{ *store.Memory }

func (failingSecrets) Set(string, store.Kind, string) error {
	return &store.KeyringError{Op: "set", Cause: "locked", Hint: "unlock it"}
}

func TestRefreshReturnsNoTokenWhenTheRotatedOneCannotBeStored(t *testing.T) {
	_, env, _ := setup(t, sandbox.Options{})
	p := delegated("site", sandbox.TenantDomain, sandbox.PublicApp, sandbox.AdeleVance.UPN)
	tok, err := signIn(t, env, p, "")
	if err != nil {
		t.Fatal(err)
	}
	mem := store.NewMemory()
	_ = mem.Set("site", store.KindRefreshToken, tok.RefreshToken)
	got, err := flows.AccessToken(context.Background(), env, failingSecrets{mem}, p)
	var fe *flows.Error
	if got != nil || !errors.As(err, &fe) || fe.Code != "keyring" || fe.Hint != "unlock it" {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestDeviceCode(t *testing.T) {
	tests := []struct {
		name     string
		app      sandbox.App
		accept   bool
		wantCode flows.Code
	}{
		{name: "approved", app: sandbox.PublicApp, accept: true},
		{name: "declined", app: sandbox.PublicApp, accept: false, wantCode: "AADSTS65004"},
		{name: "public client flows off", app: sandbox.WebApp, accept: true, wantCode: "AADSTS7000218"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, env, _ := setup(t, sandbox.Options{DeviceInterval: 1})
			p := delegated("d", sandbox.TenantDomain, tt.app, sandbox.AdeleVance.UPN)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			d, err := flows.StartDeviceCode(ctx, env, p, flows.DeviceCodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if d.UserCode == "" || !strings.HasPrefix(d.VerificationURI, "http") || d.Interval != time.Second {
				t.Fatalf("device code response: %+v", d)
			}
			if err := srv.ApproveDevice(d.UserCode, sandbox.AdeleVance.UPN, tt.accept); err != nil {
				t.Fatal(err)
			}
			tok, err := d.Wait(ctx)
			if tt.wantCode != "" {
				var fe *flows.Error
				if !errors.As(err, &fe) || fe.Code != tt.wantCode || fe.Hint == "" {
					t.Fatalf("want %s, got %v", tt.wantCode, err)
				}
				if tt.wantCode == "AADSTS7000218" && !strings.Contains(fe.Hint, "Allow public client flows") {
					t.Errorf("hint does not name the switch: %q", fe.Hint)
				}
				return
			}
			if err != nil || tok.RefreshToken == "" {
				t.Fatalf("got %v, %v", tok, err)
			}
		})
	}
}

func appProfile(sc store.Scenario, app sandbox.App) store.Profile {
	return store.Profile{Name: "app", Scenario: sc, Tenant: sandbox.TenantID, ClientID: app.ClientID, Account: sandbox.AdeleVance.UPN, Permissions: []string{"Mail.Send"}, Credential: store.CredentialSecret}
}

func TestSendAsAnyAdminConsent(t *testing.T) {
	srv, env, _ := setup(t, sandbox.Options{})
	p := appProfile(store.SendAsAny, sandbox.DaemonApp)
	cred := flows.AppCredential{Secret: sandbox.DaemonApp.Secret}
	ctx := context.Background()

	// Before consent: a token without the role.
	tok, err := flows.AppToken(ctx, env, p, cred)
	if err != nil {
		t.Fatal(err)
	}
	if st := flows.Verify(ctx, env, p, tok, flows.CheckOptions{}); st.State != flows.StateConsentMissing || st.Missing[0] != "Mail.Send" {
		t.Fatalf("before consent: %s %v", st.State, st.Missing)
	}

	// A non-admin cannot consent.
	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AdeleVance.UPN)
	c, err := flows.StartAdminConsent(ctx, env, p, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = flows.SystemBrowser{}.Open(c.URL()) }()
	if err := c.Wait(ctx); err == nil {
		t.Fatal("a non-admin granted consent")
	}

	t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)
	c, err = flows.StartAdminConsent(ctx, env, p, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.URL(), "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default") {
		t.Errorf("consent URL scope: %s", c.URL())
	}
	go func() { _ = flows.SystemBrowser{}.Open(c.URL()) }()
	if err := c.Wait(ctx); err != nil {
		t.Fatalf("consent: %v", err)
	}
	tok, err = flows.AppToken(ctx, env, p, cred)
	if err != nil {
		t.Fatal(err)
	}
	st := flows.Verify(ctx, env, p, tok, flows.CheckOptions{TestSendTo: sandbox.MeganBowen.UPN})
	if st.State != flows.StateAuthorized {
		t.Fatalf("after consent: %s %+v", st.State, st.Error)
	}
	if sent := srv.Sent(); len(sent) != 1 || sent[0].From != sandbox.AdeleVance.UPN || !sent[0].AppOnly {
		t.Fatalf("sent: %+v", sent)
	}
}

func TestAppOnlyFailures(t *testing.T) {
	tests := []struct {
		name      string
		faults    []string
		secret    string
		consent   bool
		wantCode  flows.Code
		wantState flows.State
	}{
		{name: "declined consent", faults: []string{"declined-consent"}, wantCode: "AADSTS65004", wantState: flows.StateConsentMissing},
		{name: "wrong secret", secret: "wrong", wantCode: "AADSTS7000215", wantState: flows.StateCredentialExpired},
		{name: "expired secret", faults: []string{"expired-secret"}, wantCode: "AADSTS7000222", wantState: flows.StateCredentialExpired},
		{name: "role removed", faults: []string{"missing-role"}, consent: true, wantCode: "consent-missing", wantState: flows.StateConsentMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, env, _ := setup(t, sandbox.Options{Faults: tt.faults})
			t.Setenv("MAILGRANT_FAKE_BROWSER_USER", sandbox.AlexWilber.UPN)
			p := appProfile(store.SendAsAny, sandbox.DaemonApp)
			secret := sandbox.DaemonApp.Secret
			if tt.secret != "" {
				secret = tt.secret
			}
			ctx := context.Background()
			if tt.consent {
				if err := srv.GrantAdminConsent(p.ClientID); err != nil {
					t.Fatal(err)
				}
			}
			var err error
			if tt.faults != nil && tt.faults[0] == "declined-consent" {
				c, cerr := flows.StartAdminConsent(ctx, env, p, 30*time.Second)
				if cerr != nil {
					t.Fatal(cerr)
				}
				go func() { _ = flows.SystemBrowser{}.Open(c.URL()) }()
				err = c.Wait(ctx)
			} else {
				mem := store.NewMemory()
				_ = mem.Set(p.Name, store.KindClientSecret, secret)
				st := flows.Check(ctx, env, mem, p, flows.CheckOptions{})
				if st.State != tt.wantState {
					t.Fatalf("state %s, want %s (%+v)", st.State, tt.wantState, st.Error)
				}
				err = st.Error
			}
			var fe *flows.Error
			if !errors.As(err, &fe) || fe.Code != tt.wantCode || fe.State != tt.wantState || fe.Hint == "" {
				t.Fatalf("want %s/%s with a hint, got %+v", tt.wantCode, tt.wantState, err)
			}
			if strings.Contains(fe.Error()+fe.Hint+fe.Description, sandbox.DaemonApp.Secret) {
				t.Fatal("the error shows the client secret")
			}
		})
	}
}

func TestCertificateCredential(t *testing.T) {
	srv, env, _ := setup(t, sandbox.Options{})
	if err := srv.GrantAdminConsent(sandbox.DaemonApp.ClientID); err != nil {
		t.Fatal(err)
	}
	p := appProfile(store.SendAsAny, sandbox.DaemonApp)
	p.Credential = store.CredentialCertificate
	cert, err := flows.GenerateCertificate("mailgrant test", 30*24*time.Hour, 2048, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = flows.AppToken(ctx, env, p, flows.AppCredential{Cert: cert})
	var fe *flows.Error
	if !errors.As(err, &fe) || fe.Code != "AADSTS700027" || fe.State != flows.StateCredentialExpired {
		t.Fatalf("before upload: want AADSTS700027, got %v", err)
	}
	if err := srv.UploadCertificate(p.ClientID, cert.Leaf.Raw); err != nil {
		t.Fatal(err)
	}
	// Stored and read back from the keyring form, as status does.
	dir, mem := t.TempDir(), store.NewMemory()
	saved, err := flows.SaveApp(t.Context(), dir, mem, p, flows.AppCredential{Cert: cert})
	if err != nil {
		t.Fatal(err)
	}
	if saved.CertificateThumbprint != cert.Thumbprint() || saved.CredentialExpiresAt == nil {
		t.Errorf("profile lacks the thumbprint or expiry: %+v", saved)
	}
	st := flows.Check(ctx, env, mem, saved, flows.CheckOptions{})
	if st.State != flows.StateAuthorized {
		t.Fatalf("after upload: %s %+v", st.State, st.Error)
	}
	// The certificate lapses within 30 days: the check warns, with the date.
	last := st.Steps[len(st.Steps)-1]
	if last.Name != flows.StepCredential || last.Result != flows.StepWarning || !strings.Contains(last.Detail, cert.Leaf.NotAfter.Format(time.DateOnly)) {
		t.Fatalf("no expiry warning: %+v", st.Steps)
	}
	if st.CredentialExpiresAt == nil {
		t.Fatal("status lacks the credential expiry")
	}
}

func TestRBAC(t *testing.T) {
	tests := []struct {
		name      string
		faults    []string
		account   string
		wantState flows.State
		wantCode  flows.Code
	}{
		{name: "scoped", account: sandbox.AdeleVance.UPN, wantState: flows.StateAuthorized},
		{name: "tenant-wide grant makes the scope useless", faults: []string{"rbac-tenant-wide"}, account: sandbox.AdeleVance.UPN, wantState: flows.StateError, wantCode: "rbac-unrestricted"},
		// Exchange refuses a mailbox the role does not (yet) cover: the
		// profile waits for the role, it is not a consent problem.
		{name: "test mailbox outside the scope", account: sandbox.AlexWilber.UPN, wantState: flows.StatePending, wantCode: "ErrorAccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, env, _ := setup(t, sandbox.Options{Faults: tt.faults})
			p := appProfile(store.RBAC, sandbox.RBACApp)
			p.Account = tt.account
			p.OutOfScopeMailbox = sandbox.OutOfScopeMailboxes[0]
			mem := store.NewMemory()
			_ = mem.Set(p.Name, store.KindClientSecret, sandbox.RBACApp.Secret)
			st := flows.Check(context.Background(), env, mem, p, flows.CheckOptions{Command: "mailgrant --sandbox"})
			if st.State != tt.wantState {
				t.Fatalf("state %s, want %s (%+v)", st.State, tt.wantState, st.Error)
			}
			if tt.wantState == flows.StatePending && !strings.Contains(st.Error.Message+st.Error.Hint, "mailgrant --sandbox status "+p.Name) {
				t.Fatalf("the pending hint does not name the command with the flags in force: %+v", st.Error)
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

func TestThrottledGraphIsRetried(t *testing.T) {
	srv, env, _ := setup(t, sandbox.Options{Faults: []string{"throttle"}, ThrottleEvery: 2})
	p := delegated("a", sandbox.TenantDomain, sandbox.PublicApp, sandbox.AdeleVance.UPN)
	srv.SetFaults()
	tok, err := signIn(t, env, p, "")
	if err != nil {
		t.Fatal(err)
	}
	srv.SetFaults("throttle")
	for range 3 {
		if _, err := env.GetMe(context.Background(), tok.AccessToken); err != nil {
			t.Fatalf("a throttled request was not retried: %v", err)
		}
	}
}

// A new rbac profile is checked by a test send, whoever set it up: when
// Exchange already lets the app send as the account it is authorized (as
// DESIGN.md defines it), and while Exchange refuses the send (the role is
// not assigned or not applied yet) it waits for the role: pending.
func TestRBACNewProfileTestSend(t *testing.T) {
	_, env, _ := setup(t, sandbox.Options{})
	p := appProfile(store.RBAC, sandbox.RBACApp)
	p.Account = sandbox.AdeleVance.UPN
	tok, err := flows.AppToken(context.Background(), env, p, flows.AppCredential{Secret: sandbox.RBACApp.Secret})
	if err != nil {
		t.Fatal(err)
	}
	st := flows.Verify(context.Background(), env, p, tok, flows.CheckOptions{})
	sent := slices.ContainsFunc(st.Steps, func(s flows.Step) bool { return s.Name == flows.StepSend && s.Result == flows.StepOK })
	if st.State != flows.StateAuthorized || !sent {
		t.Fatalf("role in place: state %s, steps %+v", st.State, st.Steps)
	}
	p.Account = sandbox.OutOfScopeMailboxes[0]
	st = flows.Verify(context.Background(), env, p, tok, flows.CheckOptions{})
	if st.State != flows.StatePending || st.Error == nil || !strings.Contains(st.Error.Message, "role is not assigned or not applied yet") {
		t.Fatalf("role not in place: state %s, want pending with words: %+v", st.State, st.Error)
	}
}
