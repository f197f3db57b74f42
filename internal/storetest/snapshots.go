package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ionbox/ionbox/internal/scrub"
	"github.com/ionbox/ionbox/ion"
)

// testSnapshots covers SnapshotTenant: a scrubbed copy of a tenant seeded
// with canary values in every field the default policy scrubs holds none
// of them, and keeps ids, references, uniqueness and row counts.
func testSnapshots(t *testing.T, h *harness) {
	snapshot := func(t *testing.T, b *bundle, policy *scrub.Policy) (ion.TenantStore, string, ion.SnapshotStats) {
		t.Helper()
		to := h.name("snap") + "-org-1"
		ok(t, b.stores.CreateTenant(b.ctx, to))
		stats := must(b.stores.SnapshotTenant(b.ctx, b.org.TenantID(), to, scrub.NewPlan(policy), nil))(t)
		return must(b.stores.Tenant(b.ctx, to))(t), to, stats
	}

	t.Run("NoCanarySurvives", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		canaries := SeedCanaries(t, b.ctx, b.ts)
		policy := scrub.DefaultPolicy()
		policy.Costs = "remove"
		copyTS, _, stats := snapshot(t, b, policy)
		src, dst := DumpTenant(t, b.ctx, b.ts), DumpTenant(t, b.ctx, copyTS)
		for _, c := range canaries {
			if strings.Contains(dst.JSON, c) {
				t.Errorf("canary %q survived the snapshot", c)
			}
			if !strings.Contains(src.JSON, c) {
				t.Errorf("canary %q is not in the source either: the seed is wrong", c)
			}
		}
		same(t, "row counts", dst.Counts, src.Counts)
		same(t, "ids and references", dst.Refs, src.Refs)
		if stats.Rows == 0 || stats.Scrubbed == 0 {
			t.Errorf("stats = %+v; want rows and scrubbed values counted", stats)
		}
		parts := must(copyTS.Parts(b.ctx, ion.ListOptions{Limit: 1000}))(t).Items
		for _, p := range parts {
			if p.Cost != nil {
				t.Errorf("part %d kept its cost %v under costs: remove", p.ID, *p.Cost)
			}
		}
		// One source value, one pseudonym: the two suppliers of one name
		// still share it, and it is not the source name.
		sups := must(copyTS.Suppliers(b.ctx, ion.ListOptions{Limit: 1000}))(t).Items
		if len(sups) < 3 || sups[0].Name != sups[1].Name || sups[0].Name == sups[2].Name {
			t.Errorf("supplier names %q, %q, %q: want the first two equal (one source name) and the third different", sups[0].Name, sups[1].Name, sups[2].Name)
		}
		// The copy is a working tenant: it takes writes, with new ids after
		// the source's.
		p := must(copyTS.CreatePart(b.ctx, ion.Part{PartNumber: "after-snapshot"}))(t)
		if p.ID <= parts[len(parts)-1].ID {
			t.Errorf("new part id %d does not follow the copied ids (last %d)", p.ID, parts[len(parts)-1].ID)
		}
	})

	t.Run("CostsKeptByDefault", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "p1", Cost: ptr(12.5)}))(t)
		copyTS, _, _ := snapshot(t, b, scrub.DefaultPolicy())
		parts := must(copyTS.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t).Items
		if len(parts) != 1 || parts[0].Cost == nil || *parts[0].Cost != 12.5 {
			t.Fatalf("parts = %+v; want the cost kept", parts)
		}
	})

	t.Run("PolicyWithoutAColumnIsRefused", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "p1", Description: "secret"}))(t)
		policy := scrub.DefaultPolicy()
		delete(policy.Tables["parts"], "description")
		to := h.name("snap") + "-org-1"
		ok(t, b.stores.CreateTenant(b.ctx, to))
		_, err := b.stores.SnapshotTenant(b.ctx, b.org.TenantID(), to, scrub.NewPlan(policy), nil)
		wantErr(t, err, ion.EVALIDATION, "policy")
		wantMessage(t, err, "parts.description")
		ts := must(b.stores.Tenant(b.ctx, to))(t)
		if n := must(ts.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t).TotalCount; n != 0 {
			t.Fatalf("the target has %d parts after a refused snapshot; want it untouched (0)", n)
		}
	})

	t.Run("InterruptedLeavesTargetUntouched", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		SeedCanaries(t, b.ctx, b.ts)
		to := h.name("snap") + "-org-1"
		ok(t, b.stores.CreateTenant(b.ctx, to))
		ctx, cancel := context.WithCancel(b.ctx)
		defer cancel()
		var calls int
		_, err := b.stores.SnapshotTenant(ctx, b.org.TenantID(), to, scrub.NewPlan(scrub.DefaultPolicy()), func(p ion.SnapshotProgress) {
			if calls++; calls == 3 {
				cancel() // midway through copying
			}
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v; want context.Canceled", err)
		}
		ts := must(b.stores.Tenant(b.ctx, to))(t)
		if n := must(ts.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t).TotalCount; n != 0 {
			t.Fatalf("the target has %d parts after an interrupted snapshot; want 0", n)
		}
	})

	t.Run("VerificationCatchesAnUnscrubbedValue", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "p1", Description: "secret recipe"}))(t)
		to := h.name("snap") + "-org-1"
		ok(t, b.stores.CreateTenant(b.ctx, to))
		plan := brokenPlan{scrub.NewPlan(scrub.DefaultPolicy())}
		_, err := b.stores.SnapshotTenant(b.ctx, b.org.TenantID(), to, plan, nil)
		if err == nil || !strings.Contains(err.Error(), "parts") || !strings.Contains(err.Error(), "cannot have produced") {
			t.Fatalf("err = %v; want the verification to name table parts", err)
		}
		ts := must(b.stores.Tenant(b.ctx, to))(t)
		if n := must(ts.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t).TotalCount; n != 0 {
			t.Fatalf("the target has %d parts after a failed verification; want 0", n)
		}
	})

	t.Run("ConsistentUnderWrites", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		// A writer adds parts, each with an inventory unit in the same
		// breath, while snapshots are taken: every copy must be one point
		// in time, so no unit without its part and no part more than one
		// write ahead of the units.
		stop := make(chan struct{})
		writerDone := make(chan error, 1)
		go func() {
			// At most 400 pairs, so that the copy fits one page of each list.
			for i := 0; ; i++ {
				select {
				case <-stop:
					writerDone <- nil
					return
				default:
				}
				if i == 400 {
					<-stop
					writerDone <- nil
					return
				}
				p, err := b.ts.CreatePart(b.ctx, ion.Part{PartNumber: fmt.Sprintf("w-%d", i)})
				if err == nil {
					_, err = b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: p.ID, Quantity: 1})
				}
				if err != nil {
					writerDone <- err
					return
				}
			}
		}()
		for range 3 {
			copyTS, _, _ := snapshot(t, b, scrub.DefaultPolicy())
			parts := must(copyTS.Parts(b.ctx, ion.ListOptions{Limit: 1000}))(t)
			invs := must(copyTS.PartInventories(b.ctx, ion.ListOptions{Limit: 1000}))(t)
			have := map[ion.ID]bool{}
			for _, p := range parts.Items {
				have[p.ID] = true
			}
			for _, v := range invs.Items {
				if !have[v.PartID] {
					t.Fatalf("the copy has inventory %d of part %d, which it lacks", v.ID, v.PartID)
				}
			}
			if d := parts.TotalCount - invs.TotalCount; d < 0 || d > 1 {
				t.Fatalf("the copy has %d parts and %d units: not one point in time", parts.TotalCount, invs.TotalCount)
			}
		}
		close(stop)
		ok(t, <-writerDone)
	})

	t.Run("UnknownTenants", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		plan := scrub.NewPlan(scrub.DefaultPolicy())
		_, err := b.stores.SnapshotTenant(b.ctx, "nope-org-1", b.org.TenantID(), plan, nil)
		wantErr(t, err, ion.ENOTFOUND, "")
		_, err = b.stores.SnapshotTenant(b.ctx, b.org.TenantID(), "nope-org-2", plan, nil)
		wantErr(t, err, ion.ENOTFOUND, "")
	})
}

// brokenPlan is a plan whose rule for parts.description forgets to scrub
// (a bug the verification must catch).
type brokenPlan struct{ ion.ScrubPlan }

func (p brokenPlan) Rule(table, column string) (ion.ColumnRule, bool) {
	r, ok := p.ScrubPlan.Rule(table, column)
	if table == "parts" && column == "description" {
		r.Scrub = func(v any, _ string) any { return v }
	}
	return r, ok
}

// Canary returns a value no real data holds, tagged for the error message.
func canary(tag string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "zqxcanary-" + tag + "-" + hex.EncodeToString(b[:])
}

// SeedCanaries fills ts with a small organization in which every value the
// default scrub policy replaces is a canary, and returns the canaries. Kept
// values (part numbers, serials, titles) are ordinary.
func SeedCanaries(t *testing.T, ctx context.Context, ts ion.TenantStore) []string {
	t.Helper()
	var all []string
	c := func(tag string) string {
		v := canary(tag)
		all = append(all, v)
		return v
	}
	attrs := func(tag string) []ion.Attribute {
		return []ion.Attribute{
			{Key: "contactEmail", Type: "STRING", Value: c(tag+"-email") + "@corp.example"},
			{Key: "Buyer Name", Type: "STRING", Value: c(tag + "-name")},
			{Key: "notes", Type: "STRING", Value: c(tag+"-note") + " call me"},
			{Key: "spec", Type: "FILE", Value: c(tag + "-file")},
			{Key: "drawingUrl", Type: "STRING", Value: "https://files.example/" + c(tag+"-url")},
			{Key: "reference", Type: "STRING", Value: "see https://intranet.example/" + c(tag+"-link")},
			{Key: "color", Type: "STRING", Value: "blue"},
		}
	}
	// A receiver with a SINK subscription first: every change below then
	// records an event whose payload repeats the canaries, and the
	// receiver's URL, secret and header are canaries of their own. None of
	// it may reach a snapshot.
	rcv := must(ts.CreateWebhookReceiver(ctx, ion.WebhookReceiver{Name: c("receiver-name"),
		URL: "https://hooks.example/" + c("receiver-url"), SharedSecret: c("receiver-secret"),
		Headers: []ion.WebhookHeader{{Key: "X-Canary", Value: c("receiver-header")}}, DeliveryMode: ion.DeliverySink}))(t)
	for _, res := range []string{ion.ResourcePart, ion.ResourceSupplier, ion.ResourceRun} {
		must(ts.CreateWebhookSubscription(ctx, ion.WebhookSubscription{ReceiverID: rcv.ID, Resource: res, Action: ion.ActionCreate}))(t)
	}
	supName := c("supplier-name")
	sup := must(ts.CreateSupplier(ctx, ion.Supplier{Name: supName, Attributes: append(attrs("supplier"), ion.Attribute{Key: "terms", Value: c("supplier-terms")})}))(t)
	must(ts.CreateSupplier(ctx, ion.Supplier{Name: supName}))(t)
	must(ts.CreateSupplier(ctx, ion.Supplier{Name: c("supplier2-name")}))(t)
	part := must(ts.CreatePart(ctx, ion.Part{PartNumber: "PN-100", Description: c("part-description"), Cost: ptr(12.5), Attributes: attrs("part")}))(t)
	serial := must(ts.CreatePart(ctx, ion.Part{PartNumber: "PN-200", Description: c("part2-description"), TrackingType: ptr(ion.TrackingSerial)}))(t)
	loc := must(ts.CreateLocation(ctx, ion.Location{Name: "Shelf A", Available: true}))(t)
	unit := must(ts.CreateUnitOfMeasurement(ctx, ion.UnitOfMeasurement{Type: "each"}))(t)
	po := must(ts.CreatePurchaseOrder(ctx, ion.PurchaseOrder{Status: ion.PODraft, SupplierID: &sup.ID, Attributes: attrs("po")}))(t)
	must(ts.CreatePurchaseOrderLine(ctx, ion.PurchaseOrderLine{PurchaseOrderID: po.ID, PartID: part.ID, Quantity: 3, Status: ion.PODraft, Description: c("po-line")}))(t)
	inv := must(ts.CreatePartInventory(ctx, ion.PartInventory{PartID: serial.ID, SerialNumber: ptr("SN-1"), Quantity: 1, LocationID: &loc.ID,
		UnitOfMeasureID: &unit.ID, Cost: ptr(99.5), Attributes: attrs("inventory")}))(t)
	must(ts.CreatePartInventory(ctx, ion.PartInventory{PartID: serial.ID, SerialNumber: ptr("SN-2"), Quantity: 1}))(t)
	proc := must(ts.CreateProcedure(ctx, ion.Procedure{Title: "Assemble", Description: c("procedure-description"), Type: ion.ProcBuild, Attributes: attrs("procedure")}))(t)
	step := must(ts.CreateStep(ctx, ion.Step{ProcedureID: proc.ID, Title: "Fit", Content: c("step-content") + " ask " + c("step-person")}))(t)
	for _, typ := range []string{ion.FieldString, ion.FieldSignoff, ion.FieldFileAttachment, ion.FieldNumber} {
		must(ts.CreateStepField(ctx, ion.StepField{StepID: step.ID, Name: strings.ToLower(typ), Type: typ}))(t)
	}
	run := must(ts.CreateRun(ctx, ion.Run{Title: "PN-200 - SN-1 - Assemble", ProcedureID: proc.ID, PartID: &serial.ID, PartInventoryID: &inv.ID, Attributes: attrs("run")}))(t)
	runSteps := must(ts.RunSteps(ctx, ion.ListOptions{Limit: 100}))(t).Items
	fields := must(ts.RunStepFields(ctx, ion.ListOptions{Limit: 100}))(t).Items
	for _, f := range fields {
		v := `42`
		switch f.Type {
		case ion.FieldString, ion.FieldSignoff, ion.FieldFileAttachment:
			v = `"` + c("field-"+strings.ToLower(f.Type)) + `"`
		}
		must(ts.UpdateRunStepFieldValue(ctx, f.ID, f.Etag, &v))(t)
	}
	must(ts.CreateIssue(ctx, ion.Issue{Title: c("issue-title"), Status: ion.IssuePending, RunID: &run.ID, RunStepID: &runSteps[0].ID,
		CauseCondition: ptr(c("issue-cause")), ExpectedCondition: ptr(c("issue-expected")), Disposition: ptr(c("issue-disposition")), Attributes: attrs("issue")}))(t)
	must(ts.CreateTeam(ctx, ion.Team{Name: "Night shift QA", UserIDs: []ion.ID{1, 2}}))(t)
	return all
}

// TenantDump is everything a tenant store returns, as JSON, with row
// counts and the ids and references of each kind of object.
type TenantDump struct {
	JSON   string
	Counts map[string]int
	Refs   map[string][]string
}

// DumpTenant reads every object of ts (up to 1000 of each kind).
func DumpTenant(t *testing.T, ctx context.Context, ts ion.TenantStore) TenantDump {
	t.Helper()
	d := TenantDump{Counts: map[string]int{}, Refs: map[string][]string{}}
	var all []any
	opts := ion.ListOptions{Limit: 1000}
	add := func(kind string, items any, refs []string) {
		all = append(all, items)
		d.Counts[kind] = len(refs)
		d.Refs[kind] = refs
	}
	refs := func(n int, f func(i int) []any) []string {
		out := make([]string, n)
		for i := range n {
			b, _ := json.Marshal(f(i))
			out[i] = string(b)
		}
		return out
	}
	parts := must(ts.Parts(ctx, opts))(t).Items
	add("parts", parts, refs(len(parts), func(i int) []any {
		return []any{parts[i].ID, parts[i].PartNumber, parts[i].Revision, parts[i].RevisedFromID}
	}))
	sups := must(ts.Suppliers(ctx, opts))(t).Items
	add("suppliers", sups, refs(len(sups), func(i int) []any { return []any{sups[i].ID} }))
	pos := must(ts.PurchaseOrders(ctx, opts))(t).Items
	add("purchaseOrders", pos, refs(len(pos), func(i int) []any { return []any{pos[i].ID, pos[i].SupplierID} }))
	lines := must(ts.PurchaseOrderLines(ctx, opts))(t).Items
	add("purchaseOrderLines", lines, refs(len(lines), func(i int) []any { return []any{lines[i].ID, lines[i].PurchaseOrderID, lines[i].PartID} }))
	invs := must(ts.PartInventories(ctx, opts))(t).Items
	add("partInventories", invs, refs(len(invs), func(i int) []any {
		v := invs[i]
		return []any{v.ID, v.PartID, v.SerialNumber, v.LocationID, v.UnitOfMeasureID, v.PurchaseOrderLineID, v.Status}
	}))
	locs := must(ts.Locations(ctx, opts))(t).Items
	add("locations", locs, refs(len(locs), func(i int) []any { return []any{locs[i].ID} }))
	units := must(ts.UnitsOfMeasurement(ctx, opts))(t).Items
	add("units", units, refs(len(units), func(i int) []any { return []any{units[i].ID} }))
	procs := must(ts.Procedures(ctx, opts))(t).Items
	add("procedures", procs, refs(len(procs), func(i int) []any { return []any{procs[i].ID} }))
	steps := must(ts.Steps(ctx, opts))(t).Items
	add("steps", steps, refs(len(steps), func(i int) []any { return []any{steps[i].ID, steps[i].ProcedureID, steps[i].UpstreamStepIDs} }))
	fields := must(ts.StepFields(ctx, opts))(t).Items
	add("stepFields", fields, refs(len(fields), func(i int) []any { return []any{fields[i].ID, fields[i].StepID} }))
	runs := must(ts.Runs(ctx, opts))(t).Items
	add("runs", runs, refs(len(runs), func(i int) []any {
		return []any{runs[i].ID, runs[i].ProcedureID, runs[i].PartInventoryID, runs[i].Status}
	}))
	rsteps := must(ts.RunSteps(ctx, opts))(t).Items
	add("runSteps", rsteps, refs(len(rsteps), func(i int) []any { return []any{rsteps[i].ID, rsteps[i].RunID, rsteps[i].OriginStepID} }))
	rfields := must(ts.RunStepFields(ctx, opts))(t).Items
	add("runStepFields", rfields, refs(len(rfields), func(i int) []any { return []any{rfields[i].ID, rfields[i].RunStepID} }))
	issues := must(ts.Issues(ctx, opts))(t).Items
	add("issues", issues, refs(len(issues), func(i int) []any { return []any{issues[i].ID, issues[i].RunID, issues[i].RunStepID} }))
	teams := must(ts.Teams(ctx, opts))(t).Items
	add("teams", teams, refs(len(teams), func(i int) []any { return []any{teams[i].ID} }))
	// Webhook configuration and the sink's deliveries are in JSON only: a
	// snapshot never copies them, so their counts differ on purpose.
	all = append(all, must(ts.WebhookReceivers(ctx, opts))(t).Items)
	for _, dl := range must(ts.WebhookDeliveries(ctx, opts))(t).Items {
		all = append(all, string(dl.Event.Data)) // as text: []byte would marshal as base64
	}
	b, err := json.Marshal(all)
	ok(t, err)
	d.JSON = string(b)
	return d
}
