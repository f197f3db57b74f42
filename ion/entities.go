package ion

import "time"

// ID identifies an object inside one tenant's data. Ids are integers, as ION
// emits them; the same number may name different objects in different
// tenants.
type ID = int64

// Attribute is a custom key/value pair on an object.
type Attribute struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Meta is what every mutable object carries.
type Meta struct {
	ID        ID
	Etag      string // 32 lowercase hex characters, new on every write
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Part types, tracking types and statuses.
const (
	PartTypePart = "PART"
	PartTypeTool = "TOOL"

	TrackingSerial = "SERIAL"
	TrackingLot    = "LOT"

	PartReleased = "RELEASED"
	PartArchived = "ARCHIVED"
)

// Part is one revision of a part number.
type Part struct {
	Meta
	PartNumber       string
	Revision         string
	Description      string
	PartType         string  // PART or TOOL
	TrackingType     *string // SERIAL, LOT or nil for untracked
	Status           string  // RELEASED or ARCHIVED
	SourcingStrategy *string // MAKE, BUY, DUAL_SOURCE
	Cost             *float64
	LeadTime         *int64
	RevisedFromID    *ID
	Attributes       []Attribute
}

// MBomItem says that Parent (an assembly) needs Quantity of Part.
type MBomItem struct {
	Meta
	PartID   ID
	ParentID ID
	Quantity float64
}

// MBomSubstitute allows Part in place of the mBOM item's part.
type MBomSubstitute struct {
	Meta
	MBomItemID ID
	PartID     ID
}

// Location is where inventory sits. Available says whether material there
// counts as consumable.
type Location struct {
	Meta
	Name      string
	Available bool
}

// UnitOfMeasurement is a unit such as "each" or "kg".
type UnitOfMeasurement struct {
	Meta
	Type string
}

// Inventory statuses. They are derived, never set (see DeriveInventoryStatus).
const (
	InvOnOrder     = "ON_ORDER"
	InvAvailable   = "AVAILABLE"
	InvWIP         = "WIP"
	InvKitted      = "KITTED"
	InvInstalled   = "INSTALLED"
	InvScrapped    = "SCRAPPED"
	InvUnavailable = "UNAVAILABLE"
)

// PartInventory is a quantity of one part: a serial unit, a lot, or an
// untracked quantity.
type PartInventory struct {
	Meta
	PartID              ID
	SerialNumber        *string
	LotNumber           *string
	Quantity            float64
	QuantityAvailable   float64 // quantity less what is installed or scrapped
	QuantityInstalled   float64
	QuantityScrapped    float64
	LocationID          *ID
	UnitOfMeasureID     *ID
	Cost                *float64
	Status              string // derived
	PurchaseOrderLineID *ID
	Attributes          []Attribute
}

// Procedure types and statuses.
const (
	ProcBuild       = "BUILD"
	ProcTest        = "TEST"
	ProcInspection  = "INSPECTION"
	ProcMaintenance = "MAINTENANCE"

	ProcDraft    = "DRAFT"
	ProcInReview = "IN_REVIEW"
	ProcReleased = "RELEASED"
)

// Procedure is a work instruction: steps with fields. Only a draft can be
// edited.
type Procedure struct {
	Meta
	Title            string
	Description      string
	Type             string
	Status           string
	ExportControlled bool
	Version          int64
	Attributes       []Attribute
}

// Step is one instruction of a procedure, possibly nested under ParentID.
type Step struct {
	Meta
	ProcedureID     ID
	ParentID        *ID
	Position        int64
	Title           string
	Content         string
	Type            string // DEFAULT or DATAGRID
	UpstreamStepIDs []ID
}

// Field types of step fields and run step fields.
const (
	FieldString         = "STRING"
	FieldNumber         = "NUMBER"
	FieldBoolean        = "BOOLEAN"
	FieldSelect         = "SELECT"
	FieldMultiselect    = "MULTISELECT"
	FieldDatetime       = "DATETIME"
	FieldSignoff        = "SIGNOFF"
	FieldFileAttachment = "FILE_ATTACHMENT"
)

// StepField is a value a step asks the operator to record.
type StepField struct {
	Meta
	StepID   ID
	Name     string
	Type     string
	Required bool
	Unit     *string
	Options  []string
}

// Run and run step statuses.
const (
	StatusTodo       = "TODO"
	StatusInProgress = "IN_PROGRESS"
	StatusComplete   = "COMPLETE"
	StatusRedline    = "REDLINE"
	StatusHold       = "HOLD"
	StatusFailed     = "FAILED"
	StatusCanceled   = "CANCELED"
)

// Run is one execution of a procedure, usually against a part inventory. Its
// status is derived from its steps' statuses (see DeriveRunStatus) unless it
// was canceled.
type Run struct {
	Meta
	Title           string
	Status          string
	ProcedureID     ID
	PartID          *ID
	PartInventoryID *ID
	StartedAt       *time.Time
	CompletedAt     *time.Time
	Archived        bool
	Attributes      []Attribute
}

// RunStep is a procedure step copied into a run.
type RunStep struct {
	Meta
	RunID           ID
	OriginStepID    *ID
	ParentID        *ID
	Position        int64
	Title           string
	Content         string
	Status          string
	UpstreamStepIDs []ID // ids of run steps that must be COMPLETE before this one starts
}

// RunStepField is a step field copied into a run step, with its recorded
// value. Value holds the JSON encoding of the value, or nil when unset.
type RunStepField struct {
	Meta
	RunStepID ID
	Name      string
	Type      string
	Required  bool
	Unit      *string
	Options   []string
	Value     *string
}

// BuildRequirement says a parent inventory needs QuantityPerParentPartInventory
// of a part installed into it.
type BuildRequirement struct {
	Meta
	PartID                         ID
	PartInventoryID                ID
	QuantityPerParentPartInventory float64
	OriginMBomItemID               *ID
}

// AbomInstallation records Quantity of a child inventory installed against a
// build requirement.
type AbomInstallation struct {
	Meta
	BuildRequirementID ID
	PartInventoryID    ID
	Quantity           float64
}

// Issue statuses.
const (
	IssuePending    = "PENDING"
	IssueInProgress = "IN_PROGRESS"
	IssueInReview   = "IN_REVIEW"
	IssueResolved   = "RESOLVED"
)

// Issue is a nonconformance report. CauseCondition and ExpectedCondition hold
// Slate JSON as text.
type Issue struct {
	Meta
	Title             string
	Status            string
	RunID             *ID
	RunStepID         *ID
	PartInventoryID   *ID
	CauseCondition    *string
	ExpectedCondition *string
	Disposition       *string
	Attributes        []Attribute
}

// Supplier sells parts.
type Supplier struct {
	Meta
	Name       string
	Attributes []Attribute
}

// Purchase order statuses.
const (
	PODraft    = "DRAFT"
	POOrdered  = "ORDERED"
	POApproved = "APPROVED"
	POReceived = "RECEIVED"
	POCanceled = "CANCELED"
	POClosed   = "CLOSED"
)

// PurchaseOrder groups lines ordered from one supplier.
type PurchaseOrder struct {
	Meta
	Status     string
	SupplierID *ID
	Attributes []Attribute
}

// PurchaseOrderLine orders Quantity of a part. Creating one creates ON_ORDER
// inventory for it.
type PurchaseOrderLine struct {
	Meta
	PurchaseOrderID ID
	PartID          ID
	Quantity        float64
	NeedDate        *time.Time
	Status          string
	Description     string
}

// Team groups users of an organization.
type Team struct {
	Meta
	Name    string
	UserIDs []ID
}
