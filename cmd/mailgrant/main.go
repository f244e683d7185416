// Command mailgrant authorizes programs to send mail through Microsoft Graph,
// checks that the authorization still works, and keeps its secrets in the OS
// keyring. Run `mailgrant --sandbox` to try it against a simulated tenant.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/store/envsecret"
)

// Exit statuses (DESIGN.md).
const (
	exitOK        = 0
	exitFailure   = 1
	exitUsage     = 2
	exitCancelled = 130
)

func main() {
	// Secrets given in the environment are read once and removed, so the
	// browser (and anything else mailgrant starts) never inherits them.
	envsecret.Take()
	os.Exit(run(sendmailArgs(os.Args), os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status. main owns the
// process; everything else returns errors.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "token" {
		// Scripts run `token` for every message; the keyring's D-Bus
		// handshake then overlaps the start of the command (0.25 to 0.5 ms,
		// issue 11).
		store.WarmKeyring()
	}
	return runWith(realFactory(), args, stdin, stdout, stderr)
}

// runWith is run with the dependencies f makes (tests give store.Memory).
func runWith(f *factory, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd(&streams{in: stdin, out: stdout, err: stderr}, f, args)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return reportError(stderr, err)
}

// exitError carries an exit status chosen by a command, with an optional
// message already printed or to print.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// silentExit ends with a status and prints nothing more (the command already
// said why, as in `status` with an unauthorized profile).
func silentExit(code int) error { return &exitError{code: code} }

// usageError is a bad flag or argument: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// reportError prints err for the admin and returns the exit status.
func reportError(w io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	var xe *exitError
	if errors.As(err, &xe) {
		if xe.err != nil {
			printError(w, xe.err)
		}
		return xe.code
	}
	printError(w, err)
	var ie *flows.InputError
	var ue *usageError
	var ce *store.CorruptError
	switch {
	case errors.As(err, &ie), errors.As(err, &ue), errors.As(err, &ce),
		errors.Is(err, store.ErrWrongPassphrase), errors.Is(err, store.ErrNoPassphrase), errors.Is(err, store.ErrPassphraseFileRefused):
		return exitUsage
	case errors.Is(err, flows.ErrCancelled), errors.Is(err, context.Canceled):
		return exitCancelled
	}
	return exitFailure
}

// printError writes an error with its code and hint, one idea per line.
func printError(w io.Writer, err error) {
	var fe *flows.Error
	var ie *flows.InputError
	var ce *store.CorruptError
	switch {
	case errors.As(err, &ie):
		fmt.Fprintf(w, "mailgrant: %s: %s\n", ie.Field, ie.Problem)
		if ie.Hint != "" {
			fmt.Fprintf(w, "  hint: %s\n", ie.Hint)
		}
	case errors.As(err, &fe):
		if fe.Code != "" && fe.Code != flows.CodeCancelled {
			fmt.Fprintf(w, "mailgrant: %s (%s)\n", fe.Message, fe.Code)
		} else {
			fmt.Fprintf(w, "mailgrant: %s\n", fe.Message)
		}
		if fe.Description != "" && fe.Description != fe.Message {
			fmt.Fprintf(w, "  Microsoft says: %s\n", fe.Description)
		}
		if fe.Hint != "" {
			fmt.Fprintf(w, "  hint: %s\n", fe.Hint)
		}
		if ids := traceIDs(fe); ids != "" {
			fmt.Fprintf(w, "  %s\n", ids)
		}
	case errors.As(err, &ce):
		fmt.Fprintf(w, "mailgrant: %s\n  hint: %s\n", ce.Error(), ce.Hint())
	default:
		fmt.Fprintf(w, "mailgrant: %s\n", err)
		var ke *store.KeyringError
		var fse *store.FileStoreError
		switch {
		case errors.As(err, &ke) && ke.Hint != "":
			fmt.Fprintf(w, "  hint: %s\n", ke.Hint)
		case errors.As(err, &fse) && fse.Hint != "":
			fmt.Fprintf(w, "  hint: %s\n", fse.Hint)
		}
	}
}

// traceIDs names the ids Microsoft support asks for, leaving out those the
// answer did not carry.
func traceIDs(fe *flows.Error) string {
	var parts []string
	if fe.TraceID != "" {
		parts = append(parts, "trace id: "+fe.TraceID)
	}
	if fe.CorrelationID != "" {
		parts = append(parts, "correlation id: "+fe.CorrelationID)
	}
	return strings.Join(parts, "  ")
}
