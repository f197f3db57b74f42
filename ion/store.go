package ion

import (
	"context"
	"regexp"
	"time"
)

// Filter operators, as ION spells them in <Plural>InputFilters.
const (
	OpEq     = "eq"
	OpNeq    = "neq"
	OpIn     = "in"
	OpNotIn  = "notIn"
	OpLike   = "like"
	OpIlike  = "ilike"
	OpGt     = "gt"
	OpGte    = "gte"
	OpLt     = "lt"
	OpLte    = "lte"
	OpIsNull = "isNull"
)

// Filter restricts a list to objects whose Field compares to Value with Op.
// Field is the GraphQL field name (camelCase, e.g. "partNumber",
// "locationId", "status", "createdAt"). Value is a string, int64, float64,
// bool or time.Time; for OpIn and OpNotIn a []any of those; for OpIsNull a
// bool. Enum values arrive uppercase. A store answers VALIDATION_ERROR for a
// field it cannot filter on, naming the field.
type Filter struct {
	Field string
	Op    string
	Value any
}

// SortKey orders a list by a field (same names as Filter.Field; "created"
// and "updated" are accepted for "createdAt" and "updatedAt").
type SortKey struct {
	Field string
	Desc  bool
}

// ListOptions selects a window of a filtered, sorted list. Filters combine
// with AND. Without Sort the order is id ascending; ties are always broken by
// id ascending so that offsets are stable. Limit 0 returns no items but still
// the total count.
type ListOptions struct {
	Filters []Filter
	Sort    []SortKey
	Offset  int
	Limit   int
	// Fields, when not nil, names the fields of the objects that the caller
	// reads, as GraphQL names them ("partNumber", "locationId", "_etag",
	// "createdAt"; case and underscores do not matter). A store reads those
	// and the id, and may leave every other field at its zero value: a page
	// that shows four fields need not read twenty columns. A name that is
	// not a stored field of the object (a computed field) makes the store
	// read every field. nil reads every field.
	Fields []string
	// SkipTotal says that the caller does not read Page.TotalCount: the store
	// does not count the list, and TotalCount is 0.
	SkipTotal bool
}

// Page is a window of a list and the number of objects the whole list has.
type Page[T any] struct {
	Items      []T
	TotalCount int
}

// Patches carry the fields an update changes; nil means unchanged. Every
// patch names the object and the etag the caller last read.

type PartPatch struct {
	ID               ID
	Etag             string
	Description      *string
	PartType         *string
	TrackingType     **string // set to a nil *string to make the part untracked
	Status           *string
	SourcingStrategy *string
	Cost             *float64
	LeadTime         *int64
	Attributes       *[]Attribute
}

type MBomItemPatch struct {
	ID       ID
	Etag     string
	Quantity *float64
}

type LocationPatch struct {
	ID        ID
	Etag      string
	Name      *string
	Available *bool
}

type UnitOfMeasurementPatch struct {
	ID   ID
	Etag string
	Type *string
}

type PartInventoryPatch struct {
	ID              ID
	Etag            string
	SerialNumber    *string
	LotNumber       *string
	Quantity        *float64
	LocationID      *ID
	UnitOfMeasureID *ID
	Cost            *float64
	Attributes      *[]Attribute
}

type ProcedurePatch struct {
	ID               ID
	Etag             string
	Title            *string
	Description      *string
	Type             *string
	Status           *string
	ExportControlled *bool
	Attributes       *[]Attribute
}

type StepPatch struct {
	ID              ID
	Etag            string
	Title           *string
	Content         *string
	Type            *string
	Position        *int64
	ParentID        *ID
	UpstreamStepIDs *[]ID
}

type StepFieldPatch struct {
	ID       ID
	Etag     string
	Name     *string
	Type     *string
	Required *bool
	Unit     *string
	Options  *[]string
}

type RunPatch struct {
	ID              ID
	Etag            string
	Title           *string
	PartInventoryID *ID
	Attributes      *[]Attribute
}

type RunStepPatch struct {
	ID      ID
	Etag    string
	Status  *string
	Title   *string
	Content *string
}

type IssuePatch struct {
	ID                ID
	Etag              string
	Title             *string
	Status            *string
	RunID             *ID
	RunStepID         *ID
	PartInventoryID   *ID
	CauseCondition    *string
	ExpectedCondition *string
	Disposition       *string
	Attributes        *[]Attribute
}

type SupplierPatch struct {
	ID         ID
	Etag       string
	Name       *string
	Attributes *[]Attribute
}

type PurchaseOrderPatch struct {
	ID         ID
	Etag       string
	Status     *string
	SupplierID *ID
	Attributes *[]Attribute
}

type PurchaseOrderLinePatch struct {
	ID          ID
	Etag        string
	Quantity    *float64
	NeedDate    *time.Time
	Status      *string
	Description *string
}

type TeamPatch struct {
	ID      ID
	Etag    string
	Name    *string
	UserIDs *[]ID
}

// TenantStore holds one organization's ION data. Every method sees only
// this tenant: an id from elsewhere answers NOT_FOUND exactly as a missing id
// does. Every write runs in one transaction that fixes "now", sets a new etag
// on each row it changes, enforces the rules of this package (answering
// VALIDATION_ERROR naming the field), checks the caller's etag (CONFLICT,
// nothing written) and, once it returns nil, is durable.
//
// Create methods ignore the Meta of their argument and fill it in. Delete
// methods take the etag the caller last read.
type TenantStore interface {
	// Parts. CreatePart defaults Revision to "A", PartType to PART and
	// Status to RELEASED; (partNumber, revision) is unique (VALIDATION_ERROR
	// naming partNumber). CreatePartRevision copies the part as the next
	// revision (or the given one), with RevisedFromID set.
	CreatePart(ctx context.Context, p Part) (Part, error)
	UpdatePart(ctx context.Context, p PartPatch) (Part, error)
	DeletePart(ctx context.Context, id ID, etag string) error
	Part(ctx context.Context, id ID) (Part, error)
	Parts(ctx context.Context, opts ListOptions) (Page[Part], error)
	CreatePartRevision(ctx context.Context, partID ID, revision string) (Part, error)
	// PartQuantities sums inventory quantity per part for the given ids.
	PartQuantities(ctx context.Context, partIDs []ID) (map[ID]float64, error)

	// mBOM. Quantity > 0; an item whose part is an ancestor of its parent
	// (a cycle) is refused; an item used by a build requirement cannot be
	// deleted (CONFLICT).
	CreateMBomItem(ctx context.Context, m MBomItem) (MBomItem, error)
	UpdateMBomItem(ctx context.Context, p MBomItemPatch) (MBomItem, error)
	DeleteMBomItem(ctx context.Context, id ID, etag string) error
	MBomItem(ctx context.Context, id ID) (MBomItem, error)
	MBomItems(ctx context.Context, opts ListOptions) (Page[MBomItem], error)
	CreateMBomSubstitute(ctx context.Context, s MBomSubstitute) (MBomSubstitute, error)
	DeleteMBomSubstitute(ctx context.Context, id ID, etag string) error
	MBomSubstitutes(ctx context.Context, opts ListOptions) (Page[MBomSubstitute], error)

	CreateLocation(ctx context.Context, l Location) (Location, error)
	UpdateLocation(ctx context.Context, p LocationPatch) (Location, error)
	DeleteLocation(ctx context.Context, id ID, etag string) error
	Location(ctx context.Context, id ID) (Location, error)
	Locations(ctx context.Context, opts ListOptions) (Page[Location], error)

	CreateUnitOfMeasurement(ctx context.Context, u UnitOfMeasurement) (UnitOfMeasurement, error)
	UpdateUnitOfMeasurement(ctx context.Context, p UnitOfMeasurementPatch) (UnitOfMeasurement, error)
	DeleteUnitOfMeasurement(ctx context.Context, id ID, etag string) error
	UnitOfMeasurement(ctx context.Context, id ID) (UnitOfMeasurement, error)
	UnitsOfMeasurement(ctx context.Context, opts ListOptions) (Page[UnitOfMeasurement], error)

	// Inventory. Tracking rules per ValidateTracking; serial numbers unique
	// per part; Status is derived (DeriveInventoryStatus) and kept current
	// by every write that changes its inputs.
	CreatePartInventory(ctx context.Context, inv PartInventory) (PartInventory, error)
	UpdatePartInventory(ctx context.Context, p PartInventoryPatch) (PartInventory, error)
	DeletePartInventory(ctx context.Context, id ID, etag string) error
	PartInventory(ctx context.Context, id ID) (PartInventory, error)
	PartInventories(ctx context.Context, opts ListOptions) (Page[PartInventory], error)

	// Procedures, steps and fields. Only a DRAFT procedure (and its steps and
	// fields) can be changed; anything else answers VALIDATION_ERROR.
	CreateProcedure(ctx context.Context, p Procedure) (Procedure, error)
	UpdateProcedure(ctx context.Context, p ProcedurePatch) (Procedure, error)
	DeleteProcedure(ctx context.Context, id ID, etag string) error
	Procedure(ctx context.Context, id ID) (Procedure, error)
	Procedures(ctx context.Context, opts ListOptions) (Page[Procedure], error)
	CreateStep(ctx context.Context, s Step) (Step, error)
	UpdateStep(ctx context.Context, p StepPatch) (Step, error)
	DeleteStep(ctx context.Context, id ID, etag string) error
	Step(ctx context.Context, id ID) (Step, error)
	Steps(ctx context.Context, opts ListOptions) (Page[Step], error)
	CreateStepField(ctx context.Context, f StepField) (StepField, error)
	UpdateStepField(ctx context.Context, p StepFieldPatch) (StepField, error)
	DeleteStepField(ctx context.Context, id ID, etag string) error
	StepField(ctx context.Context, id ID) (StepField, error)
	StepFields(ctx context.Context, opts ListOptions) (Page[StepField], error)

	// Runs. CreateRun copies the procedure's steps (with their upstream
	// edges) and fields into run steps and run step fields. Run status is
	// derived from step statuses (DeriveRunStatus); CancelRun sets CANCELED
	// and cancels unfinished steps; ArchiveRun sets Archived.
	CreateRun(ctx context.Context, r Run) (Run, error)
	UpdateRun(ctx context.Context, p RunPatch) (Run, error)
	CancelRun(ctx context.Context, id ID, etag string) (Run, error)
	ArchiveRun(ctx context.Context, id ID, etag string) (Run, error)
	DeleteRun(ctx context.Context, id ID, etag string) error
	Run(ctx context.Context, id ID) (Run, error)
	Runs(ctx context.Context, opts ListOptions) (Page[Run], error)

	// Run steps. A step moves out of TODO only when every upstream step is
	// COMPLETE (VALIDATION_ERROR naming the blocking steps).
	CreateRunStep(ctx context.Context, s RunStep) (RunStep, error)
	UpdateRunStep(ctx context.Context, p RunStepPatch) (RunStep, error)
	RunStep(ctx context.Context, id ID) (RunStep, error)
	RunSteps(ctx context.Context, opts ListOptions) (Page[RunStep], error)
	CreateRunStepField(ctx context.Context, f RunStepField) (RunStepField, error)
	// UpdateRunStepFieldValue checks value (JSON) against the field type
	// with CheckFieldValue and stores the normalised form; nil clears it.
	UpdateRunStepFieldValue(ctx context.Context, id ID, etag string, value *string) (RunStepField, error)
	RunStepField(ctx context.Context, id ID) (RunStepField, error)
	RunStepFields(ctx context.Context, opts ListOptions) (Page[RunStepField], error)

	// Build requirements and installations. Installing moves the child
	// inventory to INSTALLED; the sum installed against a requirement cannot
	// exceed QuantityPerParentPartInventory; the same unit cannot be installed
	// twice; a unit cannot be installed into itself; deleting an
	// installation uninstalls it.
	CreateBuildRequirement(ctx context.Context, b BuildRequirement) (BuildRequirement, error)
	DeleteBuildRequirement(ctx context.Context, id ID, etag string) error
	BuildRequirement(ctx context.Context, id ID) (BuildRequirement, error)
	BuildRequirements(ctx context.Context, opts ListOptions) (Page[BuildRequirement], error)
	CreateAbomInstallation(ctx context.Context, a AbomInstallation) (AbomInstallation, error)
	DeleteAbomInstallation(ctx context.Context, id ID, etag string) error
	AbomInstallation(ctx context.Context, id ID) (AbomInstallation, error)
	AbomInstallations(ctx context.Context, opts ListOptions) (Page[AbomInstallation], error)

	CreateIssue(ctx context.Context, i Issue) (Issue, error)
	UpdateIssue(ctx context.Context, p IssuePatch) (Issue, error)
	DeleteIssue(ctx context.Context, id ID, etag string) error
	Issue(ctx context.Context, id ID) (Issue, error)
	Issues(ctx context.Context, opts ListOptions) (Page[Issue], error)

	CreateSupplier(ctx context.Context, s Supplier) (Supplier, error)
	UpdateSupplier(ctx context.Context, p SupplierPatch) (Supplier, error)
	DeleteSupplier(ctx context.Context, id ID, etag string) error
	Supplier(ctx context.Context, id ID) (Supplier, error)
	Suppliers(ctx context.Context, opts ListOptions) (Page[Supplier], error)

	// Purchasing. A line creates ON_ORDER inventory of its part (one unit
	// per piece for serial-tracked parts, one row otherwise) in the same
	// transaction; deleting a line deletes that inventory unless it was
	// used (CONFLICT).
	CreatePurchaseOrder(ctx context.Context, p PurchaseOrder) (PurchaseOrder, error)
	UpdatePurchaseOrder(ctx context.Context, p PurchaseOrderPatch) (PurchaseOrder, error)
	DeletePurchaseOrder(ctx context.Context, id ID, etag string) error
	PurchaseOrder(ctx context.Context, id ID) (PurchaseOrder, error)
	PurchaseOrders(ctx context.Context, opts ListOptions) (Page[PurchaseOrder], error)
	CreatePurchaseOrderLine(ctx context.Context, l PurchaseOrderLine) (PurchaseOrderLine, error)
	UpdatePurchaseOrderLine(ctx context.Context, p PurchaseOrderLinePatch) (PurchaseOrderLine, error)
	DeletePurchaseOrderLine(ctx context.Context, id ID, etag string) error
	PurchaseOrderLine(ctx context.Context, id ID) (PurchaseOrderLine, error)
	PurchaseOrderLines(ctx context.Context, opts ListOptions) (Page[PurchaseOrderLine], error)

	CreateTeam(ctx context.Context, t Team) (Team, error)
	UpdateTeam(ctx context.Context, p TeamPatch) (Team, error)
	DeleteTeam(ctx context.Context, id ID, etag string) error
	Team(ctx context.Context, id ID) (Team, error)
	Teams(ctx context.Context, opts ListOptions) (Page[Team], error)

	IdempotencyStore
	WebhookStore
	BulkStore
}

// ControlStore holds what spans tenants: environments, organizations, users,
// API keys (hashed) and signing keys.
type ControlStore interface {
	// Atomically runs fn so that the calls on this control store made with
	// the context fn is given form one transaction: they commit together
	// when fn returns nil, and none of them does otherwise (reads inside
	// see the writes before them). A call that fails inside leaves nothing
	// behind, so fn may go on after it. Effects outside the control store
	// (a tenant's own data) are not undone by a rollback. fn must not use
	// its context from several goroutines at once, nor wait for a control
	// write made with another context: the transaction holds the store's
	// writer until fn returns. Nested calls join the outer transaction.
	// fn's error comes back as it is.
	Atomically(ctx context.Context, fn func(ctx context.Context) error) error

	// EnsureEnvironment creates env if it does not exist and returns the
	// stored one.
	EnsureEnvironment(ctx context.Context, env Environment) (Environment, error)
	Environment(ctx context.Context, name string) (Environment, error)

	// CreateOrganization also creates the organization's tenant store.
	// Domain is unique within an environment (VALIDATION_ERROR naming domain).
	CreateOrganization(ctx context.Context, o Organization) (Organization, error)
	Organization(ctx context.Context, id ID) (Organization, error)
	Organizations(ctx context.Context, env string) ([]Organization, error)

	// Users. Email is unique within an organization.
	CreateUser(ctx context.Context, u User) (User, error)
	User(ctx context.Context, orgID, id ID) (User, error)
	Users(ctx context.Context, orgID ID, opts ListOptions) (Page[User], error)
	SetUserActive(ctx context.Context, orgID, id ID, active bool) (User, error)

	// API keys. Returns NOT_FOUND for an unknown client id.
	CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error)
	APIKeyByClientID(ctx context.Context, clientID string) (APIKey, error)
	APIKeys(ctx context.Context, orgID ID, opts ListOptions) (Page[APIKey], error)
	// UpdateAPIKey changes Enabled and, when newSecretHash is not nil, the
	// secret (and SecretHint to newHint).
	UpdateAPIKey(ctx context.Context, clientID, etag string, enabled *bool, newSecretHash []byte, newHint string) (APIKey, error)
	DeleteAPIKey(ctx context.Context, clientID, etag string) error

	// Signing keys of an environment, newest first.
	AddSigningKey(ctx context.Context, k SigningKey) error
	SigningKeys(ctx context.Context, env string) ([]SigningKey, error)
	RetireSigningKey(ctx context.Context, env, kid string, at time.Time) error

	SandboxStore
	WebhookRegistry
	PolicyStore
}

// Deferrable marks ctx's control writes as ones whose caller needs nothing
// back but their success: inside ControlStore.Atomically, a store may then
// send such a write with the transaction's next statement, or with its
// commit, instead of in a round trip of its own (the PostgreSQL store
// does). Such a write returns nil at once and what it returns is only what
// the caller passed in (AddSandboxEvent's ID is 0); if it fails, the
// Atomically call fails with its error and nothing commits, even if fn
// returned nil. Outside Atomically it changes nothing.
func Deferrable(ctx context.Context) context.Context {
	return context.WithValue(ctx, deferrableKey{}, true)
}

// IsDeferrable reports whether ctx was made by Deferrable.
func IsDeferrable(ctx context.Context) bool {
	v, _ := ctx.Value(deferrableKey{}).(bool)
	return v
}

type deferrableKey struct{}

// Principal is what an authenticated request is checked against: an API
// key, its user and its organization, each with the error the
// ControlStore's own read of it answers (NOT_FOUND when it is gone).
type Principal struct {
	Key             APIKey
	KeyErr          error
	User            User
	UserErr         error
	Organization    Organization
	OrganizationErr error
}

// PrincipalReader is what a ControlStore may add to read a Principal in
// one go: APIKeyByClientID(clientID), User(orgID, userID) and
// Organization(orgID), answered alike. The PostgreSQL store sends the
// three reads in one round trip.
type PrincipalReader interface {
	Principal(ctx context.Context, clientID string, orgID, userID ID) Principal
}

// Stores opens the control store and tenant stores of one deployment.
type Stores interface {
	Control() ControlStore
	// Tenant returns the tenant store with the given id (see TenantIDFor),
	// opening it if needed. NOT_FOUND if it was never created.
	Tenant(ctx context.Context, tenantID string) (TenantStore, error)
	// CreateTenant makes an empty, migrated tenant store.
	CreateTenant(ctx context.Context, tenantID string) error
	// DeleteTenant closes and removes a tenant store and its files. Deleting
	// one that does not exist is not an error.
	DeleteTenant(ctx context.Context, tenantID string) error

	// Saved states (a sandbox's baseline and its checkpoints). A state is a
	// consistent copy of a tenant's data under a name (see
	// ValidateStateName); DeleteTenant removes its states with it. Every
	// tenant also has EmptyTenantState, which is never saved.
	//
	// SaveTenantState copies the tenant's data as it is now to state name,
	// replacing a state of that name. NOT_FOUND for an unknown tenant;
	// VALIDATION_ERROR naming "name" for EmptyTenantState.
	SaveTenantState(ctx context.Context, tenantID, name string) error
	// RestoreTenantState makes the tenant's data equal state name again
	// (or, for EmptyTenantState, what CreateTenant made); the state stays,
	// for later restores. The tenant's webhook configuration is kept as it
	// is, not restored. Calls already running finish first; calls arriving
	// meanwhile wait and then see the restored data, so that every call
	// sees the data before or after, never a mix. NOT_FOUND for an unknown
	// tenant or state.
	RestoreTenantState(ctx context.Context, tenantID, name string) error
	// DeleteTenantState removes state name. NOT_FOUND if there is none;
	// VALIDATION_ERROR naming "name" for EmptyTenantState.
	DeleteTenantState(ctx context.Context, tenantID, name string) error
	SnapshotStores
	TenantTemplates
	Close() error
}

// EmptyTenantState is the state every tenant has without it ever being
// saved: restoring it makes the tenant's data what CreateTenant made
// (empty, migrated, ids starting at 1 again), keeping the tenant's webhook
// configuration as restoring any state does. A blank sandbox's baseline is
// this state, so that provisioning one saves nothing. SaveTenantState and
// DeleteTenantState answer VALIDATION_ERROR naming "name" for it (see
// ValidateSavedStateName).
const EmptyTenantState = "empty"

// stateName is the alphabet of saved tenant states' names, which become
// file and schema names.
var stateName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidateStateName checks the name of a saved tenant state:
// VALIDATION_ERROR naming "name" unless it is 1-63 lowercase letters,
// digits, '-' or '_', starting with a letter or digit.
func ValidateStateName(name string) error {
	if !stateName.MatchString(name) {
		return Invalid("name", "%q is not a valid state name; use 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit (e.g. \"before-import\").", name)
	}
	return nil
}

// ValidateSavedStateName is ValidateStateName for a state to be saved or
// deleted: it also answers VALIDATION_ERROR naming "name" for
// EmptyTenantState, which is never saved.
func ValidateSavedStateName(name string) error {
	if name == EmptyTenantState {
		return Invalid("name", "%q is reserved for the empty state, which every tenant has without saving it; pick another name (e.g. \"before-import\").", name)
	}
	return ValidateStateName(name)
}
