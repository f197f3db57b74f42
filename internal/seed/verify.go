package seed

import (
	"context"
	"errors"
	"fmt"

	"github.com/ionbox/ionbox/ion"
)

// Factory is everything a tenant holds, read through ion.TenantStore, in
// id order: what Verify checks and what tests compare.
type Factory struct {
	Parts              []ion.Part
	MBomItems          []ion.MBomItem
	MBomSubstitutes    []ion.MBomSubstitute
	Locations          []ion.Location
	Units              []ion.UnitOfMeasurement
	Suppliers          []ion.Supplier
	PurchaseOrders     []ion.PurchaseOrder
	PurchaseOrderLines []ion.PurchaseOrderLine
	Inventories        []ion.PartInventory
	Procedures         []ion.Procedure
	Steps              []ion.Step
	StepFields         []ion.StepField
	Runs               []ion.Run
	RunSteps           []ion.RunStep
	RunStepFields      []ion.RunStepField
	BuildRequirements  []ion.BuildRequirement
	Installations      []ion.AbomInstallation
	Issues             []ion.Issue
}

// all reads a whole list a page at a time.
func all[T any](ctx context.Context, list func(context.Context, ion.ListOptions) (ion.Page[T], error)) ([]T, error) {
	const page = 1000
	var out []T
	for off := 0; ; off += page {
		p, err := list(ctx, ion.ListOptions{Offset: off, Limit: page})
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if len(p.Items) < page {
			return out, nil
		}
	}
}

// Read reads every object of t. Meant for the small size: it holds it all
// in memory.
func Read(ctx context.Context, t ion.TenantStore) (*Factory, error) {
	f := &Factory{}
	var errs []error
	read := func(err error) { errs = append(errs, err) }
	var err error
	f.Parts, err = all(ctx, t.Parts)
	read(err)
	f.MBomItems, err = all(ctx, t.MBomItems)
	read(err)
	f.MBomSubstitutes, err = all(ctx, t.MBomSubstitutes)
	read(err)
	f.Locations, err = all(ctx, t.Locations)
	read(err)
	f.Units, err = all(ctx, t.UnitsOfMeasurement)
	read(err)
	f.Suppliers, err = all(ctx, t.Suppliers)
	read(err)
	f.PurchaseOrders, err = all(ctx, t.PurchaseOrders)
	read(err)
	f.PurchaseOrderLines, err = all(ctx, t.PurchaseOrderLines)
	read(err)
	f.Inventories, err = all(ctx, t.PartInventories)
	read(err)
	f.Procedures, err = all(ctx, t.Procedures)
	read(err)
	f.Steps, err = all(ctx, t.Steps)
	read(err)
	f.StepFields, err = all(ctx, t.StepFields)
	read(err)
	f.Runs, err = all(ctx, t.Runs)
	read(err)
	f.RunSteps, err = all(ctx, t.RunSteps)
	read(err)
	f.RunStepFields, err = all(ctx, t.RunStepFields)
	read(err)
	f.BuildRequirements, err = all(ctx, t.BuildRequirements)
	read(err)
	f.Installations, err = all(ctx, t.AbomInstallations)
	read(err)
	f.Issues, err = all(ctx, t.Issues)
	read(err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("seed: reading the factory: %w", err)
	}
	return f, nil
}

// Summary counts what a factory has, by kind and status.
type Summary struct {
	Rows              int            // objects of every kind together
	InventoryStatuses map[string]int // by derived status
	InventoryTracking map[string]int // SERIAL, LOT, NONE
	RunStatuses       map[string]int
	ArchivedRuns      int
	ProcedureTypes    map[string]int
	ProcedureStatuses map[string]int
	FieldTypes        map[string]int // of step fields
	FieldValues       int            // run step fields with a value
	StepDependencies  int            // upstream edges between steps
	SubSteps          int
	IssueStatuses     map[string]int
	OrderStatuses     map[string]int
	MBomDepth         int // levels of the deepest mBOM (a part with no items is 1)
	AsBuiltDepth      int // levels of the deepest as-built tree
	Substitutes       int
	InstalledFromSubs int // installations of a substitute part
}

// Verify checks the rules that make f a coherent factory and summarizes
// it. It fails on: a run whose status is not what its steps derive; an
// installation of a part its requirement does not allow, of a unit
// installed twice, beyond its requirement's quantity, or that closes a
// cycle; a requirement whose origin mBOM item is not in its parent's mBOM;
// an installed-through unit not INSTALLED; a step upstream of a step of
// another procedure.
func Verify(f *Factory) (Summary, error) {
	s := Summary{InventoryStatuses: map[string]int{}, InventoryTracking: map[string]int{}, RunStatuses: map[string]int{},
		ProcedureTypes: map[string]int{}, ProcedureStatuses: map[string]int{}, FieldTypes: map[string]int{},
		IssueStatuses: map[string]int{}, OrderStatuses: map[string]int{}}
	s.Rows = len(f.Parts) + len(f.MBomItems) + len(f.MBomSubstitutes) + len(f.Locations) + len(f.Units) + len(f.Suppliers) +
		len(f.PurchaseOrders) + len(f.PurchaseOrderLines) + len(f.Inventories) + len(f.Procedures) + len(f.Steps) + len(f.StepFields) +
		len(f.Runs) + len(f.RunSteps) + len(f.RunStepFields) + len(f.BuildRequirements) + len(f.Installations) + len(f.Issues)
	parts := map[ion.ID]ion.Part{}
	for _, p := range f.Parts {
		parts[p.ID] = p
	}
	inv := map[ion.ID]ion.PartInventory{}
	for _, i := range f.Inventories {
		inv[i.ID] = i
		s.InventoryStatuses[i.Status]++
		tracking := "NONE"
		if tt := parts[i.PartID].TrackingType; tt != nil {
			tracking = *tt
		}
		s.InventoryTracking[tracking]++
	}
	for _, p := range f.Procedures {
		s.ProcedureTypes[p.Type]++
		s.ProcedureStatuses[p.Status]++
	}
	stepProc := map[ion.ID]ion.ID{}
	for _, st := range f.Steps {
		stepProc[st.ID] = st.ProcedureID
		if st.ParentID != nil {
			s.SubSteps++
		}
	}
	for _, st := range f.Steps {
		for _, up := range st.UpstreamStepIDs {
			if stepProc[up] != st.ProcedureID {
				return s, fmt.Errorf("step %d waits for step %d of another procedure", st.ID, up)
			}
			s.StepDependencies++
		}
	}
	for _, fl := range f.StepFields {
		s.FieldTypes[fl.Type]++
	}
	for _, fl := range f.RunStepFields {
		if fl.Value != nil && *fl.Value != "null" {
			s.FieldValues++
		}
	}
	stepsOf := map[ion.ID][]string{}
	for _, st := range f.RunSteps {
		stepsOf[st.RunID] = append(stepsOf[st.RunID], st.Status)
	}
	for _, r := range f.Runs {
		s.RunStatuses[r.Status]++
		if r.Archived {
			s.ArchivedRuns++
		}
		if r.Status != ion.StatusCanceled {
			if want := ion.DeriveRunStatus(stepsOf[r.ID]); want != r.Status {
				return s, fmt.Errorf("run %d is %s but its steps make it %s", r.ID, r.Status, want)
			}
		}
	}
	for _, i := range f.Issues {
		s.IssueStatuses[i.Status]++
	}
	for _, o := range f.PurchaseOrders {
		s.OrderStatuses[o.Status]++
	}

	// mBOM.
	items := map[ion.ID]ion.MBomItem{}
	children := map[ion.ID][]ion.ID{}
	for _, m := range f.MBomItems {
		items[m.ID] = m
		children[m.ParentID] = append(children[m.ParentID], m.PartID)
	}
	subs := map[ion.ID]map[ion.ID]bool{}
	for _, sb := range f.MBomSubstitutes {
		if subs[sb.MBomItemID] == nil {
			subs[sb.MBomItemID] = map[ion.ID]bool{}
		}
		subs[sb.MBomItemID][sb.PartID] = true
		s.Substitutes++
	}
	var depth func(part ion.ID, seen int) int
	depth = func(part ion.ID, seen int) int {
		d := 1
		if seen > len(f.Parts) {
			return d // a cycle; the store refuses those
		}
		for _, c := range children[part] {
			d = max(d, 1+depth(c, seen+1))
		}
		return d
	}
	for _, p := range f.Parts {
		s.MBomDepth = max(s.MBomDepth, depth(p.ID, 0))
	}

	// As built.
	reqs := map[ion.ID]ion.BuildRequirement{}
	for _, r := range f.BuildRequirements {
		reqs[r.ID] = r
		if r.OriginMBomItemID != nil {
			it, ok := items[*r.OriginMBomItemID]
			if !ok || it.ParentID != inv[r.PartInventoryID].PartID || it.PartID != r.PartID {
				return s, fmt.Errorf("build requirement %d names mBOM item %d, which is not an item of its parent's part", r.ID, *r.OriginMBomItemID)
			}
		}
	}
	installed := map[ion.ID]float64{}
	parentOf := map[ion.ID]ion.ID{} // child unit → parent unit
	for _, a := range f.Installations {
		r, ok := reqs[a.BuildRequirementID]
		if !ok {
			return s, fmt.Errorf("installation %d names unknown build requirement %d", a.ID, a.BuildRequirementID)
		}
		child, ok := inv[a.PartInventoryID]
		if !ok {
			return s, fmt.Errorf("installation %d names unknown part inventory %d", a.ID, a.PartInventoryID)
		}
		if child.PartID != r.PartID {
			if r.OriginMBomItemID == nil || !subs[*r.OriginMBomItemID][child.PartID] {
				return s, fmt.Errorf("installation %d puts part %d where requirement %d needs part %d", a.ID, child.PartID, r.ID, r.PartID)
			}
			s.InstalledFromSubs++
		}
		if _, twice := parentOf[child.ID]; twice {
			return s, fmt.Errorf("part inventory %d is installed twice", child.ID)
		}
		parentOf[child.ID] = r.PartInventoryID
		installed[r.ID] += a.Quantity
		if installed[r.ID] > r.QuantityPerParentPartInventory {
			return s, fmt.Errorf("build requirement %d has %v installed, more than its %v", r.ID, installed[r.ID], r.QuantityPerParentPartInventory)
		}
		if a.Quantity >= child.Quantity && child.Status != ion.InvInstalled {
			return s, fmt.Errorf("part inventory %d is wholly installed but %s", child.ID, child.Status)
		}
	}
	for child := range parentOf {
		d := 1
		for at, ok := child, true; ok; at, ok = parentOf[at] {
			d++
			if d > len(parentOf)+2 {
				return s, fmt.Errorf("the as-built tree has a cycle through part inventory %d", child)
			}
		}
		s.AsBuiltDepth = max(s.AsBuiltDepth, d-1)
	}
	return s, nil
}
