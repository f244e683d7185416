package flows_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// TestConsentWaitFromEnv: MAILGRANT_CONSENT_WAIT sets the wait (0 asks
// once), empty means ConsentWait, and a bad value names the variable.
func TestConsentWaitFromEnv(t *testing.T) {
	t.Setenv(flows.ConsentWaitEnv, "")
	if d, err := flows.ConsentWaitFromEnv(); err != nil || d != flows.ConsentWait {
		t.Fatalf("unset: %v %v", d, err)
	}
	t.Setenv(flows.ConsentWaitEnv, "90s")
	if d, err := flows.ConsentWaitFromEnv(); err != nil || d != 90*time.Second {
		t.Fatalf("90s: %v %v", d, err)
	}
	for _, bad := range []string{"soon", "-1s", "5"} {
		t.Setenv(flows.ConsentWaitEnv, bad)
		_, err := flows.ConsentWaitFromEnv()
		var ie *flows.InputError
		if !errors.As(err, &ie) || ie.Field != flows.ConsentWaitEnv || ie.Hint == "" {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestConsentRetry: the one schedule of both front ends: about 18 requests
// over the wait, 100 ms to 10 s apart; a zero wait asks once.
func TestConsentRetry(t *testing.T) {
	for _, tt := range []struct {
		wait, interval time.Duration
	}{
		{flows.ConsentWait, 10 * time.Second},
		{90 * time.Second, 5 * time.Second},
		{time.Second, 100 * time.Millisecond},
		{time.Hour, 10 * time.Second},
	} {
		o := flows.ConsentRetry(tt.wait)
		if o.Interval != tt.interval || o.Timeout != tt.wait {
			t.Errorf("ConsentRetry(%s) = every %s for %s, want every %s", tt.wait, o.Interval, o.Timeout, tt.interval)
		}
	}
	if o := flows.ConsentRetry(0); o.Timeout <= 0 || o.Timeout > time.Millisecond {
		t.Errorf("a zero wait would poll for %s", o.Timeout)
	}
}

// TestSetScoping: setup's --scoping and --policy-access, and the wizard's
// question, record the scoping in one way.
func TestSetScoping(t *testing.T) {
	rbac, daemon := appProfile(store.RBAC, sandbox.RBACApp), appProfile(store.SendAsAny, sandbox.DaemonApp)
	for _, tt := range []struct {
		p               store.Profile
		scoping, access string
		want            store.Scoping
		wantAccess      store.PolicyAccess
		invalid         bool
	}{
		{p: rbac, want: store.ScopingRBAC},
		{p: rbac, scoping: "rbac", want: store.ScopingRBAC},
		{p: rbac, scoping: "policy", want: store.ScopingPolicy, wantAccess: store.PolicyRestrict},
		{p: rbac, scoping: "policy", access: "DenyAccess", want: store.ScopingPolicy, wantAccess: store.PolicyDeny},
		{p: rbac, scoping: "rbac", access: "deny", want: store.ScopingRBAC, wantAccess: store.PolicyDeny, invalid: true},
		{p: daemon},
		{p: daemon, scoping: "rbac"},
		{p: daemon, scoping: "policy", want: store.ScopingPolicy, wantAccess: store.PolicyRestrict, invalid: true},
	} {
		got, err := flows.SetScoping(tt.p, tt.scoping, tt.access)
		if err != nil || got.Scoping != tt.want || got.PolicyAccess != tt.wantAccess {
			t.Errorf("%s %q %q: %q %q %v", tt.p.Scenario, tt.scoping, tt.access, got.Scoping, got.PolicyAccess, err)
		}
		verr := flows.ValidateProfile(got)
		var ie *flows.InputError
		if tt.invalid != (errors.As(verr, &ie) && (ie.Field == "scoping" || ie.Field == "policy-access")) {
			t.Errorf("%s %q %q: validation %v", tt.p.Scenario, tt.scoping, tt.access, verr)
		}
	}
	if _, err := flows.SetScoping(rbac, "exchange", ""); err == nil {
		t.Error("an unknown scoping was accepted")
	}
	if _, err := flows.SetScoping(rbac, "policy", "allow"); err == nil {
		t.Error("an unknown access right was accepted")
	}
}

// FuzzParseConsentWait: any MAILGRANT_CONSENT_WAIT value gives a wait that
// is not negative, or an error naming the variable.
func FuzzParseConsentWait(f *testing.F) {
	for _, s := range []string{"", "0", "3m", "90s", "-1s", "1h2m3.5s", "soon", " 5s "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, err := flows.ParseConsentWait(v)
		var ie *flows.InputError
		switch {
		case err != nil && (!errors.As(err, &ie) || ie.Field != flows.ConsentWaitEnv):
			t.Fatalf("%q: %v", v, err)
		case err == nil && d < 0:
			t.Fatalf("%q: negative wait %s", v, d)
		}
	})
}

// TestChangeScoping: edit --scoping and the wizard's edit screen switch a
// stored profile's scoping in one way, recording what setup records: an
// access policy keeps its access right (RestrictAccess when it had none),
// RBAC for Applications has none.
func TestChangeScoping(t *testing.T) {
	rbac := appProfile(store.RBAC, sandbox.RBACApp)
	rbac.Scoping = store.ScopingRBAC
	deny := rbac
	deny.Scoping, deny.PolicyAccess = store.ScopingPolicy, store.PolicyDeny
	for _, tt := range []struct {
		p          store.Profile
		to         store.Scoping
		want       store.Scoping
		wantAccess store.PolicyAccess
	}{
		{p: rbac, to: store.ScopingPolicy, want: store.ScopingPolicy, wantAccess: store.PolicyRestrict},
		{p: rbac, to: store.ScopingRBAC, want: store.ScopingRBAC},
		{p: deny, to: store.ScopingPolicy, want: store.ScopingPolicy, wantAccess: store.PolicyDeny},
		{p: deny, to: store.ScopingRBAC, want: store.ScopingRBAC},
	} {
		got := flows.ChangeScoping(tt.p, tt.to)
		if got.Scoping != tt.want || got.PolicyAccess != tt.wantAccess {
			t.Errorf("%q/%q to %q: %q %q", tt.p.Scoping, tt.p.PolicyAccess, tt.to, got.Scoping, got.PolicyAccess)
		}
		if err := flows.ValidateProfile(got); err != nil {
			t.Errorf("%q to %q: %v", tt.p.Scoping, tt.to, err)
		}
		set, _ := flows.SetScoping(tt.p, string(tt.to), string(got.PolicyAccess))
		if set.Scoping != got.Scoping || set.PolicyAccess != got.PolicyAccess {
			t.Errorf("%q to %q: edit records %q %q, setup %q %q", tt.p.Scoping, tt.to, got.Scoping, got.PolicyAccess, set.Scoping, set.PolicyAccess)
		}
	}
}
