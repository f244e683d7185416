package flows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/clock"
	"github.com/mailgrant/mailgrant/flows/sandbox"
	"github.com/mailgrant/mailgrant/store"
)

// sharedClock starts a sandbox and an Env on one fake clock, a year ahead
// of the real time, so a decision taken by the system clock shows.
func sharedClock(t *testing.T, opts sandbox.Options) (*sandbox.Server, *flows.Env, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(time.Now().AddDate(1, 0, 0).Truncate(time.Second))
	opts.Clock = fake
	srv, env := startSandbox(t, opts)
	env.Clock = fake
	return srv, env, fake
}

// A secret that expires in 9 days by the Env's clock is reported so by a
// status check, and the token's expiry is dated by that clock too.
func TestCheckWarnsOfCredentialExpiryByTheEnvClock(t *testing.T) {
	// Given a profile whose secret expires 9 days after the fake now
	// (more than a year after the real one).
	srv, env, fake := sharedClock(t, sandbox.Options{})
	p, mem := appOnly(t, srv, store.SendAsAny, sandbox.DaemonApp)
	exp := fake.Now().Add(9*24*time.Hour + time.Hour)
	p.CredentialExpiresAt = &exp

	// When it is checked.
	st := flows.Check(context.Background(), env, mem, p, flows.CheckOptions{})

	// Then the check warns with 9 days left, and dates itself and the
	// token by the fake clock.
	var warning string
	for _, s := range st.Steps {
		if s.Name == flows.StepCredential && s.Result == flows.StepWarning {
			warning = s.Detail
		}
	}
	if !strings.Contains(warning, "(in 9 days)") || !strings.Contains(warning, exp.Format(time.DateOnly)) {
		t.Errorf("credential step %q, want a warning of 9 days (steps %+v)", warning, st.Steps)
	}
	if !st.CheckedAt.Equal(fake.Now()) {
		t.Errorf("checked at %s, want the Env's now %s", st.CheckedAt, fake.Now())
	}
	if st.TokenExpiresAt == nil || st.TokenExpiresAt.Before(fake.Now()) || st.TokenExpiresAt.After(fake.Now().Add(2*time.Hour)) {
		t.Errorf("token expires at %v, want within 2 hours after the Env's now %s", st.TokenExpiresAt, fake.Now())
	}
	if st.State != flows.StateAuthorized {
		t.Errorf("state %s (%v), want authorized", st.State, st.Error)
	}
}

// Saving a sign-in dates the refresh token (from which its 90-day lapse
// is counted) by the Env's clock.
func TestSaveDatesTheRefreshTokenByTheEnvClock(t *testing.T) {
	srv, env, fake := sharedClock(t, sandbox.Options{})
	p := userProfile("clocked", sandbox.AdeleVance.UPN)
	tok := deviceSignIn(t, srv, env, p)

	saved, err := flows.Save(context.Background(), t.TempDir(), store.NewMemory(), p, tok, "")
	if err != nil {
		t.Fatal(err)
	}
	if saved.RefreshRotatedAt == nil || !saved.RefreshRotatedAt.Equal(fake.Now()) || !saved.AuthorizedAt.Equal(fake.Now()) {
		t.Errorf("refresh token dated %v, authorized %v; want the Env's now %s", saved.RefreshRotatedAt, saved.AuthorizedAt, fake.Now())
	}
}

// A throttled Graph call waits Retry-After on the Env's clock: it is still
// waiting until that clock moves, however long the real time is.
func TestGraphRetryWaitsOnTheEnvClock(t *testing.T) {
	// Given a Graph that throttles every second request.
	_, env, fake := sharedClock(t, sandbox.Options{Faults: []string{sandbox.FaultThrottle}, ThrottleEvery: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := env.GetMe(ctx, "not-a-token"); err == nil {
		t.Fatal("a made-up token was accepted")
	}

	// When the second request is throttled (Retry-After: 1).
	done := make(chan error, 1)
	go func() {
		_, err := env.GetMe(ctx, "not-a-token")
		done <- err
	}()

	// Then the call waits on the fake clock, and retries once it moved.
	if err := fake.BlockUntil(ctx, 1); err != nil {
		select {
		case err := <-done:
			t.Fatalf("the throttled call did not wait on the Env's clock; it returned %v", err)
		default:
			t.Fatalf("the throttled call never waited: %v", err)
		}
	}
	fake.Advance(time.Second)
	select {
	case err := <-done:
		if fe := flows.AsError(err); fe.HTTPStatus == 429 {
			t.Fatalf("the call did not retry after the wait: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the call did not finish after the clock moved")
	}
}
