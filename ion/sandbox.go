package ion

import (
	"context"
	"regexp"
	"time"
)

// Sandbox data shapes.
const (
	ShapeBlank    = "blank"
	ShapeSeeded   = "seeded"
	ShapeSnapshot = "snapshot"
)

// Sandbox states.
const (
	SandboxProvisioning = "provisioning"
	SandboxActive       = "active"
	SandboxDormant      = "dormant"
	SandboxResetting    = "resetting"
	SandboxExpired      = "expired"
)

// Sandbox request statuses.
const (
	RequestPending     = "pending"
	RequestProvisioned = "provisioned"
	RequestRejected    = "rejected"
)

// sandboxName is a DNS label, so that a sandbox can be reached as
// <name>.<sandbox-domain>.
var sandboxName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidateSandboxName checks that name is a DNS label and not a name ionbox
// keeps for itself.
func ValidateSandboxName(name string) error {
	if !sandboxName.MatchString(name) {
		return Invalid("name", "%q is not a valid sandbox name: use 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit (e.g. \"acme-erp-dev\").", name)
	}
	if name == ProductionEnvironment {
		return Invalid("name", "%q is reserved; choose another sandbox name.", name)
	}
	return nil
}

// Member is a person to add to a sandbox's organization.
type Member struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// ServiceAccount is a non-human user of a sandbox; it gets an API key when
// the sandbox is provisioned.
type ServiceAccount struct {
	Name string `json:"name"`
}

// SandboxRequest is someone's request for a sandbox of a production
// organization, and what became of it.
type SandboxRequest struct {
	ID              ID
	OrganizationID  ID // the production organization the sandbox is for
	Name            string
	Reason          string
	Integration     string
	Shape           string
	Size            string // of a seeded sandbox's data: "small" or "large" (see internal/seed); "" for other shapes
	Members         []Member
	ServiceAccounts []ServiceAccount
	Features        []string
	// RateLimitPolicy is the sandbox environment's RateLimitPolicy
	// document once provisioned ("" for its kind's defaults).
	RateLimitPolicy string
	TTLDays         *int
	Status          string // pending, provisioned, rejected
	RequestedBy     string // "operator" or the requesting user's email
	Note            string // the approver's note or the rejection reason
	CreatedAt       time.Time
	DecidedAt       *time.Time
}

// Sandbox is a provisioned sandbox environment.
type Sandbox struct {
	Name                 string // also its environment's name
	RequestID            ID
	SourceOrganizationID ID // the production organization it was made for
	OrganizationID       ID // its own organization, in the sandbox environment
	Shape                string
	State                string
	Features             []string
	Pinned               bool
	CreatedAt            time.Time
	LastActivityAt       time.Time
	ExpiresAt            *time.Time
}

// SandboxStore records sandbox requests and sandboxes. It is part of the
// control store.
type SandboxStore interface {
	// CreateSandboxRequest stores a new request. VALIDATION_ERROR naming
	// "name" when an environment or pending request already has that name.
	CreateSandboxRequest(ctx context.Context, r SandboxRequest) (SandboxRequest, error)
	// SandboxRequest returns one request; NOT_FOUND if there is none.
	SandboxRequest(ctx context.Context, id ID) (SandboxRequest, error)
	// SandboxRequests lists requests, newest first; orgID 0 lists all.
	SandboxRequests(ctx context.Context, orgID ID) ([]SandboxRequest, error)
	// DecideSandboxRequest moves a pending request to provisioned or
	// rejected. CONFLICT if it is no longer pending. NOT_FOUND for an
	// unknown request; VALIDATION_ERROR naming status for another status.
	DecideSandboxRequest(ctx context.Context, id ID, status, note string) (SandboxRequest, error)

	// CreateSandbox creates the sandbox's environment (kind sandbox) and its
	// record in one transaction. VALIDATION_ERROR naming "name" if the name
	// is taken. The name may be held by the pending request s.RequestID
	// (the one being provisioned), by nothing else. State defaults to
	// active; OrganizationID is ignored (see SetSandboxOrganization).
	CreateSandbox(ctx context.Context, s Sandbox) (Sandbox, error)
	// SetSandboxOrganization records the sandbox's own organization, which
	// must belong to the sandbox's environment (VALIDATION_ERROR naming
	// organizationId). NOT_FOUND for an unknown sandbox.
	SetSandboxOrganization(ctx context.Context, name string, orgID ID) error
	// SetSandboxState changes the state of the sandbox and its environment.
	// NOT_FOUND for an unknown sandbox; VALIDATION_ERROR naming state for
	// an unknown state.
	SetSandboxState(ctx context.Context, name, state string) error
	// Sandbox returns one sandbox; NOT_FOUND if there is none by that name.
	Sandbox(ctx context.Context, name string) (Sandbox, error)
	// Sandboxes lists sandboxes, by name; orgID 0 lists all, otherwise
	// those made for that production organization.
	Sandboxes(ctx context.Context, orgID ID) ([]Sandbox, error)
	// TransitionSandbox changes the state of the sandbox and its
	// environment from `from` to `to`, only if it is in state from and,
	// when ifLastActivity is not nil, its LastActivityAt is still that
	// time: a conditional update, so that of several callers racing to
	// make the same transition (sweepers on several replicas, two resets)
	// exactly one gets true. NOT_FOUND for an unknown sandbox;
	// VALIDATION_ERROR naming state for an unknown state.
	TransitionSandbox(ctx context.Context, name, from, to string, ifLastActivity *time.Time) (bool, error)
	// TouchSandbox records activity at `at`: LastActivityAt becomes at
	// unless it is later already, and a dormant sandbox (and its
	// environment) becomes active again. NOT_FOUND for an unknown sandbox.
	TouchSandbox(ctx context.Context, name string, at time.Time) error
	// ExtendSandbox renews a sandbox as activity at `at` does (see
	// TouchSandbox) and, when not nil, sets its ExpiresAt and Pinned.
	// CONFLICT for an expired sandbox; NOT_FOUND for an unknown one.
	ExtendSandbox(ctx context.Context, name string, at time.Time, expiresAt *time.Time, pinned *bool) (Sandbox, error)

	// Checkpoints are the names of a sandbox's saved states (the data is
	// in Stores, see SaveTenantState). CreateCheckpoint records one with
	// CreatedAt now: CONFLICT if the sandbox has one of that name;
	// NOT_FOUND for an unknown sandbox. Checkpoints lists them, oldest
	// first. DeleteCheckpoint: NOT_FOUND if there is none of that name.
	// DeleteSandbox removes them.
	CreateCheckpoint(ctx context.Context, sandbox, name string) (Checkpoint, error)
	Checkpoints(ctx context.Context, sandbox string) ([]Checkpoint, error)
	DeleteCheckpoint(ctx context.Context, sandbox, name string) error

	// AddSandboxEvent appends e to the lifecycle log, with ID and At
	// filled in (At is now unless set). The log is kept by sandbox name and
	// outlives the sandbox. VALIDATION_ERROR naming kind for an unknown
	// kind.
	AddSandboxEvent(ctx context.Context, e SandboxEvent) (SandboxEvent, error)
	// SandboxEvents lists the lifecycle log of the sandbox name (of every
	// sandbox that had that name), oldest first.
	SandboxEvents(ctx context.Context, sandbox string) ([]SandboxEvent, error)

	// DeleteSandbox removes the sandbox, its environment, its organizations,
	// users, API keys and signing keys (not its tenant files: see
	// Stores.DeleteTenant). Its requests stay. NOT_FOUND for an unknown
	// sandbox.
	DeleteSandbox(ctx context.Context, name string) error
}

// Checkpoint is a named saved state of a sandbox's data that the sandbox
// can be reset to.
type Checkpoint struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

// Lifecycle log event kinds.
const (
	EventRequested         = "requested"
	EventApproved          = "approved"
	EventRejected          = "rejected"
	EventReset             = "reset"
	EventCheckpoint        = "checkpoint"
	EventCheckpointDeleted = "checkpoint-deleted"
	EventExtended          = "extended"
	EventDormant           = "dormant"
	EventExpired           = "expired"
	EventDeleted           = "deleted"
)

// SandboxEventKinds lists the kinds of lifecycle events.
var SandboxEventKinds = []string{EventRequested, EventApproved, EventRejected, EventReset, EventCheckpoint,
	EventCheckpointDeleted, EventExtended, EventDormant, EventExpired, EventDeleted}

// SandboxEvent is one entry of a sandbox's lifecycle log: who did what,
// when.
type SandboxEvent struct {
	ID      ID
	Sandbox string
	Kind    string // one of SandboxEventKinds
	Actor   string // "operator", "sweeper", or a user's email
	Detail  string // e.g. the checkpoint reset to
	At      time.Time
}
