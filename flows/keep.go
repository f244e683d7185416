package flows

import (
	"context"
	"errors"

	"github.com/mailgrant/mailgrant/store"
)

// ErrNotKept marks the error Keep returns: the checked authorization is not
// stored, and whatever was stored before is unchanged.
var ErrNotKept = errors.New("not kept")

// Keep decides whether an authorization just obtained and checked (st, from
// Verify) is stored for p. It is the one rule the command line and the
// wizard follow:
//   - a token of the wrong account is never kept;
//   - a re-authorization (reauth) replaces what is stored only when it is
//     authorized: a failed one never replaces a working authorization;
//   - a new delegated profile is kept when authorized, or when only an
//     admin's consent is missing (once granted, status sees it without
//     another sign-in);
//   - a new app-only profile is kept whenever its credential obtained a
//     token (st exists only then): consent, the Exchange role or a test
//     send may still need an admin, and the credential need not be given
//     again.
//
// Nothing is kept once ctx is cancelled (the error has code "cancelled").
// Keep returns nil to keep, or an *Error wrapping ErrNotKept that says why
// (the check's own error when it has one).
func Keep(ctx context.Context, st *Status, p store.Profile, reauth bool) error {
	if err := ctx.Err(); err != nil {
		fe := cancelledSave(err)
		fe.Err = errors.Join(ErrNotKept, err)
		return fe
	}
	wrongAccount := false
	for _, step := range st.Steps {
		if step.Name == StepAccount && step.Result == StepFailed {
			wrongAccount = true
		}
	}
	switch {
	case wrongAccount:
	case st.State == StateAuthorized:
		return nil
	case reauth:
	case st.State == StateConsentMissing, !p.Scenario.Delegated():
		return nil
	}
	e := Error{Code: Code(st.State), State: st.State, Message: "the profile is " + string(st.State)}
	if st.Error != nil {
		e = *st.Error
	}
	if reauth {
		e.Message += "; the stored authorization was left as it was"
	} else {
		e.Message += "; nothing was saved"
	}
	e.Err = errors.Join(ErrNotKept, e.Err)
	return &e
}

// Checked is what a checked authorization stores: a delegated sign-in's
// token (with a confidential app's client secret), or, when App is set, an
// app-only credential.
type Checked struct {
	Token        *Token
	ClientSecret string
	App          *AppCredential
}

// KeepChecked stores a checked authorization when Keep says it is kept:
// the profile records what the check found (LastState, not an older state)
// with the token or the app-only credential (Save, SaveApp). Keep's
// refusal is returned as it is (it wraps ErrNotKept), and then nothing is
// written. Both front ends store a check's outcome through it.
func KeepChecked(ctx context.Context, dir string, secrets Secrets, p store.Profile, st *Status, reauth bool, c Checked) (store.Profile, error) {
	if err := Keep(ctx, st, p, reauth); err != nil {
		return p, err
	}
	p.LastState = string(st.State)
	if c.App != nil {
		return SaveApp(ctx, dir, secrets, p, *c.App)
	}
	return Save(ctx, dir, secrets, p, c.Token, c.ClientSecret)
}
