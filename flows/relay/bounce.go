package relay

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/textproto"
	"strings"
	"time"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store/spool"
)

// maxHeaderBlock caps the original headers a bounce carries.
const maxHeaderBlock = 64 << 10

// dsnStatus is the RFC 3463 status code of a failure.
func dsnStatus(o flows.Outcome, expired bool) string {
	if expired {
		return "4.4.7"
	}
	switch o {
	case flows.OutcomeDenied, flows.OutcomeNeedsPermission:
		return "5.7.1"
	case flows.OutcomeUnknownMailbox:
		return "5.1.1"
	case flows.OutcomeTooLarge:
		return "5.3.4"
	case flows.OutcomeBadMessage:
		return "5.6.0"
	}
	return "5.0.0"
}

// dsn is what a delivery status notification says.
type dsn struct {
	reportingMTA string
	from         string // the mailbox sending the bounce; "" for the profile's own
	to           []string
	meta         spool.Meta
	status       string
	code         string // Graph's error code
	diagnostic   string // what happened, one line
	headers      []byte // the original header block
	origMsgID    string // the original Message-ID, for threading
	date         time.Time
}

// build returns the RFC 3464 multipart/report message.
func (d dsn) build() []byte {
	var b bytes.Buffer
	boundary := randomBoundary()
	crlf := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	if d.from != "" {
		crlf("From: Mail Delivery System <%s>", d.from)
	}
	crlf("To: %s", strings.Join(d.to, ", "))
	crlf("Subject: Undelivered Mail Returned to Sender")
	crlf("Date: %s", d.date.Format(time.RFC1123Z))
	crlf("Message-ID: <%s.dsn@%s>", d.meta.ID, d.reportingMTA)
	if id := oneLine(d.origMsgID); strings.HasPrefix(id, "<") && strings.HasSuffix(id, ">") && !strings.ContainsAny(id, " ") {
		crlf("In-Reply-To: %s", id)
		crlf("References: %s", id)
	}
	crlf("Auto-Submitted: auto-replied")
	crlf("MIME-Version: 1.0")
	crlf("Content-Type: multipart/report; report-type=delivery-status; boundary=%q", boundary)
	crlf("")
	crlf("--%s", boundary)
	crlf("Content-Type: text/plain; charset=utf-8")
	crlf("")
	what := "could not be delivered"
	if d.status == "4.4.7" {
		what = "could not be delivered before the relay gave up retrying"
	}
	crlf("The message you sent on %s (queue id %s) %s", d.meta.Received.UTC().Format(time.RFC1123Z), d.meta.ID, what)
	crlf("to these recipients:")
	crlf("")
	for _, r := range d.meta.Recipients {
		crlf("  %s", r)
	}
	crlf("")
	crlf("Microsoft Graph said: %s", d.diagnostic)
	crlf("")
	crlf("--%s", boundary)
	crlf("Content-Type: message/delivery-status")
	crlf("")
	crlf("Reporting-MTA: dns; %s", d.reportingMTA)
	crlf("X-Mailgrant-Queue-ID: %s", d.meta.ID)
	crlf("Arrival-Date: %s", d.meta.Received.UTC().Format(time.RFC1123Z))
	for _, r := range d.meta.Recipients {
		crlf("")
		crlf("Final-Recipient: rfc822; %s", r)
		crlf("Action: failed")
		crlf("Status: %s", d.status)
		crlf("Diagnostic-Code: smtp; %s %s %s", smtpCode(d.status), d.status, oneLine(d.diagnostic))
		crlf("Last-Attempt-Date: %s", d.date.UTC().Format(time.RFC1123Z))
	}
	crlf("")
	crlf("--%s", boundary)
	crlf("Content-Type: text/rfc822-headers")
	crlf("")
	b.Write(d.headers)
	crlf("")
	crlf("--%s--", boundary)
	return b.Bytes()
}

// smtpCode is the reply code that goes with an enhanced status code.
func smtpCode(status string) string {
	if strings.HasPrefix(status, "4.") {
		return "451"
	}
	switch status {
	case "5.3.4":
		return "552"
	case "5.6.0":
		return "554"
	}
	return "550"
}

// oneLine makes text safe for a header line: no control characters, no
// line breaks, bounded length.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

func randomBoundary() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "mailgrant-dsn-" + hex.EncodeToString(b[:])
}

// headerBlock returns the message's header lines (CRLF ended, without the
// Bcc header, at most maxHeaderBlock bytes) and the parsed header.
func headerBlock(r io.Reader) ([]byte, textproto.MIMEHeader) {
	br := bufio.NewReader(io.LimitReader(r, maxHeaderBlock))
	var out bytes.Buffer
	var raw bytes.Buffer
	skip := false
	for {
		line, err := br.ReadString('\n')
		trimmed := strings.TrimRight(line, "\r\n")
		if trimmed == "" {
			break
		}
		raw.WriteString(trimmed + "\r\n")
		folded := trimmed[0] == ' ' || trimmed[0] == '\t'
		if !folded {
			name, _, _ := strings.Cut(trimmed, ":")
			skip = strings.EqualFold(strings.TrimSpace(name), "Bcc")
		}
		if !skip {
			out.WriteString(trimmed + "\r\n")
		}
		if err != nil {
			break
		}
	}
	raw.WriteString("\r\n")
	h, _ := textproto.NewReader(bufio.NewReader(&raw)).ReadMIMEHeader()
	return out.Bytes(), h
}

// mustNotBounce reports whether a message must never get a bounce: the null
// sender, auto-submitted messages (RFC 3834) and delivery reports.
func mustNotBounce(envelopeFrom string, h textproto.MIMEHeader) bool {
	if f := strings.TrimSpace(envelopeFrom); f == "" || f == "<>" {
		return true
	}
	if a := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); a != "" && a != "no" {
		return true
	}
	if mt, params, err := mime.ParseMediaType(h.Get("Content-Type")); err == nil && mt == "multipart/report" && strings.EqualFold(params["report-type"], "delivery-status") {
		return true
	}
	return false
}
