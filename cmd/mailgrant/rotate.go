package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/store/envsecret"
)

// rotateOptions are the flags of `mailgrant rotate`.
type rotateOptions struct {
	global          *globalOptions
	io              *streams
	profile         string
	secretStdin     bool
	secretExpires   string
	newCertificate  string
	force           bool
	certificateDays int
	pollInterval    time.Duration
	wait            time.Duration
}

// newRotateCmd builds `mailgrant rotate PROFILE`; runF replaces rotateRun in tests.
func newRotateCmd(s *streams, g *globalOptions, runF func(context.Context, *rotateOptions) error) *cobra.Command {
	o := &rotateOptions{global: g, io: s}
	cmd := &cobra.Command{
		Use:   "rotate PROFILE",
		Short: "Replace a profile's client secret or certificate without downtime",
		Long: `Replace a profile's client secret or certificate without downtime. The new
credential is proven with a real token before the profile switches to it; until
then the old one stays stored and in use.

A secret: add a new client secret to the app registration (keep the old one),
then give its Value on standard input (--client-secret-stdin), in
MAILGRANT_CLIENT_SECRET, or at the masked prompt, with its expiry date. A new
secret that does not work exits 1 and changes nothing.

A certificate: mailgrant makes a new key and certificate, writes the public
part for upload, and waits (polling, as Entra can take minutes) until a token
signed with it works; then it switches and names the old certificate's
thumbprint for you to delete. Interrupted, it keeps the new key and resumes
with it next time.`,
		Example: `  printf %s "$NEW_SECRET" | mailgrant rotate wordpress --client-secret-stdin --secret-expires 2027-11-30
  mailgrant rotate daemon --new-certificate daemon-2027.pem`,
		Args: exactArgs(1, "one PROFILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.profile = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return rotateRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.secretStdin, "client-secret-stdin", false, "read the new client secret from standard input")
	f.StringVar(&o.secretExpires, "secret-expires", "", "the new client secret's expiry date (YYYY-MM-DD, as the portal shows it)")
	f.BoolVar(&o.force, "force", false, "replace an existing --new-certificate file")
	f.StringVar(&o.newCertificate, "new-certificate", "", "make a new certificate and write its public part to this file for upload (default for certificate profiles: PROFILE-YYYY-MM-DD.pem)")
	f.IntVar(&o.certificateDays, "certificate-days", 365, "validity of the new certificate, in days")
	f.DurationVar(&o.pollInterval, "poll-interval", 10*time.Second, "how often to try the new certificate")
	f.DurationVar(&o.wait, "wait", 10*time.Minute, "how long to wait for the new certificate to work")
	_ = f.MarkHidden("poll-interval")
	return cmd
}

func rotateRun(ctx context.Context, o *rotateOptions) error {
	a, err := newApp(ctx, o.io, *o.global)
	if err != nil {
		return err
	}
	defer a.close()
	p, secrets, err := a.openProfile(o.profile)
	if err != nil {
		return err
	}
	certMode := o.newCertificate != "" || (p.Credential == store.CredentialCertificate && !o.secretStdin && envsecret.Get(envsecret.ClientSecret) == "")
	if certMode {
		if p.Scenario.Delegated() {
			return &flows.InputError{Field: "new-certificate", Problem: "certificates are for app-only profiles here", Hint: p.Name + " is " + string(p.Scenario) + ": rotate its client secret with --client-secret-stdin"}
		}
		if o.secretExpires != "" {
			return &flows.InputError{Field: "secret-expires", Problem: "only applies to a client secret", Hint: "a certificate's expiry is read from the certificate"}
		}
		return a.rotateCertificate(ctx, o, secrets, p)
	}
	return a.rotateSecret(ctx, o, secrets, p)
}

// rotateSecret proves the new secret, then switches to it.
func (a *app) rotateSecret(ctx context.Context, o *rotateOptions, secrets store.Secrets, p store.Profile) error {
	w := a.io.err
	expires, err := flows.ParseSecretExpiry(o.secretExpires, a.env.Now())
	if err != nil {
		return err
	}
	secret, err := readClientSecret(a.io.in, o.secretStdin)
	if err != nil {
		return err
	}
	if secret == "" && isTerminal(a.io.in) {
		fmt.Fprintf(w, "New client secret for %s (its Value, not its ID; input is hidden): ", p.Name)
		b, err := term.ReadPassword(a.io.in.(interface{ Fd() uintptr }).Fd())
		fmt.Fprintln(w)
		if err != nil {
			return fmt.Errorf("read the client secret: %w", err)
		}
		secret = string(b)
	}
	fmt.Fprintln(w, "Trying the new client secret…")
	saved, err := flows.RotateSecret(ctx, a.env, a.dir, secrets, p, secret, expires)
	if err != nil {
		return a.withProfile(err, p.Name)
	}
	fmt.Fprintln(w, "✓ A token was issued with the new client secret; the profile now uses it.")
	if saved.CredentialExpiresAt != nil {
		fmt.Fprintf(w, "  It expires on %s; status warns 30 days before.\n", saved.CredentialExpiresAt.Format(time.DateOnly))
	} else {
		fmt.Fprint(w, noSecretExpiryWarning)
	}
	fmt.Fprintln(w, flows.RemoveOldCredential(a.env, p, p.CertificateThumbprint))
	fmt.Fprintf(a.io.out, "rotated %s\n", p.Name)
	return nil
}

// rotateCertificate makes (or resumes) the new certificate, waits until it
// works, switches, and names the old one to remove.
func (a *app) rotateCertificate(ctx context.Context, o *rotateOptions, secrets store.Secrets, p store.Profile) error {
	w := a.io.err
	out := o.newCertificate
	if out == "" {
		out = fmt.Sprintf("%s-%s.pem", p.Name, a.env.Now().Format(time.DateOnly))
	}
	c, resumed, err := flows.PendingCertificate(secrets, p, a.env.Now(), func() (*flows.Certificate, error) {
		return flows.GenerateCertificate("mailgrant "+p.Name, time.Duration(o.certificateDays)*24*time.Hour, 2048, a.env.Now())
	})
	if err != nil {
		return a.withProfile(err, p.Name)
	}
	if resumed {
		fmt.Fprintf(w, "Resuming the rotation started earlier, with the same new certificate.\n")
	}
	already, err := flows.WritePendingCertificate(out, c, resumed, o.force)
	switch {
	case err != nil:
		return withForceHint(err)
	case already:
		// The same certificate, written by the rotation being resumed.
		fmt.Fprintf(w, "✓ The new certificate is already in %s (thumbprint %s).\n", out, c.Thumbprint())
	default:
		printNewCertificate(w, out, c, a.env.Cloud.Portal)
	}
	fmt.Fprintf(w, "  Keep the current certificate%s listed until mailgrant says to remove it.\n", thumbprintNote(p.CertificateThumbprint))
	if err := a.uploadToSandbox(p.ClientID, c); err != nil {
		return err
	}
	fmt.Fprintf(w, "Waiting until a token signed with the new certificate works (every %s, up to %s; Ctrl+C stops, and the next run resumes with the same key)…\n", o.pollInterval, o.wait)
	saved, old, err := flows.RotateCertificate(ctx, a.env, a.dir, secrets, p, c, flows.PollOptions{
		Interval: o.pollInterval, Timeout: o.wait,
		Waiting: func(err error, left time.Duration) {
			fe := flows.AsError(err)
			fmt.Fprintf(w, "  not yet: %s (%s); %s left\n", flows.SafeText(fe.Message), fe.Code, left.Round(time.Second))
		},
	})
	if err != nil {
		fe := *flows.AsError(err)
		if !errors.Is(err, flows.ErrCancelled) {
			fe.Hint = fmt.Sprintf("upload %s (thumbprint %s) to the app registration, then run %s rotate %s again: it resumes with the same key", out, c.Thumbprint(), a.commandPrefix(), p.Name)
		}
		return &fe
	}
	fmt.Fprintf(w, "✓ A token signed with the new certificate %s works; the profile now uses it (expires %s).\n", c.Thumbprint(), saved.CredentialExpiresAt.Format(time.DateOnly))
	fmt.Fprintln(w, flows.RemoveOldCredential(a.env, p, old))
	fmt.Fprintf(a.io.out, "rotated %s\n", p.Name)
	return nil
}

// noSecretExpiryWarning is said when a new client secret was stored
// without its expiry date (rotate, reauth).
const noSecretExpiryWarning = "! No expiry date was given, so status cannot warn before the secret lapses: rerun with --secret-expires YYYY-MM-DD.\n"

// thumbprintNote names a thumbprint in passing, when there is one.
func thumbprintNote(t string) string {
	if t == "" {
		return ""
	}
	return " (thumbprint " + t + ")"
}
