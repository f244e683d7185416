package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// authRequest is one authorization to run without screens (setup and reauth
// with --non-interactive, or when stdin is not a terminal).
type authRequest struct {
	// profile is what to authorize.
	profile store.Profile
	// clientSecret is the app's secret (confidential delegated, or app-only).
	clientSecret string
	// cert is the app-only certificate, with its key.
	cert *flows.Certificate
	// certIsNew is true when mailgrant generated cert in this run.
	certIsNew bool
	// certPath is where a new certificate's public part goes, once its key
	// is stored; force lets it replace an existing file.
	certPath string
	force    bool
	// deviceCode signs in with a device code instead of the browser.
	deviceCode bool
	// testSendTo, when set, sends a real test message.
	testSendTo string
	// reauth is true for an existing profile: then only an authorized
	// result replaces what is stored.
	reauth bool
}

// keepChecked stores the checked result through flows.KeepChecked; a
// result that is not to be stored ends the command with exit status 1 (130
// when cancelled).
func (r authRequest) keepChecked(ctx context.Context, dir string, secrets store.Secrets, st *flows.Status, c flows.Checked) (store.Profile, error) {
	saved, err := flows.KeepChecked(ctx, dir, secrets, r.profile, st, r.reauth, c)
	if err != nil && errors.Is(err, flows.ErrNotKept) && ctx.Err() == nil {
		return saved, &exitError{code: exitFailure, err: withProfile(err, r.profile.Name)}
	}
	return saved, err
}

// authorizePlain runs the scenario's flow with plain progress lines on
// stderr. It stores nothing until the result has been verified (except a new
// certificate, kept so that it can be uploaded and checked later).
func authorizePlain(ctx context.Context, a *app, r authRequest) error {
	w := a.io.err
	if a.opts.sandbox {
		fmt.Fprintln(w, "SANDBOX: simulated tenant on loopback; nothing reaches Microsoft.")
	}
	if _, err := a.saveStore(r.profile.Name); err != nil {
		return err // before signing in: the secret would have nowhere to go
	}
	if r.profile.Scenario.Delegated() {
		return authorizeDelegatedPlain(ctx, a, r)
	}
	return authorizeAppPlain(ctx, a, r)
}

func authorizeDelegatedPlain(ctx context.Context, a *app, r authRequest) error {
	w := a.io.err
	p := r.profile
	tok, err := signIn(ctx, a, r)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "✓ Token obtained; checking it…")
	st := flows.Verify(ctx, a.env, p, tok, flows.CheckOptions{TestSendTo: r.testSendTo, Progress: progressPrinter(w), Command: a.commandPrefix()})
	// A token lacking consent is kept: once an admin grants it, status
	// sees the new permission without another sign-in.
	saved, err := r.keepChecked(ctx, a.dir, a.secrets, st, flows.Checked{Token: tok, ClientSecret: r.clientSecret})
	if err != nil {
		return err
	}
	return finish(a, saved, st)
}

func authorizeAppPlain(ctx context.Context, a *app, r authRequest) error {
	w := a.io.err
	p := r.profile
	cred := flows.AppCredential{Secret: r.clientSecret, Cert: r.cert}
	if r.cert != nil {
		if err := a.uploadToSandbox(p.ClientID, r.cert); err != nil {
			return err
		}
	}
	if p.Scenario == store.RBAC {
		fmt.Fprintf(w, "An Exchange administrator must scope the app in Exchange Online: %s rbac-script %s prints the PowerShell.\n", a.commandPrefix(), p.Name)
	}
	tok, err := flows.AppToken(ctx, a.env, p, cred)
	if err == nil && flows.NeedsAdminConsent(p, tok) {
		tok, err = adminConsentPlain(ctx, a, p, cred)
	}
	if err != nil {
		if r.certIsNew {
			// Keep the new key: the admin uploads the certificate, then checks.
			if _, serr := flows.KeepNewCertificate(ctx, a.dir, a.secrets, p, r.cert); serr == nil {
				if werr := writeNewCertificate(w, r.certPath, r.cert, a.env.Cloud.Portal, r.force); werr != nil {
					return werr
				}
				fmt.Fprintf(w, "! The new certificate is kept in %s. Upload it, then run: %s status %s\n", a.storeDescription(a.saveStoreBackend(p.Name)), a.commandPrefix(), p.Name)
			}
		}
		return a.withProfile(err, p.Name)
	}
	fmt.Fprintln(w, "✓ Token obtained; checking it…")
	st := flows.Verify(ctx, a.env, p, tok, flows.CheckOptions{TestSendTo: r.testSendTo, Progress: progressPrinter(w), Command: a.commandPrefix()})
	// The credential works (a token was issued), so a new profile keeps it
	// even when the consent or the Exchange scope still needs an admin.
	saved, err := r.keepChecked(ctx, a.dir, a.secrets, st, flows.Checked{App: &cred})
	if err != nil {
		return err
	}
	if r.certIsNew {
		if err := writeNewCertificate(w, r.certPath, r.cert, a.env.Cloud.Portal, r.force); err != nil {
			return err
		}
	}
	return finish(a, saved, st)
}

// adminConsentPlain opens the admin-consent page, waits for the redirect,
// then asks for a token again (consent can take a moment to apply).
func adminConsentPlain(ctx context.Context, a *app, p store.Profile, cred flows.AppCredential) (*flows.Token, error) {
	w := a.io.err
	c, err := flows.StartAdminConsent(ctx, a.env, p, 0)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	fmt.Fprintf(w, "The app lacks admin consent for %s. An administrator must accept, in the browser.\nIf none opens, open this URL:\n\n  %s\n\n", strings.Join(flows.AppPermissions(p), ", "), c.URL())
	if flows.GrantsMailSendEverywhere(p) {
		fmt.Fprintln(w, "This grants the app the right to send as EVERY mailbox in the organization.")
	}
	a.openBrowser(c.URL(), "open the URL above yourself")
	fmt.Fprintln(w, "Waiting for the administrator (Ctrl+C cancels)…")
	if err := c.Wait(ctx); err != nil {
		return nil, err
	}
	return waitForConsent(ctx, a, p, cred)
}

// openBrowser opens url without waiting: a launcher may not return until the
// browser has been to the loopback listener, which needs Wait running.
func (a *app) openBrowser(url, fallback string) {
	go func() {
		if err := a.browser.Open(url); err != nil {
			fmt.Fprintf(a.io.err, "Could not open a browser (%v); %s.\n", err, fallback)
		}
	}()
}

// finish prints where things are kept and how scripts use them, and turns a
// status that is not authorized into exit status 1.
func finish(a *app, p store.Profile, st *flows.Status) error {
	w := a.io.err
	kind := store.KindRefreshToken
	switch p.Credential {
	case store.CredentialCertificate:
		kind = store.KindCertificateKey
	case store.CredentialSecret:
		if !p.Scenario.Delegated() {
			kind = store.KindClientSecret
		}
	}
	fmt.Fprintf(w, "✓ Saved: the %s is in %s, item %s/%s.\n", strings.ReplaceAll(string(kind), "-", " "), a.storeDescription(p.SecretsStore()), p.Name, kind)
	if p.Scenario == store.SendAsAny {
		fmt.Fprintln(w, "! This app can send as every mailbox in the organization. Keep its credential safe; consider rbac to restrict it.")
	}
	if st.State != flows.StateAuthorized {
		fmt.Fprintf(w, "! The profile is %s; fix the cause above, then run: %s status %s\n", st.State, a.commandPrefix(), p.Name)
		return &exitError{code: exitFailure, err: withProfile(st.Error, p.Name)}
	}
	fmt.Fprintf(a.io.out, "authorized %s\n", p.Name)
	a.printScriptCommand(p)
	return nil
}

// checkNewFile refuses, before any work, a path flows.WriteNewFile would
// refuse (flows.CheckNewFile).
func checkNewFile(field, path string, force bool) error {
	return withForceHint(flows.CheckNewFile(field, path, force))
}

// withForceHint adds to the refusal of a file in the way how the command
// line replaces it.
func withForceHint(err error) error {
	var ie *flows.InputError
	if !errors.Is(err, fs.ErrExist) || !errors.As(err, &ie) {
		return err
	}
	c := *ie
	c.Hint += ", or add --force to replace it"
	return &c
}

// progressPrinter prints each status step as it finishes.
func progressPrinter(w io.Writer) func(flows.Step) {
	return func(s flows.Step) {
		fmt.Fprintf(w, "%s %s: %s\n", s.Result.Symbol(), flows.StepTitle(s.Name), s.Detail)
	}
}

// withProfile puts the profile's name into an error's hint.
func withProfile(err error, name string) error {
	if err == nil {
		return nil
	}
	fe := flows.AsError(err)
	c := *fe
	c.Hint = strings.ReplaceAll(c.Hint, "PROFILE", name)
	return &c
}

// uploadToSandbox registers a certificate with the embedded sandbox, as the
// admin would upload it in the portal. Outside the sandbox it does nothing.
func (a *app) uploadToSandbox(clientID string, c *flows.Certificate) error {
	if a.sandbox == nil {
		return nil
	}
	if err := a.sandbox.UploadCertificate(clientID, c.Leaf.Raw); err != nil {
		return fmt.Errorf("upload the certificate to the sandbox: %w", err)
	}
	fmt.Fprintln(a.io.err, "✓ Sandbox: certificate uploaded to the simulated app registration.")
	return nil
}

// writeNewCertificate writes the public certificate for upload
// (flows.WriteCertificate) and says where to upload it.
func writeNewCertificate(w io.Writer, path string, c *flows.Certificate, portal string, force bool) error {
	if err := flows.WriteCertificate(path, c, force); err != nil {
		return withForceHint(err)
	}
	printNewCertificate(w, path, c, portal)
	return nil
}

// printNewCertificate says where a new certificate was written and how to
// upload it.
func printNewCertificate(w io.Writer, path string, c *flows.Certificate, portal string) {
	fmt.Fprintf(w, "✓ New certificate written to %s (public part only; the private key goes to the keyring).\n", path)
	fmt.Fprintf(w, "  Thumbprint %s, expires %s.\n", c.Thumbprint(), c.Leaf.NotAfter.Format(time.DateOnly))
	fmt.Fprintf(w, "  Upload it: %s > App registrations > the app > Certificates & secrets > Certificates > Upload certificate.\n", portal)
}
