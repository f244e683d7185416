package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// Commands of the app-only scenarios, the device code sign-in, and the
// daily-use screens (check all, delete, status, PowerShell).

// newCertificateBits is the RSA key size of a certificate mailgrant makes.
const newCertificateBits = 2048

// loadCertificate reads the certificate file named on the details form.
func loadCertificate(env *flows.Env, attempt int, path, password string) tea.Cmd {
	return func() tea.Msg {
		path = expandHome(path)
		now := time.Now()
		if env != nil {
			now = env.Now()
		}
		c, err := flows.LoadCertificateFile(path, password, now)
		return credentialCheckedMsg{Attempt: attempt, Cert: c, Field: fieldCertFile, Err: err}
	}
}

// checkNewCertificatePath checks, before anything is generated, that a new
// certificate's public part can be written where the admin asked.
func checkNewCertificatePath(attempt int, path string) tea.Cmd {
	return func() tea.Msg {
		path = expandHome(path)
		bad := func(problem, hint string) tea.Msg {
			return credentialCheckedMsg{Attempt: attempt, Field: fieldNewCert, Err: &flows.InputError{Field: "new-certificate", Problem: problem, Hint: hint}}
		}
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			return bad(path+" is a directory", "give a file name in it, such as "+filepath.Join(path, "mailer.pem"))
		}
		dir := filepath.Dir(path)
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() {
			return bad("the directory "+dir+" does not exist", "create it, or give a path in an existing directory")
		}
		f, err := os.CreateTemp(dir, ".mailgrant-check-*")
		if err != nil {
			return bad("cannot write in "+dir, "give a path in a directory you can write to")
		}
		name := f.Name()
		_ = f.Close()
		_ = os.Remove(name)
		return credentialCheckedMsg{Attempt: attempt, Field: fieldNewCert}
	}
}

// loadAppCredential reads the secret or certificate of an app-only profile
// about to be re-authorized.
func loadAppCredential(secrets store.Secrets, p store.Profile) tea.Cmd {
	return func() tea.Msg {
		cred, err := flows.LoadAppCredential(secrets, p)
		if err != nil {
			fe := *flows.AsError(err)
			fe.Hint = "press esc to give the secret or a certificate on the form, or " + fe.Hint
			err = &fe
		}
		return appCredentialLoadedMsg{Profile: p, Cred: cred, Err: err}
	}
}

// createCertificate makes a self-signed certificate, writes its public part
// (mode 0644) for upload and, in the sandbox, uploads it.
func createCertificate(env *flows.Env, upload func(string, []byte) error, attempt int, p store.Profile, path string, days int) tea.Cmd {
	return func() tea.Msg {
		path = expandHome(path)
		c, err := flows.GenerateCertificate("mailgrant "+p.Name, time.Duration(days)*24*time.Hour, newCertificateBits, env.Now())
		if err != nil {
			return errMsg{Attempt: attempt, Err: err}
		}
		if err := store.WriteNewFile(path, c.CertPEM(), 0o644, false); err != nil { // never replaces a file or follows a link
			return errMsg{Attempt: attempt, Err: &flows.InputError{Field: "new-certificate", Problem: fmt.Sprintf("cannot write %s: %v", path, errors.Unwrap(err)), Hint: "go back (esc) and give a new, writable path for the public certificate"}}
		}
		msg := certificateCreatedMsg{Attempt: attempt, Cert: c, Path: path}
		if upload != nil {
			msg.UploadErr = upload(p.ClientID, c.Leaf.Raw)
			msg.Uploaded = msg.UploadErr == nil
		}
		return msg
	}
}

// requestAppToken runs the client-credentials grant, after delay (retries
// after admin consent, which can take a moment to apply).
func requestAppToken(ctx context.Context, env *flows.Env, attempt int, p store.Profile, cred flows.AppCredential, try int, delay time.Duration) tea.Cmd {
	return func() tea.Msg {
		if delay > 0 {
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return errMsg{Attempt: attempt, Err: ctx.Err()}
			case <-t.C:
			}
		}
		tok, err := flows.AppToken(ctx, env, p, cred)
		if err != nil {
			return errMsg{Attempt: attempt, Err: err}
		}
		return appTokenReceivedMsg{Attempt: attempt, Token: tok, Try: try}
	}
}

// startConsent opens the loopback listener for an admin-consent request.
func startConsent(ctx context.Context, env *flows.Env, attempt int, p store.Profile) tea.Cmd {
	return func() tea.Msg {
		c, err := flows.StartAdminConsent(ctx, env, p, 0)
		if err != nil {
			return errMsg{Attempt: attempt, Err: err}
		}
		return consentURLReadyMsg{Attempt: attempt, Flow: c, At: time.Now()}
	}
}

// waitForConsent blocks until the admin answered the consent page.
func waitForConsent(ctx context.Context, attempt int, c *flows.ConsentFlow) tea.Cmd {
	return func() tea.Msg {
		if err := c.Wait(ctx); err != nil {
			return errMsg{Attempt: attempt, Err: err}
		}
		return consentGrantedMsg{Attempt: attempt}
	}
}

// closeConsent stops the listener of a consent request nobody waits for.
func closeConsent(c *flows.ConsentFlow) tea.Cmd {
	return func() tea.Msg {
		c.Close()
		return nil
	}
}

// keepNewCertificate stores a new certificate that could not obtain a token
// yet, so the admin can upload it and check later without a new one.
func keepNewCertificate(dir string, secrets store.Secrets, attempt int, p store.Profile, cred flows.AppCredential) tea.Cmd {
	return func() tea.Msg {
		_, err := flows.SaveApp(dir, secrets, p, cred)
		return certificateKeptMsg{Attempt: attempt, Err: err}
	}
}

// saveAppCredential keeps an app-only credential that obtained a token.
func saveAppCredential(dir string, secrets store.Secrets, attempt int, p store.Profile, cred flows.AppCredential) tea.Cmd {
	return func() tea.Msg {
		saved, err := flows.SaveApp(dir, secrets, p, cred)
		if err != nil {
			return errMsg{Attempt: attempt, Err: err}
		}
		return tokenSavedMsg{Attempt: attempt, Profile: saved}
	}
}

// startDeviceCode asks Entra for a device code.
func startDeviceCode(ctx context.Context, env *flows.Env, attempt int, p store.Profile, secret string) tea.Cmd {
	return func() tea.Msg {
		d, err := flows.StartDeviceCode(ctx, env, p, flows.DeviceCodeOptions{ClientSecret: secret})
		if err != nil {
			return errMsg{Attempt: attempt, Err: err}
		}
		return deviceCodeReadyMsg{Attempt: attempt, Flow: d, At: time.Now()}
	}
}

// waitForDeviceToken polls until the device sign-in finishes.
func waitForDeviceToken(ctx context.Context, attempt int, d *flows.DeviceFlow) tea.Cmd {
	return func() tea.Msg {
		tok, err := d.Wait(ctx)
		if err != nil {
			return errMsg{Attempt: attempt, Err: err}
		}
		return tokenReceivedMsg{Attempt: attempt, Token: tok}
	}
}

// checkAndRecord checks one stored profile and records the outcome; "check
// all" runs one per profile, concurrently.
func checkAndRecord(ctx context.Context, env *flows.Env, secrets store.Secrets, dir, prefix string, batch int, p store.Profile) tea.Cmd {
	return func() tea.Msg {
		st := flows.Check(ctx, env, secrets, p, flows.CheckOptions{Lock: store.ProfileLocker{Dir: dir}, Command: prefix})
		err := store.UpdateProfiles(dir, func(ps *store.Profiles) error {
			cur, ok := ps.Get(p.Name)
			if !ok {
				return fmt.Errorf("profile %q is no longer in profiles.json", p.Name)
			}
			flows.Record(&cur, st)
			ps.Put(cur)
			return nil
		})
		return profileCheckedMsg{Batch: batch, Name: p.Name, Status: st, Err: err}
	}
}

// deleteProfile removes every keyring item of a profile, then the profile.
// A keyring failure keeps the profile, so the delete can be retried.
func deleteProfile(secrets store.Secrets, dir string, attempt int, p store.Profile) tea.Cmd {
	return func() tea.Msg {
		for _, k := range store.Kinds {
			if err := secrets.Delete(p.Name, k); err != nil {
				return profileDeletedMsg{Attempt: attempt, Profile: p, Err: &flows.Error{
					Code: flows.CodeKeyring, State: flows.StateError,
					Message: fmt.Sprintf("cannot delete %s/%s from its store: %v", p.Name, k, err),
					Hint:    "make the store reachable (unlock the keyring, or give the encrypted file's passphrase) and delete again; the profile is kept until its secrets are gone", Err: err,
				}}
			}
		}
		err := store.UpdateProfiles(dir, func(ps *store.Profiles) error {
			ps.Remove(p.Name)
			return nil
		})
		return profileDeletedMsg{Attempt: attempt, Profile: p, Err: err}
	}
}

// checkStored checks a stored profile with its secret from the keyring
// (storing a rotated refresh token), with a test message when to is set.
func checkStored(ctx context.Context, env *flows.Env, secrets store.Secrets, dir, prefix string, attempt int, p store.Profile, to string) tea.Cmd {
	return runCheck(attempt, func(progress func(flows.Step)) *flows.Status {
		return flows.Check(ctx, env, secrets, p, flows.CheckOptions{TestSendTo: to, Progress: progress, Lock: store.ProfileLocker{Dir: dir}, Command: prefix})
	})
}

// writeScript saves the PowerShell where the admin asked.
func writeScript(attempt int, path, script string) tea.Cmd {
	return func() tea.Msg {
		path = expandHome(path)
		err := store.WriteNewFile(path, []byte(script), 0o644, false) // never replaces a file or follows a link
		if err != nil {
			err = &flows.InputError{Field: "path", Problem: fmt.Sprintf("cannot write %s: %v", path, errors.Unwrap(err)), Hint: "give a new, writable path, such as scope.ps1"}
		}
		return scriptSavedMsg{Attempt: attempt, Path: path, Err: err}
	}
}
