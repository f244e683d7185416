// Package flows talks to Entra ID and Microsoft Graph: it runs the grants that
// authorize a profile (authorization code with PKCE, device code, admin
// consent, client credentials), refreshes tokens and checks a profile's status.
// It knows nothing of the terminal UI; cmd and tui both call it.
//
//	env, _ := flows.NewEnv(flows.EnvOptions{Cloud: "global"})
//	flow, _ := flows.StartAuthCode(ctx, env, profile, flows.AuthCodeOptions{})
//	fmt.Println(flow.URL())
//	tok, err := flow.Wait(ctx)
package flows

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/mailgrant/mailgrant/flows/clock"
	"github.com/mailgrant/mailgrant/store"
)

// Cloud holds the hosts of one Microsoft cloud (reference §2).
type Cloud struct {
	// Name is global, usgov, usgovdod or china.
	Name string
	// LoginHost is Entra's sign-in host.
	LoginHost string
	// GraphHost is Microsoft Graph's host; scopes use it as the resource id.
	GraphHost string
	// Portal is the app-registration portal's host.
	Portal string
}

// Clouds lists the national clouds of reference §2, keyed by --cloud value.
var Clouds = map[string]Cloud{
	"global":   {Name: "global", LoginHost: "login.microsoftonline.com", GraphHost: "graph.microsoft.com", Portal: "portal.azure.com"},
	"usgov":    {Name: "usgov", LoginHost: "login.microsoftonline.us", GraphHost: "graph.microsoft.us", Portal: "portal.azure.us"},
	"usgovdod": {Name: "usgovdod", LoginHost: "login.microsoftonline.us", GraphHost: "dod-graph.microsoft.us", Portal: "portal.azure.us"},
	"china":    {Name: "china", LoginHost: "login.partner.microsoftonline.cn", GraphHost: "microsoftgraph.chinacloudapi.cn", Portal: "portal.azure.cn"},
}

// CloudNames lists the --cloud values in the order help shows them.
var CloudNames = []string{"global", "usgov", "usgovdod", "china"}

// Env is where requests go and how: the cloud, the base URLs (possibly
// overridden), the HTTP client and the clock. Build it with NewEnv.
type Env struct {
	// Cloud is the cloud whose resource id scopes use.
	Cloud Cloud
	// LoginURL is the scheme and host of Entra's endpoints, no trailing slash.
	LoginURL string
	// GraphURL is the scheme and host of Graph, no trailing slash.
	GraphURL string
	// HTTP is the client for every request; it has a timeout.
	HTTP *http.Client
	// Clock is the time source of every decision (expiry, retries, waits,
	// timestamps); nil means the system clock. Tests may replace it.
	Clock clock.Clock
	// Sandbox is true when the hosts are the embedded simulated tenant.
	Sandbox bool
	// loginOverride and graphOverride are the host overrides, kept so that
	// ForProfile can move to another cloud without losing them.
	loginOverride, graphOverride bool
	// RetryBase is the first wait before retrying a throttled (429) or
	// unavailable (503) request that gave no Retry-After; it doubles on each
	// retry. Zero means DefaultRetryBase.
	RetryBase time.Duration
}

// EnvOptions configure NewEnv.
type EnvOptions struct {
	// Cloud is global (the default), usgov, usgovdod or china.
	Cloud string
	// LoginHost overrides the cloud's login host (MAILGRANT_LOGIN_HOST); a host,
	// host:port, or URL. http:// is accepted only for loopback addresses.
	LoginHost string
	// GraphHost overrides the cloud's Graph host (MAILGRANT_GRAPH_HOST).
	GraphHost string
	// HTTP is the client to use; nil means a client with a 30 s timeout that
	// honours HTTPS_PROXY and NO_PROXY.
	HTTP *http.Client
	// Sandbox marks an Env that points at the embedded sandbox.
	Sandbox bool
}

// EnvFromEnvironment fills LoginHost and GraphHost from MAILGRANT_LOGIN_HOST
// and MAILGRANT_GRAPH_HOST where they are empty.
func (o EnvOptions) EnvFromEnvironment() EnvOptions {
	if o.LoginHost == "" {
		o.LoginHost = os.Getenv("MAILGRANT_LOGIN_HOST")
	}
	if o.GraphHost == "" {
		o.GraphHost = os.Getenv("MAILGRANT_GRAPH_HOST")
	}
	return o
}

// NewEnv checks the options and builds an Env.
func NewEnv(o EnvOptions) (*Env, error) {
	name := o.Cloud
	if name == "" {
		name = "global"
	}
	cloud, ok := Clouds[name]
	if !ok {
		return nil, &InputError{Field: "cloud", Problem: fmt.Sprintf("unknown cloud %q", name), Hint: "use one of " + strings.Join(CloudNames, ", ")}
	}
	login, err := baseURL("MAILGRANT_LOGIN_HOST", o.LoginHost, cloud.LoginHost)
	if err != nil {
		return nil, err
	}
	graph, err := baseURL("MAILGRANT_GRAPH_HOST", o.GraphHost, cloud.GraphHost)
	if err != nil {
		return nil, err
	}
	client := o.HTTP
	if client == nil {
		client = &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: 30 * time.Second},
		}
	}
	return &Env{Cloud: cloud, LoginURL: login, GraphURL: graph, HTTP: client, Clock: clock.System, Sandbox: o.Sandbox, RetryBase: DefaultRetryBase,
		loginOverride: o.LoginHost != "", graphOverride: o.GraphHost != ""}, nil
}

// Now is the Env's clock's time.
func (e *Env) Now() time.Time { return clock.Or(e.Clock).Now() }

// after is the Env's clock's time.After.
func (e *Env) after(d time.Duration) <-chan time.Time { return clock.Or(e.Clock).After(d) }

// baseURL turns a host override into scheme://host[:port], defaulting to
// https://def. http:// is accepted only for loopback hosts, so a typo can
// never send a secret in clear text across a network.
func baseURL(field, override, def string) (string, error) {
	if override == "" {
		return "https://" + def, nil
	}
	raw := override
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", &InputError{Field: field, Problem: fmt.Sprintf("%q is not a host", override), Hint: "give a host such as login.example.net, host:port, or https://host[:port]"}
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopbackHost(u.Hostname()) {
			return "", &InputError{Field: field, Problem: fmt.Sprintf("http:// is only allowed for loopback hosts, not %q", u.Hostname()), Hint: "use https://, or a 127.0.0.1 / ::1 / localhost address"}
		}
	default:
		return "", &InputError{Field: field, Problem: fmt.Sprintf("scheme %q is not supported", u.Scheme), Hint: "use https:// (or http:// for loopback)"}
	}
	return u.Scheme + "://" + u.Host, nil
}

// IsLoopbackHost reports whether host is localhost or a loopback IP.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// retryBase is RetryBase or its default.
func (e *Env) retryBase() time.Duration {
	if e.RetryBase > 0 {
		return e.RetryBase
	}
	return DefaultRetryBase
}

// ForProfile returns the Env for a profile's cloud: a profile made with
// --cloud usgov is always refreshed and checked in that cloud, whatever the
// --cloud of the command that uses it. Host overrides stay as they were.
func (e *Env) ForProfile(p store.Profile) *Env {
	c, ok := Clouds[p.Cloud]
	if p.Cloud == "" || !ok || c.Name == e.Cloud.Name {
		return e
	}
	n := *e
	n.Cloud = c
	if !e.loginOverride {
		n.LoginURL = "https://" + c.LoginHost
	}
	if !e.graphOverride {
		n.GraphURL = "https://" + c.GraphHost
	}
	return &n
}

// GraphResource is the resource id Graph scopes use in this cloud, such as
// https://graph.microsoft.com. A host override never changes it.
func (e *Env) GraphResource() string { return "https://" + e.Cloud.GraphHost }

// LoginEndpoint returns the URL of an Entra endpoint for a tenant, for
// example LoginEndpoint(t, "oauth2/v2.0/token").
func (e *Env) LoginEndpoint(tenant, path string) string {
	return e.LoginURL + "/" + url.PathEscape(tenant) + "/" + path
}

// GraphEndpoint returns the URL of a Graph v1.0 path such as "me".
func (e *Env) GraphEndpoint(path string) string {
	return e.GraphURL + "/v1.0/" + path
}

// InputError is a bad value in a field or flag: which field, what is wrong and
// how to fix it. Commands exit 2 on it.
type InputError struct {
	// Field is the flag or form field, such as "tenant" or "client-id".
	Field string
	// Problem says what is wrong with the value.
	Problem string
	// Hint says how to fix it.
	Hint string
	// Err is the cause, when there is one (errors.Is and As reach it).
	Err error
}

// Unwrap returns the cause.
func (e *InputError) Unwrap() error { return e.Err }

func (e *InputError) Error() string {
	if e.Hint == "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Problem)
	}
	return fmt.Sprintf("%s: %s (%s)", e.Field, e.Problem, e.Hint)
}
