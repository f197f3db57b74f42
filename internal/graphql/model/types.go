package model

import "github.com/ionbox/ionbox/ion"

// Connection is a Relay connection of T: one page of a list.
type Connection[T any] struct {
	Edges      []*Edge[T]
	PageInfo   *PageInfo
	TotalCount int
}

// Edge is one item of a connection with its cursor.
type Edge[T any] struct {
	Node   *T
	Cursor string
}

// PageInfo describes a page. Count is the number of items on it; TotalCount
// the number of all matches.
type PageInfo struct {
	HasNextPage     bool
	HasPreviousPage bool
	StartCursor     *string
	EndCursor       *string
	TotalCount      int
	Count           int
}

// Attribute is a custom attribute as the API shows it: with the owning
// object's etag, which ION's issue attributes expose as "Etag".
type Attribute struct {
	Key   string
	Type  string
	Value string
	Etag  string
}

// APIKey is an API key as the API shows it. ClientSecret is set only in the
// answer of the mutation that made or regenerated the secret.
type APIKey struct {
	ion.APIKey
	ClientSecret *string
}

// The connection and edge types of the schema, one per listed object.
type (
	PartConnection              = Connection[ion.Part]
	PartEdge                    = Edge[ion.Part]
	MBomItemConnection          = Connection[ion.MBomItem]
	MBomItemEdge                = Edge[ion.MBomItem]
	MBomSubstituteConnection    = Connection[ion.MBomSubstitute]
	MBomSubstituteEdge          = Edge[ion.MBomSubstitute]
	LocationConnection          = Connection[ion.Location]
	LocationEdge                = Edge[ion.Location]
	UnitOfMeasurementConnection = Connection[ion.UnitOfMeasurement]
	UnitOfMeasurementEdge       = Edge[ion.UnitOfMeasurement]
	PartInventoryConnection     = Connection[ion.PartInventory]
	PartInventoryEdge           = Edge[ion.PartInventory]
	ProcedureConnection         = Connection[ion.Procedure]
	ProcedureEdge               = Edge[ion.Procedure]
	StepConnection              = Connection[ion.Step]
	StepEdge                    = Edge[ion.Step]
	StepFieldConnection         = Connection[ion.StepField]
	StepFieldEdge               = Edge[ion.StepField]
	RunConnection               = Connection[ion.Run]
	RunEdge                     = Edge[ion.Run]
	RunStepConnection           = Connection[ion.RunStep]
	RunStepEdge                 = Edge[ion.RunStep]
	RunStepFieldConnection      = Connection[ion.RunStepField]
	RunStepFieldEdge            = Edge[ion.RunStepField]
	BuildRequirementConnection  = Connection[ion.BuildRequirement]
	BuildRequirementEdge        = Edge[ion.BuildRequirement]
	AbomInstallationConnection  = Connection[ion.AbomInstallation]
	AbomInstallationEdge        = Edge[ion.AbomInstallation]
	IssueConnection             = Connection[ion.Issue]
	IssueEdge                   = Edge[ion.Issue]
	SupplierConnection          = Connection[ion.Supplier]
	SupplierEdge                = Edge[ion.Supplier]
	PurchaseOrderConnection     = Connection[ion.PurchaseOrder]
	PurchaseOrderEdge           = Edge[ion.PurchaseOrder]
	PurchaseOrderLineConnection = Connection[ion.PurchaseOrderLine]
	PurchaseOrderLineEdge       = Edge[ion.PurchaseOrderLine]
	UserConnection              = Connection[ion.User]
	UserEdge                    = Edge[ion.User]
	TeamConnection              = Connection[ion.Team]
	TeamEdge                    = Edge[ion.Team]
	APIKeyConnection            = Connection[APIKey]
	APIKeyEdge                  = Edge[APIKey]
)
