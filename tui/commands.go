package tui

import (
	"context"
	"errors"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// Commands do the I/O. Each captures copies of what it needs, never touches a
// model, and returns one message.

// loadProfiles reads profiles.json.
func loadProfiles(dir string) tea.Cmd {
	return func() tea.Msg {
		ps, err := store.LoadProfiles(dir)
		return profilesLoadedMsg{Profiles: ps, Err: err}
	}
}

// loadClientSecret reads the client secret of a profile about to be
// re-authorized. A missing secret is not an error here: the sign-in then
// fails with Entra's explanation and the user can type it on the details
// screen.
func loadClientSecret(secrets store.Secrets, p store.Profile) tea.Cmd {
	return func() tea.Msg {
		s, err := secrets.Get(p.Name, store.KindClientSecret)
		if errors.Is(err, store.ErrNotFound) {
			err = nil
		}
		if err != nil {
			err = &flows.Error{Code: flows.CodeKeyring, State: flows.StateError, Message: "cannot read the client secret from the keyring: " + err.Error(), Hint: "unlock the keyring, or type the secret on the details screen (esc)", Err: err}
		}
		return clientSecretLoadedMsg{Profile: p, Secret: s, Err: err}
	}
}

// startAuthCode opens the loopback listener and builds the authorize URL.
func startAuthCode(ctx context.Context, env *flows.Env, attempt int, p store.Profile, secret string) tea.Cmd {
	return func() tea.Msg {
		flow, err := flows.StartAuthCode(ctx, env, p, flows.AuthCodeOptions{ClientSecret: secret})
		if err != nil {
			return errMsg{Attempt: attempt, Err: err}
		}
		return authURLReadyMsg{Attempt: attempt, Flow: flow, At: time.Now()}
	}
}

// openBrowser asks the browser to open the authorize URL. pkg/browser waits
// for the launcher, so this runs beside waitForToken, not before it.
func openBrowser(b flows.Browser, attempt int, url string) tea.Cmd {
	return func() tea.Msg {
		return browserOpenedMsg{Attempt: attempt, Err: b.Open(url)}
	}
}

// waitForToken blocks until the browser comes back and the code is redeemed.
func waitForToken(ctx context.Context, attempt int, flow *flows.AuthCodeFlow) tea.Cmd {
	return func() tea.Msg {
		tok, err := flow.Wait(ctx)
		if err != nil {
			return errMsg{Attempt: attempt, Err: err}
		}
		return tokenReceivedMsg{Attempt: attempt, Token: tok}
	}
}

// closeFlow stops the listener of a flow nobody waits for (its attempt was
// cancelled before the URL was ready).
func closeFlow(flow *flows.AuthCodeFlow) tea.Cmd {
	return func() tea.Msg {
		flow.Close()
		return nil
	}
}

// runCheck starts a status check in the background and returns its first
// event. Each step arrives as a stepCheckedMsg whose Next channel yields the
// following one (re-armed with waitForCheck), then a statusCheckedMsg.
func runCheck(attempt int, check func(progress func(flows.Step)) *flows.Status) tea.Cmd {
	return func() tea.Msg {
		// Buffered beyond the number of steps, so the check never blocks on
		// a screen that stopped listening.
		ch := make(chan tea.Msg, 16)
		go func() {
			defer close(ch)
			st := check(func(s flows.Step) {
				select {
				case ch <- stepCheckedMsg{Attempt: attempt, Step: s, Next: ch}:
				default:
				}
			})
			ch <- statusCheckedMsg{Attempt: attempt, Status: st}
		}()
		return <-ch
	}
}

// waitForCheck delivers the next event of a running check.
func waitForCheck(ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		return msg
	}
}

// verifyToken checks a token just obtained (account, permissions; o adds
// a test send, or stops an rbac check before the Exchange role).
func verifyToken(ctx context.Context, env *flows.Env, attempt int, p store.Profile, tok *flows.Token, o flows.CheckOptions) tea.Cmd {
	return runCheck(attempt, func(progress func(flows.Step)) *flows.Status {
		o.Progress = progress
		return flows.Verify(ctx, env, p, tok, o)
	})
}

// saveToken keeps a checked sign-in (flows.KeepChecked).
func saveToken(ctx context.Context, dir string, secrets store.Secrets, attempt int, p store.Profile, st *flows.Status, reauth bool, tok *flows.Token, clientSecret string) tea.Cmd {
	return func() tea.Msg {
		p, _ = flows.NewSecret(secrets, p, clientSecret, nil) // a new secret's date is not asked for here
		saved, err := flows.KeepChecked(ctx, dir, secrets, p, st, reauth, flows.Checked{Token: tok, ClientSecret: clientSecret})
		if err != nil {
			return errMsg{Attempt: attempt, Err: err}
		}
		return tokenSavedMsg{Attempt: attempt, Profile: saved}
	}
}

// recordStatus writes the outcome of a check into the stored profile
// (flows.RecordChecks).
func recordStatus(dir string, attempt int, st *flows.Status) tea.Cmd {
	return func() tea.Msg {
		return statusRecordedMsg{Attempt: attempt, Err: flows.RecordChecks(dir, st)}
	}
}
