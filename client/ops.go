package client

import (
	"context"
	"iter"
)

// Typed helpers for the common ION operations. Field names are ION's
// (ION-API.md §4). Anything else goes through Do.

// PageInfo is a Relay connection's page information.
type PageInfo struct {
	HasNextPage     bool    `json:"hasNextPage"`
	HasPreviousPage bool    `json:"hasPreviousPage"`
	StartCursor     *string `json:"startCursor"`
	EndCursor       *string `json:"endCursor"`
	TotalCount      int     `json:"totalCount"`
	Count           int     `json:"count"`
}

// Page is one page of a list.
type Page[T any] struct {
	Nodes    []T
	PageInfo PageInfo
}

// ListParams select a page: Filters is ION's <Plural>InputFilters, e.g.
// {"partNumber": {"eq": "ion-12"}}.
type ListParams struct {
	Filters map[string]any
	// First is the page size (ION's default and maximum 1000 when 0).
	First int
	// After is the cursor to continue from.
	After string
	// Sort values like "ID_ASC".
	Sort []string
}

func (p ListParams) vars() map[string]any {
	v := map[string]any{}
	if p.Filters != nil {
		v["filters"] = p.Filters
	}
	if p.First > 0 {
		v["first"] = p.First
	}
	if p.After != "" {
		v["after"] = p.After
	}
	if len(p.Sort) > 0 {
		v["sort"] = p.Sort
	}
	return v
}

type connection[T any] struct {
	Edges    []struct{ Node T } `json:"edges"`
	PageInfo PageInfo           `json:"pageInfo"`
}

func (c connection[T]) page() *Page[T] {
	p := &Page[T]{PageInfo: c.PageInfo}
	for _, e := range c.Edges {
		p.Nodes = append(p.Nodes, e.Node)
	}
	return p
}

// list runs a connection query whose top-level field is field.
func list[T any](ctx context.Context, c *Client, field, filterType, sortType, selection string, p ListParams) (*Page[T], error) {
	q := `query List($filters: ` + filterType + `, $first: Int, $after: String, $sort: [` + sortType + `]) { ` + field +
		`(filters: $filters, first: $first, after: $after, sort: $sort) { edges { node { ` + selection +
		` } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor totalCount count } } }`
	var out map[string]connection[T]
	if err := c.Do(ctx, q, p.vars(), &out); err != nil {
		return nil, err
	}
	return out[field].page(), nil
}

// walk pages through a list from p.After until the last page.
func walk[T any](ctx context.Context, p ListParams, fetch func(context.Context, ListParams) (*Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			page, err := fetch(ctx, p)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, n := range page.Nodes {
				if !yield(n, nil) {
					return
				}
			}
			if !page.PageInfo.HasNextPage || page.PageInfo.EndCursor == nil || len(page.Nodes) == 0 {
				return
			}
			p.After = *page.PageInfo.EndCursor
		}
	}
}

// Organization is a user's organization.
type Organization struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Domain string `json:"domain"`
}

// User is the caller as currentUser reports it.
type User struct {
	ID           int64        `json:"id"`
	Name         string       `json:"name"`
	Email        string       `json:"email"`
	Organization Organization `json:"organization"`
}

// CurrentUser returns the user the credential acts as.
func (c *Client) CurrentUser(ctx context.Context) (*User, error) {
	var out struct{ CurrentUser *User }
	if err := c.Do(ctx, `query Me { currentUser { id name email organization { id domain } } }`, nil, &out); err != nil {
		return nil, err
	}
	return out.CurrentUser, nil
}

// Part is an ION part.
type Part struct {
	ID           int64   `json:"id"`
	Etag         string  `json:"_etag"`
	PartNumber   string  `json:"partNumber"`
	Revision     string  `json:"revision"`
	Description  *string `json:"description"`
	PartType     string  `json:"partType"`
	TrackingType *string `json:"trackingType"`
	Status       string  `json:"status"`
	Quantity     float64 `json:"quantity"`
}

const partFields = `id _etag partNumber revision description partType trackingType status quantity`

// Parts returns one page of parts.
func (c *Client) Parts(ctx context.Context, p ListParams) (*Page[Part], error) {
	return list[Part](ctx, c, "parts", "PartsInputFilters", "PartSortEnum", partFields, p)
}

// AllParts walks every page of parts from p.After.
func (c *Client) AllParts(ctx context.Context, p ListParams) iter.Seq2[Part, error] {
	return walk(ctx, p, c.Parts)
}

// CreatePartInput is createPart's input; empty fields are left out.
type CreatePartInput struct {
	PartNumber   string `json:"partNumber"`
	Revision     string `json:"revision,omitempty"`
	Description  string `json:"description,omitempty"`
	PartType     string `json:"partType,omitempty"`
	TrackingType string `json:"trackingType,omitempty"`
}

// CreatePart creates a part.
func (c *Client) CreatePart(ctx context.Context, in CreatePartInput) (*Part, error) {
	var out struct{ CreatePart struct{ Part *Part } }
	err := c.Do(ctx, `mutation CreatePart($input: CreatePartInput!) { createPart(input: $input) { part { `+partFields+` } } }`,
		map[string]any{"input": in}, &out)
	return out.CreatePart.Part, err
}

// PartInventory is a serial unit, a lot or an untracked quantity.
type PartInventory struct {
	ID                int64   `json:"id"`
	Etag              string  `json:"_etag"`
	PartID            int64   `json:"partId"`
	SerialNumber      *string `json:"serialNumber"`
	LotNumber         *string `json:"lotNumber"`
	Quantity          float64 `json:"quantity"`
	QuantityAvailable float64 `json:"quantityAvailable"`
	LocationID        *int64  `json:"locationId"`
	Status            string  `json:"status"`
}

const inventoryFields = `id _etag partId serialNumber lotNumber quantity quantityAvailable locationId status`

// PartInventories returns one page of inventory.
func (c *Client) PartInventories(ctx context.Context, p ListParams) (*Page[PartInventory], error) {
	return list[PartInventory](ctx, c, "partInventories", "PartInventoriesInputFilters", "PartInventorySortEnum", inventoryFields, p)
}

// AllPartInventories walks every page of inventory from p.After.
func (c *Client) AllPartInventories(ctx context.Context, p ListParams) iter.Seq2[PartInventory, error] {
	return walk(ctx, p, c.PartInventories)
}

// CreatePartInventoryInput is createPartInventory's input.
type CreatePartInventoryInput struct {
	PartID       int64    `json:"partId"`
	SerialNumber string   `json:"serialNumber,omitempty"`
	LotNumber    string   `json:"lotNumber,omitempty"`
	Quantity     *float64 `json:"quantity,omitempty"`
	LocationID   int64    `json:"locationId,omitempty"`
}

// CreatePartInventory creates inventory.
func (c *Client) CreatePartInventory(ctx context.Context, in CreatePartInventoryInput) (*PartInventory, error) {
	var out struct {
		CreatePartInventory struct{ PartInventory *PartInventory }
	}
	err := c.Do(ctx, `mutation CreatePartInventory($input: CreatePartInventoryInput!) { createPartInventory(input: $input) { partInventory { `+inventoryFields+` } } }`,
		map[string]any{"input": in}, &out)
	return out.CreatePartInventory.PartInventory, err
}

// UpdatePartInventoryInput is updatePartInventory's input; Etag is required.
type UpdatePartInventoryInput struct {
	ID           int64    `json:"id"`
	Etag         string   `json:"etag"`
	SerialNumber string   `json:"serialNumber,omitempty"`
	LotNumber    string   `json:"lotNumber,omitempty"`
	Quantity     *float64 `json:"quantity,omitempty"`
	LocationID   int64    `json:"locationId,omitempty"`
}

// UpdatePartInventory updates inventory; a stale etag fails with ErrConflict.
func (c *Client) UpdatePartInventory(ctx context.Context, in UpdatePartInventoryInput) (*PartInventory, error) {
	var out struct {
		UpdatePartInventory struct{ PartInventory *PartInventory }
	}
	err := c.Do(ctx, `mutation UpdatePartInventory($input: UpdatePartInventoryInput!) { updatePartInventory(input: $input) { partInventory { `+inventoryFields+` } } }`,
		map[string]any{"input": in}, &out)
	return out.UpdatePartInventory.PartInventory, err
}

// StepField is a field of a procedure step.
type StepField struct {
	ID       int64  `json:"id"`
	Etag     string `json:"_etag"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Required bool   `json:"required"`
}

// Step is a procedure step.
type Step struct {
	ID              int64       `json:"id"`
	Etag            string      `json:"_etag"`
	ProcedureID     int64       `json:"procedureId"`
	Title           *string     `json:"title"`
	Position        int         `json:"position"`
	UpstreamStepIDs []int64     `json:"upstreamStepIds"`
	Fields          []StepField `json:"fields"`
}

// Procedure is a procedure with its steps.
type Procedure struct {
	ID     int64  `json:"id"`
	Etag   string `json:"_etag"`
	Title  string `json:"title"`
	Type   string `json:"type"`
	Status string `json:"status"`
	Steps  []Step `json:"steps"`
}

const procedureFields = `id _etag title type status steps { id _etag procedureId title position fields { id _etag name type required } }`

// Procedures returns one page of procedures with their steps.
func (c *Client) Procedures(ctx context.Context, p ListParams) (*Page[Procedure], error) {
	return list[Procedure](ctx, c, "procedures", "ProceduresInputFilters", "ProcedureSortEnum", procedureFields, p)
}

// CreateProcedureInput is createProcedure's arguments (top-level, as vendor code sends them).
type CreateProcedureInput struct {
	Title       string
	Description string
	// Type is BUILD, TEST, INSPECTION or MAINTENANCE (any case).
	Type string
}

// CreateProcedure creates a draft procedure.
func (c *Client) CreateProcedure(ctx context.Context, in CreateProcedureInput) (*Procedure, error) {
	vars := map[string]any{"title": in.Title}
	if in.Description != "" {
		vars["description"] = in.Description
	}
	if in.Type != "" {
		vars["type"] = in.Type
	}
	var out struct {
		CreateProcedure struct{ Procedure *Procedure }
	}
	err := c.Do(ctx, `mutation CreateProcedure($title: String!, $description: String, $type: Proceduretypeenum) { createProcedure(title: $title, description: $description, type: $type) { procedure { `+procedureFields+` } } }`,
		vars, &out)
	return out.CreateProcedure.Procedure, err
}

// CreateStepInput is createStep's input.
type CreateStepInput struct {
	ProcedureID     int64   `json:"procedureId"`
	Title           string  `json:"title,omitempty"`
	Content         string  `json:"content,omitempty"`
	UpstreamStepIDs []int64 `json:"upstreamStepIds,omitempty"`
}

// CreateStep adds a step to a draft procedure.
func (c *Client) CreateStep(ctx context.Context, in CreateStepInput) (*Step, error) {
	var out struct{ CreateStep struct{ Step *Step } }
	err := c.Do(ctx, `mutation CreateStep($input: CreateStepInput!) { createStep(input: $input) { step { id _etag procedureId title position fields { id _etag name type required } } } }`,
		map[string]any{"input": in}, &out)
	return out.CreateStep.Step, err
}

// CreateStepFieldInput is createStepField's input.
type CreateStepFieldInput struct {
	StepID int64  `json:"stepId"`
	Name   string `json:"name"`
	// Type is STRING, NUMBER, BOOLEAN, SELECT, MULTISELECT, DATETIME, SIGNOFF or FILE_ATTACHMENT.
	Type     string   `json:"type"`
	Required bool     `json:"required"`
	Unit     string   `json:"unit,omitempty"`
	Options  []string `json:"options,omitempty"`
}

// CreateStepField adds a field to a step.
func (c *Client) CreateStepField(ctx context.Context, in CreateStepFieldInput) (*StepField, error) {
	var out struct {
		CreateStepField struct{ StepField *StepField }
	}
	err := c.Do(ctx, `mutation CreateStepField($input: CreateStepFieldInput!) { createStepField(input: $input) { stepField { id _etag name type required } } }`,
		map[string]any{"input": in}, &out)
	return out.CreateStepField.StepField, err
}

// RunStepField is a field of a run step, with its value.
type RunStepField struct {
	ID       int64  `json:"id"`
	Etag     string `json:"_etag"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Required bool   `json:"required"`
	Value    any    `json:"value"`
}

// RunStep is a step of a run.
type RunStep struct {
	ID       int64          `json:"id"`
	Etag     string         `json:"_etag"`
	Position int            `json:"position"`
	Title    *string        `json:"title"`
	Status   string         `json:"status"`
	Fields   []RunStepField `json:"fields"`
}

// Run is a run of a procedure.
type Run struct {
	ID              int64     `json:"id"`
	Etag            string    `json:"_etag"`
	Title           string    `json:"title"`
	Status          string    `json:"status"`
	ProcedureID     int64     `json:"procedureId"`
	PartID          *int64    `json:"partId"`
	PartInventoryID *int64    `json:"partInventoryId"`
	Steps           []RunStep `json:"steps"`
}

const runFields = `id _etag title status procedureId partId partInventoryId steps { id _etag position title status fields { id _etag name type required value } }`

// Runs returns one page of runs with their steps.
func (c *Client) Runs(ctx context.Context, p ListParams) (*Page[Run], error) {
	return list[Run](ctx, c, "runs", "RunsInputFilters", "RunSortEnum", runFields, p)
}

// CreateRunInput is createRun's input.
type CreateRunInput struct {
	Title           string `json:"title"`
	ProcedureID     int64  `json:"procedureId"`
	PartID          int64  `json:"partId,omitempty"`
	PartInventoryID int64  `json:"partInventoryId,omitempty"`
}

// CreateRun starts a run from a procedure (its steps and fields are copied).
func (c *Client) CreateRun(ctx context.Context, in CreateRunInput) (*Run, error) {
	var out struct{ CreateRun struct{ Run *Run } }
	err := c.Do(ctx, `mutation CreateRun($input: CreateRunInput!) { createRun(input: $input) { run { `+runFields+` } } }`,
		map[string]any{"input": in}, &out)
	return out.CreateRun.Run, err
}

// UpdateRunStepInput is updateRunStep's input.
type UpdateRunStepInput struct {
	ID   int64  `json:"id"`
	Etag string `json:"etag"`
	// Status is TODO, IN_PROGRESS, COMPLETE, REDLINE, HOLD, FAILED or CANCELED.
	Status string `json:"status,omitempty"`
}

// UpdateRunStep changes a run step (usually its status).
func (c *Client) UpdateRunStep(ctx context.Context, in UpdateRunStepInput) (*RunStep, error) {
	var out struct{ UpdateRunStep struct{ RunStep *RunStep } }
	err := c.Do(ctx, `mutation UpdateRunStep($input: UpdateRunStepInput!) { updateRunStep(input: $input) { runStep { id _etag position title status } } }`,
		map[string]any{"input": in}, &out)
	return out.UpdateRunStep.RunStep, err
}

// UpdateRunStepFieldValue sets a run step field's value (checked against its type).
func (c *Client) UpdateRunStepFieldValue(ctx context.Context, id int64, value any, etag string) (*RunStepField, error) {
	var out struct {
		UpdateRunStepFieldValue struct{ RunStepField *RunStepField }
	}
	err := c.Do(ctx, `mutation UpdateRunStepFieldValue($input: UpdateRunStepFieldValueInput!) { updateRunStepFieldValue(input: $input) { runStepField { id _etag name type required value } } }`,
		map[string]any{"input": map[string]any{"id": id, "value": value, "etag": etag}}, &out)
	return out.UpdateRunStepFieldValue.RunStepField, err
}

// BuildRequirement says a parent inventory needs some quantity of a part installed.
type BuildRequirement struct {
	ID                             int64   `json:"id"`
	Etag                           string  `json:"_etag"`
	PartID                         int64   `json:"partId"`
	PartInventoryID                int64   `json:"partInventoryId"`
	QuantityPerParentPartInventory float64 `json:"quantityPerParentPartInventory"`
}

// CreateBuildRequirementInput is createBuildRequirement's input.
type CreateBuildRequirementInput struct {
	PartID                         int64   `json:"partId"`
	PartInventoryID                int64   `json:"partInventoryId"`
	QuantityPerParentPartInventory float64 `json:"quantityPerParentPartInventory"`
	OriginMbomItemID               int64   `json:"originMbomItemId,omitempty"`
}

// CreateBuildRequirement creates a build requirement.
func (c *Client) CreateBuildRequirement(ctx context.Context, in CreateBuildRequirementInput) (*BuildRequirement, error) {
	var out struct {
		CreateBuildRequirement struct{ BuildRequirement *BuildRequirement }
	}
	err := c.Do(ctx, `mutation CreateBuildRequirement($input: CreateBuildRequirementInput!) { createBuildRequirement(input: $input) { buildRequirement { id _etag partId partInventoryId quantityPerParentPartInventory } } }`,
		map[string]any{"input": in}, &out)
	return out.CreateBuildRequirement.BuildRequirement, err
}

// AbomInstallation is a child inventory installed against a build requirement.
type AbomInstallation struct {
	ID                 int64   `json:"id"`
	Etag               string  `json:"_etag"`
	BuildRequirementID int64   `json:"buildRequirementId"`
	PartInventoryID    int64   `json:"partInventoryId"`
	Quantity           float64 `json:"quantity"`
}

// CreateAbomInstallation installs a child inventory (it becomes INSTALLED).
// A zero quantity means ION's default, 1.
func (c *Client) CreateAbomInstallation(ctx context.Context, buildRequirementID, partInventoryID int64, quantity float64) (*AbomInstallation, error) {
	in := map[string]any{"buildRequirementId": buildRequirementID, "partInventoryId": partInventoryID}
	if quantity > 0 {
		in["quantity"] = quantity
	}
	var out struct {
		CreateAbomInstallation struct{ AbomInstallation *AbomInstallation }
	}
	err := c.Do(ctx, `mutation CreateABomInstallation($input: CreateABomInstallationInput!) { createAbomInstallation(input: $input) { abomInstallation { id _etag buildRequirementId partInventoryId quantity } } }`,
		map[string]any{"input": in}, &out)
	return out.CreateAbomInstallation.AbomInstallation, err
}

// DeleteAbomInstallation uninstalls (the child inventory is available again).
func (c *Client) DeleteAbomInstallation(ctx context.Context, id int64, etag string) error {
	return c.Do(ctx, `mutation DeleteAbomInstallation($id: ID!, $etag: String!) { deleteAbomInstallation(id: $id, etag: $etag) { id } }`,
		map[string]any{"id": id, "etag": etag}, nil)
}
