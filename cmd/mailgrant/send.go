package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
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
	replyTo    []string
	// body is the body once read (bodyRead), kept for a second prepare.
	body     []byte
	bodyRead bool
	// maxSize is --max-message-size as given; maxBytes is it parsed.
	maxSize  string
	maxBytes int64
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
with --attach up to about 3 MB in all go in one request; larger ones go as a
MIME message through a draft and upload sessions, which needs the permission
Mail.ReadWrite (the message is then always kept in Sent Items).

--from sends as another mailbox. A delegated profile then posts to
/users/FROM/sendMail, which needs the delegated permission Mail.Send.Shared and
Send As (or Send on Behalf) rights on that mailbox. An app-only profile always
sends as a mailbox: --from, or else the profile's account.

--mime reads a whole RFC 5322 message (headers, a blank line, the body) from
--body-file or standard input and sends it as it is, so
"mailgrant send PROFILE --mime" can stand in for a sendmail pipe. The message
carries its own recipients and subject: --to, --cc, --bcc, --subject, --html
and --attach are refused with it, and so is --save-to-sent=false, which Graph's
MIME form cannot express. --from still chooses the mailbox that sends. A
message above about 3.5 MB encoded goes through a draft: Graph refuses
requests above 4 MB, so mailgrant creates a draft from the message without
its large attachments, uploads those in chunks, then sends the draft. That
needs the permission Mail.ReadWrite; without it the message is refused
before anything is sent.

--max-message-size is the tenant's maximum message size (default 35MB,
Exchange Online's default; admins can raise it to 150MB): larger messages
are refused before any upload.

Graph's 202 means accepted, not delivered: a bad recipient comes back later as
a bounce in the mailbox. Standard output stays empty; a "sent" line goes to
standard error. Throttled requests are retried after Retry-After.

Exit status: 0 sent; 1 Graph or Entra refused or failed (the error is printed
with its code and a hint); 2 bad input (a missing --to, an unreadable file, a
bad address, a message over --max-message-size, a MIME message that does not
parse, or a large message for a profile without Mail.ReadWrite).`,
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
	f.StringArrayVar(&o.attach, "attach", nil, "attach FILE (repeatable; above about 3 MB in all, a draft with upload sessions, which needs Mail.ReadWrite)")
	f.StringVar(&o.from, "from", "", "mailbox to send as (default: the profile's from, set with mailgrant edit; else the signed-in user, or an app-only profile's account)")
	f.BoolVar(&o.mime, "mime", false, "send a whole RFC 5322 message read from --body-file or standard input")
	f.BoolVar(&o.saveToSent, "save-to-sent", true, "keep a copy in Sent Items (--save-to-sent=false to skip)")
	f.StringVar(&o.maxSize, "max-message-size", "35MB", "the tenant's maximum message size, such as 50MB (Exchange Online allows up to 150MB)")
	f.StringArrayVar(&o.replyTo, "reply-to", nil, "address replies go to (default: the profile's reply-to, set with mailgrant edit)")
	return cmd
}

// checkFlags refuses flag combinations that cannot work, before anything is
// read or sent.
func (o *sendOptions) checkFlags(cmd *cobra.Command) error {
	n, err := flows.ParseSize(o.maxSize)
	if err != nil {
		var ie *flows.InputError
		if errors.As(err, &ie) {
			c := *ie
			c.Field = "max-message-size"
			return &c
		}
		return err
	}
	if n > flows.MaxTenantMessageSize {
		return &flows.InputError{Field: "max-message-size", Problem: fmt.Sprintf("%s is more than Exchange Online allows", o.maxSize), Hint: "admins can raise a tenant's maximum message size to 150MB at most"}
	}
	o.maxBytes = n
	if o.mime {
		for _, name := range []string{"to", "cc", "bcc", "subject", "html", "attach", "reply-to"} {
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

// outgoing is what send sends: a JSON message (small attachments), or a
// whole MIME message in a file for Deliver (--mime, or attachments too
// large for one request).
type outgoing struct {
	// json is the message for one JSON sendMail; nil for Deliver.
	json *flows.Message
	// file and size are the MIME message for Deliver: the --body-file
	// itself, or a private temporary file.
	file *os.File
	size int64
	// envelope names the recipients for Deliver (--bcc is only there).
	envelope flows.Envelope
	// recipients is how many recipients the message has.
	recipients int
	// tmpDir is the private temporary directory to remove, if any.
	tmpDir string
}

// close closes the file and removes the temporary directory.
func (g *outgoing) close() {
	if g.file != nil {
		g.file.Close()
	}
	if g.tmpDir != "" {
		_ = os.RemoveAll(g.tmpDir)
	}
}

// prepare reads and checks what the flags describe, before any keyring or
// network access.
func (o *sendOptions) prepare() (*outgoing, error) {
	if o.mime {
		return o.mimeMessage()
	}
	m, files, err := o.message()
	if err != nil {
		return nil, err
	}
	n := len(m.To) + len(m.Cc) + len(m.Bcc)
	if files == nil {
		return &outgoing{json: &m, recipients: n}, nil
	}
	if m.SkipSentItems {
		return nil, &flows.InputError{Field: "save-to-sent", Problem: "--save-to-sent=false cannot be used with attachments of more than about 3 MB", Hint: "such a message goes through a draft, which Graph always keeps in Sent Items; drop --save-to-sent=false"}
	}
	g := &outgoing{recipients: n, envelope: flows.Envelope{From: m.From, Recipients: append(append(append([]string{}, m.To...), m.Cc...), m.Bcc...)}}
	if err := g.tempFile(); err != nil {
		return nil, err
	}
	bcc := m.Bcc
	m.Bcc = nil
	if err := flows.WriteMIME(g.file, m, files, time.Now()); err != nil {
		g.close()
		return nil, &flows.InputError{Field: "attach", Problem: "cannot read an attachment: " + fileProblem(err), Hint: "check the paths and their permissions"}
	}
	m.Bcc = bcc
	if g.size, err = g.file.Seek(0, io.SeekCurrent); err != nil {
		g.close()
		return nil, err
	}
	if g.size > o.maxBytes {
		g.close()
		return nil, &flows.InputError{Field: "attach", Problem: fmt.Sprintf("the message with its attachments comes to %s encoded; this tenant's maximum message size is %s", flows.FormatSize(int(g.size)), flows.FormatSize(int(o.maxBytes))), Hint: "send large files as a link, or give --max-message-size if the tenant allows more"}
	}
	return g, nil
}

// tempFile creates the file for a MIME message in a new private
// temporary directory (0700), itself readable by the user alone (0600).
func (g *outgoing) tempFile() error {
	dir, err := os.MkdirTemp("", "mailgrant-send-")
	if err != nil {
		return fmt.Errorf("create a temporary directory for the message: %w", err)
	}
	g.tmpDir = dir
	f, err := os.OpenFile(filepath.Join(dir, "message.eml"), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		g.close()
		return fmt.Errorf("create a temporary file for the message: %w", err)
	}
	g.file = f
	return nil
}

// mimeMessage opens the --mime message: the --body-file itself when it is
// a regular file, else standard input copied to a private temporary file
// (never held whole in memory). It refuses a message over
// --max-message-size before reading further, and one that does not parse.
func (o *sendOptions) mimeMessage() (*outgoing, error) {
	g := &outgoing{}
	var r io.Reader
	name := "standard input"
	switch {
	case o.bodyFile != "" && o.bodyFile != "-":
		f, err := os.Open(o.bodyFile)
		if err != nil {
			return nil, &flows.InputError{Field: "body-file", Problem: "cannot read " + o.bodyFile + ": " + fileProblem(err), Hint: "check the path and its permissions"}
		}
		st, err := f.Stat()
		if err == nil && st.Mode().IsRegular() {
			g.file, g.size = f, st.Size()
			break
		}
		defer f.Close()
		r, name = f, o.bodyFile
	case o.bodyFile == "-" || !o.stdinIsTerminal && o.io.in != nil:
		r = o.io.in
	}
	if g.file == nil {
		if err := g.tempFile(); err != nil {
			return nil, err
		}
		if r != nil {
			n, err := io.Copy(g.file, io.LimitReader(r, o.maxBytes+1))
			if err != nil {
				g.close()
				return nil, &flows.InputError{Field: "body-file", Problem: "cannot read " + name + ": " + fileProblem(err), Hint: "check the path and its permissions"}
			}
			g.size = n
		}
	}
	if g.size > o.maxBytes {
		g.close()
		return nil, &flows.InputError{Field: "body-file", Problem: fmt.Sprintf("%s holds more than %s, this tenant's maximum message size", name, flows.FormatSize(int(o.maxBytes))), Hint: "send large files as a link, or give --max-message-size if the tenant allows more (Exchange Online allows up to 150MB)"}
	}
	sum, err := flows.ParseMIMEAt(g.file, g.size)
	if err != nil {
		g.close()
		return nil, err
	}
	g.recipients = sum.Recipients()
	return g, nil
}

// message builds the JSON message the flags describe: it reads the body
// and, when they fit in one request, the attachments. Larger attachments
// are returned as files for WriteMIME, to be read as they are sent.
func (o *sendOptions) message() (flows.Message, []flows.AttachmentFile, error) {
	m := flows.Message{From: o.from, Subject: o.subject, HTML: o.html, SkipSentItems: !o.saveToSent}
	var err error
	for _, l := range []struct {
		field string
		in    []string
		out   *[]string
	}{{"to", o.to, &m.To}, {"cc", o.cc, &m.Cc}, {"bcc", o.bcc, &m.Bcc}, {"reply-to", o.replyTo, &m.ReplyTo}} {
		if *l.out, err = splitAddresses(l.field, l.in); err != nil {
			return m, nil, err
		}
	}
	body, err := o.readBody(o.maxBytes)
	if err != nil {
		return m, nil, err
	}
	m.Body = string(body)
	files, total, err := statAttachments(o.attach)
	if err != nil {
		return m, nil, err
	}
	if total <= flows.MaxAttachmentBytes && base64.StdEncoding.EncodedLen(int(total))+flows.JSONTextLen(m.Body)+flows.JSONTextLen(m.Subject) <= flows.MaxJSONRequest {
		if m.Attachments, err = readAttachments(o.attach); err != nil {
			return m, nil, err
		}
		return m, nil, m.Validate()
	}
	// Too large for one JSON request (large files, or a large body: HTML's
	// escapes count): a MIME message through Deliver, whose size is checked
	// there, so only the addresses and the rest are checked here.
	if files == nil {
		files = []flows.AttachmentFile{}
	}
	text := m.Body
	m.Body = ""
	err = m.Validate()
	m.Body = text
	return m, files, err
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
	// Read once: the message may be prepared again with the profile's
	// defaults, and standard input cannot be read twice.
	if o.bodyRead {
		return o.body, nil
	}
	data, err := o.readBodyOnce(limit)
	if err == nil {
		o.body, o.bodyRead = data, true
	}
	return data, err
}

// readBodyOnce reads the body from --body-file or standard input.
func (o *sendOptions) readBodyOnce(limit int64) ([]byte, error) {
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

// statAttachments checks the --attach files and returns them, to be read
// as they are sent, with their total size.
func statAttachments(paths []string) ([]flows.AttachmentFile, int64, error) {
	out := []flows.AttachmentFile{}
	var total int64
	for _, path := range paths {
		st, err := os.Stat(path)
		if err != nil {
			return nil, 0, &flows.InputError{Field: "attach", Problem: "cannot read " + path + ": " + fileProblem(err), Hint: "check the path and its permissions"}
		}
		if st.IsDir() {
			return nil, 0, &flows.InputError{Field: "attach", Problem: path + " is a directory", Hint: "attach files one by one, or a zip of the directory"}
		}
		total += st.Size()
		name := filepath.Base(path)
		out = append(out, flows.AttachmentFile{Name: name, ContentType: flows.AttachmentContentType(name), Open: func() (io.ReadCloser, error) { return os.Open(path) }})
	}
	return out, total, nil
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
	g, err := o.prepare()
	if err != nil {
		return err
	}
	defer func() { g.close() }()
	a, err := newApp(ctx, o.io, *o.global)
	if err != nil {
		return err
	}
	defer a.close()
	p, err := a.loadProfile(o.profile)
	if err != nil {
		return err
	}
	if g, err = o.withProfileDefaults(g, p); err != nil {
		return err
	}
	if !p.Scenario.Delegated() && o.from == "" && p.Account == "" {
		return &flows.InputError{Field: "from", Problem: fmt.Sprintf("the app-only profile %q has no account to send as", p.Name), Hint: "give --from MAILBOX"}
	}
	tok, err := sendToken(ctx, a, p)
	if err != nil {
		return a.withProfile(err, p.Name)
	}
	var res *flows.DeliverResult
	if g.json != nil {
		err = flows.Send(ctx, a.env, p, tok, *g.json)
		a.logSent(p, *g.json, err)
	} else {
		res, err = flows.Deliver(ctx, a.env, p, tok, g.file, g.size, g.envelope, flows.DeliverOptions{MaxMessageSize: o.maxBytes, Mailbox: o.from})
		from := o.from
		if from == "" {
			from = p.Account // the signed-in user (/me), or the app-only profile's mailbox
		}
		if lerr := flows.LogSent(a.dir, flows.SentRecordFor(a.env.Now(), p, from, g.recipients, g.size, "send", res, err)); lerr != nil {
			fmt.Fprintf(a.io.err, "! The sent-mail log was not written: %v\n", lerr)
		}
	}
	if err != nil {
		var ie *flows.InputError
		switch {
		case errors.As(err, &ie):
			return err
		case flows.Classify(err) == flows.OutcomeNeedsPermission:
			return &exitError{code: exitUsage, err: a.readWriteHint(withProfile(err, p.Name), p)}
		}
		return a.withProfile(err, p.Name)
	}
	fmt.Fprintln(a.io.err, sentLine(p, o.from, g.recipients))
	return nil
}

// withProfileDefaults fills in the profile's From and Reply-To (mailgrant
// edit --from/--reply-to) where neither the flags nor, with --mime, the
// message give one. A message already written for the draft path is written
// again with them; a --mime message that lacks Reply-To gets the header
// added in front of its own.
func (o *sendOptions) withProfileDefaults(g *outgoing, p store.Profile) (*outgoing, error) {
	if g.json != nil {
		flows.ApplyDefaults(p, g.json)
		o.from = g.json.From
		return g, nil
	}
	if o.mime {
		if o.from == "" && p.From != "" {
			g.envelope.From = p.From
		}
		if p.ReplyTo == "" || flows.ValidateAddress("reply-to", p.ReplyTo) != nil || flows.HeaderPresentAt(g.file, g.size, "Reply-To") {
			return g, nil
		}
		return g.prepend("Reply-To: " + p.ReplyTo + "\r\n")
	}
	changed := false
	if o.from == "" && p.From != "" {
		o.from, changed = p.From, true
	}
	if len(o.replyTo) == 0 && p.ReplyTo != "" {
		o.replyTo, changed = []string{p.ReplyTo}, true
	}
	if !changed {
		return g, nil
	}
	g.close()
	return o.prepare()
}

// prepend returns the message with header lines put in front of it, in a
// new private temporary file.
func (g *outgoing) prepend(lines string) (*outgoing, error) {
	n := &outgoing{recipients: g.recipients, envelope: g.envelope}
	if err := n.tempFile(); err != nil {
		return g, err
	}
	if _, err := io.WriteString(n.file, lines); err != nil {
		n.close()
		return g, err
	}
	if _, err := io.Copy(n.file, io.NewSectionReader(g.file, 0, g.size)); err != nil {
		n.close()
		return g, err
	}
	n.size = g.size + int64(len(lines))
	g.close()
	return n, nil
}

// readWriteHint adds to a needs-mail-readwrite refusal the commands that
// set the profile up again with Mail.ReadWrite.
func (a *app) readWriteHint(err error, p store.Profile) error {
	fe := flows.AsError(err)
	if p.Scenario == store.RBAC {
		return fe
	}
	perm := "Mail.ReadWrite"
	if strings.Contains(fe.Message, "Mail.ReadWrite.Shared") {
		perm = "Mail.ReadWrite.Shared"
	}
	perms := append(slices.DeleteFunc(slices.Clone(p.Permissions), func(s string) bool {
		return slices.ContainsFunc(flows.DefaultPermissions(p.Scenario), func(d string) bool { return strings.EqualFold(d, s) })
	}), perm)
	c := *fe
	if !a.opts.sandbox || p.Scenario.Delegated() {
		// edit keeps the cloud, the credential and the working grant,
		// and signs in (or asks for consent) again only as needed.
		// edit --permissions replaces the list: give the whole of it.
		all := slices.Clone(p.Permissions)
		if !slices.ContainsFunc(all, func(s string) bool { return strings.EqualFold(s, perm) }) {
			all = append(all, perm)
		}
		c.Hint += fmt.Sprintf(". To add it: %s edit %s --permissions %s", a.commandPrefix(), p.Name, strings.Join(all, ","))
		return &c
	}
	// In the sandbox, Mail.ReadWrite for an app is another app
	// registration, which setup picks.
	c.Hint += fmt.Sprintf(". To set the profile up again with it: %s delete %s, then %s setup --profile %s --scenario %s --account %s --permissions %s",
		a.commandPrefix(), p.Name, a.commandPrefix(), p.Name, p.Scenario, shellQuote(p.Account), strings.Join(perms, ","))
	return &c
}

// sendToken gets an access token the way `token` does: a cached one while
// it is valid for more than 5 minutes, else a refresh under the profile's
// lock (so concurrent sends do not redeem one refresh token twice), noting
// when the refresh token rotated.
func sendToken(ctx context.Context, a *app, p store.Profile) (*flows.Token, error) {
	secrets, err := a.secretsFor(p)
	if err != nil {
		return nil, err
	}
	tok, err := flows.GetToken(ctx, a.env, secrets, p, flows.TokenOptions{Lock: store.ProfileLocker{Dir: a.dir}, UseCache: true})
	if err != nil {
		return nil, err
	}
	if tok.Rotated {
		// A failure here must not keep the message from going out.
		_ = flows.RecordRotation(a.dir, p.Name, a.env.Now())
	}
	return tok, nil
}

// sentLine is the line `send` prints on standard error after Graph's 202.
func sentLine(p store.Profile, from string, n int) string {
	if from == "" {
		from = p.Account
	}
	plural := "s"
	if n == 1 {
		plural = ""
	}
	return fmt.Sprintf("sent: Graph accepted the message from %s to %d recipient%s (202; delivery follows)", from, n, plural)
}
