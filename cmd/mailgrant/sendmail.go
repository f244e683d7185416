package main

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// Exit statuses of `mailgrant sendmail`, from sysexits.h: PHP's mail(),
// cron and mailx read them.
const (
	exSendmailOK     = 0
	exUsage          = 64 // EX_USAGE: bad command line, no profile chosen
	exDataErr        = 65 // EX_DATAERR: the message is malformed or too large
	exNoUser         = 67 // EX_NOUSER: unknown recipient or sender mailbox
	exUnavailable    = 69 // EX_UNAVAILABLE: another permanent refusal
	exIOErr          = 74 // EX_IOERR: standard input could not be read
	exTempFail       = 75 // EX_TEMPFAIL: not sent, trying later may work
	exNoPerm         = 77 // EX_NOPERM: the sender is not allowed
	exConfig         = 78 // EX_CONFIG: profiles.json unreadable, no passphrase for the file store
	sendmailProgName = "sendmail"
)

// sendmailSpool takes a message that failed with flows.OutcomeTemporary
// before sendmail gives up with 75: it returns the queue id when a relay
// serves the profile and its spool took the message (sendmail then exits 0,
// saying so), "" when no relay serves the profile (75 as before), or an
// error (75, with both reasons). msg is readable only during the call (a
// private temporary file that is removed afterwards), so the spool copies
// it and fsyncs before returning. Tests may replace it.
var sendmailSpool = spoolForSendmail

// sendmailArgs turns the process's arguments into mailgrant's: when the
// binary is invoked as sendmail (a symlink), it runs `mailgrant sendmail`.
func sendmailArgs(argv []string) []string {
	if len(argv) == 0 {
		return nil
	}
	name := strings.TrimSuffix(filepath.Base(argv[0]), ".exe")
	if name == sendmailProgName {
		return append([]string{"sendmail"}, argv[1:]...)
	}
	return argv[1:]
}

// newSendmailCmd builds `mailgrant sendmail`. Its command line is sendmail's
// (see sendmailargs.go), so cobra leaves it alone.
func newSendmailCmd(s *streams, deps *factory) *cobra.Command {
	return &cobra.Command{
		Use:                "sendmail [-t] [-i|-oi] [-f SENDER] [-F NAME] [--profile P] [RCPT...]",
		Short:              "Send a message read on standard input, as sendmail does (PHP, cron, mailx)",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := parseSendmailArgs(args)
			if err != nil {
				return sendmailFail(s.err, exUsage, err.Error())
			}
			o.global.deps = deps
			if o.help {
				fmt.Fprint(s.out, sendmailUsage)
				return nil
			}
			code, reason := sendmailRun(cmd.Context(), s, o)
			if code == exSendmailOK {
				if reason != "" {
					fmt.Fprintln(s.err, "sendmail: "+oneLine(reason))
				}
				return nil
			}
			return sendmailFail(s.err, code, reason)
		},
	}
}

// sendmailFail prints the reason on one line and ends with code.
func sendmailFail(w io.Writer, code int, reason string) error {
	fmt.Fprintln(w, "sendmail: "+oneLine(reason))
	return silentExit(code)
}

// oneLine makes text safe for one line of a log or terminal: control
// characters (newlines and escapes included) become spaces, runs of spaces
// one.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// sendmailRun sends the message on standard input and returns the exit
// status with the reason to print (for 0, an optional note).
func sendmailRun(ctx context.Context, s *streams, o *sendmailOptions) (int, string) {
	if !o.extract && len(o.recipients) == 0 {
		return exUsage, "no recipients: give them as arguments, or use -t to take them from the To, Cc and Bcc headers"
	}
	rcpts, code, reason := argRecipients(o.recipients)
	if code != 0 {
		return code, reason
	}
	maxSize := o.maxSize
	if maxSize == 0 {
		maxSize = flows.DefaultMaxMessageSize
	}
	sub, err := flows.ReadSubmission(s.in, flows.SubmitOptions{DotEnds: !o.ignoreDots, MaxSize: maxSize})
	if err != nil {
		return inputFailure(err)
	}
	if o.extract {
		more, code, reason := headerRecipients(sub.Header)
		if code != 0 {
			return code, reason
		}
		rcpts = appendNew(rcpts, more...)
	}
	// Bcc recipients get the message through the envelope; the header
	// would show them to everybody (and, without -t, send to them).
	sub.Header.Del("Bcc")
	sub.Header.Del("Resent-Bcc")
	if len(rcpts) == 0 {
		return exUsage, "no recipients: the To, Cc and Bcc headers name nobody, and no recipient was given as an argument"
	}

	a, err := newApp(ctx, s, o.global)
	if err != nil {
		var ie *flows.InputError
		if errors.As(err, &ie) {
			return exUsage, ie.Field + ": " + ie.Problem + "; " + ie.Hint
		}
		return exTempFail, "not sent: " + err.Error()
	}
	defer a.close()
	p, code, reason := chooseSendmailProfile(a, o, sub.Header)
	if code != 0 {
		return code, reason
	}
	sender := qualified(o.sender)
	if code, reason := completeHeader(sub.Header, p, sender, o.fullName, a.env.Now()); code != 0 {
		return code, reason
	}
	from, _ := sub.Header.Addresses("From")
	env := flows.Envelope{From: sender, Recipients: rcpts}
	if env.From == "" && len(from) > 0 {
		env.From = from[0]
	}

	f, err := privateTempFile()
	if err != nil {
		return exTempFail, "not sent: cannot keep the message while it is sent: " + err.Error()
	}
	defer func() {
		f.Close()
		_ = os.Remove(f.Name()) // already gone where the system allows
	}()
	size, err := sub.WriteTo(f)
	if err != nil {
		if flows.Classify(err) == flows.OutcomeTooLarge {
			return exDataErr, "not sent: " + describe(a, p, err)
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			return exTempFail, "not sent: cannot keep the message while it is sent: " + err.Error()
		}
		return inputFailure(err)
	}

	tok, err := sendToken(ctx, a, p)
	var res *flows.DeliverResult
	if err == nil {
		res, err = flows.Deliver(ctx, a.env, p, tok, f, size, env, flows.DeliverOptions{MaxMessageSize: maxSize})
	}
	// The sent-mail log is a record, not a condition of sending: a failure
	// to write it never changes the exit status.
	_ = flows.LogSent(a.dir, flows.SentRecordFor(a.env.Now(), p, env.From, len(rcpts), size, "sendmail", res, err))
	if err == nil {
		return exSendmailOK, ""
	}
	if errors.Is(err, store.ErrNoPassphrase) || errors.Is(err, store.ErrWrongPassphrase) {
		// Waiting will not bring the encrypted file's key.
		return exConfig, "not sent: " + describe(a, p, err)
	}
	outcome := flows.Classify(err)
	if ctx.Err() != nil {
		outcome = flows.OutcomeTemporary
	}
	if outcome == flows.OutcomeTemporary && sendmailSpool != nil {
		id, serr := sendmailSpool(ctx, a, p, f, size, env, err)
		switch {
		case serr != nil:
			return exTempFail, fmt.Sprintf("not sent: %s; and the relay's queue did not take it: %s", describe(a, p, err), serr)
		case id != "":
			return exSendmailOK, fmt.Sprintf("queued as %s for the relay, which will retry: %s", id, describe(a, p, err))
		}
	}
	return sendmailExit(outcome), "not sent: " + describe(a, p, err)
}

// sendmailExit maps a delivery outcome to sendmail's exit status.
func sendmailExit(o flows.Outcome) int {
	switch o {
	case flows.OutcomeSent:
		return exSendmailOK
	case flows.OutcomeTemporary:
		return exTempFail
	case flows.OutcomeBadMessage, flows.OutcomeTooLarge:
		return exDataErr
	case flows.OutcomeUnknownMailbox:
		return exNoUser
	case flows.OutcomeDenied, flows.OutcomeNeedsPermission:
		return exNoPerm
	}
	return exUnavailable
}

// describe is an error's one-line reason: message, code and hint, with the
// profile's name and the command prefix in force filled in.
func describe(a *app, p store.Profile, err error) string {
	var ie *flows.InputError
	if errors.As(err, &ie) {
		out := ie.Field + ": " + ie.Problem
		if ie.Hint != "" {
			out += "; " + ie.Hint
		}
		return out
	}
	var fse *store.FileStoreError
	var ke *store.KeyringError
	switch {
	case errors.As(err, &fse) && fse.Hint != "":
		return err.Error() + "; " + fse.Hint
	case errors.As(err, &ke) && ke.Hint != "":
		return err.Error() + "; " + ke.Hint
	}
	fe := flows.AsError(withProfile(err, p.Name))
	out := fe.Message
	if fe.Code != "" && fe.Code != flows.CodeError {
		out += " (" + string(fe.Code) + ")"
	}
	if fe.Hint != "" {
		out += "; " + withPrefix(fe.Hint, a.commandPrefix())
	}
	return out
}

// inputFailure is the exit status for a failure to read the message.
func inputFailure(err error) (int, string) {
	var ie *flows.InputError
	if errors.As(err, &ie) {
		return exDataErr, "bad message: " + ie.Problem + "; " + ie.Hint
	}
	if flows.Classify(err) == flows.OutcomeTooLarge {
		return exDataErr, "not sent: " + flows.AsError(err).Message
	}
	return exIOErr, "cannot read the message on standard input: " + err.Error()
}

// argRecipients parses recipients given as arguments; each may hold a
// comma-separated list.
func argRecipients(args []string) ([]string, int, string) {
	var out []string
	for _, arg := range args {
		if !strings.Contains(arg, "@") {
			return nil, exNoUser, localUserReason(arg)
		}
		list, err := mail.ParseAddressList(arg)
		if err != nil {
			return nil, exUsage, fmt.Sprintf("recipient %q is not an email address (%v)", arg, err)
		}
		for _, a := range list {
			out = appendNew(out, a.Address)
		}
	}
	return out, 0, ""
}

// headerRecipients returns the addresses of To, Cc and Bcc (-t).
func headerRecipients(h *flows.Header) ([]string, int, string) {
	for _, name := range []string{"To", "Cc", "Bcc"} {
		for _, v := range h.Values(name) {
			if v != "" && !strings.Contains(v, "@") && !strings.HasSuffix(strings.TrimSpace(v), ";") {
				return nil, exNoUser, localUserReason(v)
			}
		}
	}
	list, err := h.Addresses("To", "Cc", "Bcc")
	if err != nil {
		return nil, exDataErr, "bad message: " + err.Error()
	}
	return list, 0, ""
}

// localUserReason explains a recipient with no domain, such as cron's root.
func localUserReason(name string) string {
	return fmt.Sprintf("unknown recipient %q: a local user name, not an email address; there are no local mailboxes with Graph (for cron, set MAILTO=user@example.com in the crontab)", name)
}

// appendNew appends the addresses not yet in list (compared without case).
func appendNew(list []string, more ...string) []string {
	for _, m := range more {
		if !slices.ContainsFunc(list, func(l string) bool { return strings.EqualFold(l, m) }) {
			list = append(list, m)
		}
	}
	return list
}

// qualified returns addr's address when it is a full email address (with a
// domain), else "": sendmail's -f root names a local user, not a mailbox.
func qualified(addr string) string {
	if !strings.Contains(addr, "@") {
		return ""
	}
	a, err := mail.ParseAddress(addr)
	if err != nil {
		return ""
	}
	return a.Address
}

// chooseSendmailProfile picks the profile: --profile, MAILGRANT_PROFILE,
// the profile whose account is the sender (-f, else the From header), or
// the only profile.
func chooseSendmailProfile(a *app, o *sendmailOptions, h *flows.Header) (store.Profile, int, string) {
	ps, err := store.LoadProfiles(a.dir)
	if err != nil {
		return store.Profile{}, exConfig, "not sent: " + err.Error()
	}
	name, how := o.profile, "--profile"
	if name == "" {
		name, how = os.Getenv("MAILGRANT_PROFILE"), "MAILGRANT_PROFILE"
	}
	if name != "" {
		p, ok := ps.Get(name)
		if !ok {
			return p, exUsage, fmt.Sprintf("%s names no profile %q; %s", how, name, a.profileNamesHint(ps))
		}
		return p, 0, ""
	}
	sender := qualified(o.sender)
	if sender == "" {
		if from, err := h.Addresses("From"); err == nil && len(from) > 0 {
			sender = from[0]
		}
	}
	var match []store.Profile
	for _, p := range ps.List {
		if sender != "" && strings.EqualFold(p.Account, sender) {
			match = append(match, p)
		}
	}
	switch {
	case len(match) == 1:
		return match[0], 0, ""
	case len(match) == 0 && len(ps.List) == 1:
		return ps.List[0], 0, ""
	case len(ps.List) == 0:
		return store.Profile{}, exConfig, fmt.Sprintf("not sent: there are no profiles in %s; create one with %s setup", a.dir, a.commandPrefix())
	}
	why := "the sender " + sender + " is the account of no profile"
	if sender == "" {
		why = "no sender address was given (-f) or found (From)"
	}
	if len(match) > 1 {
		why = "the sender " + sender + " is the account of more than one profile"
	}
	return store.Profile{}, exUsage, fmt.Sprintf("which profile should send? %s; give --profile NAME or set MAILGRANT_PROFILE (%s)", why, a.profileNamesHint(ps))
}

// completeHeader adds what a submitted message may lack: From (the
// sender, else the profile's account, with -F's name), Date and
// Message-ID. A From without a domain (cron's "root (Cron Daemon)") names a
// local user, who has no mailbox: it is replaced the same way, keeping the
// name.
func completeHeader(h *flows.Header, p store.Profile, sender, fullName string, now time.Time) (int, string) {
	mailbox := sender
	if mailbox == "" && p.From != "" {
		// The profile's default From (mailgrant edit --from).
		if a, err := mail.ParseAddress(p.From); err == nil {
			mailbox = a.Address
			if fullName == "" {
				fullName = a.Name
			}
		}
	}
	if mailbox == "" {
		mailbox = p.Account
	}
	if !h.Has("Reply-To") && p.ReplyTo != "" {
		h.Set("Reply-To", p.ReplyTo)
	}
	if v := h.Get("From"); !h.Has("From") || !strings.Contains(v, "@") {
		if mailbox == "" {
			return exUsage, fmt.Sprintf("the message has no From address and the profile %q has no account to send as; give -f MAILBOX", p.Name)
		}
		name := fullName
		if name == "" {
			name = displayName(v)
		}
		h.Set("From", (&mail.Address{Name: name, Address: mailbox}).String())
	}
	if !h.Has("Date") {
		h.Set("Date", now.Format(time.RFC1123Z))
	}
	if !h.Has("Message-ID") {
		domain := "mailgrant.invalid"
		if from, err := h.Addresses("From"); err == nil && len(from) > 0 {
			if _, d, ok := strings.Cut(from[0], "@"); ok && d != "" {
				domain = d
			}
		}
		h.Set("Message-ID", "<"+randomToken()+"@"+domain+">")
	}
	return 0, ""
}

// displayName recovers the name of a local From such as
// "root (Cron Daemon)" or "\"Cron Daemon\" <root>".
func displayName(v string) string {
	if i, j := strings.Index(v, "("), strings.LastIndex(v, ")"); i >= 0 && j > i {
		return strings.Trim(v[i+1:j], "() ")
	}
	if i := strings.Index(v, "<"); i > 0 {
		return strings.Trim(strings.TrimSpace(v[:i]), `"`)
	}
	return ""
}

// randomToken is a unique, unguessable local part for a Message-ID.
func randomToken() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.EncodeToString(b))
}

// privateTempFile creates a file only this user can read (0600). Where the
// system allows, its name is removed at once: the open file stays usable,
// and nothing is left behind if the process dies.
func privateTempFile() (*os.File, error) {
	f, err := os.CreateTemp("", "mailgrant-sendmail-*.eml")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	if runtime.GOOS != "windows" {
		_ = os.Remove(f.Name())
	}
	return f, nil
}
