package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/relay"
	"github.com/mailgrant/mailgrant/store"
	"github.com/mailgrant/mailgrant/store/spool"
)

// exitQueueDeferred is `queue run`'s status when messages stay queued for a
// later attempt (EX_TEMPFAIL).
const exitQueueDeferred = 75

// queueOptions are the flags of `mailgrant queue` and its subcommands.
type queueOptions struct {
	global *globalOptions
	io     *streams
	spool  string
	// list
	json bool
	// retry
	all bool
	// run
	bounceTo       string
	exactlyOnce    bool
	perMailboxRate int
	concurrency    int
	maxQueueAge    time.Duration
}

// newQueueCmd builds `mailgrant queue` (list, retry, drop, run).
func newQueueCmd(s *streams, g *globalOptions) *cobra.Command {
	o := &queueOptions{global: g, io: s}
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "Show and manage the relay's spool of messages waiting for Graph",
		Long: `The relay (mailgrant relay) and sendmail keep messages Graph could not take yet
in a spool directory, and retry them until --max-queue-age; messages that fail for
good move to failed/ and their sender gets a bounce. These commands read and change
that spool; "queue run" delivers what is due when no relay runs (e.g. from a timer).`,
		Args: exactArgs(0, "a subcommand: list, retry, drop or run"),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&o.spool, "spool", "", "the spool directory (default: <config dir>/spool)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List queued and failed messages",
		Args:  exactArgs(0, "no arguments"),
		RunE:  func(cmd *cobra.Command, _ []string) error { return queueListRun(cmd.Context(), o) },
	}
	list.Flags().BoolVar(&o.json, "json", false, `print {"messages":[…]} as JSON`)

	retry := &cobra.Command{
		Use:   "retry ID...|--all",
		Short: "Make failed or deferred messages due now",
		RunE:  func(cmd *cobra.Command, args []string) error { return queueRetryRun(cmd.Context(), o, args) },
	}
	retry.Flags().BoolVar(&o.all, "all", false, "every failed and deferred message")

	drop := &cobra.Command{
		Use:   "drop ID...",
		Short: "Delete messages from the spool without sending them",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{msg: "expected one or more message ids (see " + queueListCommand(o) + ")"}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return queueDropRun(cmd.Context(), o, args) },
	}

	runCmd := &cobra.Command{
		Use:   "run",
		Short: "Deliver the messages that are due, then exit",
		Long: `Deliver every queued message that is due, paced as the relay paces, and exit:
0 when everything due was sent, 75 when some are deferred (still queued, to retry
later), 1 when some failed for good in this run (moved to failed/ and bounced).

Each run refreshes the heartbeat in the spool's relay.json (written when a relay
first ran on it): for 10 minutes after it, sendmail hands messages that Graph
could not take for now to the spool for the profiles named there. Run it from
a timer at least every 10 minutes when no relay runs; once neither a relay nor
a recent run serves the spool, sendmail exits 75 again.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error { return queueRunRun(cmd.Context(), o) },
	}
	rf := runCmd.Flags()
	rf.StringVar(&o.bounceTo, "bounce-to", "", "also send every bounce to this address")
	rf.BoolVar(&o.exactlyOnce, "exactly-once", false, "send through a recorded draft, so no crash sends twice (needs Mail.ReadWrite)")
	rf.IntVar(&o.perMailboxRate, "per-mailbox-rate", relay.DefaultPerMailboxRate, "messages a minute per sending mailbox")
	rf.IntVar(&o.concurrency, "concurrency", relay.DefaultConcurrency, "Graph requests in flight overall")
	rf.DurationVar(&o.maxQueueAge, "max-queue-age", relay.DefaultMaxQueueAge, "give up on a message after this long")

	for _, c := range []*cobra.Command{list, retry, drop, runCmd} {
		cmd.AddCommand(c)
	}
	return cmd
}

// spoolDir is --spool, or <config dir>/spool.
func (o *queueOptions) spoolDir() (string, error) {
	if o.spool != "" {
		return o.spool, nil
	}
	dir, err := store.DefaultDir(o.global.configDir, o.global.sandbox || sandboxFromEnv())
	if err != nil {
		return "", err
	}
	return relay.DefaultSpoolDir(dir), nil
}

// queueEntry is one message of `queue list --json`.
type queueEntry struct {
	ID          string    `json:"id"`
	State       string    `json:"state"` // queued, deferred or failed
	Profile     string    `json:"profile"`
	Sender      string    `json:"sender"`
	Recipients  []string  `json:"recipients"`
	Size        int64     `json:"size"`
	Attempts    int       `json:"attempts"`
	Received    time.Time `json:"received"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LastCode    string    `json:"last_code,omitempty"`
	FailedAt    time.Time `json:"failed_at,omitzero"`
	Reason      string    `json:"reason,omitempty"`
	// Bounce marks a delivery status notification the relay made.
	Bounce bool `json:"bounce,omitempty"`
}

func queueListRun(_ context.Context, o *queueOptions) error {
	dir, err := o.spoolDir()
	if err != nil {
		return err
	}
	sp, err := spool.Open(dir)
	if err != nil {
		return err
	}
	queued, qerr := sp.Queued()
	failed, ferr := sp.Failed()
	now := time.Now()
	entries := []queueEntry{}
	for _, m := range queued {
		e := entryOf(m, "queued")
		if m.Attempts > 0 {
			e.State = "deferred"
		}
		e.NextAttempt = m.NextAttempt
		entries = append(entries, e)
	}
	for _, m := range failed {
		e := entryOf(m, "failed")
		e.NextAttempt = time.Time{}
		entries = append(entries, e)
	}
	if o.json {
		enc := json.NewEncoder(o.io.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Spool    string       `json:"spool"`
			Messages []queueEntry `json:"messages"`
		}{dir, entries}); err != nil {
			return err
		}
		return errors.Join(qerr, ferr)
	}
	if len(entries) == 0 {
		fmt.Fprintf(o.io.err, "The spool %s is empty.\n", dir)
		return errors.Join(qerr, ferr)
	}
	tw := tabwriter.NewWriter(o.io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tPROFILE\tSENDER\tRCPTS\tSIZE\tATTEMPTS\tNEXT ATTEMPT\tLAST ERROR")
	for _, e := range entries {
		next := "now"
		switch {
		case e.State == "failed":
			next = "failed " + e.FailedAt.Local().Format(time.DateTime)
		case e.NextAttempt.After(now):
			next = e.NextAttempt.Local().Format(time.DateTime)
		}
		lastErr := e.LastError
		if e.State == "failed" {
			lastErr = e.Reason
		}
		sender := e.Sender
		if sender == "" {
			sender = "<>"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\n", e.ID, e.State, e.Profile, sender, len(e.Recipients), flows.FormatSize(int(e.Size)), e.Attempts, next, truncate(lastErr, 80))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return errors.Join(qerr, ferr)
}

// entryOf is a spooled message as `queue list` shows it; text that came
// from the network (addresses, Graph's errors) is stripped of control
// characters.
func entryOf(m spool.Meta, state string) queueEntry {
	rcpts := make([]string, len(m.Recipients))
	for i, r := range m.Recipients {
		rcpts[i] = printable(r)
	}
	return queueEntry{ID: m.ID, State: state, Profile: m.Profile, Sender: printable(m.From), Recipients: rcpts, Size: m.Size,
		Attempts: m.Attempts, Received: m.Received, LastError: printable(m.LastError), LastCode: printable(m.LastCode), FailedAt: m.FailedAt, Reason: printable(m.Reason), Bounce: m.Bounce}
}

// printable drops control characters (a terminal escape in an address or an
// error must not reach the admin's terminal).
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func queueRetryRun(_ context.Context, o *queueOptions, ids []string) error {
	if o.all == (len(ids) > 0) {
		return &usageError{msg: "give message ids or --all (see " + queueListCommand(o) + ")"}
	}
	dir, err := o.spoolDir()
	if err != nil {
		return err
	}
	sp, err := spool.Open(dir)
	if err != nil {
		return err
	}
	now := time.Now()
	if o.all {
		queued, _ := sp.Queued()
		failed, _ := sp.Failed()
		for _, m := range append(failed, queued...) {
			if m.FailedAt.IsZero() && !m.NextAttempt.After(now) {
				continue // already due
			}
			ids = append(ids, m.ID)
		}
	}
	errs := eachLocked(o, sp, ids, "due now", func(id string) error {
		_, err := sp.Retry(id, now)
		return err
	})
	if len(ids) > 0 && len(errs) < len(ids) {
		fmt.Fprintf(o.io.err, "A running relay picks them up within 30 seconds; without one, run: %s queue run%s\n", queuePrefix(o), spoolFlag(o))
	} else if o.all && len(ids) == 0 {
		fmt.Fprintln(o.io.err, "Nothing to retry: no failed or deferred messages.")
	}
	return errors.Join(errs...)
}

// eachLocked runs do for each message id under the message's lock, so a
// relay or queue run never delivers it meanwhile, and reports each done
// one as "ID: done"; the failures are returned together.
func eachLocked(o *queueOptions, sp *spool.Spool, ids []string, done string, do func(id string) error) []error {
	var errs []error
	for _, id := range ids {
		unlock, ok, err := sp.TryLock(id)
		if err == nil && !ok {
			errs = append(errs, fmt.Errorf("%s is being delivered right now; see %s in a moment", id, queueListCommand(o)))
			continue
		}
		if err == nil {
			err = do(id)
			unlock()
		}
		if errors.Is(err, spool.ErrNotFound) {
			err = &flows.InputError{Field: "id", Problem: fmt.Sprintf("%q is not in the spool (already sent or dropped?)", printable(id)), Hint: "see the ids with " + queueListCommand(o)}
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(o.io.err, "%s: %s\n", id, done)
	}
	return errs
}

// queuePrefix is the command prefix for hints, with the flags in force.
func queuePrefix(o *queueOptions) string { return commandLine(*o.global) }

// queueListCommand is the command that lists the spool, for hints.
func queueListCommand(o *queueOptions) string { return queuePrefix(o) + " queue list" + spoolFlag(o) }

func spoolFlag(o *queueOptions) string {
	if o.spool == "" {
		return ""
	}
	return " --spool " + shellQuote(o.spool)
}

func queueDropRun(_ context.Context, o *queueOptions, ids []string) error {
	dir, err := o.spoolDir()
	if err != nil {
		return err
	}
	sp, err := spool.Open(dir)
	if err != nil {
		return err
	}
	errs := eachLocked(o, sp, ids, "dropped", sp.Remove)
	return errors.Join(errs...)
}

func queueRunRun(ctx context.Context, o *queueOptions) error {
	if o.perMailboxRate <= 0 || o.concurrency <= 0 || o.maxQueueAge <= 0 {
		return &flows.InputError{Field: "per-mailbox-rate, concurrency, max-queue-age", Problem: "must be positive", Hint: "leave them out for the defaults (30 a minute, 16, 72h)"}
	}
	dir, err := o.spoolDir()
	if err != nil {
		return err
	}
	a, err := newApp(ctx, o.io, *o.global)
	if err != nil {
		return err
	}
	defer a.close()
	d, err := relay.NewDelivery(relay.Options{
		Spool: dir, Clock: a.env.Clock, Sender: a.relaySender(), PerMailboxRate: o.perMailboxRate, Concurrency: o.concurrency,
		MaxQueueAge: o.maxQueueAge, BounceTo: o.bounceTo, ExactlyOnce: o.exactlyOnce,
		Logger: slog.New(slog.NewTextHandler(o.io.err, nil)),
	})
	if err != nil {
		return err
	}
	if err := relay.Heartbeat(dir); err != nil {
		fmt.Fprintf(o.io.err, "could not refresh the relay heartbeat in %s (sendmail may stop handing messages over): %v\n", dir, err)
	}
	st, err := d.Drain(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.io.err, "sent %d, deferred %d, failed %d (bounces queued %d)\n", st.Sent, st.Deferred, st.Failed, st.Bounced)
	switch {
	case st.Failed > 0:
		fmt.Fprintf(o.io.err, "See why with: %s queue list%s\n", queuePrefix(o), spoolFlag(o))
		return silentExit(exitFailure)
	case st.Deferred > 0:
		return silentExit(exitQueueDeferred)
	}
	return nil
}

// relaySender is the relay's (and `queue run`'s) way to Graph: each
// message's profile is read from profiles.json when it is sent (so a
// reauth takes effect), its secrets through secretsFor.
func (a *app) relaySender() *relay.GraphSender {
	return &relay.GraphSender{
		LogDir: a.dir,
		Env:    a.env,
		Lock:   store.ProfileLocker{Dir: a.dir},
		Profile: func(name string) (store.Profile, flows.Secrets, error) {
			p, err := a.loadProfile(name)
			if err != nil {
				return p, nil, err
			}
			s, err := a.secretsFor(p)
			return p, s, err
		},
	}
}

// spoolForSendmail hands a message sendmail could not send for now
// (flows.OutcomeTemporary) to the relay's spool in <config dir>/spool, when
// a relay serves the profile: the relay writes the profiles it serves into
// the spool when it starts (relay.MarkServes) and holds the spool while it
// runs (relay.HoldServes); `mailgrant queue run` refreshes the marker's
// heartbeat (relay.Heartbeat). A marker with neither a running relay nor a
// heartbeat of the last 10 minutes does not count: nobody would deliver
// the message. It returns "" when no relay serves the profile. It has the signature of sendmail's hook sendmailSpool (branch
// sendmail), which the merge sets: sendmailSpool = spoolForSendmail.
func spoolForSendmail(_ context.Context, a *app, p store.Profile, msg io.ReaderAt, size int64, e flows.Envelope, _ error) (string, error) {
	dir := relay.DefaultSpoolDir(a.dir)
	if !relay.Serves(dir, p.Name) {
		return "", nil
	}
	return relay.Enqueue(dir, relay.Submission{Profile: p.Name, From: e.From, Recipients: e.Recipients,
		Data: io.NewSectionReader(msg, 0, size), Client: fmt.Sprintf("sendmail (uid %d)", os.Getuid())})
}
