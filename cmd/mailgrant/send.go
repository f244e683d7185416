package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// sendOptions are the flags of `mailgrant send`.
type sendOptions struct {
	global     *globalOptions
	io         *streams
	profile    string
	to         []string
	cc         []string
	bcc        []string
	subject    string
	bodyFile   string
	html       bool
	attach     []string
	from       string
	mime       bool
	saveToSent bool
	// stdinIsTerminal is decided in RunE: a body is read from a standard
	// input that is not a terminal when no --body-file is given.
	stdinIsTerminal bool
}

// newSendCmd builds `mailgrant send PROFILE`; runF replaces sendRun in tests.
func newSendCmd(s *streams, g *globalOptions, runF func(context.Context, *sendOptions) error) *cobra.Command {
	o := &sendOptions{global: g, io: s}
	cmd := &cobra.Command{
		Use:   "send PROFILE --to ADDR [flags]",
		Short: "Send a message through Microsoft Graph",
		Long: `Send a message through Microsoft Graph with the profile's authorization.

The body comes from --body-file FILE, from standard input with --body-file -,
or from standard input when it is not a terminal and no --body-file is given
(so "echo hi | mailgrant send …" works); --html marks it as HTML. --to, --cc
and --bcc may be repeated, and each may hold a comma-separated list of
addresses with or without a name ("Ann Lee <ann@contoso.com>"). Files given
with --attach may add up to about 3 MB, Graph's limit for one request; send
larger ones inside a MIME message (--mime) or as a link.

--from sends as another mailbox. A delegated profile then posts to
/users/FROM/sendMail, which needs the delegated permission Mail.Send.Shared and
Send As (or Send on Behalf) rights on that mailbox. An app-only profile always
sends as a mailbox: --from, or else the profile's account.

--mime reads a whole RFC 5322 message (headers, a blank line, the body; up to
35 MB) from --body-file or standard input and sends it as it is, so
"mailgrant send PROFILE --mime" can stand in for a sendmail pipe. The message
carries its own recipients and subject: --to, --cc, --bcc, --subject, --html
and --attach are refused with it, and so is --save-to-sent=false, which Graph's
MIME form cannot express. --from still chooses the mailbox that sends.

Graph's 202 means accepted, not delivered: a bad recipient comes back later as
a bounce in the mailbox. Standard output stays empty; a "sent" line goes to
standard error. Throttled requests are retried after Retry-After.

Exit status: 0 sent; 1 Graph or Entra refused or failed (the error is printed
with its code and a hint); 2 bad input (a missing --to, an unreadable file, a
bad address, attachments too large, a MIME message that does not parse).`,
		Example: `  mailgrant send wordpress --to ann@contoso.com --subject "Report" --body-file report.txt
  echo "Backup done" | mailgrant send cron --to ops@contoso.com --subject "backup"
  mailgrant send daemon --from info@contoso.com --to ann@contoso.com --attach invoice.pdf < body.txt
  mailgrant send wordpress --mime < message.eml`,
		Args: exactArgs(1, "one PROFILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.profile = args[0]
			o.stdinIsTerminal = isTerminal(s.in)
			if err := o.checkFlags(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return sendRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.to, "to", nil, "recipient address (repeatable; a comma-separated list is fine)")
	f.StringArrayVar(&o.cc, "cc", nil, "copy recipient address (repeatable)")
	f.StringArrayVar(&o.bcc, "bcc", nil, "blind copy recipient address (repeatable)")
	f.StringVar(&o.subject, "subject", "", "subject line")
	f.StringVar(&o.bodyFile, "body-file", "", "read the body (or with --mime the whole message) from FILE; - is standard input")
	f.BoolVar(&o.html, "html", false, "the body is HTML")
	f.StringArrayVar(&o.attach, "attach", nil, "attach FILE (repeatable; about 3 MB in all)")
	f.StringVar(&o.from, "from", "", "mailbox to send as (default: the signed-in user, or an app-only profile's account)")
	f.BoolVar(&o.mime, "mime", false, "send a whole RFC 5322 message read from --body-file or standard input")
	f.BoolVar(&o.saveToSent, "save-to-sent", true, "keep a copy in Sent Items (--save-to-sent=false to skip)")
	return cmd
}

// checkFlags refuses flag combinations that cannot work, before anything is
// read or sent.
func (o *sendOptions) checkFlags(cmd *cobra.Command) error {
	if o.mime {
		for _, name := range []string{"to", "cc", "bcc", "subject", "html", "attach"} {
			if cmd.Flags().Changed(name) {
				return &flows.InputError{Field: name, Problem: "--" + name + " cannot be used with --mime", Hint: "the MIME message carries its own recipients, subject and parts; put them in its headers"}
			}
		}
		if !o.saveToSent {
			return &flows.InputError{Field: "save-to-sent", Problem: "--save-to-sent=false cannot be used with --mime", Hint: "Graph's MIME form has no saveToSentItems; send without --mime to skip Sent Items"}
		}
		if o.bodyFile == "" && o.stdinIsTerminal {
			return &flows.InputError{Field: "mime", Problem: "no message to send", Hint: "pipe the message on standard input, or give --body-file FILE"}
		}
		return nil
	}
	if len(o.to)+len(o.cc)+len(o.bcc) == 0 {
		return &flows.InputError{Field: "to", Problem: "no recipient", Hint: "give at least one --to ADDRESS"}
	}
	return nil
}

// message builds the message the flags describe: it reads the body, the
// attachments or the MIME message, and validates it all.
func (o *sendOptions) message() (flows.Message, error) {
	m := flows.Message{From: o.from, Subject: o.subject, HTML: o.html, SkipSentItems: !o.saveToSent}
	var err error
	for _, l := range []struct {
		field string
		in    []string
		out   *[]string
	}{{"to", o.to, &m.To}, {"cc", o.cc, &m.Cc}, {"bcc", o.bcc, &m.Bcc}} {
		if *l.out, err = splitAddresses(l.field, l.in); err != nil {
			return m, err
		}
	}
	limit := int64(flows.MaxMIMEBytes)
	body, err := o.readBody(limit)
	if err != nil {
		return m, err
	}
	if o.mime {
		m.MIME = body
		if m.MIME == nil {
			m.MIME = []byte{}
		}
	} else {
		m.Body = string(body)
		if m.Attachments, err = readAttachments(o.attach); err != nil {
			return m, err
		}
	}
	return m, m.Validate()
}

// splitAddresses accepts repeated flags that may each hold a comma-separated
// list, and checks every address.
func splitAddresses(field string, values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		if strings.TrimSpace(v) == "" {
			return nil, &flows.InputError{Field: field, Problem: "an empty address", Hint: "give an address such as ann@contoso.com"}
		}
		list, err := parseAddressList(v)
		if err != nil {
			return nil, &flows.InputError{Field: field, Problem: fmt.Sprintf("%q is not an email address (%v)", v, err), Hint: "give an address such as ann@contoso.com or \"Ann Lee <ann@contoso.com>\""}
		}
		out = append(out, list...)
	}
	return out, nil
}

// readBody reads the body or MIME message: from --body-file, from standard
// input for "-", or from a standard input that is not a terminal. It reads
// at most limit bytes, and says so when there were more.
func (o *sendOptions) readBody(limit int64) ([]byte, error) {
	var r io.Reader
	name := "standard input"
	switch {
	case o.bodyFile == "-":
		r = o.io.in
	case o.bodyFile != "":
		f, err := os.Open(o.bodyFile)
		if err != nil {
			return nil, &flows.InputError{Field: "body-file", Problem: "cannot read " + o.bodyFile + ": " + fileProblem(err), Hint: "check the path and its permissions"}
		}
		defer f.Close()
		r, name = f, o.bodyFile
	case !o.stdinIsTerminal && o.io.in != nil:
		r = o.io.in
	default:
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, &flows.InputError{Field: "body-file", Problem: "cannot read " + name + ": " + fileProblem(err), Hint: "check the path and its permissions"}
	}
	if int64(len(data)) > limit {
		return nil, &flows.InputError{Field: "body-file", Problem: fmt.Sprintf("%s holds more than %s", name, flows.FormatSize(int(limit))), Hint: "the most Exchange Online accepts in one message is 35 MB; send large files as a link"}
	}
	return data, nil
}

// readAttachments reads --attach files, refusing before reading a file that
// alone is over Graph's limit.
func readAttachments(paths []string) ([]flows.Attachment, error) {
	var out []flows.Attachment
	for _, path := range paths {
		st, err := os.Stat(path)
		if err != nil {
			return nil, &flows.InputError{Field: "attach", Problem: "cannot read " + path + ": " + fileProblem(err), Hint: "check the path and its permissions"}
		}
		if st.IsDir() {
			return nil, &flows.InputError{Field: "attach", Problem: path + " is a directory", Hint: "attach files one by one, or a zip of the directory"}
		}
		if st.Size() > flows.MaxAttachmentBytes {
			return nil, &flows.InputError{Field: "attach", Problem: fmt.Sprintf("%s (%s) is too large for a single request (Graph's limit is about 3 MB of attachments)", filepath.Base(path), flows.FormatSize(int(st.Size()))), Hint: "send it with --mime or as a link"}
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, &flows.InputError{Field: "attach", Problem: "cannot read " + path + ": " + fileProblem(err), Hint: "check the path and its permissions"}
		}
		name := filepath.Base(path)
		out = append(out, flows.Attachment{Name: name, ContentType: flows.AttachmentContentType(name), Content: data})
	}
	return out, nil
}

// fileProblem is an os error's reason without the repeated path.
func fileProblem(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func sendRun(ctx context.Context, o *sendOptions) error {
	m, err := o.message()
	if err != nil {
		return err
	}
	a, err := newApp(ctx, o.io, *o.global)
	if err != nil {
		return err
	}
	defer a.close()
	p, err := a.loadProfile(o.profile)
	if err != nil {
		return err
	}
	if !p.Scenario.Delegated() && m.From == "" && p.Account == "" {
		return &flows.InputError{Field: "from", Problem: fmt.Sprintf("the app-only profile %q has no account to send as", p.Name), Hint: "give --from MAILBOX"}
	}
	tok, err := sendToken(ctx, a, p)
	if err != nil {
		return a.withProfile(err, p.Name)
	}
	if err := flows.Send(ctx, a.env, p, tok, m); err != nil {
		var ie *flows.InputError
		if errors.As(err, &ie) {
			return err
		}
		return a.withProfile(err, p.Name)
	}
	fmt.Fprintln(a.io.err, sentLine(p, m))
	return nil
}

// sendToken gets an access token the way `token` does: a cached one while
// it is valid for more than 5 minutes, else a refresh under the profile's
// lock (so concurrent sends do not redeem one refresh token twice), noting
// when the refresh token rotated.
func sendToken(ctx context.Context, a *app, p store.Profile) (*flows.Token, error) {
	tok, err := flows.GetToken(ctx, a.env, a.secrets, p, flows.TokenOptions{Lock: store.ProfileLocker{Dir: a.dir}, UseCache: true})
	if err != nil {
		return nil, err
	}
	if tok.Rotated {
		// A failure here must not keep the message from going out.
		_ = store.UpdateProfiles(a.dir, func(ps *store.Profiles) error {
			if cur, ok := ps.Get(p.Name); ok {
				now := time.Now().UTC()
				cur.RefreshRotatedAt = &now
				ps.Put(cur)
			}
			return nil
		})
	}
	return tok, nil
}

// sentLine is the line `send` prints on standard error after Graph's 202.
func sentLine(p store.Profile, m flows.Message) string {
	from := m.From
	if from == "" {
		from = p.Account
	}
	n := len(m.To) + len(m.Cc) + len(m.Bcc)
	if m.MIME != nil {
		if s, err := flows.ParseMIME(m.MIME); err == nil {
			n = s.Recipients()
		}
	}
	plural := "s"
	if n == 1 {
		plural = ""
	}
	return fmt.Sprintf("sent: Graph accepted the message from %s to %d recipient%s (202; delivery follows)", from, n, plural)
}
