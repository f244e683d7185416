package tui

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/store"
)

// TestConsentCountdownLine: the countdown after admin consent reads
// "<spinner> Asking for a token every 10s …: 2:59 left" at every size; the
// line was wrapped without the spinner, which ate the space after it.
func TestConsentCountdownLine(t *testing.T) {
	m := New(context.Background(), testDeps(t))
	m.step = stepAppAuth
	m.appAuth.req.Profile = store.Profile{Name: "mailer", Scenario: store.SendAsAny, ClientID: testClientID, Account: testAccount}
	m.appAuth.phase, m.appAuth.attempt = phaseAfterConsent, nextAttempt()
	m.appAuth.now = time.Now()
	m.appAuth.waitEnds, m.appAuth.every = m.appAuth.now.Add(3*time.Minute), 10*time.Second
	m.appAuth.skip = make(chan struct{})
	m.appAuth.setKeys()
	line := regexp.MustCompile(`(?m)^\S Asking for a token every 10s until the`)
	for _, sz := range sizes {
		if v := viewAt(m, sz[0], sz[1]); !line.MatchString(v) {
			t.Errorf("%dx%d: no countdown line:\n%s", sz[0], sz[1], v)
		}
	}
}
