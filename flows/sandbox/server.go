// Package sandbox is an in-process simulated tenant: Entra ID's v2 endpoints
// (discovery, authorize with a small sign-in page, token, devicecode, admin
// consent) and Microsoft Graph's /me, /users, sendMail, drafts and
// attachment upload sessions (with Graph's 4 MB request limit and Exchange's
// per-mailbox limits), with users and app registrations ready for every
// mailgrant scenario. With a StateDir, each sent message is also written to
// StateDir/outbox as an .eml file. mailgrant --sandbox runs
// it on a loopback port, and the tests of every package use it. It follows
// the success and error shapes of reference/entra-graph.md; where Microsoft's
// documentation is silent, the sandbox says so in a comment.
//
// Point both MAILGRANT_LOGIN_HOST and MAILGRANT_GRAPH_HOST at URL():
//
//	srv, err := sandbox.Start(sandbox.Options{Faults: sandbox.FaultsFromEnv()})
//	if err != nil { … }
//	defer srv.Close()
//	os.Setenv("MAILGRANT_LOGIN_HOST", srv.URL())
//	os.Setenv("MAILGRANT_GRAPH_HOST", srv.URL())
//
// The package imports no other package of mailgrant but the leaf
// flows/clock, the time source it shares with the code under test.
package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/mailgrant/mailgrant/flows/clock"
)

// Options configure a sandbox Server. The zero value is a working tenant
// that keeps its state in memory.
type Options struct {
	// Faults are fault switches (see FaultNames); nil means none. Callers
	// usually pass FaultsFromEnv().
	Faults []string
	// StateDir, when set, keeps the tenant's persistent state (admin
	// consents, uploaded certificates, revocations) in StateDir/StateFile so
	// that separate processes see the same tenant. "" keeps it in memory.
	StateDir string
	// Clock is the tenant's clock (token lifetimes, device-code expiry,
	// per-minute limits); nil means the system clock. A test that gives
	// mailgrant's Env the same clock moves both at once.
	Clock clock.Clock
	// DeviceInterval is the polling interval, in seconds, that the device
	// code endpoint returns; 0 means 5.
	DeviceInterval int
	// GraphLatency is added to every Graph request (for benchmarks).
	GraphLatency time.Duration
	// ThrottleEvery makes every Nth Graph request fail with 429 while the
	// fault "throttle" is on; 0 means 2.
	ThrottleEvery int
	// MaxRequestBytes is the largest Graph request body; larger ones get
	// 413. 0 means DefaultMaxRequestBytes (4 MiB).
	MaxRequestBytes int64
	// MailboxConcurrency is how many Graph requests one app may have in
	// flight on one mailbox; more get 429. 0 means
	// DefaultMailboxConcurrency (4); negative means no limit.
	MailboxConcurrency int
	// MailboxSendsPerMinute is how many messages one mailbox may send a
	// minute; more get 429 with Retry-After. 0 means
	// DefaultMailboxSendsPerMinute (30); negative means no limit.
	MailboxSendsPerMinute int
	// UploadSessionTTL is how long an upload session stays valid after
	// its last chunk; 0 means 15 minutes.
	UploadSessionTTL time.Duration
	// MaxMessageBytes is the largest message a mailbox sends (Exchange
	// Online's maximum message size); a draft over it is refused at send
	// with ErrorMessageSizeExceeded. 0 means DefaultMaxMessageBytes
	// (35 MB); negative means no limit.
	MaxMessageBytes int64
	// MailboxUploadBytes is how many request-body bytes (POST, PATCH,
	// PUT, upload chunks included) one app may send to one mailbox in
	// five minutes; past it requests get 429 with Retry-After. 0 means
	// DefaultMailboxUploadBytes (150 MB); negative means no limit.
	MailboxUploadBytes int64
}

// Server is a simulated tenant. It is an http.Handler serving both the login
// paths (/{tenant}/oauth2/v2.0/…, /{tenant}/v2.0/…) and the Graph paths
// (/v1.0/…), so one URL stands for both hosts. Build it with New (and serve
// it yourself, e.g. with httptest.NewServer and SetURL) or with Start. It is
// safe for concurrent use.
type Server struct {
	opts  Options
	state *stateStore

	mu        sync.Mutex
	url       string
	faults    faultSet
	codes     map[string]*authCode
	devices   map[string]*deviceGrant // by device_code
	userCodes map[string]string       // user_code → device_code
	jtis      map[string]time.Time    // client assertion IDs seen, with their expiry
	redeemed  map[string]bool         // refresh tokens redeemed, for FaultSingleUseRefresh
	sent      []SentMessage
	counts    map[string]int
	graphN    int
	inflight  map[string]int          // app/mailbox → Graph requests in flight
	sendTimes map[string][]time.Time  // mailbox → its sends of the last minute
	uploaded  map[string][]uploadMark // app/mailbox → bytes sent in the last five minutes
	drafts    map[string]*draft       // by id
	uploads   map[string]*uploadSession
	blobs     *blobStore

	httpSrv *http.Server
	done    chan struct{}
}

// New returns a Server for opts. It does not listen; use Start for that, or
// serve it with an http.Server or httptest.Server and call SetURL.
func New(opts Options) *Server {
	if opts.DeviceInterval <= 0 {
		opts.DeviceInterval = 5
	}
	if opts.ThrottleEvery <= 0 {
		opts.ThrottleEvery = 2
	}
	return &Server{
		opts:      opts,
		state:     newStateStore(opts.StateDir),
		faults:    newFaultSet(opts.Faults),
		codes:     map[string]*authCode{},
		devices:   map[string]*deviceGrant{},
		userCodes: map[string]string{},
		jtis:      map[string]time.Time{},
		counts:    map[string]int{},
		inflight:  map[string]int{},
		sendTimes: map[string][]time.Time{},
		uploaded:  map[string][]uploadMark{},
		drafts:    map[string]*draft{},
		uploads:   map[string]*uploadSession{},
		blobs:     newBlobStore(opts.StateDir),
	}
}

// Start builds a Server with New, listens on 127.0.0.1 at a free port and
// serves in a goroutine until Close.
func Start(opts Options) (*Server, error) {
	s := New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	s.SetURL("http://" + ln.Addr().String())
	s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		_ = s.httpSrv.Serve(ln)
	}()
	return s, nil
}

// URL returns the server's base URL, such as http://127.0.0.1:PORT, with no
// trailing slash: the value for MAILGRANT_LOGIN_HOST and
// MAILGRANT_GRAPH_HOST. It is "" for a Server from New until SetURL.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// SetURL tells the server its own base URL (for example an
// httptest.Server's URL); pages, discovery and the device code's
// verification_uri use it. Until it is set, the request's Host is used.
func (s *Server) SetURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.url = strings.TrimRight(u, "/")
}

// Close stops a server started with Start, waiting briefly for requests in
// flight. It does nothing for a Server from New.
func (s *Server) Close() error {
	if s.httpSrv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.httpSrv.Shutdown(ctx)
	if err != nil {
		err = s.httpSrv.Close()
	}
	<-s.done
	return err
}

// RequestCount returns how many requests so far had a path starting with
// pathPrefix, such as "/organizations/oauth2/v2.0/token" or "/v1.0/".
func (s *Server) RequestCount(pathPrefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p, c := range s.counts {
		if strings.HasPrefix(p, pathPrefix) {
			n += c
		}
	}
	return n
}

// now reads the configured clock.
func (s *Server) now() time.Time {
	return clock.Or(s.opts.Clock).Now()
}

// baseURL is the URL pages and discovery point at: URL() if set, else the
// request's own scheme and host.
func (s *Server) baseURL(r *http.Request) string {
	if u := s.URL(); u != "" {
		return u
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// ServeHTTP routes a request to the login, Graph, device-login or portal
// handlers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts[r.URL.Path]++
	s.mu.Unlock()
	w.Header().Set("X-Sandbox", "mailgrant simulated tenant")

	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/" || r.URL.Path == "":
		s.serveIndex(w, r)
		return
	case strings.EqualFold(segs[0], "v1.0"):
		s.serveGraph(w, r, segs[1:])
		return
	case len(segs) == 2 && segs[0] == "oidc" && segs[1] == "userinfo":
		s.serveUserInfo(w, r)
		return
	case segs[0] == "devicelogin" && len(segs) == 1:
		s.serveDeviceLogin(w, r)
		return
	case segs[0] == "upload":
		s.serveUpload(w, r, segs[1:])
		return
	case segs[0] == "sandbox":
		s.servePortal(w, r, segs[1:])
		return
	}
	tenant := segs[0]
	rest := strings.ToLower(strings.Join(segs[1:], "/"))
	type route struct {
		html    bool // errors are pages, not JSON
		handler func(http.ResponseWriter, *http.Request, string, tenantKind)
	}
	routes := map[string]route{
		"oauth2/v2.0/authorize":                 {html: true, handler: s.serveAuthorize},
		"oauth2/v2.0/token":                     {handler: s.serveToken},
		"oauth2/v2.0/devicecode":                {handler: s.serveDeviceCode},
		"oauth2/v2.0/logout":                    {html: true, handler: s.serveLogout},
		"v2.0/adminconsent":                     {html: true, handler: s.serveAdminConsent},
		"adminconsent":                          {html: true, handler: s.serveAdminConsent},
		"v2.0/.well-known/openid-configuration": {handler: s.serveDiscovery},
		"discovery/v2.0/keys":                   {handler: s.serveKeys},
	}
	rt, ok := routes[rest]
	if !ok {
		http.NotFound(w, r)
		return
	}
	kind := resolveTenant(tenant)
	if kind == tenantUnknown {
		e := oauthErr("invalid_request", 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", safeText(tenant))
		if rt.html {
			s.renderError(w, r, e)
		} else {
			s.writeOAuthError(w, r, e)
		}
		return
	}
	rt.handler(w, r, tenant, kind)
}

// safeText keeps a value from a request printable and short enough to echo
// in an error: it is never a secret (callers only pass ids and names).
func safeText(v string) string {
	if len(v) > 80 {
		v = v[:80] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, v)
}

// oauthError is an Entra error: the OAuth error class, the AADSTS number and
// the description's text (without the AADSTS prefix and trace lines).
type oauthError struct {
	Status int
	Err    string
	Code   int
	Text   string
	// RetryAfter, when set, is sent as a Retry-After header in seconds.
	RetryAfter int
}

func (e *oauthError) Error() string { return fmt.Sprintf("%s: AADSTS%d: %s", e.Err, e.Code, e.Text) }

// oauthErr builds an oauthError; the status follows the error class
// (invalid_client 401, temporarily_unavailable 503, others 400).
func oauthErr(class string, code int, format string, args ...any) *oauthError {
	status := http.StatusBadRequest
	switch class {
	case "invalid_client":
		status = http.StatusUnauthorized
	case "temporarily_unavailable":
		status = http.StatusServiceUnavailable
	}
	return &oauthError{Status: status, Err: class, Code: code, Text: fmt.Sprintf(format, args...)}
}

// guidPattern matches a GUID; client-request-id is echoed only if it is one.
var guidPattern = &lazyRegexp{expr: `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`}

// lazyRegexp compiles its expression on first use, not in init: only a run
// with --sandbox needs it.
type lazyRegexp struct {
	expr string
	once sync.Once
	re   *regexp.Regexp
}

// MatchString reports whether s matches the expression.
func (l *lazyRegexp) MatchString(s string) bool {
	l.once.Do(func() { l.re = regexp.MustCompile(l.expr) })
	return l.re.MatchString(s)
}

// correlationID is the request's client-request-id if it is a GUID, else a
// fresh one.
func correlationID(r *http.Request) string {
	if id := r.Header.Get("client-request-id"); guidPattern.MatchString(id) {
		return id
	}
	return randomID()
}

// aadTimestamp formats a time the way Entra's errors do.
func aadTimestamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// aadErrorBody is the token endpoint's error JSON (reference §8).
type aadErrorBody struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes"`
	Timestamp     string `json:"timestamp"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
	ErrorURI      string `json:"error_uri"`
}

// errorBody renders e with fresh trace IDs.
func (s *Server) errorBody(r *http.Request, e *oauthError) aadErrorBody {
	now := s.now()
	trace, corr := randomID(), correlationID(r)
	return aadErrorBody{
		Error: e.Err,
		Description: fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			e.Code, e.Text, trace, corr, aadTimestamp(now)),
		ErrorCodes:    []int{e.Code},
		Timestamp:     aadTimestamp(now),
		TraceID:       trace,
		CorrelationID: corr,
		ErrorURI:      fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", e.Code),
	}
}

// writeOAuthError answers with e in Entra's JSON shape.
func (s *Server) writeOAuthError(w http.ResponseWriter, r *http.Request, e *oauthError) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(e.RetryAfter))
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="sandbox"`)
	}
	writeJSON(w, e.Status, s.errorBody(r, e))
}

// writeJSON writes v as a JSON response that must not be cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serveDiscovery answers the OpenID Connect discovery document, with every
// endpoint on the sandbox.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request, tenant string, kind tenantKind) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	base := s.baseURL(r)
	issuerTenant := "{tenantid}"
	switch kind {
	case tenantOwn:
		issuerTenant = TenantID
	case tenantConsumers:
		issuerTenant = ConsumersTenantID
	}
	t := tenant
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/" + t + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/" + t + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"HS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                base + "/" + issuerTenant + "/v2.0",
		"request_uri_parameter_supported":       false,
		"userinfo_endpoint":                     base + "/oidc/userinfo",
		"authorization_endpoint":                base + "/" + t + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/" + t + "/oauth2/v2.0/devicecode",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"end_session_endpoint":                  base + "/" + t + "/oauth2/v2.0/logout",
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "preferred_username", "name", "tid", "ver", "oid"},
		"tenant_region_scope":                   "WW",
		"cloud_instance_name":                   "microsoftonline.com",
		"cloud_graph_host_name":                 "graph.windows.net",
		"msgraph_host":                          "graph.microsoft.com",
		"rbac_url":                              "https://pas.windows.net",
	})
}

// serveKeys answers the JWKS document. Sandbox tokens are signed with a
// symmetric key, so there is no public key to publish.
func (s *Server) serveKeys(w http.ResponseWriter, r *http.Request, _ string, _ tenantKind) {
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{}})
}

// servePortal serves the simulated app-registration portal:
// POST /sandbox/apps/{clientID}/certificates with a PEM (or DER) certificate
// body uploads it to the app.
func (s *Server) servePortal(w http.ResponseWriter, r *http.Request, segs []string) {
	if len(segs) != 3 || segs[0] != "apps" || segs[2] != "certificates" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := readLimited(w, r, 1<<20)
	if err != nil {
		return
	}
	ders := parsePEMCertificates(body)
	if len(ders) == 0 {
		http.Error(w, "no certificate in the request body", http.StatusBadRequest)
		return
	}
	for _, der := range ders {
		if err := s.UploadCertificate(segs[1], der); err != nil {
			status := http.StatusBadRequest
			if _, ok := appByID(segs[1]); !ok {
				status = http.StatusNotFound
			}
			http.Error(w, err.Error(), status)
			return
		}
	}
	certs, _ := s.certificates(segs[1])
	type certInfo struct {
		Thumbprint       string    `json:"thumbprint"`
		ThumbprintSHA256 string    `json:"thumbprint_sha256"`
		Subject          string    `json:"subject"`
		NotAfter         time.Time `json:"not_after"`
	}
	var out []certInfo
	for _, c := range certs {
		out = append(out, certInfo{Thumbprint: c.SHA1, ThumbprintSHA256: c.SHA256, Subject: c.Subject, NotAfter: c.NotAfter})
	}
	writeJSON(w, http.StatusCreated, map[string]any{"client_id": segs[1], "certificates": out})
}

// errTooLarge is returned by readLimited when the body is over its cap.
var errTooLarge = errors.New("request body too large")

// readLimited reads at most limit bytes of the body; on a larger body it
// answers 413 and returns errTooLarge.
func readLimited(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := readAllLimit(r, limit)
	if errors.Is(err, errTooLarge) {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
	} else if err != nil {
		http.Error(w, "cannot read the request body", http.StatusBadRequest)
	}
	return b, err
}

// readAllLimit reads the body, failing with errTooLarge past limit bytes.
func readAllLimit(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, errTooLarge
	}
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, errTooLarge
	}
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}
