package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/flows/relay"
	"github.com/mailgrant/mailgrant/store"
)

// relayOptions are the flags of `mailgrant relay`.
type relayOptions struct {
	global *globalOptions
	io     *streams

	listen        string
	listenTLS     string
	profile       string
	routes        []string
	maxSize       string
	spool         string
	users         string
	requireAuth   bool
	allowIPs      []string
	tlsCert       string
	tlsKey        string
	tlsSelfSigned bool

	maxConnections int
	maxRecipients  int
	replyWait      time.Duration

	maxQueueAge    time.Duration
	perMailboxRate int
	concurrency    int
	exactlyOnce    bool
	bounceTo       string
	metricsListen  string
	retryBase      time.Duration
}

// newRelayCmd builds `mailgrant relay` and `mailgrant relay passwd`; runF
// replaces relayRun in tests.
func newRelayCmd(s *streams, g *globalOptions, runF func(context.Context, *relayOptions) error) *cobra.Command {
	o := &relayOptions{global: g, io: s}
	cmd := &cobra.Command{
		Use:   "relay [flags]",
		Short: "Accept mail over SMTP from printers and apps and send it through Graph",
		Long: `Run an SMTP submission server for devices and programs that only speak SMTP
(printers, scanners, WordPress plugins, Nextcloud, Grafana, backup tools). Each
message is written to the spool (fsynced) before the 250 reply, then sent
through Microsoft Graph with the profile's authorization, paced per mailbox
and retried when Graph is throttled or down. Every RCPT TO gets the message and
nobody else: envelope-only recipients go as Bcc.

Which profile sends: the most specific --route whose pattern matches the
sender (an address, *@domain, *@*.domain or *), else the default profile
(--profile, or the only profile) when the sender is its account (delegated
profiles), an address of its account's domain (app-only) or one of its listed
mailboxes (rbac). Any other sender is refused at MAIL FROM with 550 5.7.1: the
relay is never open.

Who may use it: on a loopback address (the default 127.0.0.1:2525) local
clients need no AUTH unless --require-auth. Any other listen address needs TLS
(--tls-cert and --tls-key, or --tls-self-signed) and accounts (--users FILE,
made with "mailgrant relay passwd"); every non-loopback client must then
AUTH (PLAIN or LOGIN), which is offered only after STARTTLS. On a loopback
listener without TLS, AUTH is offered in clear when --users is given (the
password does not leave the machine). --listen-tls adds a listener with
implicit TLS (SMTPS, usually port 465) for devices that cannot STARTTLS; it
takes the same certificate and, off loopback, the same accounts. --allow-ip
limits client networks;
failed AUTH attempts are slowed down and, after 5 within 15 minutes, the
address is locked out for 15 minutes.

sendmail hands a message Graph could not take for now to the relay's spool
(and exits 0, "queued") instead of exiting 75, when the spool's relay.json
names the profile and someone delivers from the spool: a relay runs on it
(it holds spool/relay.lock) or "mailgrant queue run" ran within the last 10
minutes (run it from a timer when no relay runs).

When ready it prints "listening on smtps://HOST:PORT" (with --listen-tls),
then "listening on smtp://HOST:PORT" on standard error (the real port when 0
was asked), then one log line per message. On
SIGTERM or Ctrl-C it stops accepting, finishes the messages being received
(they stay spooled) and exits 0.`,
		Example: `  mailgrant relay --profile scanner
  mailgrant relay --listen 0.0.0.0:587 --tls-self-signed --users /etc/mailgrant/relay-users \
    --route '*@contoso.com=mailer' --route 'scanner@contoso.com=scanner'
  mailgrant relay --listen-tls 0.0.0.0:465 --tls-cert relay.pem --tls-key relay.key \
    --users /etc/mailgrant/relay-users --profile scanner
  mailgrant relay passwd --users /etc/mailgrant/relay-users printer --allow-from scanner@contoso.com`,
		Args: exactArgs(0, "no arguments (did you mean mailgrant relay passwd?)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return relayRun(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:2525", "HOST:PORT to listen on (port 0 picks a free one)")
	f.StringVar(&o.listenTLS, "listen-tls", "", "also listen on HOST:PORT with implicit TLS (SMTPS, usually 465; needs --tls-cert/--tls-key or --tls-self-signed)")
	f.StringVar(&o.profile, "profile", "", "the default profile (default: the only profile)")
	f.StringArrayVar(&o.routes, "route", nil, "PATTERN=PROFILE: send mail from senders matching PATTERN through PROFILE (repeatable; the most specific wins)")
	f.StringVar(&o.maxSize, "max-size", "35MB", "the largest message accepted, advertised with SIZE (the tenant's limit)")
	f.StringVar(&o.spool, "spool", "", "the queue directory (default: <config dir>/spool)")
	f.StringVar(&o.users, "users", "", "the accounts file for SMTP AUTH (see mailgrant relay passwd)")
	f.BoolVar(&o.requireAuth, "require-auth", false, "make loopback clients AUTH too")
	f.StringArrayVar(&o.allowIPs, "allow-ip", nil, "serve only clients in CIDR (repeatable), e.g. 192.168.1.0/24")
	f.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate chain for STARTTLS and --listen-tls")
	f.StringVar(&o.tlsKey, "tls-key", "", "PEM private key for STARTTLS and --listen-tls")
	f.BoolVar(&o.tlsSelfSigned, "tls-self-signed", false, "use a self-signed ECDSA certificate kept in <config dir>/relay-tls (its SHA-256 fingerprint is printed)")
	f.IntVar(&o.maxConnections, "max-connections", relay.DefaultMaxConnections, "the most concurrent SMTP connections")
	f.IntVar(&o.maxRecipients, "max-recipients", relay.DefaultMaxRecipients, "the most recipients per message (452 past it)")
	f.DurationVar(&o.replyWait, "reply-wait", relay.DefaultReplyWait, "how long DATA waits for the first delivery, so a refusal reaches the client (0: reply as soon as spooled)")
	f.DurationVar(&o.maxQueueAge, "max-queue-age", relay.DefaultMaxQueueAge, "how long a message is retried before it fails and is bounced")
	f.IntVar(&o.perMailboxRate, "per-mailbox-rate", relay.DefaultPerMailboxRate, "messages a minute per sending mailbox (Exchange Online allows 30)")
	f.IntVar(&o.concurrency, "concurrency", relay.DefaultConcurrency, "Graph deliveries in flight overall")
	f.BoolVar(&o.exactlyOnce, "exactly-once", false, "send through drafts so no crash sends a message twice (needs Mail.ReadWrite)")
	f.StringVar(&o.bounceTo, "bounce-to", "", "also send every bounce to ADDR (printers read no mail)")
	f.StringVar(&o.metricsListen, "metrics-listen", "", "HOST:PORT serving /healthz and Prometheus /metrics")
	// The first wait before a retry; tests (and impatient admins) shorten it.
	f.DurationVar(&o.retryBase, "retry-base", relay.DefaultRetryBase, "the wait after the first failed attempt; it doubles with each further one, with jitter")
	_ = f.MarkHidden("retry-base")
	cmd.AddCommand(newRelayPasswdCmd(s, g, nil))
	return cmd
}

// relayConfig is what relayRun needs, checked from the flags before any
// socket is opened.
type relayConfig struct {
	loopback bool
	maxSize  int64
	allowIPs []netip.Prefix
	routes   []relay.Route
	users    *relay.Users
	tlsHosts []string
	hasTLS   bool
	spoolDir string
}

// isLoopbackHost reports whether a listen host is a loopback address:
// localhost or a loopback IP. Host names are not resolved (they count as
// reachable from the network).
func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}

// check validates the flags; every problem is an InputError (exit 2).
func (o *relayOptions) check(configDir string) (*relayConfig, error) {
	c := &relayConfig{}
	host, err := listenHost("listen", o.listen, "for example --listen 127.0.0.1:2525, or 0.0.0.0:587 with TLS and --users")
	if err != nil {
		return nil, err
	}
	c.loopback = isLoopbackHost(host)
	if c.maxSize, err = flows.ParseSize(o.maxSize); err != nil {
		var ie *flows.InputError
		if errors.As(err, &ie) {
			return nil, &flows.InputError{Field: "max-size", Problem: ie.Problem, Hint: "give a size such as 35MB (the tenant's default limit) or 150MB (the most Exchange Online allows)"}
		}
		return nil, err
	}
	if c.maxSize > flows.MaxTenantMessageSize {
		return nil, &flows.InputError{Field: "max-size", Problem: fmt.Sprintf("%s is above Exchange Online's 150 MB ceiling", o.maxSize), Hint: "give at most 150MB, and only if the tenant's limit was raised"}
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return nil, &flows.InputError{Field: "tls-cert", Problem: "--tls-cert and --tls-key go together", Hint: "give both files, or --tls-self-signed"}
	}
	if o.tlsCert != "" && o.tlsSelfSigned {
		return nil, &flows.InputError{Field: "tls-self-signed", Problem: "--tls-self-signed cannot be used with --tls-cert", Hint: "choose your certificate or a self-signed one"}
	}
	hasTLS := o.tlsCert != "" || o.tlsSelfSigned
	if !c.loopback && (!hasTLS || o.users == "") {
		var missing, short []string
		if !hasTLS {
			short = append(short, "TLS")
		}
		if o.users == "" {
			short = append(short, "AUTH")
		}
		if !hasTLS {
			missing = append(missing, "TLS (--tls-cert FILE --tls-key FILE, or --tls-self-signed)")
		}
		if o.users == "" {
			missing = append(missing, "AUTH (--users FILE, accounts made with "+o.prefix()+" relay passwd --users FILE USER)")
		}
		return nil, &flows.InputError{
			Field:   "listen",
			Problem: fmt.Sprintf("%s is reachable from the network, and a relay there must not be open: it needs %s", o.listen, strings.Join(short, " and ")),
			Hint:    "add " + strings.Join(missing, " and ") + ", or listen on a loopback address such as 127.0.0.1:2525",
		}
	}
	hosts := []string{host}
	if o.listenTLS != "" {
		tlsHost, err := listenHost("listen-tls", o.listenTLS, "for example --listen-tls 0.0.0.0:465 with a certificate and --users")
		if err != nil {
			return nil, err
		}
		switch {
		case !hasTLS:
			return nil, &flows.InputError{Field: "listen-tls", Problem: "implicit TLS (SMTPS) needs a certificate", Hint: "add --tls-cert FILE --tls-key FILE, or --tls-self-signed"}
		case !isLoopbackHost(tlsHost) && o.users == "":
			return nil, &flows.InputError{
				Field:   "listen-tls",
				Problem: fmt.Sprintf("%s is reachable from the network, and a relay there must not be open: it needs AUTH", o.listenTLS),
				Hint:    "add AUTH (--users FILE, accounts made with " + o.prefix() + " relay passwd --users FILE USER), or listen on a loopback address such as 127.0.0.1:465",
			}
		}
		hosts = append(hosts, tlsHost)
	}
	if o.requireAuth && o.users == "" {
		return nil, &flows.InputError{Field: "require-auth", Problem: "--require-auth needs accounts", Hint: "add --users FILE (accounts made with " + o.prefix() + " relay passwd --users FILE USER)"}
	}
	if o.users != "" {
		u, err := relay.LoadUsers(o.users)
		if err != nil {
			return nil, &flows.InputError{Field: "users", Problem: err.Error(), Hint: "create or fix it with " + o.prefix() + " relay passwd --users " + o.users + " USER"}
		}
		if u.Len() == 0 {
			return nil, &flows.InputError{Field: "users", Problem: o.users + " has no account", Hint: "add one with " + o.prefix() + " relay passwd --users " + o.users + " USER"}
		}
		c.users = u
	}
	for _, s := range o.allowIPs {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			a, aerr := netip.ParseAddr(strings.TrimSpace(s))
			if aerr != nil {
				return nil, &flows.InputError{Field: "allow-ip", Problem: fmt.Sprintf("%q is not an address or CIDR network", s), Hint: "for example --allow-ip 192.168.1.0/24 or --allow-ip 10.0.0.7"}
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		c.allowIPs = append(c.allowIPs, p.Masked())
	}
	for _, s := range o.routes {
		r, err := relay.ParseRoute(s)
		if err != nil {
			return nil, &flows.InputError{Field: "route", Problem: err.Error(), Hint: "for example --route '*@contoso.com=mailer' or --route scanner@contoso.com=scanner"}
		}
		c.routes = append(c.routes, r)
	}
	if o.maxConnections < 1 || o.maxRecipients < 1 {
		return nil, &flows.InputError{Field: "max-connections", Problem: "--max-connections and --max-recipients must be at least 1", Hint: "leave them out for the defaults (100 and 500)"}
	}
	if o.perMailboxRate < 1 || o.concurrency < 1 || o.maxQueueAge <= 0 || o.replyWait < 0 {
		return nil, &flows.InputError{Field: "per-mailbox-rate", Problem: "--per-mailbox-rate, --concurrency and --max-queue-age must be positive, --reply-wait not negative", Hint: "leave them out for the defaults"}
	}
	if o.bounceTo != "" {
		if _, err := relay.ValidPattern(o.bounceTo); err != nil || strings.Contains(o.bounceTo, "*") {
			return nil, &flows.InputError{Field: "bounce-to", Problem: fmt.Sprintf("%q is not an address", o.bounceTo), Hint: "give the address that should read bounces, e.g. it@contoso.com"}
		}
	}
	c.spoolDir = o.spool
	if c.spoolDir == "" {
		c.spoolDir = relay.DefaultSpoolDir(configDir)
	}
	c.hasTLS = hasTLS
	for _, h := range hosts {
		if h == "" || h == "0.0.0.0" || h == "::" {
			if name, err := os.Hostname(); err == nil {
				c.tlsHosts = append(c.tlsHosts, name)
			}
			c.tlsHosts = append(c.tlsHosts, "localhost", "127.0.0.1")
		} else {
			c.tlsHosts = append(c.tlsHosts, h)
		}
	}
	slices.Sort(c.tlsHosts)
	c.tlsHosts = slices.Compact(c.tlsHosts)
	return c, nil
}

// listenHost checks a HOST:PORT flag and returns its host.
func listenHost(field, v, example string) (string, error) {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", &flows.InputError{Field: field, Problem: fmt.Sprintf("%q is not HOST:PORT", v), Hint: example}
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", &flows.InputError{Field: field, Problem: fmt.Sprintf("%q is not a port", port), Hint: "give a port from 0 (pick a free one) to 65535"}
	}
	return host, nil
}

// prefix is how the admin runs mailgrant, for printed commands.
func (o *relayOptions) prefix() string {
	return relayCommandPrefix(*o.global)
}

// relayCommandPrefix is (*app).commandPrefix before an app exists.
func relayCommandPrefix(g globalOptions) string {
	a := &app{opts: g}
	if !g.sandbox && sandboxFromEnv() {
		a.opts.sandbox = true
	}
	return a.commandPrefix()
}

// relayRun runs the relay until ctx ends (SIGTERM, Ctrl-C).
func relayRun(ctx context.Context, o *relayOptions) error {
	dir, err := store.DefaultDir(o.global.configDir, o.global.sandbox || sandboxFromEnv())
	if err != nil {
		return err
	}
	c, err := o.check(dir)
	if err != nil {
		return err
	}
	a, err := newApp(ctx, o.io, *o.global)
	if err != nil {
		return err
	}
	defer a.close()
	router, served, err := relayRouter(a, o.profile, c.routes)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(a.io.err, &slog.HandlerOptions{Level: slog.LevelInfo}))

	cfg := relay.Config{
		Router:         router,
		Users:          c.users,
		UsersFile:      o.users,
		InsecureAuth:   c.loopback && !c.hasTLS,
		RequireAuth:    o.requireAuth,
		AllowIPs:       c.allowIPs,
		MaxSize:        c.maxSize,
		MaxRecipients:  o.maxRecipients,
		MaxConnections: o.maxConnections,
		ReplyWait:      o.replyWait,
		Logger:         logger,
	}
	if o.replyWait == 0 {
		cfg.ReplyWait = -1
	}
	switch {
	case o.tlsCert != "":
		cert, err := relay.LoadCertificate(o.tlsCert, o.tlsKey)
		if err != nil {
			return &flows.InputError{Field: "tls-cert", Problem: err.Error(), Hint: "give a PEM certificate chain and its unencrypted PEM key"}
		}
		cfg.TLS = relay.TLSConfig(cert)
	case o.tlsSelfSigned:
		cert, made, err := relay.SelfSigned(filepath.Join(a.dir, "relay-tls"), c.tlsHosts, a.env.Now())
		if err != nil {
			return err
		}
		what := "kept"
		if made {
			what = "new"
		}
		fmt.Fprintf(a.io.err, "TLS certificate (self-signed, %s, in %s) SHA-256 fingerprint: %s\n", what, filepath.Join(a.dir, "relay-tls"), relay.Fingerprint(cert))
		cfg.TLS = relay.TLSConfig(cert)
	}

	var reg *prometheus.Registry
	if o.metricsListen != "" {
		reg = prometheus.NewRegistry()
	}
	dopts := relay.Options{
		Spool: c.spoolDir,
		Clock: a.env.Clock,
		Sender: &relay.GraphSender{
			LogDir: a.dir,
			Env:    a.env,
			Profile: func(name string) (store.Profile, flows.Secrets, error) {
				p, err := a.loadProfile(name)
				if err != nil {
					return p, nil, err
				}
				sec, err := a.secretsFor(p)
				return p, sec, err
			},
			Lock: store.ProfileLocker{Dir: a.dir},
		},
		PerMailboxRate: o.perMailboxRate,
		Concurrency:    o.concurrency,
		MaxQueueAge:    o.maxQueueAge,
		RetryBase:      o.retryBase,
		BounceTo:       o.bounceTo,
		ExactlyOnce:    o.exactlyOnce,
		MaxMessageSize: c.maxSize,
		Logger:         logger,
	}
	if reg != nil {
		dopts.Registerer = reg
	}
	q, err := relay.NewDelivery(dopts)
	if err != nil {
		return fmt.Errorf("open the spool %s: %w", c.spoolDir, err)
	}
	if err := relay.MarkServes(c.spoolDir, served); err != nil {
		logger.Warn("could not record the profiles this relay serves; sendmail will not hand messages over", "spool", c.spoolDir, "error", err.Error())
	}
	if release, err := relay.HoldServes(c.spoolDir); err != nil {
		logger.Warn("could not mark the spool as served while the relay runs; sendmail hands messages over only for 10 minutes after the start", "spool", c.spoolDir, "error", err.Error())
	} else {
		defer release()
	}
	cfg.Queue = q
	srv, err := relay.NewServer(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.listen, err)
	}
	var tln net.Listener
	if o.listenTLS != "" {
		if tln, err = net.Listen("tcp", o.listenTLS); err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s: %w", o.listenTLS, err)
		}
	}
	var metricsSrv *http.Server
	if o.metricsListen != "" {
		mln, err := net.Listen("tcp", o.metricsListen)
		if err != nil {
			ln.Close()
			if tln != nil {
				tln.Close()
			}
			return fmt.Errorf("listen on %s for metrics: %w", o.metricsListen, err)
		}
		metricsSrv = &http.Server{Handler: relay.Handler(reg, q.Health), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = metricsSrv.Serve(mln) }()
		logger.Info("metrics listening", "url", "http://"+mln.Addr().String()+"/metrics")
	}

	runCtx, stopDelivery := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = q.Run(runCtx)
	}()
	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	if tln != nil {
		go func() { serveErr <- srv.ServeTLS(tln) }()
	}
	logger.Info("relay ready", "senders", router.Describe(), "spool", c.spoolDir, "auth_users", c.users.Len(), "tls", cfg.TLS != nil)
	if tln != nil {
		fmt.Fprintf(a.io.err, "listening on smtps://%s\n", tln.Addr().String())
	}
	fmt.Fprintf(a.io.err, "listening on smtp://%s\n", ln.Addr().String())

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		runErr = fmt.Errorf("the SMTP server stopped: %w", err)
	}
	logger.Info("relay stopping")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutCtx)
	stopDelivery()
	wg.Wait()
	if metricsSrv != nil {
		_ = metricsSrv.Shutdown(shutCtx)
	}
	logger.Info("relay stopped")
	return runErr
}

// relayRouter builds the router from the profiles: the routes' profiles
// must exist, and the default profile is --profile or the only one. It
// returns the names of the profiles the relay serves.
func relayRouter(a *app, def string, routes []relay.Route) (*relay.Router, []string, error) {
	ps, err := store.LoadProfiles(a.dir)
	if err != nil {
		return nil, nil, err
	}
	servedSet := map[string]bool{}
	for _, r := range routes {
		if _, ok := ps.Get(r.Profile); !ok {
			return nil, nil, &flows.InputError{Field: "route", Problem: fmt.Sprintf("%s routes to %q, and there is no such profile", r.Pattern, r.Profile), Hint: a.profileNamesHint(ps)}
		}
		servedSet[r.Profile] = true
	}
	var defPatterns []string
	switch {
	case def != "":
		p, ok := ps.Get(def)
		if !ok {
			return nil, nil, &flows.InputError{Field: "profile", Problem: fmt.Sprintf("no profile named %q", def), Hint: a.profileNamesHint(ps)}
		}
		defPatterns = relay.SendAsPatterns(p)
	case len(ps.List) == 1:
		def = ps.List[0].Name
		defPatterns = relay.SendAsPatterns(ps.List[0])
	case len(routes) == 0:
		return nil, nil, &flows.InputError{Field: "profile", Problem: "no profile chosen to send with", Hint: "give --profile NAME or --route PATTERN=PROFILE; " + a.profileNamesHint(ps)}
	}
	if def != "" {
		servedSet[def] = true
	}
	if len(routes) == 0 && len(defPatterns) == 0 {
		return nil, nil, &flows.InputError{Field: "profile", Problem: fmt.Sprintf("profile %q has no account, so the relay would know no sender it may send as", def), Hint: "name the senders with --route PATTERN=" + def + " (for example --route '*@contoso.com=" + def + "')"}
	}
	r, err := relay.NewRouter(routes, def, defPatterns)
	if err != nil {
		return nil, nil, err
	}
	var served []string
	for n := range servedSet {
		served = append(served, n)
	}
	return r, served, nil
}

// relayPasswdOptions are the flags of `mailgrant relay passwd`.
type relayPasswdOptions struct {
	io        *streams
	global    *globalOptions
	users     string
	user      string
	allowFrom []string
	remove    bool
}

// newRelayPasswdCmd builds `mailgrant relay passwd --users FILE USER`.
func newRelayPasswdCmd(s *streams, g *globalOptions, runF func(*relayPasswdOptions) error) *cobra.Command {
	o := &relayPasswdOptions{io: s, global: g}
	cmd := &cobra.Command{
		Use:   "passwd --users FILE USER",
		Short: "Add an SMTP account to the relay's users file, or change its password",
		Long: `Set the password of an SMTP account in the relay's users file (created when
missing, written atomically with mode 0600). The password is read from standard
input when it is not a terminal (the first line), else asked for twice without
echo; it is stored as an argon2id hash, never in clear. --allow-from limits
the senders the account may use (repeatable; an address, *@domain or
*@*.domain); without it an existing account keeps its limits. --delete
removes the account. A running relay reads the file again when it changes.`,
		Example: `  mailgrant relay passwd --users /etc/mailgrant/relay-users printer --allow-from scanner@contoso.com
  printf '%s\n' "$PASSWORD" | mailgrant relay passwd --users relay-users wordpress --allow-from '*@contoso.com'`,
		Args: exactArgs(1, "one USER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.user = args[0]
			if o.users == "" {
				return &flows.InputError{Field: "users", Problem: "no users file given", Hint: "give --users FILE (the file the relay reads with --users)"}
			}
			if runF != nil {
				return runF(o)
			}
			return relayPasswdRun(o)
		},
	}
	cmd.Flags().StringVar(&o.users, "users", "", "the users file")
	cmd.Flags().StringArrayVar(&o.allowFrom, "allow-from", nil, "a sender pattern the account may use (repeatable)")
	cmd.Flags().BoolVar(&o.remove, "delete", false, "remove the account")
	return cmd
}

// minPasswordLen is the shortest password accepted.
const minPasswordLen = 8

// relayPasswdRun adds, changes or removes an account.
func relayPasswdRun(o *relayPasswdOptions) error {
	users, err := relay.LoadUsers(o.users)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			var ue *relay.UsersFileError
			if errors.As(err, &ue) && ue.Line > 0 {
				return &flows.InputError{Field: "users", Problem: err.Error(), Hint: "fix or remove that line, then run this again"}
			}
			if _, serr := os.Stat(o.users); serr == nil || !errors.Is(serr, os.ErrNotExist) {
				return &flows.InputError{Field: "users", Problem: err.Error(), Hint: "check the path and its permissions"}
			}
		}
		users = &relay.Users{}
	}
	if o.remove {
		if _, ok := users.Lookup(o.user); !ok {
			return &flows.InputError{Field: "user", Problem: fmt.Sprintf("there is no account %q in %s", o.user, o.users), Hint: "list the accounts with: grep -v '^#' " + shellQuote(o.users) + " | cut -d: -f1"}
		}
		users.Delete(o.user)
		if err := relay.WriteUsers(o.users, users); err != nil {
			return err
		}
		fmt.Fprintf(o.io.err, "removed %s from %s\n", o.user, o.users)
		return nil
	}
	u := relay.User{Name: o.user}
	if err := relay.ValidUserName(o.user); err != nil {
		return &flows.InputError{Field: "user", Problem: err.Error(), Hint: "use letters, digits and . _ - @ (no colon or space)"}
	}
	if old, ok := users.Lookup(o.user); ok {
		u.AllowFrom = old.AllowFrom
	}
	if len(o.allowFrom) > 0 {
		u.AllowFrom = nil
		for _, p := range o.allowFrom {
			v, err := relay.ValidPattern(p)
			if err != nil {
				return &flows.InputError{Field: "allow-from", Problem: err.Error(), Hint: "for example --allow-from scanner@contoso.com or --allow-from '*@contoso.com'"}
			}
			u.AllowFrom = append(u.AllowFrom, v)
		}
	}
	pass, err := readNewPassword(o.io, o.user)
	if err != nil {
		return err
	}
	if u.Hash, err = relay.HashPassword(pass); err != nil {
		return err
	}
	users.Set(u)
	if err := relay.WriteUsers(o.users, users); err != nil {
		return err
	}
	limits := "any sender the relay routes"
	if len(u.AllowFrom) > 0 {
		limits = strings.Join(u.AllowFrom, ", ")
	}
	fmt.Fprintf(o.io.err, "saved %s in %s (may send as: %s); a running relay reads it at the next login\n", o.user, o.users, limits)
	return nil
}

// readNewPassword reads a password: the first line of a standard input that
// is not a terminal, or a masked prompt, twice.
func readNewPassword(s *streams, user string) (string, error) {
	var pass string
	if !isTerminal(s.in) {
		line, err := bufio.NewReader(s.in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the password: %w", err)
		}
		pass = strings.TrimRight(line, "\r\n")
	} else {
		fd := s.in.(interface{ Fd() uintptr }).Fd()
		ask := func(prompt string) (string, error) {
			fmt.Fprint(s.err, prompt)
			b, err := term.ReadPassword(fd)
			fmt.Fprintln(s.err)
			if err != nil {
				return "", fmt.Errorf("read the password: %w", err)
			}
			return string(b), nil
		}
		p1, err := ask("Password for " + user + ": ")
		if err != nil {
			return "", err
		}
		p2, err := ask("Again: ")
		if err != nil {
			return "", err
		}
		if p1 != p2 {
			return "", &flows.InputError{Field: "password", Problem: "the two passwords differ", Hint: "run the command again and type the same password twice"}
		}
		pass = p1
	}
	if len(pass) < minPasswordLen {
		return "", &flows.InputError{Field: "password", Problem: fmt.Sprintf("the password is shorter than %d characters", minPasswordLen), Hint: "choose a longer one; a device stores it, so it can be long and random"}
	}
	return pass, nil
}
