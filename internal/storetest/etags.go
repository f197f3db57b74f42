package storetest

import (
	"testing"

	"github.com/ionbox/ionbox/ion"
)

// etagCase exercises optimistic concurrency on one kind of object: a stale
// or missing etag changes nothing, the right one changes the etag.
type etagCase struct {
	name   string
	create func(t *testing.T, b *bundle) (ion.ID, string)
	read   func(b *bundle, id ion.ID) (any, error)
	update func(b *bundle, id ion.ID, etag string) (string, error) // nil if the kind has no update
	remove func(b *bundle, id ion.ID, etag string) error           // nil if the kind has no delete
}

func meta[T any](v T, err error, m func(T) ion.Meta) (string, error) {
	if err != nil {
		return "", err
	}
	return m(v).Etag, nil
}

func anyOf[T any](v T, err error) (any, error) { return v, err }

func testEtags(t *testing.T, h *harness) {
	part := func(t *testing.T, b *bundle) ion.Part {
		return must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: h.name("p")}))(t)
	}
	draftStep := func(t *testing.T, b *bundle) ion.Step {
		p := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "P"}))(t)
		return must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "s"}))(t)
	}
	runStep := func(t *testing.T, b *bundle) ion.RunStep {
		st := draftStep(t, b)
		r := must(b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: st.ProcedureID}))(t)
		return runStepsOf(t, b, r.ID)[0]
	}
	inventory := func(t *testing.T, b *bundle) ion.PartInventory {
		return must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: part(t, b).ID, Quantity: 2}))(t)
	}
	requirement := func(t *testing.T, b *bundle) ion.BuildRequirement {
		inv := inventory(t, b)
		return must(b.ts.CreateBuildRequirement(b.ctx, ion.BuildRequirement{PartInventoryID: inv.ID, PartID: part(t, b).ID, QuantityPerParentPartInventory: 1}))(t)
	}
	cases := []etagCase{
		{
			name:   "part",
			create: func(t *testing.T, b *bundle) (ion.ID, string) { p := part(t, b); return p.ID, p.Etag },
			read:   func(b *bundle, id ion.ID) (any, error) { return anyOf(b.ts.Part(b.ctx, id)) },
			update: func(b *bundle, id ion.ID, etag string) (string, error) {
				p, err := b.ts.UpdatePart(b.ctx, ion.PartPatch{ID: id, Etag: etag, Description: ptr("changed")})
				return meta(p, err, func(p ion.Part) ion.Meta { return p.Meta })
			},
			remove: func(b *bundle, id ion.ID, etag string) error { return b.ts.DeletePart(b.ctx, id, etag) },
		},
		{
			name: "mBOM item",
			create: func(t *testing.T, b *bundle) (ion.ID, string) {
				m := must(b.ts.CreateMBomItem(b.ctx, ion.MBomItem{ParentID: part(t, b).ID, PartID: part(t, b).ID, Quantity: 1}))(t)
				return m.ID, m.Etag
			},
			read: func(b *bundle, id ion.ID) (any, error) { return anyOf(b.ts.MBomItem(b.ctx, id)) },
			update: func(b *bundle, id ion.ID, etag string) (string, error) {
				m, err := b.ts.UpdateMBomItem(b.ctx, ion.MBomItemPatch{ID: id, Etag: etag, Quantity: ptr(2.0)})
				return meta(m, err, func(m ion.MBomItem) ion.Meta { return m.Meta })
			},
			remove: func(b *bundle, id ion.ID, etag string) error { return b.ts.DeleteMBomItem(b.ctx, id, etag) },
		},
		{
			name: "mBOM substitute",
			create: func(t *testing.T, b *bundle) (ion.ID, string) {
				m := must(b.ts.CreateMBomItem(b.ctx, ion.MBomItem{ParentID: part(t, b).ID, PartID: part(t, b).ID, Quantity: 1}))(t)
				s := must(b.ts.CreateMBomSubstitute(b.ctx, ion.MBomSubstitute{MBomItemID: m.ID, PartID: part(t, b).ID}))(t)
				return s.ID, s.Etag
			},
			read: func(b *bundle, id ion.ID) (any, error) {
				page, err := b.ts.MBomSubstitutes(b.ctx, ion.ListOptions{Limit: 1, Filters: []ion.Filter{{Field: "id", Op: ion.OpEq, Value: id}}})
				if err == nil && len(page.Items) == 0 {
					return nil, ion.NotFound("mBOM substitute", id)
				}
				return page, err
			},
			remove: func(b *bundle, id ion.ID, etag string) error { return b.ts.DeleteMBomSubstitute(b.ctx, id, etag) },
		},
		{
			name: "location",
			create: func(t *testing.T, b *bundle) (ion.ID, string) {
				l := must(b.ts.CreateLocation(b.ctx, ion.Location{Name: "bin", Available: true}))(t)
				return l.ID, l.Etag
			},
			read: func(b *bundle, id ion.ID) (any, error) { return anyOf(b.ts.Location(b.ctx, id)) },
			update: func(b *bundle, id ion.ID, etag string) (string, error) {
				l, err := b.ts.UpdateLocation(b.ctx, ion.LocationPatch{ID: id, Etag: etag, Available: ptr(false)})
				return meta(l, err, func(l ion.Location) ion.Meta { return l.Meta })
			},
			remove: func(b *bundle, id ion.ID, etag string) error { return b.ts.DeleteLocation(b.ctx, id, etag) },
		},
		{
			name: "unit of measurement",
			create: func(t *testing.T, b *bundle) (ion.ID, string) {
				u := must(b.ts.CreateUnitOfMeasurement(b.ctx, ion.UnitOfMeasurement{Type: "kg"}))(t)
				return u.ID, u.Etag
			},
			read: func(b *bundle, id ion.ID) (any, error) { return anyOf(b.ts.UnitOfMeasurement(b.ctx, id)) },
			update: func(b *bundle, id ion.ID, etag string) (string, error) {
				u, err := b.ts.UpdateUnitOfMeasurement(b.ctx, ion.UnitOfMeasurementPatch{ID: id, Etag: etag, Type: ptr("g")})
				return meta(u, err, func(u ion.UnitOfMeasurement) ion.Meta { return u.Meta })
			},
			remove: func(b *bundle, id ion.ID, etag string) error { return b.ts.DeleteUnitOfMeasurement(b.ctx, id, etag) },
		},
		{
			name:   "part inventory",
			create: func(t *testing.T, b *bundle) (ion.ID, string) { i := inventory(t, b); return i.ID, i.Etag },
			read:   func(b *bundle, id ion.ID) (any, error) { return anyOf(b.ts.PartInventory(b.ctx, id)) },
			update: func(b *bundle, id ion.ID, etag string) (string, error) {
				i, err := b.ts.UpdatePartInventory(b.ctx, ion.PartInventoryPatch{ID: id, Etag: etag, Quantity: ptr(2.5)})
				return meta(i, err, func(i ion.PartInventory) ion.Meta { return i.Meta })
			},
			remove: func(b *bundle, id ion.ID, etag string) error { return b.ts.DeletePartInventory(b.ctx, id, etag) },
		},
		{
			name: "procedure",
			create: func(t *testing.T, b *bundle) (ion.ID, string) {
				p := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "P"}))(t)
				return p.ID, p.Etag
			},
			read: func(b *bundle, id ion.ID) (any, error) { return anyOf(b.ts.Procedure(b.ctx, id)) },
			update: func(b *bundle, id ion.ID, etag string) (string, error) {
				p, err := b.ts.UpdateProcedure(b.ctx, ion.ProcedurePatch{ID: id, Etag: etag, Title: ptr("Q")})
				return meta(p, err, func(p ion.Procedure) ion.Meta { return p.Meta })
			},
			remove: func(b *bundle, id ion.ID, etag string) error { return b.ts.DeleteProcedure(b.ctx, id, etag) },
		},
		{
			name:   "step",
			create: func(t *testing.T, b *bundle) (ion.ID, string) { s := draftStep(t, b); return s.ID, s.Etag },
			read:   func(b *bundle, id ion.ID) (any, error) { return anyOf(b.ts.Step(b.ctx, id)) },
			update: func(b *bundle, id ion.ID, etag string) (string, error) {
				s, err := b.ts.UpdateStep(b.ctx, ion.StepPatch{ID: id, Etag: etag, Content: ptr("new")})
				return meta(s, err, func(s ion.Step) ion.Meta { return s.Meta })
			},
			remove: func(b *bundle, id ion.ID, etag string) error { return b.ts.DeleteStep(b.ctx, id, etag) },
		},
		{
			name: "step field",
			create: func(t *testing.T, b *bundle) (ion.ID, string) {
				f := must(b.ts.CreateStepField(b.ctx, ion.StepField{StepID: draftStep(t, b).ID, Name: "n", Type: ion.FieldString}))(t)
				return f.ID, f.Etag
			},
			read: func(b *bundle, id ion.ID) (any, error) { return anyOf(b.ts.StepField(b.ctx, id)) },
			update: func(b *bundle, id ion.ID, etag string) (string, error) {
				f, err := b.ts.UpdateStepField(b.ctx, ion.StepFieldPatch{ID: id, Etag: etag, Required: ptr(true)})
				return meta(f, err, func(f ion.StepField) ion.Meta { return f.Meta })
			},
			remove: func(b *bundle, id ion.ID, etag string) error { return b.ts.DeleteStepField(b.ctx, id, etag) },
		},
		{
			name: "run",
			create: func(t *testing.T, b *bundle) (ion.ID, string) {
				r := must(b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: draftStep(t, b).ProcedureID}))(t)
				return r.ID, r.Etag
			},
			read: func(b *bundle, id ion.ID) (any, error) { return anyOf(b.ts.Run(b.ctx, id)) },
			update: func(b *bundle, id ion.ID, etag string) (string, error) {
				r, err := b.ts.UpdateRun(b.ctx, ion.RunPatch{ID: id, Etag: etag, Title: ptr("renamed")})
				return meta(r, err, func(r ion.Run) ion.Meta { return r.Meta })
			},
			remove: func(b *bundle, id ion.ID, etag string) error { return b.ts.DeleteRun(b.ctx, id, etag) },
		},
		{
			name:   "run step",
			create: func(t *testing.T, b *bundle) (ion.ID, string) { s := runStep(t, b); return s.ID, s.Etag },
			read:   func(b *bundle, id ion.ID) (any, error) { return anyOf(b.ts.RunStep(b.ctx, id)) },
			update: func(b *bundle, id ion.ID, etag string) (string, error) {
				s, err := b.ts.UpdateRunStep(b.ctx, ion.RunStepPatch{ID: id, Etag: etag, Status: ptr(ion.StatusInProgress)})
				return meta(s, err, func(s ion.RunStep) ion.Meta { return s.Meta })
			},
		},
		{
			name: "run step field",
			create: func(t *testing.T, b *bundle) (ion.ID, string) {
				f := must(b.ts.CreateRunStepField(b.ctx, ion.RunStepField{RunStepID: runStep(t, b).ID, Name: "n", Type: ion.FieldString}))(t)
				return f.ID, f.Etag
			},
			read: func(b *bundle, id ion.ID) (any, error) { return anyOf(b.ts.RunStepField(b.ctx, id)) },
			update: func(b *bundle, id ion.ID, etag string) (string, error) {
				f, err := b.ts.UpdateRunStepFieldValue(b.ctx, id, etag, ptr(`"v"`))
				return meta(f, err, func(f ion.RunStepField) ion.Meta { return f.Meta })
			},
		},
		{
			name:   "build requirement",
			create: func(t *testing.T, b *bundle) (ion.ID, string) { r := requirement(t, b); return r.ID, r.Etag },
			read:   func(b *bundle, id ion.ID) (any, error) { return anyOf(b.ts.BuildRequirement(b.ctx, id)) },
			remove: func(b *bundle, id ion.ID, etag string) error { return b.ts.DeleteBuildRequirement(b.ctx, id, etag) },
		},
		{
			name: "aBOM installation",
			create: func(t *testing.T, b *bundle) (ion.ID, string) {
				r := requirement(t, b)
				child := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: r.PartID, Quantity: 1}))(t)
				a := must(b.ts.CreateAbomInstallation(b.ctx, ion.AbomInstallation{BuildRequirementID: r.ID, PartInventoryID: child.ID, Quantity: 1}))(t)
				return a.ID, a.Etag
			},
			read:   func(b *bundle, id ion.ID) (any, error) { return anyOf(b.ts.AbomInstallation(b.ctx, id)) },
			remove: func(b *bundle, id ion.ID, etag string) error { return b.ts.DeleteAbomInstallation(b.ctx, id, etag) },
		},
		{
			name: "issue",
			create: func(t *testing.T, b *bundle) (ion.ID, string) {
				i := must(b.ts.CreateIssue(b.ctx, ion.Issue{Title: "i"}))(t)
				return i.ID, i.Etag
			},
			read: func(b *bundle, id ion.ID) (any, error) { return anyOf(b.ts.Issue(b.ctx, id)) },
			update: func(b *bundle, id ion.ID, etag string) (string, error) {
				i, err := b.ts.UpdateIssue(b.ctx, ion.IssuePatch{ID: id, Etag: etag, Status: ptr(ion.IssueResolved)})
				return meta(i, err, func(i ion.Issue) ion.Meta { return i.Meta })
			},
			remove: func(b *bundle, id ion.ID, etag string) error { return b.ts.DeleteIssue(b.ctx, id, etag) },
		},
		{
			name: "supplier",
			create: func(t *testing.T, b *bundle) (ion.ID, string) {
				s := must(b.ts.CreateSupplier(b.ctx, ion.Supplier{Name: "s"}))(t)
				return s.ID, s.Etag
			},
			read: func(b *bundle, id ion.ID) (any, error) { return anyOf(b.ts.Supplier(b.ctx, id)) },
			update: func(b *bundle, id ion.ID, etag string) (string, error) {
				s, err := b.ts.UpdateSupplier(b.ctx, ion.SupplierPatch{ID: id, Etag: etag, Name: ptr("t")})
				return meta(s, err, func(s ion.Supplier) ion.Meta { return s.Meta })
			},
			remove: func(b *bundle, id ion.ID, etag string) error { return b.ts.DeleteSupplier(b.ctx, id, etag) },
		},
		{
			name: "purchase order",
			create: func(t *testing.T, b *bundle) (ion.ID, string) {
				p := must(b.ts.CreatePurchaseOrder(b.ctx, ion.PurchaseOrder{}))(t)
				return p.ID, p.Etag
			},
			read: func(b *bundle, id ion.ID) (any, error) { return anyOf(b.ts.PurchaseOrder(b.ctx, id)) },
			update: func(b *bundle, id ion.ID, etag string) (string, error) {
				p, err := b.ts.UpdatePurchaseOrder(b.ctx, ion.PurchaseOrderPatch{ID: id, Etag: etag, Status: ptr(ion.POOrdered)})
				return meta(p, err, func(p ion.PurchaseOrder) ion.Meta { return p.Meta })
			},
			remove: func(b *bundle, id ion.ID, etag string) error { return b.ts.DeletePurchaseOrder(b.ctx, id, etag) },
		},
		{
			name: "purchase order line",
			create: func(t *testing.T, b *bundle) (ion.ID, string) {
				p := must(b.ts.CreatePurchaseOrder(b.ctx, ion.PurchaseOrder{}))(t)
				l := must(b.ts.CreatePurchaseOrderLine(b.ctx, ion.PurchaseOrderLine{PurchaseOrderID: p.ID, PartID: part(t, b).ID, Quantity: 2}))(t)
				return l.ID, l.Etag
			},
			read: func(b *bundle, id ion.ID) (any, error) { return anyOf(b.ts.PurchaseOrderLine(b.ctx, id)) },
			update: func(b *bundle, id ion.ID, etag string) (string, error) {
				l, err := b.ts.UpdatePurchaseOrderLine(b.ctx, ion.PurchaseOrderLinePatch{ID: id, Etag: etag, Quantity: ptr(3.0)})
				return meta(l, err, func(l ion.PurchaseOrderLine) ion.Meta { return l.Meta })
			},
			remove: func(b *bundle, id ion.ID, etag string) error { return b.ts.DeletePurchaseOrderLine(b.ctx, id, etag) },
		},
		{
			name: "team",
			create: func(t *testing.T, b *bundle) (ion.ID, string) {
				tm := must(b.ts.CreateTeam(b.ctx, ion.Team{Name: "t", UserIDs: []ion.ID{1}}))(t)
				return tm.ID, tm.Etag
			},
			read: func(b *bundle, id ion.ID) (any, error) { return anyOf(b.ts.Team(b.ctx, id)) },
			update: func(b *bundle, id ion.ID, etag string) (string, error) {
				tm, err := b.ts.UpdateTeam(b.ctx, ion.TeamPatch{ID: id, Etag: etag, UserIDs: &[]ion.ID{1, 2}})
				return meta(tm, err, func(tm ion.Team) ion.Meta { return tm.Meta })
			},
			remove: func(b *bundle, id ion.ID, etag string) error { return b.ts.DeleteTeam(b.ctx, id, etag) },
		},
	}
	// One tenant for all kinds keeps the suite fast; each kind uses its own objects.
	b := h.setup(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			id, etag := c.create(t, b)
			etagOK(t, etag)
			before := must(c.read(b, id))(t)
			stale := ion.NewEtag()
			if c.update != nil {
				_, err := c.update(b, id, stale)
				wantErr(t, err, ion.ECONFLICT, "")
				same(t, "after a stale update", must(c.read(b, id))(t), before)
				_, err = c.update(b, id, "")
				wantErr(t, err, ion.EVALIDATION, "etag")
				same(t, "after an update without etag", must(c.read(b, id))(t), before)
				next := must(c.update(b, id, etag))(t)
				etagOK(t, next)
				if next == etag {
					t.Fatalf("update kept etag %s", etag)
				}
				// The old etag is stale now.
				_, err = c.update(b, id, etag)
				wantErr(t, err, ion.ECONFLICT, "")
				etag = next
				before = must(c.read(b, id))(t)
			}
			if c.remove != nil {
				wantErr(t, c.remove(b, id, stale), ion.ECONFLICT, "")
				same(t, "after a stale delete", must(c.read(b, id))(t), before)
				ok(t, c.remove(b, id, etag))
				_, err := c.read(b, id)
				wantErr(t, err, ion.ENOTFOUND, "")
				wantErr(t, c.remove(b, id, etag), ion.ENOTFOUND, "")
			}
		})
	}
}
