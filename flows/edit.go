package flows

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mailgrant/mailgrant/store"
)

// EditNeed is what a change to a profile needs before it can be kept.
type EditNeed int

// What an edit needs, least first.
const (
	// NeedNothing: the change is mailgrant's own (From, Reply-To) and is
	// saved at once.
	NeedNothing EditNeed = iota
	// NeedCheck: the grant stays as it is, but a token and a check with the
	// new settings must pass first (a new test mailbox, fewer permissions,
	// another Exchange scoping).
	NeedCheck
	// NeedConsent: an administrator must consent to new application
	// permissions.
	NeedConsent
	// NeedSignIn: the account must sign in again (a new account or new
	// delegated permissions).
	NeedSignIn
)

// String says the need in words.
func (n EditNeed) String() string {
	switch n {
	case NeedCheck:
		return "a check with the new settings (no new consent or sign-in)"
	case NeedConsent:
		return "new admin consent"
	case NeedSignIn:
		return "a new sign-in"
	}
	return "nothing: saved at once"
}

// EditPlan is what changes between a profile and its edited form, and what
// the change needs.
type EditPlan struct {
	// Changes lists each changed field as "field: old → new".
	Changes []string
	// Need is the most the change needs.
	Need EditNeed
	// Why says what makes Need necessary.
	Why string
	// Advice lists what the admin should do outside mailgrant.
	Advice []string
}

// PlanEdit compares a stored profile with its edited form.
func PlanEdit(old, edited store.Profile) EditPlan {
	var pl EditPlan
	need := func(n EditNeed, why string) {
		if n > pl.Need {
			pl.Need, pl.Why = n, why
		}
	}
	changed := func(field, a, b string) bool {
		if a == b {
			return false
		}
		pl.Changes = append(pl.Changes, fmt.Sprintf("%s: %s → %s", field, orNone(a), orNone(b)))
		return true
	}
	if changed("from", old.From, edited.From) && edited.From != "" && edited.Scenario.Delegated() && !strings.EqualFold(edited.From, edited.Account) {
		pl.Advice = append(pl.Advice, edited.Account+" needs Send As rights on "+edited.From+" (Exchange) and the delegated permission Mail.Send.Shared to send as it")
	}
	changed("reply-to", old.ReplyTo, edited.ReplyTo)
	if changed("out-of-scope", old.OutOfScopeMailbox, edited.OutOfScopeMailbox) {
		need(NeedCheck, "the out-of-scope mailbox is tested")
	}
	if changed("account", old.Account, edited.Account) {
		if edited.Scenario.Delegated() {
			need(NeedSignIn, edited.Account+" must sign in")
		} else {
			need(NeedCheck, "a test message is sent as "+edited.Account)
		}
	}
	if changed("permissions", strings.Join(old.Permissions, ","), strings.Join(edited.Permissions, ",")) {
		added, removed := diff(old.Permissions, edited.Permissions)
		switch {
		case edited.Scenario.Delegated() && len(added) > 0:
			need(NeedSignIn, "the account consents to "+strings.Join(added, ", ")+" at sign-in")
		case edited.Scenario.Delegated():
			need(NeedCheck, "the stored grant is checked against the shorter list (it keeps the extra consent until a new sign-in: mailgrant reauth PROFILE)")
		default:
			if a, _ := diff(AppPermissions(old), AppPermissions(edited)); len(a) > 0 {
				need(NeedConsent, "an administrator consents to "+strings.Join(a, ", "))
			} else {
				need(NeedCheck, "the token is compared with the new list")
			}
		}
		if !edited.Scenario.Delegated() && len(removed) > 0 {
			pl.Advice = append(pl.Advice, "mailgrant cannot remove a granted permission: revoke "+strings.Join(removed, ", ")+" under Enterprise applications > the app > Permissions, or status lists it as granted beyond need")
		}
	}
	if changed("scoping", ScopingTitle(old), ScopingTitle(edited)) {
		if a, _ := diff(AppPermissions(old), AppPermissions(edited)); len(a) > 0 {
			need(NeedConsent, "an access policy narrows a tenant-wide "+strings.Join(a, ", ")+", which an administrator must consent to")
		} else {
			need(NeedCheck, "the check follows the new scoping")
		}
		if edited.UsesPolicy() {
			pl.Advice = append(pl.Advice, "an Exchange administrator runs the access policy first: mailgrant rbac-script PROFILE (it takes more than an hour to reach Graph)")
		} else {
			pl.Advice = append(pl.Advice, "an Exchange administrator runs the RBAC for Applications script first (mailgrant rbac-script PROFILE), then revokes the tenant-wide Mail.Send under Enterprise applications > the app > Permissions and removes the access policy")
		}
	}
	return pl
}

// diff returns what b has that a lacks, and what a has that b lacks
// (case-insensitively).
func diff(a, b []string) (added, removed []string) {
	has := func(list []string, s string) bool {
		return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
	}
	for _, s := range b {
		if !has(a, s) {
			added = append(added, s)
		}
	}
	for _, s := range a {
		if !has(b, s) {
			removed = append(removed, s)
		}
	}
	return added, removed
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// SaveEdited keeps an edit that needs nothing (From and Reply-To) in the
// stored profile, leaving its grant, secrets and state as they are. It
// returns the profile as stored.
func SaveEdited(dir string, e store.Profile) (store.Profile, error) {
	var saved store.Profile
	err := store.UpdateProfiles(dir, func(ps *store.Profiles) error {
		cur, ok := ps.Get(e.Name)
		if !ok {
			return &InputError{Field: "profile", Problem: fmt.Sprintf("%s was deleted meanwhile", e.Name), Hint: "create it again with setup"}
		}
		cur.From, cur.ReplyTo = e.From, e.ReplyTo
		ps.Put(cur)
		saved = cur
		return nil
	})
	return saved, err
}
