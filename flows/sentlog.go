package flows

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mailgrant/mailgrant/store"
)

// The sent-mail log keeps one JSON line per message that send, sendmail or
// the relay handed to Graph: when, which profile, the sender, how many
// recipients, the size, Graph's request id and the result. Never a subject,
// an address of a recipient, or a body. It lives in the config directory as
// sent.log and is rotated by size (sent.log.1 … sent.log.N).
//
//	_ = flows.LogSent(dir, flows.SentRecordFor(env.Now(), p, from, len(rcpts), size, "sendmail", res, err))
//	records, err := flows.ReadSentLog(dir, "wordpress")

// SentLogFile is the log's name in the config directory.
const SentLogFile = "sent.log"

// SentRecord is one line of the sent-mail log.
type SentRecord struct {
	// Time is when the result was known, in UTC.
	Time time.Time `json:"time"`
	// Profile is the profile that sent.
	Profile string `json:"profile"`
	// Via is the front end: send, sendmail or relay.
	Via string `json:"via,omitempty"`
	// From is the mailbox sent as (empty: the signed-in account).
	From string `json:"from"`
	// Recipients is how many recipients the message had.
	Recipients int `json:"recipients"`
	// Size is the message's size in bytes.
	Size int64 `json:"size"`
	// RequestID is Graph's request-id, for Microsoft support, when known.
	RequestID string `json:"request_id,omitempty"`
	// Result is "sent", or the failure's Outcome (temporary, denied, …).
	Result string `json:"result"`
	// Code is the failure's error code (ErrorSendAsDenied, AADSTS…).
	Code string `json:"code,omitempty"`
}

// SentRecordFor builds the record of one delivery attempt from its result
// and error (either may be nil), dated at (the Env's clock: env.Now()).
// Text from outside is made printable.
func SentRecordFor(at time.Time, p store.Profile, from string, recipients int, size int64, via string, res *DeliverResult, err error) SentRecord {
	r := SentRecord{
		Time: at.UTC(), Profile: p.Name, Via: via, From: SafeText(from),
		Recipients: recipients, Size: size, Result: Classify(err).String(),
	}
	if res != nil {
		r.RequestID = SafeText(res.RequestID)
		if r.From == "" {
			r.From = SafeText(res.Mailbox)
		}
	}
	if err != nil {
		fe := AsError(err)
		r.Code = SafeText(string(fe.Code))
		if r.RequestID == "" {
			r.RequestID = SafeText(fe.TraceID)
		}
	}
	return r
}

// SentLog appends to and rotates the log in Dir.
type SentLog struct {
	// Dir is the config directory.
	Dir string
	// MaxBytes is the size past which the log is rotated; default 1 MiB.
	MaxBytes int64
	// Keep is how many rotated files are kept; default 5.
	Keep int
}

// LogSent appends r to the sent-mail log in dir with the default rotation.
// Send, sendmail and the relay call it once per message; a failure to log
// never stops a message, so callers may ignore the error (or warn).
func LogSent(dir string, r SentRecord) error { return SentLog{Dir: dir}.Append(r) }

// Append writes one line, rotating first when the log is full. Writers in
// several processes are serialized by a lock file in the config directory.
func (l SentLog) Append(r SentRecord) error {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 1 << 20
	}
	if l.Keep <= 0 {
		l.Keep = 5
	}
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	unlock, err := store.ProfileLocker{Dir: l.Dir}.LockProfile(context.Background(), "sent-log")
	if err != nil {
		return fmt.Errorf("lock the sent-mail log: %w", err)
	}
	defer unlock()
	path := filepath.Join(l.Dir, SentLogFile)
	if st, err := os.Stat(path); err == nil && st.Size()+int64(len(line)) > l.MaxBytes {
		for i := l.Keep - 1; i >= 1; i-- {
			_ = os.Rename(path+"."+strconv.Itoa(i), path+"."+strconv.Itoa(i+1))
		}
		if err := os.Rename(path, path+".1"); err != nil {
			return fmt.Errorf("rotate the sent-mail log: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open the sent-mail log: %w", err)
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("write the sent-mail log: %w", err)
	}
	return f.Close()
}

// maxSentLine caps one log line; real ones are a few hundred bytes.
const maxSentLine = 64 << 10

// ParseSentLine decodes one line of the log, refusing what is not a record
// (the file may have been edited or truncated by a crash).
func ParseSentLine(line []byte) (SentRecord, error) {
	var r SentRecord
	line = bytes.TrimSpace(line)
	if len(line) > maxSentLine {
		return r, errors.New("line too long")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("not a sent-mail record: %w", err)
	}
	if r.Time.IsZero() || r.Profile == "" || r.Result == "" || r.Recipients < 0 || r.Size < 0 {
		return r, errors.New("not a sent-mail record: time, profile or result missing")
	}
	r.Profile, r.From, r.Via, r.RequestID, r.Result, r.Code = SafeText(r.Profile), SafeText(r.From), SafeText(r.Via), SafeText(r.RequestID), SafeText(r.Result), SafeText(r.Code)
	return r, nil
}

// ReadSentLog returns the log's records, oldest first, across the rotated
// files, for one profile or (with profile "") all. It also returns how many
// lines could not be read.
func ReadSentLog(dir, profile string) ([]SentRecord, int, error) {
	path := filepath.Join(dir, SentLogFile)
	var files []string
	for i := 1; ; i++ {
		name := path + "." + strconv.Itoa(i)
		if _, err := os.Stat(name); err != nil {
			break
		}
		files = append([]string{name}, files...)
	}
	files = append(files, path)
	var out []SentRecord
	bad := 0
	for _, name := range files {
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("read the sent-mail log: %w", err)
		}
		n, err := readSentLines(f, profile, &out)
		f.Close()
		if err != nil {
			return nil, 0, fmt.Errorf("read %s: %w", name, err)
		}
		bad += n
	}
	return out, bad, nil
}

// readSentLines appends the records of r to out and counts bad lines.
func readSentLines(r io.Reader, profile string, out *[]SentRecord) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxSentLine+1)
	bad := 0
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		rec, err := ParseSentLine(sc.Bytes())
		if err != nil {
			bad++
			continue
		}
		if profile == "" || strings.EqualFold(rec.Profile, profile) {
			*out = append(*out, rec)
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return bad + 1, nil
	}
	return bad, sc.Err()
}
