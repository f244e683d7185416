package main

import (
	"context"
	"fmt"
	"net/mail"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// `status --alert-to ADDR` mails one summary when a profile needs
// attention, so a daily timer warns before a grant breaks. The exit status
// of status does not depend on the alert.

// Microsoft's lifetimes (reference §3; "Refresh token lifetime" in the
// identity platform docs): a refresh token unused for 90 days lapses; each
// refresh returns a new one, so a daily status keeps a grant alive.
const (
	refreshTokenLifetime = 90 * 24 * time.Hour
	// refreshLapseWarning is how long before a refresh token would lapse
	// that an alert says so.
	refreshLapseWarning = 14 * 24 * time.Hour
)

// alertProblem is one line of an alert: a profile, what is wrong, and the
// command (or step) that fixes it.
type alertProblem struct {
	Profile string
	Problem string
	Fix     string
}

// checkAlertFlags refuses a bad --alert-to or --alert-profile before any
// check runs.
func checkAlertFlags(o *statusOptions, ps *store.Profiles, prefix string) error {
	if o.alertTo == "" {
		if o.alertProfile != "" {
			return &usageError{msg: "--alert-profile needs --alert-to ADDR"}
		}
		return nil
	}
	if _, err := mail.ParseAddress(o.alertTo); err != nil || !strings.Contains(o.alertTo, "@") {
		return &flows.InputError{Field: "alert-to", Problem: fmt.Sprintf("%q is not an email address", o.alertTo), Hint: "give the address alerts go to, such as ops@contoso.com"}
	}
	if o.alertProfile != "" {
		if _, ok := ps.Get(o.alertProfile); !ok {
			return &flows.InputError{Field: "alert-profile", Problem: fmt.Sprintf("no profile named %q", o.alertProfile), Hint: profileNames(ps, prefix)}
		}
	}
	return nil
}

// alertProblems lists what needs attention: profiles that are not
// authorized, credentials that expire within 30 days, refresh tokens that
// would lapse within 14 days. ps are the profiles as recorded after the
// check (so a refresh during it counts).
func alertProblems(results []*flows.Status, ps *store.Profiles, now time.Time, prefix string) []alertProblem {
	var out []alertProblem
	for _, st := range results {
		p, ok := ps.Get(st.Name)
		if !ok {
			continue
		}
		if st.State != flows.StateAuthorized {
			problem, fix := string(st.State), fmt.Sprintf("%s reauth %s", prefix, p.Name)
			if st.Error != nil {
				problem += ": " + st.Error.Message
				if st.Error.Code != "" {
					problem += " (" + string(st.Error.Code) + ")"
				}
				if st.Error.Hint != "" {
					// The check has already put the flags in force into
					// its hints; FillCommands only completes what it did not.
					fix = flows.FillCommands(st.Error.Hint, prefix, p.Name)
				}
			}
			out = append(out, alertProblem{Profile: p.Name, Problem: problem, Fix: fix})
		}
		if exp := p.CredentialExpiresAt; exp != nil && exp.Sub(now) < flows.CredentialWarning {
			what := "client secret"
			if p.Credential == store.CredentialCertificate {
				what = "certificate"
			}
			when := fmt.Sprintf("expires on %s (in %d days)", exp.UTC().Format(time.DateOnly), int(exp.Sub(now).Hours()/24))
			if !exp.After(now) {
				when = "expired on " + exp.UTC().Format(time.DateOnly)
			}
			out = append(out, alertProblem{Profile: p.Name, Problem: "the " + what + " " + when,
				Fix: fmt.Sprintf("create a new %s for the app in Entra (App registrations > Certificates & secrets), then run: %s reauth %s", what, prefix, p.Name)})
		}
		if lapse, ok := refreshLapse(p); ok && st.State == flows.StateAuthorized && lapse.Sub(now) < refreshLapseWarning {
			out = append(out, alertProblem{Profile: p.Name,
				Problem: fmt.Sprintf("the refresh token has not been renewed since %s and lapses on %s", lapse.Add(-refreshTokenLifetime).UTC().Format(time.DateOnly), lapse.UTC().Format(time.DateOnly)),
				Fix:     fmt.Sprintf("sign in again, which gives a new 90-day refresh token: %s reauth %s", prefix, p.Name)})
		}
	}
	return out
}

// refreshLapse is when a delegated profile's refresh token lapses unless it
// is used: 90 days after it was last stored.
func refreshLapse(p store.Profile) (time.Time, bool) {
	if !p.Scenario.Delegated() {
		return time.Time{}, false
	}
	base := p.RefreshRotatedAt
	if base == nil || (p.AuthorizedAt != nil && p.AuthorizedAt.After(*base)) {
		base = p.AuthorizedAt
	}
	if base == nil {
		return time.Time{}, false
	}
	return base.Add(refreshTokenLifetime), true
}

// withPrefix makes the mailgrant commands in a hint use the prefix in force
// (mailgrant --sandbox …).
func withPrefix(s, prefix string) string {
	if prefix == "mailgrant" {
		return s
	}
	return strings.ReplaceAll(s, "mailgrant ", prefix+" ")
}

// sendStatusAlert mails the problems found to --alert-to through a working
// profile: --alert-profile, else (or when it fails) the authorized profiles
// in order. What happened goes to stderr; the exit status is not changed.
func sendStatusAlert(ctx context.Context, a *app, o *statusOptions, results []*flows.Status) {
	ps, err := store.LoadProfiles(a.dir)
	if err != nil {
		fmt.Fprintf(a.io.err, "mailgrant: no alert sent to %s: %v\n", o.alertTo, err)
		return
	}
	now := a.env.Now()
	problems := alertProblems(results, ps, now, a.commandPrefix())
	if len(problems) == 0 {
		return
	}
	var failures []string
	for _, p := range alertSenders(o.alertProfile, results, ps) {
		m := alertMessage(problems, o.alertTo, p, a.commandPrefix(), now)
		if !p.Scenario.Delegated() {
			m.From = p.Account
		}
		tok, err := sendToken(ctx, a, p)
		if err == nil {
			err = flows.Send(ctx, a.env, p, tok, m)
		}
		if err == nil {
			fmt.Fprintf(a.io.err, "alert: %d problem(s) mailed to %s through the profile %s\n", len(problems), o.alertTo, p.Name)
			return
		}
		failures = append(failures, p.Name+": "+oneLine(flows.AsError(err).Message))
	}
	if len(failures) == 0 {
		failures = append(failures, "no profile is authorized to send it")
	}
	fmt.Fprintf(a.io.err, "mailgrant: the alert to %s (%d problem(s)) could not be sent: %s\n", o.alertTo, len(problems), strings.Join(failures, "; "))
}

// alertSenders are the profiles to try, in order: --alert-profile, then
// every authorized profile that can send a message (delegated with
// Mail.Send, or app-only with a mailbox).
func alertSenders(preferred string, results []*flows.Status, ps *store.Profiles) []store.Profile {
	var out []store.Profile
	if p, ok := ps.Get(preferred); ok && preferred != "" {
		out = append(out, p)
	}
	for _, st := range results {
		p, ok := ps.Get(st.Name)
		if !ok || st.State != flows.StateAuthorized || p.Name == preferred {
			continue
		}
		canSend := p.Account != ""
		if p.Scenario.Delegated() {
			canSend = slices.ContainsFunc(st.Granted, func(g string) bool { return strings.EqualFold(g, "Mail.Send") })
		}
		if canSend {
			out = append(out, p)
		}
	}
	return out
}

// alertMessage is the summary mail of a check made at checked.
func alertMessage(problems []alertProblem, to string, via store.Profile, prefix string, checked time.Time) flows.Message {
	host, _ := os.Hostname()
	if host == "" {
		host = "this machine"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "mailgrant on %s found %d problem(s) with its authorizations (checked %s):\n", host, len(problems), checked.UTC().Format("2006-01-02 15:04 UTC"))
	for i, p := range problems {
		fmt.Fprintf(&b, "\n%d. %s: %s\n   Fix: %s\n", i+1, p.Profile, oneLine(p.Problem), oneLine(p.Fix))
	}
	fmt.Fprintf(&b, "\nAfter fixing, check with: %s status\n\nSent by %s status --alert-to %s through the profile %s.\n", prefix, prefix, to, via.Name)
	subject := fmt.Sprintf("mailgrant: %d problem(s) with authorizations on %s", len(problems), host)
	return flows.Message{To: []string{to}, Subject: subject, Body: b.String()}
}
