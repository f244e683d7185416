package relay

import (
	"fmt"
	"net/mail"
	"sort"
	"strings"
	"unicode"

	"github.com/mailgrant/mailgrant/flows"
	"github.com/mailgrant/mailgrant/store"
)

// A sender pattern names the senders a route, a user or a profile covers:
// an address (scanner@contoso.com), every address of a domain
// (*@contoso.com), every address of a domain's subdomains
// (*@*.contoso.com), or every address (*). Matching ignores case.

// ValidPattern checks a sender pattern and returns it lower-cased.
func ValidPattern(p string) (string, error) {
	p = strings.ToLower(strings.TrimSpace(p))
	if p == "*" {
		return p, nil
	}
	local, domain, ok := strings.Cut(p, "@")
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%q is not a sender pattern (%s); use user@example.com, *@example.com, *@*.example.com or *", p, why)
	}
	switch {
	case !ok || local == "" || domain == "":
		return bad("it needs one @ with something on each side")
	case strings.ContainsAny(p, " \t,=<>\"") || strings.IndexFunc(p, unicode.IsControl) >= 0:
		return bad("no spaces, commas, =, quotes or angle brackets")
	case strings.Count(p, "@") > 1:
		return bad("more than one @")
	case strings.Contains(local, "*") && local != "*":
		return bad("* stands for a whole local part")
	case strings.Contains(strings.TrimPrefix(domain, "*."), "*"):
		return bad("* in a domain may only start it, as *.example.com")
	case domain == "*":
		return bad("a domain cannot be * alone")
	}
	return p, nil
}

// MatchPattern reports whether the address addr (user@domain) is covered
// by the valid pattern p.
func MatchPattern(p, addr string) bool {
	addr = strings.ToLower(addr)
	if p == "*" {
		return strings.Contains(addr, "@")
	}
	pl, pd, _ := strings.Cut(p, "@")
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 {
		return false
	}
	al, ad := addr[:i], addr[i+1:]
	if pl != "*" && pl != al {
		return false
	}
	if sub, ok := strings.CutPrefix(pd, "*."); ok {
		return strings.HasSuffix(ad, "."+sub)
	}
	return pd == ad
}

// specificity orders patterns: an address beats a domain, a domain beats
// its subdomains, and those beat *; longer literal text beats shorter.
func specificity(p string) int {
	switch {
	case p == "*":
		return 0
	case !strings.Contains(p, "*"):
		return 3000 + len(p)
	case strings.HasPrefix(p, "*@*."):
		return 1000 + len(p)
	}
	return 2000 + len(p)
}

// Route sends mail from senders matching Pattern through Profile.
type Route struct {
	// Pattern is a sender pattern (see ValidPattern).
	Pattern string
	// Profile is the name of the mailgrant profile that sends it.
	Profile string
}

// ParseRoute reads a --route value, PATTERN=PROFILE.
func ParseRoute(s string) (Route, error) {
	pat, prof, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(prof) == "" {
		return Route{}, fmt.Errorf("%q is not PATTERN=PROFILE (for example *@contoso.com=mailer)", s)
	}
	p, err := ValidPattern(pat)
	if err != nil {
		return Route{}, err
	}
	return Route{Pattern: p, Profile: strings.TrimSpace(prof)}, nil
}

// SendAsPatterns are the senders a profile may send as when no route names
// them: a delegated profile sends as its account; an app-only one as any
// address of its account's domain (other domains of the tenant need a
// --route), and an rbac one with listed mailboxes as those.
func SendAsPatterns(p store.Profile) []string {
	acct := strings.ToLower(strings.TrimSpace(p.Account))
	if p.Scenario.Delegated() {
		if acct == "" {
			return nil
		}
		return []string{acct}
	}
	if p.Scenario == store.RBAC && len(p.RBACMailboxes) > 0 {
		var out []string
		for _, m := range p.RBACMailboxes {
			if v, err := ValidPattern(m); err == nil {
				out = append(out, v)
			}
		}
		return out
	}
	if _, domain, ok := strings.Cut(acct, "@"); ok && domain != "" {
		return []string{"*@" + domain}
	}
	return nil
}

// Router picks the profile that sends a sender's mail: the most specific
// --route whose pattern matches, else the default profile when the sender
// is one it may send as. Anything else is refused: the relay is never open.
type Router struct {
	routes     []Route
	def        string
	defPattern []string
}

// NewRouter builds a Router from the routes (any order) and the default
// profile with the patterns it may send as ("" for no default).
func NewRouter(routes []Route, defaultProfile string, defaultPatterns []string) (*Router, error) {
	seen := map[string]string{}
	rs := append([]Route(nil), routes...)
	for _, r := range rs {
		if prev, ok := seen[r.Pattern]; ok && prev != r.Profile {
			return nil, &flows.InputError{Field: "route", Problem: fmt.Sprintf("%s is routed to both %s and %s", r.Pattern, prev, r.Profile), Hint: "give each pattern one --route"}
		}
		seen[r.Pattern] = r.Profile
	}
	sort.SliceStable(rs, func(i, j int) bool { return specificity(rs[i].Pattern) > specificity(rs[j].Pattern) })
	return &Router{routes: rs, def: defaultProfile, defPattern: defaultPatterns}, nil
}

// Profile returns the profile that sends mail from sender, or false when
// no route or default profile may send as it.
func (r *Router) Profile(sender string) (string, bool) {
	a, err := mail.ParseAddress(sender)
	if err != nil {
		return "", false
	}
	for _, rt := range r.routes {
		if MatchPattern(rt.Pattern, a.Address) {
			return rt.Profile, true
		}
	}
	if r.def == "" {
		return "", false
	}
	for _, p := range r.defPattern {
		if MatchPattern(p, a.Address) {
			return r.def, true
		}
	}
	return "", false
}

// Describe says which senders the router accepts, for the start-up log.
func (r *Router) Describe() string {
	var parts []string
	for _, rt := range r.routes {
		parts = append(parts, rt.Pattern+" -> "+rt.Profile)
	}
	if r.def != "" {
		for _, p := range r.defPattern {
			parts = append(parts, p+" -> "+r.def)
		}
	}
	if len(parts) == 0 {
		return "no sender"
	}
	return strings.Join(parts, ", ")
}
