package flows

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// After an admin consents, Entra can take minutes to put the new roles into
// app-only tokens. Both front ends wait for them the same way: for
// ConsentWaitFromEnv, asking again on the ConsentRetry schedule
// (WaitForConsent does the asking).

// ConsentWaitEnv overrides how long to wait for a new admin consent to
// reach app-only tokens: a Go duration such as 90s or 5m; 0 does not wait.
const ConsentWaitEnv = "MAILGRANT_CONSENT_WAIT"

// ConsentWaitFromEnv is how long to wait for a new admin consent: ConsentWait,
// or MAILGRANT_CONSENT_WAIT when it is set.
func ConsentWaitFromEnv() (time.Duration, error) {
	return ParseConsentWait(os.Getenv(ConsentWaitEnv))
}

// ParseConsentWait reads a MAILGRANT_CONSENT_WAIT value; empty means
// ConsentWait.
func ParseConsentWait(v string) (time.Duration, error) {
	if strings.TrimSpace(v) == "" {
		return ConsentWait, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 0 {
		return 0, &InputError{Field: ConsentWaitEnv, Problem: fmt.Sprintf("%s is not a duration", shown(v)), Hint: "use a Go duration such as 3m or 90s; 0 does not wait"}
	}
	return d, nil
}

// ConsentRetry is the one schedule for asking again for a token after admin
// consent: for up to wait, one request every wait/18, at least 100 ms and
// at most 10 s apart (every 10 s for the default 3 minutes). A zero wait
// asks once.
func ConsentRetry(wait time.Duration) PollOptions {
	o := PollOptions{Interval: min(max(wait/18, 100*time.Millisecond), 10*time.Second), Timeout: wait}
	if wait <= 0 {
		o.Timeout = time.Nanosecond // withDefaults would make 0 ten minutes
	}
	return o
}
