package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mailgrant/mailgrant/flows"
)

// sendmail's command line is not pflag's: options are single letters that
// may be grouped (-ti), values may be glued to them (-fuser@example.com,
// -oem, -B8BITMIME), and recipients may come before options. This file
// parses it as sendmail's getopt does, plus mailgrant's long options.
//
// What real callers pass (checked against their sources and manuals):
//
//	PHP mail()          -t -i            (sendmail_path; mail()'s 5th argument often adds -fSENDER)
//	PHPMailer           -oi -t, -oi -fSENDER -t
//	Vixie/BSD cron      -FCronDaemon -odi -oem -oi -t
//	cronie              -FCronDaemon -i -odi -oem -oi -t -f USER
//	Debian cron         -FCronDaemon -i -B8BITMIME -oem RCPT
//	git send-email      -i [-f SENDER] RCPT...
//	mutt, neomutt       -oem -oi [-f SENDER] [-B8BITMIME] [-N DSN -R RET] -- RCPT...
//	mailx, s-nail       -i [-v] [-r SENDER] [--] RCPT...
//	unattended-upgrades, logwatch, mdadm, smartd: -t and/or -oi

// sendmailOptions are what a sendmail command line asks for.
type sendmailOptions struct {
	// global are the mailgrant options given on the command line
	// (--sandbox, --config-dir, --store, --cloud, --debug).
	global globalOptions
	// profile is --profile.
	profile string
	// extract is -t: recipients come from To, Cc and Bcc too.
	extract bool
	// ignoreDots is -i or -oi: a line with a single dot does not end the
	// message.
	ignoreDots bool
	// sender is -f or -r: the envelope sender.
	sender string
	// fullName is -F: the name for a From header that is added.
	fullName string
	// maxSize is --max-message-size in bytes; 0 means the default.
	maxSize int64
	// help is --help.
	help bool
	// recipients are the arguments that are not options.
	recipients []string
}

// sendmailUsageError is a command line sendmail refuses (exit 64).
type sendmailUsageError struct{ msg string }

func (e *sendmailUsageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &sendmailUsageError{msg: fmt.Sprintf(format, args...)}
}

// sendmailValueLetters are the short options that take a value, glued or as
// the next argument.
const sendmailValueLetters = "frFBNRVLhpobAOCXqde"

// parseSendmailArgs parses a sendmail command line (without the program
// name). Options may follow recipients, as with GNU getopt; "--" ends them.
func parseSendmailArgs(args []string) (*sendmailOptions, error) {
	o := &sendmailOptions{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		// next returns the value of an option that takes one.
		next := func(what string) (string, error) {
			if i+1 >= len(args) {
				return "", usagef("%s needs a value", what)
			}
			i++
			return args[i], nil
		}
		switch {
		case a == "--":
			o.recipients = append(o.recipients, args[i+1:]...)
			return o, nil
		case a == "-" || !strings.HasPrefix(a, "-"):
			o.recipients = append(o.recipients, a)
		case strings.HasPrefix(a, "--"):
			name, value, hasValue := strings.Cut(a[2:], "=")
			if err := o.long(name, value, hasValue, next); err != nil {
				return nil, err
			}
		default:
			if err := o.short(a, next); err != nil {
				return nil, err
			}
		}
	}
	return o, nil
}

// long handles one --name or --name=value option.
func (o *sendmailOptions) long(name, value string, hasValue bool, next func(string) (string, error)) error {
	flag := func(dst *bool) error {
		if hasValue {
			b, err := strconv.ParseBool(value)
			if err != nil {
				return usagef("--%s takes no value (or true/false), not %q", name, value)
			}
			*dst = b
			return nil
		}
		*dst = true
		return nil
	}
	str := func(dst *string) error {
		if !hasValue {
			v, err := next("--" + name)
			if err != nil {
				return err
			}
			value = v
		}
		*dst = value
		return nil
	}
	switch name {
	case "help":
		return flag(&o.help)
	case "sandbox":
		return flag(&o.global.sandbox)
	case "debug":
		return flag(&o.global.debug)
	case "no-browser":
		return flag(&o.global.noBrowser)
	case "profile":
		return str(&o.profile)
	case "config-dir":
		return str(&o.global.configDir)
	case "cloud":
		return str(&o.global.cloud)
	case "store":
		return str(&o.global.store)
	case "max-message-size":
		var s string
		if err := str(&s); err != nil {
			return err
		}
		n, err := flows.ParseSize(s)
		if err != nil {
			var ie *flows.InputError
			if errors.As(err, &ie) {
				return usagef("--max-message-size: %s; %s", ie.Problem, ie.Hint)
			}
			return usagef("--max-message-size: %v", err)
		}
		o.maxSize = n
		return nil
	}
	return usagef("unknown option --%s (mailgrant sendmail --help lists the options)", name)
}

// short handles one argument of grouped single-letter options.
func (o *sendmailOptions) short(a string, next func(string) (string, error)) error {
	for j := 1; j < len(a); j++ {
		c := a[j]
		switch c {
		case 't':
			o.extract = true
			continue
		case 'i':
			o.ignoreDots = true
			continue
		case 'v', 'm', 'n', 'U', 'G':
			// Verbose, "me too", no aliasing, initial submission, gateway
			// submission: nothing to do when Graph sends.
			continue
		}
		if !strings.ContainsRune(sendmailValueLetters, rune(c)) {
			return usagef("unknown option -%c (mailgrant sendmail --help lists the options)", c)
		}
		value := a[j+1:]
		if value == "" {
			v, err := next("-" + string(c))
			if err != nil {
				return err
			}
			value = v
		}
		return o.valued(c, value)
	}
	return nil
}

// valued handles an option that takes a value.
func (o *sendmailOptions) valued(c byte, v string) error {
	switch c {
	case 'f', 'r':
		o.sender = v
	case 'F':
		o.fullName = v
	case 'B':
		switch strings.ToUpper(v) {
		case "7BIT", "8BITMIME", "BINARYMIME":
		default:
			return usagef("-B %s: the body type is 7BIT or 8BITMIME", v)
		}
	case 'N', 'R', 'V', 'L', 'h', 'p', 'e':
		// DSN notify and return, envelope id, log tag, hop count,
		// protocol, the old error mode: Graph offers no equivalent;
		// accepted as sendmail's clones (msmtp, ssmtp) accept them.
	case 'o':
		switch {
		case v == "i":
			o.ignoreDots = true
		case v == "m", strings.HasPrefix(v, "e"), strings.HasPrefix(v, "d"):
			// -om (me too), -oe* (how errors are reported), -od* (delivery
			// mode): Graph accepts or refuses at once, and the exit status
			// says which.
		default:
			return usagef("unsupported option -o%s (accepted: -oi, -om, -oe…, -od…)", v)
		}
	case 'b':
		if v != "m" {
			return usagef("unsupported mode -b%s: mailgrant sendmail only submits a message (-bm); it has no queue, aliases or SMTP mode (see mailgrant relay)", v)
		}
	case 'A':
		if v != "m" && v != "c" {
			return usagef("unsupported option -A%s", v)
		}
	default: // O, C, X, q, d
		return usagef("unsupported option -%c%s: mailgrant sendmail has no configuration file, queue or debug log of sendmail's", c, v)
	}
	return nil
}

// sendmailUsage is what --help prints.
const sendmailUsage = `Usage: mailgrant sendmail [-t] [-i|-oi] [-f SENDER] [-F NAME] [--profile P] [RCPT...]
       sendmail ...   (the same, when mailgrant is installed as sendmail)

Reads an RFC 5322 message on standard input and sends it through Microsoft
Graph, for programs that call sendmail (PHP's mail(), cron, mailx, git
send-email, monitoring tools).

  -t            recipients also come from the To, Cc and Bcc headers;
                Bcc recipients get the message, the Bcc header is removed
  -i, -oi       a line with a single "." does not end the message
  -f SENDER     envelope sender (also -r); picks the profile whose account it is
  -F NAME       the sender's name, for a From header that is added
  --profile P   the profile to send with (else MAILGRANT_PROFILE, else the
                profile whose account is the sender, else the only profile)
  --max-message-size SIZE   the tenant's limit (default 35MB)
  --sandbox, --config-dir DIR, --store keyring|file, --cloud C: as for mailgrant

Accepted and ignored: -v -m -n -U -G -oem -oe* -od* -om -B 8BITMIME -N -R -V -L -h -p -Am -bm.
Missing Date, Message-ID and From headers are added; a From without a
domain (cron's "root") becomes the profile's mailbox.

Exit status (sysexits): 0 Graph accepted the message; 64 bad command line or
no profile chosen; 65 bad or too large message; 67 unknown recipient or
sender mailbox; 69 other permanent refusal; 74 standard input unreadable;
75 temporary failure, the message was not sent (throttling, network, a grant
to re-authorize); 77 the sender is not allowed, or a permission is missing;
78 profiles.json unreadable, or no passphrase for the encrypted file.
`
