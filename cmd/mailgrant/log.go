package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// logOptions are the flags of `mailgrant log`.
type logOptions struct {
	global  *globalOptions
	io      *streams
	profile string
	json    bool
}

// newLogCmd builds `mailgrant log [PROFILE]`; runF replaces logRun in tests.
func newLogCmd(s *streams, g *globalOptions, runF func(context.Context, *logOptions) error) *cobra.Command {
	o := &logOptions{global: g, io: s}
	cmd := &cobra.Command{
		Use:   "log [PROFILE]",
		Short: "Show the sent-mail log (no subjects, no bodies)",
		Long: `Show the messages send, sendmail and the relay handed to Graph: time, profile,
sender, number of recipients, size, Graph's request id and the result. The log
never holds subjects, bodies or recipient addresses. It is sent.log in the
config directory, rotated by size (sent.log.1 is the older part).`,
		Example: `  mailgrant log
  mailgrant log wordpress --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.profile = args[0]
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return logRun(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print one JSON object with the records")
	return cmd
}

func logRun(_ context.Context, o *logOptions) error {
	dir, err := store.DefaultDir(o.global.configDir, o.global.sandbox || sandboxFromEnv())
	if err != nil {
		return err
	}
	if o.profile != "" {
		if err := store.ValidateName(o.profile); err != nil {
			return &flows.InputError{Field: "profile", Problem: err.Error(), Hint: "give a profile name as mailgrant list shows it"}
		}
	}
	records, bad, err := flows.ReadSentLog(dir, o.profile)
	if err != nil {
		return err
	}
	if bad > 0 {
		fmt.Fprintf(o.io.err, "! %d line(s) of the log could not be read and were skipped.\n", bad)
	}
	if o.json {
		if records == nil {
			records = []flows.SentRecord{}
		}
		enc := json.NewEncoder(o.io.out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Messages []flows.SentRecord `json:"messages"`
		}{records})
	}
	if len(records) == 0 {
		fmt.Fprintln(o.io.out, "No messages logged yet.")
		return nil
	}
	tw := tabwriter.NewWriter(o.io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tPROFILE\tVIA\tFROM\tRCPTS\tSIZE\tRESULT\tREQUEST ID")
	for _, r := range records {
		result := r.Result
		if r.Code != "" {
			result += " (" + r.Code + ")"
		}
		from := r.From
		if from == "" {
			from = "-"
		}
		req := r.RequestID
		if req == "" {
			req = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.Time.Local().Format(time.DateTime), r.Profile, r.Via, from, r.Recipients, flows.FormatSize(int(r.Size)), result, req)
	}
	return tw.Flush()
}

// logSent records one message `send` handed to Graph in the sent-mail log;
// a failure to log is a warning, never a failed send.
func (a *app) logSent(p store.Profile, m flows.Message, err error) {
	from := m.From
	if from == "" {
		from = p.Account
	}
	n := len(m.To) + len(m.Cc) + len(m.Bcc)
	size := int64(len(m.Body))
	for _, at := range m.Attachments {
		size += int64(len(at.Content))
	}
	if m.MIME != nil {
		size = int64(len(m.MIME))
		if s, perr := flows.ParseMIME(m.MIME); perr == nil {
			n = s.Recipients()
		}
	}
	if lerr := flows.LogSent(a.dir, flows.SentRecordFor(a.env.Now(), p, from, n, size, "send", nil, err)); lerr != nil {
		fmt.Fprintf(a.io.err, "! The sent-mail log was not written: %v\n", lerr)
	}
}
