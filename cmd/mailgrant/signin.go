package main

import (
	"context"
	"fmt"
	"os"

	"github.com/mailgrant/mailgrant/flows"
)

// overSSH reports whether mailgrant runs in an SSH session, where a browser
// on the admin's own machine cannot reach this machine's loopback redirect:
// the device code is the sign-in that works there.
func overSSH() bool { return os.Getenv("SSH_CONNECTION") != "" || os.Getenv("SSH_TTY") != "" }

// signIn obtains a delegated token by browser or device code. Over SSH it
// uses the device code; when no browser can be opened it switches to the
// device code at once and says so, rather than waiting for a browser that
// will never come back.
func signIn(ctx context.Context, a *app, r authRequest) (*flows.Token, error) {
	w := a.io.err
	p := r.profile
	if !r.deviceCode && overSSH() {
		fmt.Fprintln(w, "Over SSH (SSH_CONNECTION is set) a browser elsewhere cannot reach this machine's localhost: signing in with a device code instead.")
		r.deviceCode = true
	}
	if r.deviceCode {
		return deviceSignIn(ctx, a, r)
	}
	flow, err := flows.StartAuthCode(ctx, a.env, p, flows.AuthCodeOptions{ClientSecret: r.clientSecret})
	if err != nil {
		return nil, err
	}
	defer flow.Close()
	fmt.Fprintf(w, "Sign in as %s and accept, in the browser. If none opens, open this URL:\n\n%s\n\n", p.Account, flow.URL())
	opened := make(chan error, 1)
	go func() { opened <- a.browser.Open(flow.URL()) }()
	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		tok *flows.Token
		err error
	}
	done := make(chan result, 1)
	go func() {
		tok, err := flow.Wait(waitCtx)
		done <- result{tok, err}
	}()
	fmt.Fprintf(w, "Waiting for the sign-in (up to %s; Ctrl+C cancels)…\n", flows.DefaultSignInTimeout)
	select {
	case res := <-done:
		return res.tok, res.err
	case err := <-opened:
		if err == nil {
			res := <-done
			return res.tok, res.err
		}
	}
	cancel()
	<-done
	fmt.Fprintln(w, "No browser could be opened here: signing in with a device code instead (the URL above no longer works).")
	return deviceSignIn(ctx, a, r)
}

// deviceSignIn signs in with a device code.
func deviceSignIn(ctx context.Context, a *app, r authRequest) (*flows.Token, error) {
	w := a.io.err
	p := r.profile
	d, err := flows.StartDeviceCode(ctx, a.env, p, flows.DeviceCodeOptions{ClientSecret: r.clientSecret})
	if err != nil {
		return nil, err
	}
	where := "On any device (a phone, another computer), open"
	if d.OnThisMachine() {
		where = "On this machine (the sandbox's page is on localhost), open"
	}
	fmt.Fprintf(w, "%s\n\n%s\n\nand enter the code %s, then sign in as %s.\n", where, d.VerificationURI, d.UserCode, p.Account)
	fmt.Fprintf(w, "Waiting for the sign-in (the code expires at %s; Ctrl+C cancels)…\n", d.ExpiresAt.Local().Format("15:04 MST"))
	return d.Wait(ctx)
}
