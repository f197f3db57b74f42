package storetest

import (
	"testing"

	"github.com/ionbox/ionbox/ion"
)

// bulkInventory is a location pair and three inventory rows: untracked
// (10 at loc1), lot-tracked (5 at loc1) and serial-tracked (1).
type bulkInventory struct {
	loc1, loc2           ion.Location
	untracked, lot, unit ion.PartInventory
}

func newBulkInventory(t *testing.T, b *bundle) bulkInventory {
	t.Helper()
	var f bulkInventory
	f.loc1 = must(b.ts.CreateLocation(b.ctx, ion.Location{Name: "Bay 1", Available: true}))(t)
	f.loc2 = must(b.ts.CreateLocation(b.ctx, ion.Location{Name: "Bay 2", Available: true}))(t)
	plain := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "bolt"}))(t)
	lotted := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "resin", TrackingType: ptr(ion.TrackingLot)}))(t)
	serial := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "motor", TrackingType: ptr(ion.TrackingSerial)}))(t)
	f.untracked = must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: plain.ID, Quantity: 10, LocationID: &f.loc1.ID}))(t)
	f.lot = must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: lotted.ID, LotNumber: ptr("L-1"), Quantity: 5, LocationID: &f.loc1.ID}))(t)
	f.unit = must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: serial.ID, SerialNumber: ptr("SN-1"), Quantity: 1}))(t)
	return f
}

func (f bulkInventory) rows() []ion.PartInventory {
	return []ion.PartInventory{f.untracked, f.lot, f.unit}
}

// unchanged fails the test unless every row reads back exactly as given.
func unchanged(t *testing.T, b *bundle, rows ...ion.PartInventory) {
	t.Helper()
	for _, r := range rows {
		same(t, "inventory after a refused or dry bulk call", must(b.ts.PartInventory(b.ctx, r.ID))(t), r)
	}
}

// runWithOneStep makes a run of a one-step procedure, linked to inv when
// it is not nil.
func runWithOneStep(t *testing.T, b *bundle, title string, inv *ion.ID) (ion.Run, ion.RunStep) {
	t.Helper()
	p := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "Proc " + title}))(t)
	must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "Only"}))(t)
	r := must(b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: p.ID, Title: title, PartInventoryID: inv}))(t)
	return r, runStepsOf(t, b, r.ID)[0]
}

func testBulk(t *testing.T, h *harness) {
	t.Run("AdjustPartInventories", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		f := newBulkInventory(t, b)
		got := must(b.ts.AdjustPartInventories(b.ctx, []ion.InventoryAdjustment{
			{ID: f.untracked.ID, Etag: f.untracked.Etag, Quantity: ptr(8.0), LocationID: &f.loc2.ID}, // recount and transfer
			{ID: f.lot.ID, Etag: f.lot.Etag, ScrapQuantity: ptr(2.0)},                                // partial scrap
			{ID: f.unit.ID, Etag: f.unit.Etag, ScrapQuantity: ptr(1.0)},                              // scrap all
		}, false))(t)
		if len(got) != 3 {
			t.Fatalf("%d inventories back, want 3", len(got))
		}
		u, l, s := got[0], got[1], got[2]
		if u.Quantity != 8 || *u.LocationID != f.loc2.ID || u.QuantityAvailable != 8 || u.Status != ion.InvAvailable {
			t.Errorf("recounted and moved row = %+v", u)
		}
		if l.Quantity != 5 || l.QuantityScrapped != 2 || l.QuantityAvailable != 3 || l.Status != ion.InvAvailable {
			t.Errorf("partly scrapped row = %+v", l)
		}
		if s.QuantityScrapped != 1 || s.QuantityAvailable != 0 || s.Status != ion.InvScrapped {
			t.Errorf("scrapped unit = %+v, want status SCRAPPED", s)
		}
		for i, r := range got {
			etagOK(t, r.Etag)
			if r.Etag == f.rows()[i].Etag {
				t.Errorf("row %d kept its etag %s after changing", i, r.Etag)
			}
			same(t, "adjusted row read back", must(b.ts.PartInventory(b.ctx, r.ID))(t), r)
		}
	})

	t.Run("AllOrNothing", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		f := newBulkInventory(t, b)
		good := ion.InventoryAdjustment{ID: f.untracked.ID, Etag: f.untracked.Etag, Quantity: ptr(3.0)}
		cases := []struct {
			name      string
			second    ion.InventoryAdjustment
			wantCode  string
			wantField string
		}{
			{"stale etag", ion.InventoryAdjustment{ID: f.lot.ID, Etag: f.unit.Etag, Quantity: ptr(1.0)}, ion.ECONFLICT, "adjustments[1]"},
			{"no etag", ion.InventoryAdjustment{ID: f.lot.ID, Quantity: ptr(1.0)}, ion.EVALIDATION, "adjustments[1].etag"},
			{"serial quantity 2", ion.InventoryAdjustment{ID: f.unit.ID, Etag: f.unit.Etag, Quantity: ptr(2.0)}, ion.EVALIDATION, "adjustments[1].quantity"},
			{"negative quantity", ion.InventoryAdjustment{ID: f.lot.ID, Etag: f.lot.Etag, Quantity: ptr(-1.0)}, ion.EVALIDATION, "adjustments[1].quantity"},
			{"scrap over available", ion.InventoryAdjustment{ID: f.lot.ID, Etag: f.lot.Etag, ScrapQuantity: ptr(6.0)}, ion.EVALIDATION, "adjustments[1].scrapQuantity"},
			{"scrap over the recount", ion.InventoryAdjustment{ID: f.lot.ID, Etag: f.lot.Etag, Quantity: ptr(1.0), ScrapQuantity: ptr(2.0)}, ion.EVALIDATION, "adjustments[1].scrapQuantity"},
			{"unknown location", ion.InventoryAdjustment{ID: f.lot.ID, Etag: f.lot.Etag, LocationID: ptr(ion.ID(999))}, ion.EVALIDATION, "adjustments[1].locationId"},
			{"unknown row", ion.InventoryAdjustment{ID: 999, Etag: f.lot.Etag, Quantity: ptr(1.0)}, ion.ENOTFOUND, "adjustments[1]"},
			{"same row twice", ion.InventoryAdjustment{ID: f.untracked.ID, Etag: f.untracked.Etag, Quantity: ptr(1.0)}, ion.EVALIDATION, "adjustments[1]"},
			{"nothing to do", ion.InventoryAdjustment{ID: f.lot.ID, Etag: f.lot.Etag}, ion.EVALIDATION, "adjustments[1]"},
			{"zero scrap", ion.InventoryAdjustment{ID: f.lot.ID, Etag: f.lot.Etag, ScrapQuantity: ptr(0.0)}, ion.EVALIDATION, "adjustments[1].scrapQuantity"},
		}
		for _, c := range cases {
			for _, dry := range []bool{false, true} {
				_, err := b.ts.AdjustPartInventories(b.ctx, []ion.InventoryAdjustment{good, c.second}, dry)
				wantErr(t, err, c.wantCode, c.wantField)
				// The first row, valid on its own, was not written either.
				unchanged(t, b, f.rows()...)
			}
		}
		_, err := b.ts.AdjustPartInventories(b.ctx, nil, false)
		wantErr(t, err, ion.EVALIDATION, "adjustments")
		many := make([]ion.InventoryAdjustment, ion.MaxBulkObjects+1)
		for i := range many {
			many[i] = ion.InventoryAdjustment{ID: ion.ID(i + 1), Etag: "x", Quantity: ptr(1.0)}
		}
		_, err = b.ts.AdjustPartInventories(b.ctx, many, false)
		wantErr(t, err, ion.EVALIDATION, "adjustments")
	})

	t.Run("AdjustDryRun", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		f := newBulkInventory(t, b)
		got := must(b.ts.AdjustPartInventories(b.ctx, []ion.InventoryAdjustment{
			{ID: f.lot.ID, Etag: f.lot.Etag, Quantity: ptr(4.0), ScrapQuantity: ptr(4.0)},
		}, true))(t)
		if len(got) != 1 || got[0].Quantity != 4 || got[0].QuantityScrapped != 4 || got[0].Status != ion.InvScrapped {
			t.Fatalf("dry run reported %+v, want quantity 4, all scrapped", got)
		}
		unchanged(t, b, f.rows()...)
		// The etag read before the dry run still works.
		must(b.ts.AdjustPartInventories(b.ctx, []ion.InventoryAdjustment{{ID: f.lot.ID, Etag: f.lot.Etag, Quantity: ptr(4.0)}}, false))(t)
	})

	t.Run("CancelRuns", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		part := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "frame"}))(t)
		inv := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: part.ID, Quantity: 1}))(t)
		linked, _ := runWithOneStep(t, b, "linked", &inv.ID)
		started, startedStep := runWithOneStep(t, b, "started", nil)
		setStep(t, b, startedStep.ID, ion.StatusInProgress)
		done, doneStep := runWithOneStep(t, b, "done", nil)
		setStep(t, b, doneStep.ID, ion.StatusComplete)
		spare, _ := runWithOneStep(t, b, "spare", nil)
		if got := must(b.ts.PartInventory(b.ctx, inv.ID))(t).Status; got != ion.InvWIP {
			t.Fatalf("linked inventory is %s, want WIP", got)
		}
		before := func() map[ion.ID]ion.Run {
			m := map[ion.ID]ion.Run{}
			for _, r := range must(b.ts.Runs(b.ctx, ion.ListOptions{Limit: 100}))(t).Items {
				m[r.ID] = r
			}
			return m
		}
		snapshot := before()

		// Refused selections change nothing.
		_, err := b.ts.CancelRuns(b.ctx, ion.CancelRunsInput{})
		wantErr(t, err, ion.EVALIDATION, "input")
		_, err = b.ts.CancelRuns(b.ctx, ion.CancelRunsInput{IDs: []ion.ID{linked.ID, done.ID}})
		wantErr(t, err, ion.EVALIDATION, "ids[1]")
		_, err = b.ts.CancelRuns(b.ctx, ion.CancelRunsInput{IDs: []ion.ID{linked.ID, 999}})
		wantErr(t, err, ion.ENOTFOUND, "ids[1]")
		_, err = b.ts.CancelRuns(b.ctx, ion.CancelRunsInput{Filters: []ion.Filter{{Field: "nope", Op: ion.OpEq, Value: "x"}}})
		wantErr(t, err, ion.EVALIDATION, "")
		same(t, "runs after refused calls", before(), snapshot)

		// A dry run by filter reports what would be canceled (COMPLETE
		// runs are skipped) and writes nothing.
		dry := must(b.ts.CancelRuns(b.ctx, ion.CancelRunsInput{Filters: []ion.Filter{{Field: "status", Op: ion.OpIn, Value: []any{"TODO", "IN_PROGRESS", "COMPLETE"}}}, DryRun: true}))(t)
		same(t, "dry run's runs", ids(dry, func(r ion.Run) ion.ID { return r.ID }), []ion.ID{linked.ID, started.ID, spare.ID})
		for _, r := range dry {
			if r.Status != ion.StatusCanceled {
				t.Errorf("dry run reports run %d as %s, want CANCELED", r.ID, r.Status)
			}
		}
		same(t, "runs after a dry run", before(), snapshot)

		// By ids and filter together: only runs that match both.
		got := must(b.ts.CancelRuns(b.ctx, ion.CancelRunsInput{IDs: []ion.ID{linked.ID, started.ID}, Filters: []ion.Filter{{Field: "status", Op: ion.OpEq, Value: "TODO"}}}))(t)
		same(t, "canceled runs", ids(got, func(r ion.Run) ion.ID { return r.ID }), []ion.ID{linked.ID})
		r := must(b.ts.Run(b.ctx, linked.ID))(t)
		same(t, "canceled run read back", r, got[0])
		if r.Status != ion.StatusCanceled || r.Etag == linked.Etag {
			t.Errorf("canceled run = %+v", r)
		}
		for _, s := range runStepsOf(t, b, linked.ID) {
			if s.Status != ion.StatusCanceled {
				t.Errorf("step %d of a canceled run is %s", s.ID, s.Status)
			}
		}
		if got := must(b.ts.PartInventory(b.ctx, inv.ID))(t).Status; got != ion.InvAvailable {
			t.Errorf("inventory of a canceled run is %s, want AVAILABLE", got)
		}
		// Already canceled runs are skipped, not counted again.
		got = must(b.ts.CancelRuns(b.ctx, ion.CancelRunsInput{IDs: []ion.ID{linked.ID, started.ID, spare.ID}}))(t)
		same(t, "second call's runs", ids(got, func(r ion.Run) ion.ID { return r.ID }), []ion.ID{started.ID, spare.ID})
		if d := must(b.ts.Run(b.ctx, done.ID))(t); d.Status != ion.StatusComplete {
			t.Errorf("COMPLETE run became %s", d.Status)
		}
	})

	t.Run("Policies", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		ctx := b.ctx
		in := b.sandboxRequest("tuned-dev")
		in.RateLimitPolicy = `{"requestsPerSecond": 5}`
		req := must(b.control.CreateSandboxRequest(ctx, in))(t)
		same(t, "request's rate-limit policy", must(b.control.SandboxRequest(ctx, req.ID))(t).RateLimitPolicy, in.RateLimitPolicy)
		must(b.control.CreateSandbox(ctx, ion.Sandbox{Name: "tuned-dev", RequestID: req.ID, SourceOrganizationID: b.org.ID,
			Shape: ion.ShapeBlank, State: ion.SandboxActive, Features: []string{}}))(t)

		sb := must(b.control.SetSandboxFeatures(ctx, "tuned-dev", []string{"bulk-operations"}))(t)
		same(t, "features set", sb.Features, []string{"bulk-operations"})
		same(t, "features read back", must(b.control.Sandbox(ctx, "tuned-dev"))(t).Features, []string{"bulk-operations"})
		sb = must(b.control.SetSandboxFeatures(ctx, "tuned-dev", nil))(t)
		same(t, "features cleared", sb.Features, []string{})
		_, err := b.control.SetSandboxFeatures(ctx, "nope", nil)
		wantErr(t, err, ion.ENOTFOUND, "")

		env := must(b.control.SetEnvironmentRateLimitPolicy(ctx, "tuned-dev", `{"burst": 3}`))(t)
		if env.RateLimitPolicy != `{"burst": 3}` || env.Kind != ion.EnvSandbox {
			t.Fatalf("environment after setting its policy = %+v", env)
		}
		same(t, "environment read back", must(b.control.Environment(ctx, "tuned-dev"))(t), env)
		env = must(b.control.SetEnvironmentRateLimitPolicy(ctx, ion.ProductionEnvironment, ""))(t)
		same(t, "production's policy", env.RateLimitPolicy, "")
		_, err = b.control.SetEnvironmentRateLimitPolicy(ctx, "nope", "")
		wantErr(t, err, ion.ENOTFOUND, "")
	})
}
