package tui

import (
	"context"
	"errors"
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
// certificate's public part can be written where the admin asked
// (flows.CheckNewFile, as the command line does).
func checkNewCertificatePath(attempt int, path string) tea.Cmd {
	return func() tea.Msg {
		err := flows.CheckNewFile("new-certificate", expandHome(path), false)
		return credentialCheckedMsg{Attempt: attempt, Field: fieldNewCert, Err: err}
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
		if err := flows.WriteCertificate(path, c, false); err != nil {
			return errMsg{Attempt: attempt, Err: backHint(err)}
		}
		msg := certificateCreatedMsg{Attempt: attempt, Cert: c, Path: path}
		if upload != nil {
			msg.UploadErr = upload(p.ClientID, c.Leaf.Raw)
			msg.Uploaded = msg.UploadErr == nil
		}
		return msg
	}
}

// requestAppToken runs the client-credentials grant.
func requestAppToken(ctx context.Context, env *flows.Env, attempt int, p store.Profile, cred flows.AppCredential) tea.Cmd {
	return func() tea.Msg {
		tok, err := flows.AppToken(ctx, env, p, cred)
		if err != nil {
			return errMsg{Attempt: attempt, Err: err}
		}
		return appTokenReceivedMsg{Attempt: attempt, Token: tok}
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

// startConsentWait reads how long to wait for a new admin consent to reach
// the app's tokens: flows.ConsentWait, or MAILGRANT_CONSENT_WAIT, as the
// setup command reads it.
func startConsentWait(attempt int) tea.Cmd {
	return func() tea.Msg {
		wait, err := flows.ConsentWaitFromEnv()
		return consentWaitStartedMsg{Attempt: attempt, Wait: wait, At: time.Now(), Err: err}
	}
}

// waitForConsentToken asks for tokens on flows' schedule (ConsentRetry, as
// the setup command does) until one carries the consented permissions, the
// wait ends, or skip is closed.
func waitForConsentToken(ctx context.Context, env *flows.Env, attempt int, p store.Profile, cred flows.AppCredential, wait time.Duration, skip <-chan struct{}) tea.Cmd {
	return func() tea.Msg {
		o := flows.ConsentRetry(wait)
		o.Skip = skip
		tok, err := flows.WaitForConsent(ctx, env, p, cred, o)
		return consentWaitEndedMsg{Attempt: attempt, Token: tok, Err: err}
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
func keepNewCertificate(ctx context.Context, dir string, secrets store.Secrets, attempt int, p store.Profile, cred flows.AppCredential) tea.Cmd {
	return func() tea.Msg {
		_, err := flows.KeepNewCertificate(ctx, dir, secrets, p, cred.Cert)
		return certificateKeptMsg{Attempt: attempt, Err: err}
	}
}

// saveAppCredential keeps a checked app-only credential
// (flows.KeepChecked).
func saveAppCredential(ctx context.Context, dir string, secrets store.Secrets, attempt int, p store.Profile, st *flows.Status, reauth bool, cred flows.AppCredential) tea.Cmd {
	return func() tea.Msg {
		if cred.Cert == nil {
			p, _ = flows.NewSecret(secrets, p, cred.Secret, nil) // a new secret's date is not asked for here
		}
		saved, err := flows.KeepChecked(ctx, dir, secrets, p, st, reauth, flows.Checked{App: &cred})
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

// checkAndRecord checks one stored profile and records the outcome
// (flows.RecordChecks).
func checkAndRecord(env *flows.Env, secrets store.Secrets, dir, prefix string) func(context.Context, store.Profile) profileCheckedMsg {
	return func(ctx context.Context, p store.Profile) profileCheckedMsg {
		st := flows.Check(ctx, env, secrets, p, flows.CheckOptions{Lock: store.ProfileLocker{Dir: dir}, Command: prefix})
		return profileCheckedMsg{Name: p.Name, Status: st, Err: flows.RecordChecks(dir, st)}
	}
}

// checkAllProfiles runs check for every profile through flows.CheckAll, so
// "check all" has the bound status has, and returns the first result; each
// profileCheckedMsg's Next yields the following one (waitForProfileCheck).
func checkAllProfiles(ctx context.Context, batch int, list []store.Profile, check func(context.Context, store.Profile) profileCheckedMsg) tea.Cmd {
	return func() tea.Msg {
		// Room for every result: the checks never block on a screen that
		// stopped listening (another batch, or the wizard left home).
		ch := make(chan profileCheckedMsg, len(list))
		go func() {
			defer close(ch)
			flows.CheckAll(ctx, list, func(ctx context.Context, p store.Profile) *flows.Status {
				msg := check(ctx, p)
				msg.Batch, msg.Next = batch, ch
				ch <- msg
				return msg.Status
			})
		}()
		return waitForProfileCheck(ch)()
	}
}

// waitForProfileCheck delivers the next result of a running "check all".
func waitForProfileCheck(ch <-chan profileCheckedMsg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		return msg
	}
}

// deleteProfile removes a profile and its secrets (flows.DeleteProfile).
func deleteProfile(ctx context.Context, secrets store.Secrets, dir string, attempt int, p store.Profile) tea.Cmd {
	return func() tea.Msg {
		return profileDeletedMsg{Attempt: attempt, Profile: p, Err: flows.DeleteProfile(ctx, dir, secrets, p)}
	}
}

// checkStored checks a stored profile with its secret from the keyring
// (storing a rotated refresh token), with a test message when to is set.
func checkStored(ctx context.Context, env *flows.Env, secrets store.Secrets, dir, prefix string, attempt int, p store.Profile, to string) tea.Cmd {
	return runCheck(attempt, func(progress func(flows.Step)) *flows.Status {
		return flows.Check(ctx, env, secrets, p, flows.CheckOptions{TestSendTo: to, Progress: progress, Lock: store.ProfileLocker{Dir: dir}, Command: prefix})
	})
}

// servicePrincipal asks for an app-only token with an rbac profile's stored
// credential (flows.AccessToken), for the service principal's object ID in
// the PowerShell, as rbac-script does (flows.WithServicePrincipal).
func servicePrincipal(ctx context.Context, env *flows.Env, secrets store.Secrets, attempt int, p store.Profile) tea.Cmd {
	return func() tea.Msg {
		tok, err := flows.AccessToken(ctx, env, secrets, p)
		return servicePrincipalMsg{Attempt: attempt, Token: tok, At: env.Now(), Err: err}
	}
}

// writeScript saves the PowerShell where the admin asked.
func writeScript(attempt int, path, script string) tea.Cmd {
	return func() tea.Msg {
		path = expandHome(path)
		err := flows.WriteNewFile("path", path, []byte(script), 0o644, false)
		return scriptSavedMsg{Attempt: attempt, Path: path, Err: err}
	}
}

// backHint says, in a refusal to write a file, that the path is changed on
// the form before.
func backHint(err error) error {
	var ie *flows.InputError
	if !errors.As(err, &ie) {
		return err
	}
	c := *ie
	c.Hint = "go back (esc) and " + c.Hint
	return &c
}
