package store

// Scoping is how Exchange Online restricts an rbac profile's app-only
// access (reference §11).
type Scoping string

// Scopings.
const (
	// ScopingRBAC is RBAC for Applications: the app holds no tenant-wide
	// Mail.Send in Entra; Exchange grants "Application Mail.Send" over a
	// management scope. The zero value means this.
	ScopingRBAC Scoping = "rbac"
	// ScopingPolicy is the legacy ApplicationAccessPolicy: the app holds
	// tenant-wide Mail.Send in Entra, and the policy narrows it in Exchange.
	ScopingPolicy Scoping = "policy"
)

// Valid reports whether s is a known scoping (empty counts as rbac).
func (s Scoping) Valid() bool { return s == "" || s == ScopingRBAC || s == ScopingPolicy }

// PolicyAccess is an ApplicationAccessPolicy's -AccessRight.
type PolicyAccess string

// Policy access rights.
const (
	// PolicyRestrict allows the app only the group's members (an allow
	// list). The zero value means this.
	PolicyRestrict PolicyAccess = "RestrictAccess"
	// PolicyDeny blocks the app from the group's members (a block list);
	// every other mailbox stays reachable.
	PolicyDeny PolicyAccess = "DenyAccess"
)

// Valid reports whether a is a known access right (empty counts as RestrictAccess).
func (a PolicyAccess) Valid() bool { return a == "" || a == PolicyRestrict || a == PolicyDeny }

// UsesPolicy reports whether the profile is an rbac profile scoped by an
// ApplicationAccessPolicy, which needs tenant-wide Mail.Send in Entra.
func (p Profile) UsesPolicy() bool { return p.Scenario == RBAC && p.Scoping == ScopingPolicy }

// Denies reports whether the profile's access policy is a block list.
func (p Profile) Denies() bool { return p.UsesPolicy() && p.PolicyAccess == PolicyDeny }
