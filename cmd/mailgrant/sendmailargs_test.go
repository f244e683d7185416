package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// TestParseSendmailArgs: the command lines real programs use are accepted
// with their meaning; options sendmail has but mailgrant cannot honour are
// refused (exit 64), never silently ignored.
func TestParseSendmailArgs(t *testing.T) {
	tests := []struct {
		caller     string
		args       []string
		extract    bool
		ignoreDots bool
		sender     string
		fullName   string
		profile    string
		rcpts      []string
	}{
		{"PHP", []string{"-t", "-i"}, true, true, "", "", "", nil},
		{"PHP with mail()'s 5th argument", []string{"-t", "-i", "-fshop@contoso.com"}, true, true, "shop@contoso.com", "", "", nil},
		{"PHPMailer", []string{"-oi", "-fshop@contoso.com", "-t"}, true, true, "shop@contoso.com", "", "", nil},
		{"BSD cron", []string{"-FCronDaemon", "-odi", "-oem", "-oi", "-t"}, true, true, "", "CronDaemon", "", nil},
		{"cronie", []string{"-FCronDaemon", "-i", "-odi", "-oem", "-oi", "-t", "-f", "root"}, true, true, "root", "CronDaemon", "", nil},
		{"Debian cron", []string{"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "ops@contoso.com"}, false, true, "", "CronDaemon", "", []string{"ops@contoso.com"}},
		{"git send-email", []string{"-i", "-f", "dev@contoso.com", "a@x.org", "b@y.org"}, false, true, "dev@contoso.com", "", "", []string{"a@x.org", "b@y.org"}},
		{"mutt", []string{"-oem", "-oi", "-B8BITMIME", "-N", "failure,delay", "-R", "hdrs", "--", "a@x.org"}, false, true, "", "", "", []string{"a@x.org"}},
		{"mailx", []string{"-i", "-v", "-r", "me@contoso.com", "--", "a@x.org"}, false, true, "me@contoso.com", "", "", []string{"a@x.org"}},
		{"grouped", []string{"-tif", "me@contoso.com"}, true, true, "me@contoso.com", "", "", nil},
		{"options after recipients", []string{"a@x.org", "-t", "--profile=web"}, true, false, "", "", "web", []string{"a@x.org"}},
		{"profile as two arguments", []string{"--profile", "web", "-t"}, true, false, "", "", "web", nil},
		{"dash-dash keeps dashes", []string{"--", "-t"}, false, false, "", "", "", []string{"-t"}},
	}
	for _, tt := range tests {
		t.Run(tt.caller, func(t *testing.T) {
			o, err := parseSendmailArgs(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if o.extract != tt.extract || o.ignoreDots != tt.ignoreDots || o.sender != tt.sender || o.fullName != tt.fullName || o.profile != tt.profile || !slices.Equal(o.recipients, tt.rcpts) {
				t.Fatalf("got %+v", o)
			}
		})
	}
	o, err := parseSendmailArgs([]string{"--sandbox", "--config-dir", "/tmp/x", "--store=file", "--max-message-size", "50MB", "-t"})
	if err != nil || !o.global.sandbox || o.global.configDir != "/tmp/x" || o.global.store != "file" || o.maxSize != 50<<20 {
		t.Fatalf("global options: %v %+v", err, o)
	}

	for _, bad := range [][]string{
		{"-Z"}, {"-t", "-x"}, {"--bogus"}, {"-bs"}, {"-bp"}, {"-q"}, {"-q1h"}, {"-C", "/etc/mail.cf"},
		{"-ox"}, {"-f"}, {"--profile"}, {"-B", "UTF8"}, {"--max-message-size", "lots"}, {"--sandbox=maybe"}, {"-X", "/tmp/log"},
	} {
		_, err := parseSendmailArgs(bad)
		var ue *sendmailUsageError
		if !errors.As(err, &ue) || ue.msg == "" {
			t.Errorf("%q: want a usage error, got %v", bad, err)
		}
	}
}

// FuzzSendmailArgs: any command line either parses or is a usage error,
// and never panics; what parses again gives the same options.
func FuzzSendmailArgs(f *testing.F) {
	f.Add("-t\x00-i")
	f.Add("-FCronDaemon\x00-odi\x00-oem\x00-oi\x00-t")
	f.Add("-tif\x00me@x.org\x00--\x00a@b.c")
	f.Add("--profile=web\x00-B8BITMIME\x00-N\x00never")
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		o, err := parseSendmailArgs(args)
		if err != nil {
			var ue *sendmailUsageError
			if !errors.As(err, &ue) {
				t.Fatalf("%q: error of type %T", args, err)
			}
			return
		}
		o2, err := parseSendmailArgs(args)
		if err != nil || o2.extract != o.extract || o2.sender != o.sender || !slices.Equal(o2.recipients, o.recipients) {
			t.Fatalf("%q parses differently the second time", args)
		}
	})
}

// TestCompleteHeader: Date, Message-ID and From are added when missing; a
// From without a domain becomes the profile's mailbox with its name; what
// the message has is kept.
func TestCompleteHeader(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	p := store.Profile{Name: "web", Account: "megan@contoso.com"}
	tests := []struct {
		name, in, sender, fullName string
		from                       string
	}{
		{"nothing", "Subject: x\n\n", "", "", "<megan@contoso.com>"},
		{"-f and -F", "Subject: x\n\n", "shop@contoso.com", "Shop", `"Shop" <shop@contoso.com>`},
		{"cron's local From", "From: root (Cron Daemon)\n\n", "", "", `"Cron Daemon" <megan@contoso.com>`},
		{"cronie's local From", "From: \"CronDaemon\" <root>\n\n", "", "", `"CronDaemon" <megan@contoso.com>`},
		{"a From is kept", "From: Ann <ann@contoso.com>\nDate: Fri, 27 Nov 2026 10:00:00 +0000\nMessage-ID: <1@x>\n\n", "shop@contoso.com", "Shop", "Ann <ann@contoso.com>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := flows.ReadSubmission(strings.NewReader(tt.in), flows.SubmitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			keptDate := sub.Header.Get("Date")
			if code, reason := completeHeader(sub.Header, p, tt.sender, tt.fullName, now); code != 0 {
				t.Fatal(reason)
			}
			if got := sub.Header.Get("From"); got != tt.from {
				t.Errorf("From %q, want %q", got, tt.from)
			}
			if keptDate != "" && sub.Header.Get("Date") != keptDate {
				t.Errorf("Date changed to %q", sub.Header.Get("Date"))
			}
			if keptDate == "" && sub.Header.Get("Date") != "Sat, 28 Nov 2026 09:00:00 +0000" {
				t.Errorf("Date %q", sub.Header.Get("Date"))
			}
			id := sub.Header.Get("Message-ID")
			if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, ">") || !strings.Contains(id, "@") || len(sub.Header.Values("Message-ID")) != 1 {
				t.Errorf("Message-ID %q", id)
			}
		})
	}
	// Two messages never share a Message-ID.
	a, b := &flows.Header{}, &flows.Header{}
	completeHeader(a, p, "", "", now)
	completeHeader(b, p, "", "", now)
	if a.Get("Message-ID") == b.Get("Message-ID") {
		t.Error("two Message-IDs are equal")
	}
	// An app-only profile without an account cannot make up a From.
	if code, _ := completeHeader(&flows.Header{}, store.Profile{Name: "d"}, "", "", now); code != exUsage {
		t.Errorf("no From and no account: exit %d, want 64", code)
	}
}

// TestSendmailExitMapping: every delivery outcome has its sysexits status.
func TestSendmailExitMapping(t *testing.T) {
	want := map[flows.Outcome]int{
		flows.OutcomeSent: 0, flows.OutcomeTemporary: 75, flows.OutcomeBadMessage: 65, flows.OutcomeTooLarge: 65,
		flows.OutcomeUnknownMailbox: 67, flows.OutcomeDenied: 77, flows.OutcomeNeedsPermission: 77, flows.OutcomeFailed: 69,
	}
	for o, code := range want {
		if got := sendmailExit(o); got != code {
			t.Errorf("%s: exit %d, want %d", o, got, code)
		}
	}
	if got := oneLine("a\nb\x1b[31m\tc\r\n"); got != "a b [31m c" {
		t.Errorf("oneLine: %q", got)
	}
	if got := sendmailArgs([]string{"/usr/sbin/sendmail", "-t"}); !slices.Equal(got, []string{"sendmail", "-t"}) {
		t.Errorf("as sendmail: %q", got)
	}
	if got := sendmailArgs([]string{"/usr/local/bin/mailgrant", "status"}); !slices.Equal(got, []string{"status"}) {
		t.Errorf("as mailgrant: %q", got)
	}
}
