package relay

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/mailgrant/mailgrant/flows/clock"
)

// The users file holds the relay's SMTP accounts, one a line:
//
//	USER:HASH[:PATTERN,PATTERN...]
//
// HASH is an argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$key,
// what `mailgrant relay passwd` writes) or a bcrypt hash ($2a$, $2b$, $2y$,
// as `htpasswd -B` writes). The optional patterns limit the senders the
// user may use (see ValidPattern). Blank lines and lines starting with #
// are ignored. The file holds no password, but is kept 0600 all the same.

// User is one account of the users file.
type User struct {
	// Name is what the client gives to AUTH.
	Name string
	// Hash is the password's argon2id or bcrypt hash.
	Hash string
	// AllowFrom, when not empty, are the only sender patterns the user
	// may send as.
	AllowFrom []string
}

// MayUse reports whether the user may send as sender.
func (u *User) MayUse(sender string) bool {
	if len(u.AllowFrom) == 0 {
		return true
	}
	for _, p := range u.AllowFrom {
		if MatchPattern(p, sender) {
			return true
		}
	}
	return false
}

// Users is a parsed users file.
type Users struct {
	byName map[string]*User
	order  []string
}

// Lookup finds a user by name (case-sensitive, as SMTP AUTH is).
func (u *Users) Lookup(name string) (*User, bool) {
	if u == nil {
		return nil, false
	}
	x, ok := u.byName[name]
	return x, ok
}

// Len is the number of users.
func (u *Users) Len() int {
	if u == nil {
		return 0
	}
	return len(u.order)
}

// Set adds or replaces a user.
func (u *Users) Set(x User) {
	if u.byName == nil {
		u.byName = map[string]*User{}
	}
	if _, ok := u.byName[x.Name]; !ok {
		u.order = append(u.order, x.Name)
	}
	u.byName[x.Name] = &x
}

// Delete removes a user.
func (u *Users) Delete(name string) {
	if _, ok := u.byName[name]; !ok {
		return
	}
	delete(u.byName, name)
	for i, n := range u.order {
		if n == name {
			u.order = append(u.order[:i], u.order[i+1:]...)
			break
		}
	}
}

// ValidUserName checks a user name: no colon, space or control character.
func ValidUserName(n string) error {
	switch {
	case n == "":
		return errors.New("the user name is empty")
	case len(n) > 256:
		return errors.New("the user name is longer than 256 bytes")
	case strings.ContainsAny(n, ": \t"):
		return fmt.Errorf("the user name %q contains a colon or a space", n)
	case strings.IndexFunc(n, func(r rune) bool { return unicode.IsControl(r) || r == unicode.ReplacementChar }) >= 0:
		return errors.New("the user name contains a control character or invalid UTF-8")
	}
	return nil
}

// knownHash reports whether h looks like a hash we can verify.
func knownHash(h string) bool {
	if strings.HasPrefix(h, "$argon2id$") {
		_, _, _, err := parseArgon2id(h)
		return err == nil
	}
	for _, p := range []string{"$2a$", "$2b$", "$2y$"} {
		if strings.HasPrefix(h, p) {
			_, err := bcrypt.Cost([]byte(h))
			return err == nil
		}
	}
	return false
}

// UsersFileError is a problem in a users file, with the line.
type UsersFileError struct {
	Path    string
	Line    int
	Problem string
}

func (e *UsersFileError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("users file %s: %s", e.Path, e.Problem)
	}
	return fmt.Sprintf("users file %s, line %d: %s", e.Path, e.Line, e.Problem)
}

// ParseUsers reads a users file's content; path is only for errors. Errors
// never quote a hash.
func ParseUsers(r io.Reader, path string) (*Users, error) {
	u := &Users{byName: map[string]*User{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fail := func(p string) error { return &UsersFileError{Path: path, Line: n, Problem: p} }
		parts := strings.Split(line, ":")
		if len(parts) < 2 || len(parts) > 3 {
			return nil, fail("expected USER:HASH or USER:HASH:PATTERNS")
		}
		if err := ValidUserName(parts[0]); err != nil {
			return nil, fail(err.Error())
		}
		if !knownHash(parts[1]) {
			return nil, fail("the hash is not an argon2id or bcrypt hash; set the password with mailgrant relay passwd")
		}
		if _, dup := u.byName[parts[0]]; dup {
			return nil, fail(fmt.Sprintf("user %q appears twice", parts[0]))
		}
		x := User{Name: parts[0], Hash: parts[1]}
		if len(parts) == 3 && strings.TrimSpace(parts[2]) != "" {
			for _, p := range strings.Split(parts[2], ",") {
				v, err := ValidPattern(p)
				if err != nil {
					return nil, fail(err.Error())
				}
				x.AllowFrom = append(x.AllowFrom, v)
			}
		}
		u.Set(x)
	}
	if err := sc.Err(); err != nil {
		return nil, &UsersFileError{Path: path, Line: n + 1, Problem: err.Error()}
	}
	return u, nil
}

// LoadUsers reads the users file at path.
func LoadUsers(path string) (*Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &UsersFileError{Path: path, Problem: err.Error()}
	}
	defer f.Close()
	return ParseUsers(f, path)
}

// Format writes the users file's content.
func (u *Users) Format() []byte {
	var b bytes.Buffer
	b.WriteString("# mailgrant relay users: USER:HASH[:SENDER-PATTERNS]; edit with mailgrant relay passwd\n")
	names := append([]string(nil), u.order...)
	sort.Strings(names)
	for _, n := range names {
		x := u.byName[n]
		b.WriteString(x.Name + ":" + x.Hash)
		if len(x.AllowFrom) > 0 {
			b.WriteString(":" + strings.Join(x.AllowFrom, ","))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// WriteUsers writes the users file atomically with mode 0600: a temporary
// file in the same directory, fsynced, renamed over the old one, and the
// directory fsynced.
func WriteUsers(path string, u *Users) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".users-*")
	if err != nil {
		return fmt.Errorf("write the users file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write the users file: %w", err)
	}
	if _, err := f.Write(u.Format()); err != nil {
		f.Close()
		return fmt.Errorf("write the users file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write the users file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write the users file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write the users file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Argon2id parameters: OWASP's minimum (19 MiB, 2 passes, 1 lane), which
// keeps a burst of AUTH commands from taking much memory.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword hashes a password with argon2id and a random salt.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash the password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

type argonParams struct {
	time, memory uint32
	threads      uint8
}

// parseArgon2id reads an argon2id PHC string.
func parseArgon2id(h string) (argonParams, []byte, []byte, error) {
	var p argonParams
	f := strings.Split(h, "$")
	if len(f) != 6 || f[1] != "argon2id" || f[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, errors.New("not an argon2id v19 hash")
	}
	var threads uint32
	if _, err := fmt.Sscanf(f[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &threads); err != nil {
		return p, nil, nil, errors.New("bad argon2id parameters")
	}
	// Bounds keep a hand-edited file from making every AUTH take gigabytes.
	if p.memory < 8 || p.memory > 1<<20 || p.time < 1 || p.time > 16 || threads < 1 || threads > 16 {
		return p, nil, nil, errors.New("argon2id parameters out of range")
	}
	p.threads = uint8(threads)
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(f[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, errors.New("bad argon2id salt")
	}
	key, err := enc.DecodeString(f[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errors.New("bad argon2id key")
	}
	return p, salt, key, nil
}

// hashSlots bounds concurrent hash checks, each of which takes argonMemory.
var hashSlots = make(chan struct{}, 2)

// CheckPassword reports whether password matches hash.
func CheckPassword(hash, password string) bool {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	if strings.HasPrefix(hash, "$argon2id$") {
		p, salt, key, err := parseArgon2id(hash)
		if err != nil {
			return false
		}
		got := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, uint32(len(key)))
		return subtle.ConstantTimeCompare(got, key) == 1
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// dummyHash is checked for unknown users so that a wrong user name takes
// as long as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("mailgrant-unknown-user")
	return h
})

// Lockout slows down and then stops password guessing, per client address:
// after each failure the reply waits longer (Delay, doubling up to
// MaxDelay), and after Failures failures within Window the address may not
// try again for LockFor.
type Lockout struct {
	// Failures is how many failures lock an address out; 0 means 5.
	Failures int
	// Window is how long failures are remembered; 0 means 15 minutes.
	Window time.Duration
	// LockFor is how long a locked-out address waits; 0 means 15 minutes.
	LockFor time.Duration
	// Delay is the wait after the first failure; 0 means 500 ms.
	Delay time.Duration
	// MaxDelay caps the wait; 0 means 8 s.
	MaxDelay time.Duration
	// Clock is the time source of the failure window and lockouts; nil
	// means the system clock.
	Clock clock.Clock

	mu    sync.Mutex
	state map[string]*lockState
}

type lockState struct {
	fails  []time.Time
	locked time.Time // until
}

func (l *Lockout) now() time.Time { return clock.Or(l.Clock).Now() }

func (l *Lockout) defaults() (int, time.Duration, time.Duration, time.Duration, time.Duration) {
	n, w, lf, d, md := l.Failures, l.Window, l.LockFor, l.Delay, l.MaxDelay
	if n <= 0 {
		n = 5
	}
	if w <= 0 {
		w = 15 * time.Minute
	}
	if lf <= 0 {
		lf = 15 * time.Minute
	}
	if d <= 0 {
		d = 500 * time.Millisecond
	}
	if md <= 0 {
		md = 8 * time.Second
	}
	return n, w, lf, d, md
}

// Locked reports whether addr is locked out, and until when.
func (l *Lockout) Locked(addr string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.state[addr]
	if s == nil || !l.now().Before(s.locked) {
		return time.Time{}, false
	}
	return s.locked, true
}

// Fail records a failure from addr and returns how long to wait before
// answering it.
func (l *Lockout) Fail(addr string) time.Duration {
	n, w, lf, d, md := l.defaults()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == nil {
		l.state = map[string]*lockState{}
	}
	now := l.now()
	l.gc(now, w)
	s := l.state[addr]
	if s == nil {
		s = &lockState{}
		l.state[addr] = s
	}
	kept := s.fails[:0]
	for _, t := range s.fails {
		if now.Sub(t) < w {
			kept = append(kept, t)
		}
	}
	s.fails = append(kept, now)
	if len(s.fails) >= n {
		s.locked = now.Add(lf)
		s.fails = nil
	}
	delay := d
	for i := 1; i < len(s.fails) && delay < md; i++ {
		delay *= 2
	}
	return min(delay, md)
}

// Succeed forgets addr's failures.
func (l *Lockout) Succeed(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.state[addr]; s != nil && !l.now().Before(s.locked) {
		delete(l.state, addr)
	}
}

// gc drops addresses with nothing left to remember, so the map stays small.
func (l *Lockout) gc(now time.Time, w time.Duration) {
	if len(l.state) < 1024 {
		return
	}
	for a, s := range l.state {
		if !now.Before(s.locked) && (len(s.fails) == 0 || now.Sub(s.fails[len(s.fails)-1]) >= w) {
			delete(l.state, a)
		}
	}
}
