package relay

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/mailgrant/mailgrant/flows"
)

// Defaults for Config's limits.
const (
	// DefaultMaxRecipients is Exchange Online's recipient limit per message.
	DefaultMaxRecipients = 500
	// DefaultMaxConnections bounds concurrent SMTP connections.
	DefaultMaxConnections = 100
	// DefaultReplyWait is how long DATA waits for the first delivery
	// attempt, so that a permanent refusal reaches the client in the reply.
	DefaultReplyWait = 10 * time.Second
	// maxHeaderBytes is the largest header section accepted (Exchange
	// Online's own limit is 256 KB).
	maxHeaderBytes = 256 << 10
	// maxLineBytes is the longest command or message line accepted.
	maxLineBytes = 64 << 10
)

// Config configures a Server. Router and Queue are required.
type Config struct {
	// Router picks the profile for a sender and refuses the rest.
	Router *Router
	// Queue stores and sends accepted messages.
	Queue Queue
	// Users are the accounts for AUTH; nil offers no AUTH.
	Users *Users
	// UsersFile, when set, is the file Users came from: it is read again
	// when it changes (checked at each AUTH), so `mailgrant relay passwd`
	// needs no restart. A file that no longer parses keeps the last users.
	UsersFile string
	// TLS enables STARTTLS; nil offers none.
	TLS *tls.Config
	// InsecureAuth offers AUTH without TLS. Only for a loopback-only
	// listener, where the password never leaves the machine.
	InsecureAuth bool
	// RequireAuth makes loopback clients AUTH too.
	RequireAuth bool
	// AllowIPs, when not empty, are the only client networks served;
	// others get 554 at connect.
	AllowIPs []netip.Prefix
	// MaxSize is the largest message in bytes, advertised with SIZE; 0
	// means flows.DefaultMaxMessageSize.
	MaxSize int64
	// MaxRecipients bounds RCPT TO per message; 0 means
	// DefaultMaxRecipients.
	MaxRecipients int
	// MaxConnections bounds concurrent connections; 0 means
	// DefaultMaxConnections. Past it clients get 421 and may retry.
	MaxConnections int
	// ReplyWait is passed to Queue.Submit; 0 means DefaultReplyWait, a
	// negative value means do not wait.
	ReplyWait time.Duration
	// Lockout slows and stops password guessing; nil means the defaults.
	Lockout *Lockout
	// Logger gets one line per message and per refusal; nil discards.
	Logger *slog.Logger
	// Domain is the name in the greeting; "" means the host name.
	Domain string
}

// Server is mailgrant's SMTP submission server: printers, scanners,
// WordPress plugins and other SMTP-only programs hand it mail, and it
// passes each message to a durable Queue that sends it through Graph.
//
//	srv, err := relay.NewServer(relay.Config{Router: r, Queue: q})
//	ln, _ := net.Listen("tcp", "127.0.0.1:2525")
//	go srv.Serve(ln)
//	…
//	srv.Shutdown(ctx)
//
// Who may use it: clients from loopback need no AUTH unless RequireAuth;
// every other client must AUTH (PLAIN or LOGIN) against Users, which is
// offered only over TLS (STARTTLS), or in clear on a loopback-only
// listener (InsecureAuth). A sender no route or default profile may send
// as is refused at MAIL FROM with 550 5.7.1, so the relay is never open.
type Server struct {
	cfg  Config
	smtp *smtp.Server
	log  *slog.Logger

	drain       context.Context // cancelled when Shutdown starts
	stopWaiting context.CancelFunc
	closing     atomic.Bool

	mu        sync.Mutex
	conns     map[*conn]struct{}
	users     *Users
	usersStat os.FileInfo
	// backlog holds, per sender, until when DATA does not wait for the
	// first attempt: the last wait ended before any attempt (pacing or a
	// backlog held it), so waiting again would only slow the client.
	backlog map[string]time.Time
}

// NewServer checks cfg and builds a Server.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Router == nil || cfg.Queue == nil {
		return nil, errors.New("relay: Config needs a Router and a Queue")
	}
	if cfg.RequireAuth && cfg.Users.Len() == 0 {
		return nil, &flows.InputError{Field: "require-auth", Problem: "--require-auth needs accounts to authenticate", Hint: "add --users FILE (create accounts with mailgrant relay passwd --users FILE USER)"}
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = flows.DefaultMaxMessageSize
	}
	if cfg.MaxRecipients <= 0 {
		cfg.MaxRecipients = DefaultMaxRecipients
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	if cfg.ReplyWait == 0 {
		cfg.ReplyWait = DefaultReplyWait
	} else if cfg.ReplyWait < 0 {
		cfg.ReplyWait = 0
	}
	if cfg.Lockout == nil {
		cfg.Lockout = &Lockout{}
	}
	if cfg.Domain == "" {
		cfg.Domain, _ = os.Hostname()
		if cfg.Domain == "" {
			cfg.Domain = "localhost"
		}
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: lg, conns: map[*conn]struct{}{}, backlog: map[string]time.Time{}, users: cfg.Users}
	if cfg.UsersFile != "" {
		s.usersStat, _ = os.Stat(cfg.UsersFile)
	}
	s.drain, s.stopWaiting = context.WithCancel(context.Background())
	ss := smtp.NewServer(s)
	ss.Domain = cfg.Domain
	ss.MaxMessageBytes = cfg.MaxSize
	ss.MaxRecipients = cfg.MaxRecipients
	ss.TLSConfig = cfg.TLS
	ss.AllowInsecureAuth = cfg.InsecureAuth
	// RFC 5321 §4.5.3.2: 5 minutes per command, 10 for the DATA block;
	// go-smtp's read deadline covers the whole DATA transfer, so 10.
	ss.ReadTimeout = 10 * time.Minute
	// RFC 5322 allows 998 characters a line, but apps writing HTML in one
	// line are common; Graph copes, so only absurd lines are refused.
	ss.MaxLineLength = maxLineBytes
	ss.WriteTimeout = time.Minute
	ss.ErrorLog = errorLog{lg}
	s.smtp = ss
	return s, nil
}

// Serve accepts connections on ln until Shutdown. It returns nil after
// Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return s.smtp.Serve(&listener{Listener: ln, s: s})
}

// ServeTLS is Serve with implicit TLS (SMTPS, RFC 8314): the TLS handshake
// comes before the greeting, so STARTTLS is not offered and AUTH is. It
// needs Config.TLS.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.cfg.TLS == nil {
		return errors.New("relay: ServeTLS needs Config.TLS")
	}
	return s.smtp.Serve(tlsListener{Listener: &listener{Listener: ln, s: s}, cfg: s.cfg.TLS})
}

// tlsHandshakeTimeout bounds an implicit-TLS handshake.
const tlsHandshakeTimeout = 30 * time.Second

// tlsListener wraps accepted connections in TLS. go-smtp sets no read
// deadline before its greeting, whose write runs the handshake, so a
// client that connects and says nothing would hold the connection: the
// handshake gets its own deadline (go-smtp sets its own before each
// command).
type tlsListener struct {
	net.Listener
	cfg *tls.Config
}

func (l tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(tlsHandshakeTimeout))
	return tls.Server(c, l.cfg), nil
}

// Shutdown stops accepting connections, ends idle ones with 421, lets a
// message being received finish (its wait for delivery is cut short: it
// stays queued), and returns when every connection is closed or ctx ends
// (then it closes the rest).
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.stopWaiting()
	done := make(chan error, 1)
	go func() { done <- s.smtp.Shutdown(ctx) }()
	s.mu.Lock()
	for c := range s.conns {
		c.wake()
	}
	s.mu.Unlock()
	err := <-done
	if err != nil {
		_ = s.smtp.Close()
	}
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// allowed reports whether a client address may connect.
func (s *Server) allowed(ip netip.Addr) bool {
	if len(s.cfg.AllowIPs) == 0 {
		return true
	}
	for _, p := range s.cfg.AllowIPs {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// listener refuses clients outside AllowIPs and past MaxConnections.
type listener struct {
	net.Listener
	s *Server
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(nc)
		if !l.s.allowed(ip) {
			l.s.log.Warn("smtp connection refused", "client", ip.String(), "reason", "address not in --allow-ip")
			go refuse(nc, "554 5.7.1 This relay does not serve your address")
			continue
		}
		c := &conn{Conn: nc, s: l.s}
		l.s.mu.Lock()
		full := len(l.s.conns) >= l.s.cfg.MaxConnections
		if !full {
			l.s.conns[c] = struct{}{}
		}
		l.s.mu.Unlock()
		if full {
			l.s.log.Warn("smtp connection refused", "client", ip.String(), "reason", "too many connections", "max_connections", l.s.cfg.MaxConnections)
			go refuse(nc, "421 4.7.0 Too many connections; try again later")
			continue
		}
		return c, nil
	}
}

// refuse writes one reply and closes the connection.
func refuse(nc net.Conn, reply string) {
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(nc, reply+"\r\n")
	_ = nc.Close()
}

// remoteIP is the client's address.
func remoteIP(nc net.Conn) netip.Addr {
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		if a, ok := netip.AddrFromSlice(ta.IP); ok {
			return a.Unmap()
		}
	}
	ap, err := netip.ParseAddrPort(nc.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// conn is a client connection. While the server shuts down, a read for
// the next command waits at most closeGrace (enough for a QUIT already on
// its way), after which go-smtp answers 421 and closes; reads inside DATA
// are left alone so the message being received can finish.
type conn struct {
	net.Conn
	s    *Server
	busy atomic.Bool // receiving DATA
	once sync.Once
}

// closeGrace is how long an idle connection may still speak once the
// server shuts down.
const closeGrace = time.Second

func (c *conn) SetReadDeadline(t time.Time) error {
	if c.s.closing.Load() && !c.busy.Load() {
		if limit := time.Now().Add(closeGrace); t.IsZero() || t.After(limit) {
			t = limit
		}
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *conn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

// wake shortens the wait of a read for the next command at shutdown.
func (c *conn) wake() {
	if !c.busy.Load() {
		_ = c.SetReadDeadline(time.Now().Add(closeGrace))
	}
}

func (c *conn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// NewSession implements smtp.Backend.
func (s *Server) NewSession(sc *smtp.Conn) (smtp.Session, error) {
	nc := sc.Conn()
	_, isTLS := nc.(*tls.Conn)
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	c, _ := nc.(*conn)
	ip := remoteIP(nc)
	return &session{s: s, c: c, ip: ip, tls: isTLS}, nil
}

// session is one client's SMTP session.
type session struct {
	s   *Server
	c   *conn
	ip  netip.Addr
	tls bool

	user *User

	from    string
	profile string
	rcpts   []string
}

var _ smtp.AuthSession = (*session)(nil)

// needsAuth reports whether this client must AUTH before MAIL.
func (ss *session) needsAuth() bool {
	return ss.user == nil && (ss.s.cfg.RequireAuth || !ss.ip.IsLoopback())
}

// Reset implements smtp.Session.
func (ss *session) Reset() {
	ss.from, ss.profile, ss.rcpts = "", "", nil
}

// Logout implements smtp.Session.
func (ss *session) Logout() error { return nil }

// AuthMechanisms implements smtp.AuthSession: PLAIN and LOGIN (what old
// devices speak) when there are users.
func (ss *session) AuthMechanisms() []string {
	if ss.s.currentUsers().Len() == 0 {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth implements smtp.AuthSession.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	if ss.s.currentUsers().Len() == 0 {
		return nil, smtp.ErrAuthUnsupported
	}
	if err := ss.lockedOut(); err != nil {
		return nil, err
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return ss.authFailed(user, "authorization identity differs from the user")
			}
			return ss.authenticate(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: ss.authenticate}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// currentUsers returns the users, reading UsersFile again when it changed.
func (s *Server) currentUsers() *Users {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.UsersFile == "" {
		return s.users
	}
	fi, err := os.Stat(s.cfg.UsersFile)
	if err != nil || (s.usersStat != nil && fi.ModTime().Equal(s.usersStat.ModTime()) && fi.Size() == s.usersStat.Size()) {
		return s.users
	}
	u, err := LoadUsers(s.cfg.UsersFile)
	if err != nil {
		s.log.Warn("users file not reloaded; the previous accounts stay in use", "error", clean(err.Error()))
		s.usersStat = fi
		return s.users
	}
	s.users, s.usersStat = u, fi
	s.log.Info("users file reloaded", "path", s.cfg.UsersFile, "users", u.Len())
	return s.users
}

// lockedOut returns the 454 reply when the client's address is locked out.
func (ss *session) lockedOut() error {
	until, locked := ss.s.cfg.Lockout.Locked(ss.ip.String())
	if !locked {
		return nil
	}
	ss.s.log.Warn("smtp auth refused", "client", ss.ip.String(), "reason", "locked out", "until", until.UTC().Format(time.RFC3339))
	return &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many failed logins from your address; try again after " + until.UTC().Format("15:04 MST")}
}

// authenticate checks a user's password; failures are slowed down. The
// lockout is checked again here, right before the password: other
// connections from the same address may have locked it out since this
// AUTH began.
func (ss *session) authenticate(name, pass string) error {
	if err := ss.lockedOut(); err != nil {
		return err
	}
	u, ok := ss.s.currentUsers().Lookup(name)
	hash := dummyHash()
	if ok {
		hash = u.Hash
	}
	if !CheckPassword(hash, pass) || !ok {
		return ss.authFailed(name, "wrong user name or password")
	}
	ss.s.cfg.Lockout.Succeed(ss.ip.String())
	ss.user = u
	return nil
}

// authFailed records a failure, waits the lockout's delay, and returns 535.
func (ss *session) authFailed(name, why string) error {
	d := ss.s.cfg.Lockout.Fail(ss.ip.String())
	ss.s.log.Warn("smtp auth failed", "client", ss.ip.String(), "user", clean(name), "reason", why, "delay_ms", d.Milliseconds())
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ss.s.drain.Done():
	}
	return smtp.ErrAuthFailed
}

// loginServer is the server side of AUTH LOGIN (draft-murchison-sasl-login),
// which go-sasl does not provide: "Username:", then "Password:".
type loginServer struct {
	check func(user, pass string) error
	user  string
	step  int
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough // an initial response is the user name
	case 1:
		l.user = string(resp)
		l.step = 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, true, errors.New("unexpected AUTH LOGIN response")
}

// Mail implements smtp.Session: the sender must be one a route or the
// default profile may send as, and one the user may use.
func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.closing.Load() {
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "The relay is shutting down; try again later"}
	}
	if ss.needsAuth() {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	if from == "" {
		ss.refused(from, "a null sender (bounce) cannot be sent through Graph")
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "This relay does not send mail from the null sender <>"}
	}
	profile, ok := ss.s.cfg.Router.Profile(from)
	if !ok {
		ss.refused(from, "no route or default profile may send as this sender")
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: fmt.Sprintf("This relay may not send as <%s>", clean(from))}
	}
	if ss.user != nil && !ss.user.MayUse(from) {
		ss.refused(from, "outside the user's sender patterns")
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: fmt.Sprintf("User %s may not send as <%s>", clean(ss.user.Name), clean(from))}
	}
	ss.from, ss.profile = from, profile
	return nil
}

// refused logs a transaction refused at MAIL FROM.
func (ss *session) refused(from, why string) {
	ss.s.log.Warn("smtp message refused", "client", ss.ip.String(), "user", ss.userName(), "from", clean(from), "reply", 550, "reason", why)
}

func (ss *session) userName() string {
	if ss.user == nil {
		return ""
	}
	return ss.user.Name
}

// Rcpt implements smtp.Session.
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if _, err := mail.ParseAddress(to); err != nil {
		return &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: fmt.Sprintf("<%s> is not an address this relay can send to", clean(to))}
	}
	ss.rcpts = append(ss.rcpts, to)
	return nil
}

// Data implements smtp.Session: the message is checked (its From header
// must be a sender this client may use too), handed to the queue, and the
// reply follows what the queue says.
func (ss *session) Data(r io.Reader) error {
	if ss.c != nil {
		ss.c.busy.Store(true)
		defer ss.c.busy.Store(false)
	}
	start := time.Now()
	body := &countingReader{r: r}
	br := bufio.NewReaderSize(body, 32<<10)
	hdr, herr := readHeader(br)
	var reply *smtp.SMTPError
	var rc Receipt
	switch {
	case body.err != nil:
		reply = readReply(body.err)
	case herr != nil:
		reply = herr
	default:
		reply = ss.checkHeaderFrom(hdr)
	}
	if reply == nil {
		sub := Submission{
			Profile:    ss.profile,
			From:       ss.from,
			Recipients: append([]string(nil), ss.rcpts...),
			Data:       io.MultiReader(bytes.NewReader(hdr), br),
			Client:     ss.ip.String(),
			AuthUser:   ss.userName(),
		}
		var err error
		rc, err = ss.s.cfg.Queue.Submit(ss.s.drain, sub, ss.s.replyWait(ss.from))
		ss.s.noteWait(ss.from, rc, err)
		if body.err != nil {
			reply = readReply(body.err)
		} else {
			reply = replyFor(rc, err)
		}
	}
	attrs := []any{
		"client", ss.ip.String(), "tls", ss.tls, "user", ss.userName(), "profile", ss.profile,
		"from", clean(ss.from), "rcpts", len(ss.rcpts), "size", body.n,
		"id", rc.ID, "reply", reply.Code, "duration_ms", time.Since(start).Milliseconds(),
	}
	if reply.Code != 250 {
		attrs = append(attrs, "reason", reply.Message)
		ss.s.log.Warn("smtp message refused", attrs...)
	} else {
		ss.s.log.Info("smtp message accepted", attrs...)
	}
	return reply
}

// backlogFor is how long a sender's replies skip the wait after a wait
// ended with no attempt. It paces one SMTP connection's replies, so it is on
// the system clock like the connection deadlines, not the queue's Clock.
const backlogFor = 30 * time.Second

// replyWait is how long DATA waits for the first attempt for sender.
func (s *Server) replyWait(sender string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if until, ok := s.backlog[strings.ToLower(sender)]; ok && time.Now().Before(until) {
		return 0
	}
	return s.cfg.ReplyWait
}

// noteWait remembers whether the wait for sender ended with an attempt.
func (s *Server) noteWait(sender string, rc Receipt, err error) {
	if s.cfg.ReplyWait <= 0 {
		return
	}
	key := strings.ToLower(sender)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err == nil && rc.Queued && rc.Err == nil && rc.Outcome == flows.OutcomeTemporary:
		if _, ok := s.backlog[key]; ok || len(s.backlog) < 10000 {
			s.backlog[key] = time.Now().Add(backlogFor)
		}
	case err == nil:
		delete(s.backlog, key)
	}
}

// readHeader reads the header section (through the blank line) from br.
func readHeader(br *bufio.Reader) ([]byte, *smtp.SMTPError) {
	var hdr []byte
	for {
		line, err := br.ReadSlice('\n')
		hdr = append(hdr, line...)
		if len(hdr) > maxHeaderBytes {
			return nil, &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "The header section is larger than 256 KB"}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil || bytes.Equal(line, []byte("\r\n")) || bytes.Equal(line, []byte("\n")) {
			return hdr, nil
		}
	}
}

// checkHeaderFrom refuses a message whose From header names a sender that
// this client could not have given to MAIL FROM: Graph sends as the From
// header, so it must pass the same rules. A message with more than one
// From or Sender header is refused as malformed.
func (ss *session) checkHeaderFrom(hdr []byte) *smtp.SMTPError {
	h := hdr
	if !bytes.HasSuffix(h, []byte("\n\n")) && !bytes.HasSuffix(h, []byte("\n\r\n")) {
		h = append(append([]byte(nil), h...), "\r\n\r\n"...)
	}
	m, err := mail.ReadMessage(bytes.NewReader(h))
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "The message's header section cannot be read"}
	}
	// One of each (RFC 5322 section 3.6): with two, the check below would
	// see one and Graph might send as the other.
	for _, name := range []string{"From", "Sender"} {
		if len(m.Header[name]) > 1 {
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: fmt.Sprintf("The message has %d %s headers; one is allowed", len(m.Header[name]), name)}
		}
	}
	if m.Header.Get("From") == "" {
		return nil
	}
	list, err := m.Header.AddressList("From")
	if err != nil || len(list) == 0 {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "The From header is not a readable address"}
	}
	for _, a := range list {
		p, ok := ss.s.cfg.Router.Profile(a.Address)
		if !ok || p != ss.profile || (ss.user != nil && !ss.user.MayUse(a.Address)) {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: fmt.Sprintf("The From header <%s> is not a sender this relay may use for MAIL FROM <%s>", clean(a.Address), clean(ss.from))}
		}
	}
	return nil
}

// readReply is the reply when reading the message failed.
func readReply(err error) *smtp.SMTPError {
	switch {
	case errors.Is(err, smtp.ErrDataTooLarge):
		return smtp.ErrDataTooLarge
	case errors.Is(err, smtp.ErrTooLongLine):
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "A line of the message is longer than 64 KB"}
	}
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "The message could not be read; try again"}
}

// replyFor turns the queue's answer into the DATA reply.
func replyFor(rc Receipt, err error) *smtp.SMTPError {
	if err != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "The relay could not queue the message; try again later"}
	}
	if rc.Outcome.Permanent() {
		text := graphText(rc.Err)
		e := func(code int, ec smtp.EnhancedCode, what string) *smtp.SMTPError {
			return &smtp.SMTPError{Code: code, EnhancedCode: ec, Message: clean(what + ": " + text)}
		}
		switch rc.Outcome {
		case flows.OutcomeDenied:
			return e(550, smtp.EnhancedCode{5, 7, 1}, "Graph refused to send as this sender")
		case flows.OutcomeUnknownMailbox:
			return e(550, smtp.EnhancedCode{5, 1, 1}, "Graph does not know this mailbox")
		case flows.OutcomeTooLarge:
			return e(552, smtp.EnhancedCode{5, 3, 4}, "The message is too large")
		case flows.OutcomeBadMessage:
			return e(554, smtp.EnhancedCode{5, 6, 0}, "The message is malformed")
		case flows.OutcomeNeedsPermission:
			return e(554, smtp.EnhancedCode{5, 7, 1}, "The profile needs the Mail.ReadWrite permission for this message")
		}
		return e(554, smtp.EnhancedCode{5, 0, 0}, "Graph refused the message")
	}
	if rc.Queued || rc.Outcome == flows.OutcomeSent {
		if rc.Outcome == flows.OutcomeSent && !rc.Queued {
			return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Sent as " + clean(rc.ID)}
		}
		return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Queued as " + clean(rc.ID)}
	}
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "The message was not queued; try again later"}
}

// graphText is a refusal's code and message, for the SMTP reply.
func graphText(err error) string {
	var fe *flows.Error
	var ie *flows.InputError
	switch {
	case errors.As(err, &fe):
		msg := fe.Description
		if msg == "" {
			msg = fe.Message
		}
		if fe.Code != "" {
			return string(fe.Code) + ": " + msg
		}
		return msg
	case errors.As(err, &ie):
		return ie.Field + ": " + ie.Problem
	case err != nil:
		return err.Error()
	}
	return "no reason given"
}

// clean strips control characters from network text (addresses, Graph
// messages) before it reaches a reply or a log, and bounds its length.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

// countingReader counts bytes and keeps the first read error.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// errorLog sends go-smtp's internal errors to the logger.
type errorLog struct{ l *slog.Logger }

func (e errorLog) Printf(format string, v ...any) {
	e.l.Info("smtp connection error", "error", clean(fmt.Sprintf(format, v...)))
}

func (e errorLog) Println(v ...any) {
	e.l.Info("smtp connection error", "error", clean(fmt.Sprint(v...)))
}
