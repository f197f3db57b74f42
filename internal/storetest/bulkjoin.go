package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// Bulk operations joined with webhooks and Idempotency-Key: a bulk call is
// one transaction that changes many objects, so it must record one event
// per changed object, and its Idempotency-Key step must replay its whole
// answer.

// subscribe creates a SINK receiver subscribed to (resource, UPDATE) for
// each resource.
func subscribe(t *testing.T, b *bundle, resources ...string) ion.WebhookReceiver {
	t.Helper()
	r := must(b.ts.CreateWebhookReceiver(b.ctx, ion.WebhookReceiver{Name: "bulk", URL: "https://hooks.example/bulk", DeliveryMode: ion.DeliverySink}))(t)
	for _, res := range resources {
		must(b.ts.CreateWebhookSubscription(b.ctx, ion.WebhookSubscription{ReceiverID: r.ID, Resource: res, Action: ion.ActionUpdate}))(t)
	}
	return r
}

// countEvents counts the deliveries of (resource, action) events.
func countEvents(t *testing.T, b *bundle, resource, action string) int {
	t.Helper()
	return must(b.ts.WebhookDeliveries(b.ctx, ion.ListOptions{Filters: []ion.Filter{
		{Field: "resource", Op: ion.OpEq, Value: resource},
		{Field: "action", Op: ion.OpEq, Value: action},
	}}))(t).TotalCount
}

// wantFields checks an update's changed_fields: exactly want, besides the
// _etag (always there) and updatedAt (there when the clock moved).
func wantFields(t *testing.T, what string, d eventData, want ...string) {
	t.Helper()
	if !slices.Contains(d.ChangedFields, "_etag") {
		t.Errorf("%s: changed_fields %v lack _etag", what, d.ChangedFields)
	}
	got := slices.DeleteFunc(slices.Clone(d.ChangedFields), func(f string) bool { return f == "_etag" || f == "updatedAt" })
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: changed_fields %v, want %v (and _etag)", what, d.ChangedFields, want)
	}
}

func testBulkWebhooks(t *testing.T, h *harness) {
	t.Run("AdjustRecordsOneEventPerRow", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		subscribe(t, b, ion.ResourcePartInventory, ion.ResourceRun)
		f := newBulkInventory(t, b)
		adjust := []ion.InventoryAdjustment{
			{ID: f.untracked.ID, Etag: f.untracked.Etag, Quantity: ptr(8.0), LocationID: &f.loc2.ID}, // recount and transfer
			{ID: f.lot.ID, Etag: f.lot.Etag, ScrapQuantity: ptr(2.0)},                                // partial scrap
			{ID: f.unit.ID, Etag: f.unit.Etag, ScrapQuantity: ptr(1.0)},                              // scrap all: derived status changes too
		}

		// Refused (a stale etag on the last row) and dry calls record nothing.
		stale := slices.Clone(adjust)
		stale[2].Etag = f.lot.Etag
		_, err := b.ts.AdjustPartInventories(b.ctx, stale, false)
		wantErr(t, err, ion.ECONFLICT, "adjustments[2]")
		must(b.ts.AdjustPartInventories(b.ctx, adjust, true))(t)
		if n := countDeliveries(t, b); n != 0 {
			t.Fatalf("%d deliveries after a refused call and a dry run, want 0", n)
		}

		got := must(b.ts.AdjustPartInventories(b.ctx, adjust, false))(t)
		if n := countEvents(t, b, ion.ResourcePartInventory, ion.ActionUpdate); n != len(adjust) {
			t.Fatalf("%d PART_INVENTORY UPDATE events for %d adjusted rows, want one per row", n, len(adjust))
		}
		if n := countDeliveries(t, b); n != len(adjust) {
			t.Fatalf("%d deliveries in all, want %d", n, len(adjust))
		}
		u := wantEvent(t, b, ion.ResourcePartInventory, ion.ActionUpdate, f.untracked.ID)
		wantFields(t, "recount and transfer", u, "quantity", "quantityAvailable", "locationId")
		wantChanged(t, "recount", u, "quantity", 10.0, 8.0)
		wantChanged(t, "transfer", u, "locationId", float64(f.loc1.ID), float64(f.loc2.ID))
		l := wantEvent(t, b, ion.ResourcePartInventory, ion.ActionUpdate, f.lot.ID)
		wantFields(t, "partial scrap", l, "quantityScrapped", "quantityAvailable")
		wantChanged(t, "partial scrap", l, "quantityScrapped", 0.0, 2.0)
		s := wantEvent(t, b, ion.ResourcePartInventory, ion.ActionUpdate, f.unit.ID)
		wantFields(t, "scrap all", s, "quantityScrapped", "quantityAvailable", "status")
		wantChanged(t, "scrap all", s, "status", ion.InvAvailable, ion.InvScrapped)
		// The event's new state is the row the call answered.
		for i, inv := range got {
			d := wantEvent(t, b, ion.ResourcePartInventory, ion.ActionUpdate, inv.ID)
			if d.New["_etag"] != inv.Etag || d.Old["_etag"] != f.rows()[i].Etag {
				t.Errorf("row %d: event etags %v -> %v, want %s -> %s", i, d.Old["_etag"], d.New["_etag"], f.rows()[i].Etag, inv.Etag)
			}
		}
	})

	t.Run("CancelRecordsOneEventPerRun", func(t *testing.T) {
		t.Parallel()
		for _, withSteps := range []bool{false, true} {
			t.Run(map[bool]string{false: "RunsOnly", true: "WithSteps"}[withSteps], func(t *testing.T) {
				t.Parallel()
				b := h.setup(t)
				resources := []string{ion.ResourcePartInventory, ion.ResourceRun}
				if withSteps {
					resources = append(resources, ion.ResourceRunStep)
				}
				subscribe(t, b, resources...)
				part := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "frame"}))(t)
				inv := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: part.ID, Quantity: 1}))(t)
				linked, linkedStep := runWithOneStep(t, b, "linked", &inv.ID)
				started, startedStep := runWithOneStep(t, b, "started", nil)
				startedStep = setStep(t, b, startedStep.ID, ion.StatusInProgress)
				started = must(b.ts.Run(b.ctx, started.ID))(t)
				done, doneStep := runWithOneStep(t, b, "done", nil)
				setStep(t, b, doneStep.ID, ion.StatusComplete)
				base := countDeliveries(t, b) // the setup's own events

				_, err := b.ts.CancelRuns(b.ctx, ion.CancelRunsInput{IDs: []ion.ID{linked.ID, done.ID}})
				wantErr(t, err, ion.EVALIDATION, "ids[1]")
				must(b.ts.CancelRuns(b.ctx, ion.CancelRunsInput{IDs: []ion.ID{linked.ID, started.ID}, DryRun: true}))(t)
				if n := countDeliveries(t, b); n != base {
					t.Fatalf("%d deliveries after a refused call and a dry run, want %d", n, base)
				}

				// Events per object before the cancel (creating a run linked
				// to the inventory made it WIP: an update already).
				type object struct {
					resource string
					id       ion.ID
				}
				objects := []object{{ion.ResourceRun, linked.ID}, {ion.ResourceRun, started.ID}, {ion.ResourceRun, done.ID},
					{ion.ResourcePartInventory, inv.ID}, {ion.ResourceRunStep, linkedStep.ID}, {ion.ResourceRunStep, startedStep.ID}}
				before := map[object]int{}
				for _, o := range objects {
					before[o] = len(deliveriesOf(t, b, o.resource, ion.ActionUpdate, o.id))
				}
				// newEvent checks that the cancel recorded one event about o
				// (none when want is false) and returns its data.
				newEvent := func(o object, want bool) eventData {
					t.Helper()
					ds := deliveriesOf(t, b, o.resource, ion.ActionUpdate, o.id)
					n := len(ds) - before[o]
					if (want && n != 1) || (!want && n != 0) {
						t.Fatalf("subscribed to %v: %s %d has %d new UPDATE events, want %v", resources, o.resource, o.id, n, want)
					}
					var d eventData
					if want {
						ok(t, json.Unmarshal(ds[len(ds)-1].Event.Data, &d))
					}
					return d
				}

				must(b.ts.CancelRuns(b.ctx, ion.CancelRunsInput{Filters: []ion.Filter{{Field: "status", Op: ion.OpIn, Value: []any{"TODO", "IN_PROGRESS", "COMPLETE"}}}}))(t)
				for _, tc := range []struct {
					run  ion.Run
					from string
				}{{linked, ion.StatusTodo}, {started, ion.StatusInProgress}} {
					d := newEvent(object{ion.ResourceRun, tc.run.ID}, true)
					wantChanged(t, "canceled run", d, "status", tc.from, ion.StatusCanceled)
					wantFields(t, "canceled run", d, "status")
				}
				newEvent(object{ion.ResourceRun, done.ID}, false) // COMPLETE: skipped
				// The linked inventory leaves WIP: one event for it.
				d := newEvent(object{ion.ResourcePartInventory, inv.ID}, true)
				wantChanged(t, "inventory of a canceled run", d, "status", ion.InvWIP, ion.InvAvailable)
				wantFields(t, "inventory of a canceled run", d, "status")

				wantSteps := 0
				if withSteps {
					wantSteps = 2
					wantChanged(t, "canceled step", newEvent(object{ion.ResourceRunStep, linkedStep.ID}, true), "status", ion.StatusTodo, ion.StatusCanceled)
					wantChanged(t, "canceled step in progress", newEvent(object{ion.ResourceRunStep, startedStep.ID}, true), "status", ion.StatusInProgress, ion.StatusCanceled)
				}
				// Two runs, their steps (when subscribed) and one inventory.
				if n := countDeliveries(t, b) - base; n != 2+wantSteps+1 {
					t.Fatalf("subscribed to %v: %d deliveries for the cancel, want %d", resources, n, 2+wantSteps+1)
				}
			})
		}
	})
}

func testBulkIdempotency(t *testing.T, h *harness) {
	const scope = "production/client:c1"
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

	t.Run("AdjustRecordsAndReplaysItsAnswer", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		subscribe(t, b, ion.ResourcePartInventory)
		f := newBulkInventory(t, b)
		adjust := []ion.InventoryAdjustment{
			{ID: f.untracked.ID, Etag: f.untracked.Etag, Quantity: ptr(7.0)},
			{ID: f.lot.ID, Etag: f.lot.Etag, ScrapQuantity: ptr(1.0)},
		}
		// A keyed dry run records no step: it wrote nothing to answer for.
		must(b.ts.AdjustPartInventories(keyed(b.ctx, "dry", "0.adjustPartInventories", t0, nil, nil), adjust, true))(t)
		_, err := b.ts.IdempotencyRecord(b.ctx, scope, "dry")
		wantErr(t, err, ion.ENOTFOUND, "")

		committed := 0
		got := must(b.ts.AdjustPartInventories(keyed(b.ctx, "k1", "0.adjustPartInventories", t0, nil, &committed), adjust, false))(t)
		if committed != 1 {
			t.Fatalf("OnCommit called %d times, want 1", committed)
		}
		rec := must(b.ts.IdempotencyRecord(b.ctx, scope, "k1"))(t)
		if len(rec.Steps) != 1 {
			t.Fatalf("record %+v, want one step", rec)
		}
		var recorded []ion.PartInventory
		ok(t, json.Unmarshal(rec.Steps[0].Result, &recorded))
		same(t, "recorded answer", recorded, got)

		// The same step again, not as a replay (another replica running
		// the same key), even with current etags: refused, and its
		// changes roll back.
		fresh := []ion.InventoryAdjustment{{ID: got[0].ID, Etag: got[0].Etag, Quantity: ptr(1.0)}, {ID: got[1].ID, Etag: got[1].Etag, ScrapQuantity: ptr(1.0)}}
		_, err = b.ts.AdjustPartInventories(keyed(b.ctx, "k1", "0.adjustPartInventories", t0, nil, nil), fresh, false)
		wantErr(t, err, ion.EIDEMPOTENCYINUSE, "")
		unchanged(t, b, got...)
		// Rows changed since: the replay still answers what the call did.
		later := must(b.ts.AdjustPartInventories(b.ctx, []ion.InventoryAdjustment{{ID: got[0].ID, Etag: got[0].Etag, Quantity: ptr(6.0)}}, false))(t)
		events := countDeliveries(t, b)
		st := rec.Steps[0]
		replayed := must(b.ts.AdjustPartInventories(keyed(b.ctx, "k1", "0.adjustPartInventories", t0, &st, nil), adjust, false))(t)
		same(t, "replayed answer", replayed, got)
		same(t, "row after the replay", must(b.ts.PartInventory(b.ctx, got[0].ID))(t), later[0])
		same(t, "row after the replay", must(b.ts.PartInventory(b.ctx, got[1].ID))(t), got[1])
		if n := countDeliveries(t, b); n != events {
			t.Fatalf("the replay recorded %d webhook events; it must write nothing", n-events)
		}
	})

	t.Run("CancelRecordsAndReplaysItsAnswer", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		r1, _ := runWithOneStep(t, b, "one", nil)
		r2, _ := runWithOneStep(t, b, "two", nil)
		in := ion.CancelRunsInput{Filters: []ion.Filter{{Field: "status", Op: ion.OpEq, Value: "TODO"}}}
		got := must(b.ts.CancelRuns(keyed(b.ctx, "k2", "0.cancelRuns", t0, nil, nil), in))(t)
		same(t, "canceled", ids(got, func(r ion.Run) ion.ID { return r.ID }), []ion.ID{r1.ID, r2.ID})
		rec := must(b.ts.IdempotencyRecord(b.ctx, scope, "k2"))(t)
		// A new run matches the filter now: a replay must not cancel it.
		r3, _ := runWithOneStep(t, b, "three", nil)
		st := rec.Steps[0]
		replayed := must(b.ts.CancelRuns(keyed(b.ctx, "k2", "0.cancelRuns", t0, &st, nil), in))(t)
		same(t, "replayed answer", replayed, got)
		if r := must(b.ts.Run(b.ctx, r3.ID))(t); r.Status != ion.StatusTodo {
			t.Fatalf("run created after the call is %s after the replay, want TODO", r.Status)
		}
		// A replay of a step recorded with nothing canceled answers [].
		none := must(b.ts.CancelRuns(keyed(b.ctx, "k3", "0.cancelRuns", t0, nil, nil), ion.CancelRunsInput{IDs: []ion.ID{r1.ID}}))(t)
		st = must(b.ts.IdempotencyRecord(b.ctx, scope, "k3"))(t).Steps[0]
		again := must(b.ts.CancelRuns(keyed(b.ctx, "k3", "0.cancelRuns", t0, &st, nil), ion.CancelRunsInput{IDs: []ion.ID{r1.ID}}))(t)
		if len(none) != 0 || again == nil || len(again) != 0 {
			t.Fatalf("nothing to cancel: answered %v, replayed %v; want [] both times", none, again)
		}
	})
}
