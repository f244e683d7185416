package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// maxMailboxConcurrency bounds --concurrency: Graph limits an app to 4
// concurrent requests per mailbox and throttles bursts, so more helps little.
const maxMailboxConcurrency = 32

// checkMailboxesOptions are the flags of `mailgrant check-mailboxes`.
type checkMailboxesOptions struct {
	global      *globalOptions
	io          *streams
	profile     string
	mailboxes   []string
	file        string
	to          string
	concurrency int
	json        bool
}

// newCheckMailboxesCmd builds `mailgrant check-mailboxes PROFILE`; runF
// replaces checkMailboxesRun in tests.
func newCheckMailboxesCmd(s *streams, g *globalOptions, runF func(context.Context, *checkMailboxesOptions) error) *cobra.Command {
	o := &checkMailboxesOptions{global: g, io: s}
	cmd := &cobra.Command{
		Use:   "check-mailboxes PROFILE [ADDR... | --file F]",
		Short: "App-only: find out which mailboxes the app may send as",
		Long: `For an app-only profile (send-as-any or rbac), find out which mailboxes the
app may send as: for each mailbox, a real test message from that mailbox to
itself (or to --to), a few at a time (--concurrency), each retried after
Retry-After when Graph throttles. Graph accepting a message is the only proof
that Exchange scoping (RBAC for Applications or an application access policy)
lets the app through. Test messages are not kept in Sent Items.

Mailboxes come as arguments, or from --file (one address per line; blank lines
and # comments are ignored; - is standard input). With neither, the profile's
own mailboxes are checked: its account, its rbac mailboxes and its
out-of-scope mailbox.

Verdicts: allowed (Graph accepted, 202), denied (403 ErrorAccessDenied or
ErrorSendAsDenied), not-found (404 ErrorInvalidUser / ResourceNotFound),
no-mailbox (404 MailboxNotEnabledForRESTAPI: unlicensed or on-premises), and
error (anything else, such as throttling that outlasted the retries; the
message says what). --json prints {"mailboxes":[{"mailbox","verdict","code","message"}]}.
Progress goes to standard error.

Exit status: 0 when every mailbox got a verdict from Graph, whatever it is
(denied is an answer, not a failure); 1 when any verdict is error (the check
is incomplete: run it again for those), or no token could be obtained; 2 for
bad input (a delegated profile, an invalid address, with its line in --file).`,
		Example: `  mailgrant check-mailboxes daemon ann@contoso.com info@contoso.com
  mailgrant check-mailboxes daemon --file mailboxes.txt --json
  mailgrant check-mailboxes daemon --file - --to me@contoso.com < mailboxes.txt`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{msg: "expected a PROFILE and optionally mailbox addresses, got no arguments"}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.profile, o.mailboxes = args[0], args[1:]
			if err := o.checkFlags(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return checkMailboxesRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.file, "file", "", "read mailboxes from FILE, one per line (# comments); - is standard input")
	f.StringVar(&o.to, "to", "", "send the test messages to this address instead of to each mailbox itself")
	f.IntVar(&o.concurrency, "concurrency", flows.DefaultMailboxConcurrency, fmt.Sprintf("test sends at once (1 to %d)", maxMailboxConcurrency))
	f.BoolVar(&o.json, "json", false, "print {\"mailboxes\":[…]} as JSON")
	return cmd
}

// checkFlags refuses bad flag values before anything is read or sent.
func (o *checkMailboxesOptions) checkFlags() error {
	if o.concurrency < 1 || o.concurrency > maxMailboxConcurrency {
		return &flows.InputError{Field: "concurrency", Problem: fmt.Sprintf("%d is out of range", o.concurrency), Hint: fmt.Sprintf("use 1 to %d", maxMailboxConcurrency)}
	}
	if o.file != "" && len(o.mailboxes) > 0 {
		return &flows.InputError{Field: "file", Problem: "mailboxes were given both as arguments and with --file", Hint: "give one or the other"}
	}
	if o.to != "" {
		if _, err := mail.ParseAddress(o.to); err != nil {
			return &flows.InputError{Field: "to", Problem: fmt.Sprintf("%q is not an email address (%s)", o.to, strings.TrimPrefix(err.Error(), "mail: ")), Hint: "give an address such as ann@contoso.com"}
		}
	}
	return nil
}

// list returns the mailboxes to check, without duplicates, in the order
// given: the arguments, the --file lines, or the profile's own mailboxes.
func (o *checkMailboxesOptions) list(p store.Profile) ([]string, error) {
	var out []string
	switch {
	case o.file != "":
		var err error
		if out, err = o.readFile(); err != nil {
			return nil, err
		}
	case len(o.mailboxes) > 0:
		for _, arg := range o.mailboxes {
			a, err := mail.ParseAddress(arg)
			if err != nil {
				return nil, &flows.InputError{Field: "mailbox", Problem: fmt.Sprintf("%q is not an email address (%s)", arg, strings.TrimPrefix(err.Error(), "mail: ")), Hint: "give addresses such as ann@contoso.com"}
			}
			out = append(out, a.Address)
		}
	default:
		out = append(append([]string{p.Account}, p.RBACMailboxes...), p.OutOfScopeMailbox)
	}
	seen := map[string]bool{}
	uniq := out[:0]
	for _, m := range out {
		k := strings.ToLower(m)
		if m == "" || seen[k] {
			continue
		}
		seen[k] = true
		uniq = append(uniq, m)
	}
	if len(uniq) == 0 {
		return nil, &flows.InputError{Field: "mailbox", Problem: "no mailbox to check", Hint: "give addresses as arguments or with --file FILE"}
	}
	return uniq, nil
}

// readFile reads --file: one address per line; blank lines and lines (or
// line ends) starting with # are ignored.
func (o *checkMailboxesOptions) readFile() ([]string, error) {
	var r io.Reader = o.io.in
	name := "standard input"
	if o.file != "-" {
		f, err := os.Open(o.file)
		if err != nil {
			return nil, &flows.InputError{Field: "file", Problem: "cannot read " + o.file + ": " + fileProblem(err), Hint: "check the path and its permissions"}
		}
		defer f.Close()
		r, name = f, o.file
	}
	var out []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, "#"); i == 0 || (i > 0 && (line[i-1] == ' ' || line[i-1] == '\t')) {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		a, err := mail.ParseAddress(line)
		if err != nil {
			return nil, &flows.InputError{Field: "file", Problem: fmt.Sprintf("%s, line %d: %q is not an email address (%s)", name, n, line, strings.TrimPrefix(err.Error(), "mail: ")), Hint: "one address per line; # starts a comment"}
		}
		out = append(out, a.Address)
	}
	if err := sc.Err(); err != nil {
		return nil, &flows.InputError{Field: "file", Problem: "cannot read " + name + ": " + err.Error(), Hint: "one address per line"}
	}
	return out, nil
}

func checkMailboxesRun(ctx context.Context, o *checkMailboxesOptions) error {
	a, err := newApp(ctx, o.io, *o.global)
	if err != nil {
		return err
	}
	defer a.close()
	p, err := a.loadProfile(o.profile)
	if err != nil {
		return err
	}
	if p.Scenario.Delegated() {
		return &flows.InputError{Field: "profile", Problem: fmt.Sprintf("%q is a delegated (%s) profile; check-mailboxes tests app-only sending", p.Name, p.Scenario),
			Hint: fmt.Sprintf("use a send-as-any or rbac profile; to try a shared mailbox with this one: %s send %s --from MAILBOX --to %s", a.commandPrefix(), p.Name, p.Account)}
	}
	list, err := o.list(p)
	if err != nil {
		return err
	}
	lock := store.ProfileLocker{Dir: a.dir}
	secrets, err := a.secretsFor(p)
	if err != nil {
		return err
	}
	tok, err := flows.GetToken(ctx, a.env, secrets, p, flows.TokenOptions{Lock: lock, UseCache: true})
	if err != nil {
		return a.withProfile(err, p.Name)
	}
	results := a.env.ForProfile(p).CheckMailboxes(ctx, tok.AccessToken, list, flows.MailboxCheckOptions{
		To:          o.to,
		Concurrency: o.concurrency,
		Progress:    mailboxProgress(o.io.err, isTerminal(o.io.err)),
		Renew: func(ctx context.Context) (*flows.Token, error) {
			// Graph refused the token: never hand out the cached one again.
			return flows.GetToken(ctx, a.env, secrets, p, flows.TokenOptions{Lock: lock})
		},
	})
	// Concurrent sends may leave connections that were dialled but never
	// used; the in-process sandbox's shutdown would wait for them.
	a.env.HTTP.CloseIdleConnections()
	if o.json {
		if err := writeMailboxesJSON(o.io.out, results); err != nil {
			return err
		}
	} else {
		writeMailboxesTable(o.io.out, results)
	}
	if ctx.Err() != nil {
		return silentExit(exitCancelled)
	}
	return mailboxesExit(results)
}

// mailboxesExit is the exit status of a finished check: 0 when Graph gave
// every mailbox a verdict, 1 when any could not be checked (VerdictError),
// since the answer is then incomplete. The table or JSON already says which.
func mailboxesExit(results []flows.MailboxResult) error {
	for _, r := range results {
		if r.Verdict == flows.VerdictError {
			return silentExit(exitFailure)
		}
	}
	return nil
}

// mailboxProgress reports progress on w: a bar redrawn in place on a
// terminal, else a "checked N/M" line about every 10% (and at the end).
func mailboxProgress(w io.Writer, terminal bool) func(done, total int) {
	const width = 30
	return func(done, total int) {
		if terminal {
			filled := done * width / total
			fmt.Fprintf(w, "\rchecking mailboxes [%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
			if done == total {
				fmt.Fprint(w, "\r\x1b[K")
			}
			return
		}
		step := max(1, total/10)
		if done%step == 0 || done == total {
			fmt.Fprintf(w, "checked %d/%d\n", done, total)
		}
	}
}

func writeMailboxesJSON(w io.Writer, results []flows.MailboxResult) error {
	if results == nil {
		results = []flows.MailboxResult{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Mailboxes []flows.MailboxResult `json:"mailboxes"`
	}{results})
}

func writeMailboxesTable(w io.Writer, results []flows.MailboxResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MAILBOX\tVERDICT\tCODE\tMESSAGE")
	counts := map[flows.Verdict]int{}
	for _, r := range results {
		counts[r.Verdict]++
		code, msg := r.Code, r.Message
		if code == "" {
			code = "-"
		}
		if msg == "" {
			msg = "-"
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\n", r.Mailbox, r.Verdict.Symbol(), r.Verdict, code, msg)
	}
	tw.Flush()
	var parts []string
	for _, v := range []flows.Verdict{flows.VerdictAllowed, flows.VerdictDenied, flows.VerdictNotFound, flows.VerdictNoMailbox, flows.VerdictError} {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	fmt.Fprintf(w, "\n%d mailbox(es): %s\n", len(results), strings.Join(parts, ", "))
}

// parseAddressList parses a comma-separated list of addresses, keeping any
// display names.
func parseAddressList(s string) ([]string, error) {
	list, err := mail.ParseAddressList(s)
	if err != nil {
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "mail: "))
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Address
		if a.Name != "" {
			out[i] = a.String()
		}
	}
	return out, nil
}
