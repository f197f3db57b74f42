package storetest

import (
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// hookBundle is a bundle with one receiver subscribed to every resource and
// action.
type hookBundle struct {
	*bundle
	receiver ion.WebhookReceiver
}

// subscribeAll creates a receiver in mode and subscribes it to every
// (resource, action).
func subscribeAll(t *testing.T, b *bundle, mode string) ion.WebhookReceiver {
	t.Helper()
	r := must(b.ts.CreateWebhookReceiver(b.ctx, ion.WebhookReceiver{Name: "all", URL: "https://hooks.example/all", DeliveryMode: mode}))(t)
	for _, res := range ion.WebhookResources {
		for _, a := range []string{ion.ActionCreate, ion.ActionUpdate, ion.ActionDelete} {
			must(b.ts.CreateWebhookSubscription(b.ctx, ion.WebhookSubscription{ReceiverID: r.ID, Resource: res, Action: a}))(t)
		}
	}
	return r
}

// eventData is the decoded data of an event.
type eventData struct {
	New           map[string]any `json:"new"`
	Old           map[string]any `json:"old"`
	ChangedFields []string       `json:"changed_fields"`
}

// deliveriesOf lists the deliveries of events about (resource, action,
// objectID).
func deliveriesOf(t *testing.T, b *bundle, resource, action string, objectID ion.ID) []ion.WebhookDelivery {
	t.Helper()
	return must(b.ts.WebhookDeliveries(b.ctx, ion.ListOptions{Limit: 100, Filters: []ion.Filter{
		{Field: "resource", Op: ion.OpEq, Value: resource},
		{Field: "action", Op: ion.OpEq, Value: action},
		{Field: "objectId", Op: ion.OpEq, Value: objectID},
	}}))(t).Items
}

// wantEvent checks that exactly one event about (resource, action,
// objectID) was recorded and returns its data.
func wantEvent(t *testing.T, b *bundle, resource, action string, objectID ion.ID) eventData {
	t.Helper()
	ds := deliveriesOf(t, b, resource, action, objectID)
	if len(ds) != 1 {
		t.Fatalf("%s %s %d: %d deliveries, want 1", resource, action, objectID, len(ds))
	}
	var d eventData
	if err := json.Unmarshal(ds[0].Event.Data, &d); err != nil {
		t.Fatalf("%s %s %d: data %s: %v", resource, action, objectID, ds[0].Event.Data, err)
	}
	switch action {
	case ion.ActionCreate:
		if d.New == nil || d.Old != nil || d.New["id"] != float64(objectID) {
			t.Fatalf("%s CREATE %d: data %s, want new with the id and old null", resource, objectID, ds[0].Event.Data)
		}
	case ion.ActionDelete:
		if d.New != nil || d.Old == nil || d.Old["id"] != float64(objectID) {
			t.Fatalf("%s DELETE %d: data %s, want old with the id and new null", resource, objectID, ds[0].Event.Data)
		}
	case ion.ActionUpdate:
		if d.New == nil || len(d.ChangedFields) == 0 || !slices.Contains(d.ChangedFields, "_etag") {
			t.Fatalf("%s UPDATE %d: data %s, want new and changed_fields with _etag", resource, objectID, ds[0].Event.Data)
		}
		for _, f := range d.ChangedFields {
			if _, ok := d.Old[f]; !ok {
				t.Fatalf("%s UPDATE %d: changed field %s has no old value in %s", resource, objectID, f, ds[0].Event.Data)
			}
		}
	}
	return d
}

// wantChanged checks that an update changed field from old to new.
func wantChanged(t *testing.T, what string, d eventData, field string, old, new any) {
	t.Helper()
	if !slices.Contains(d.ChangedFields, field) || d.Old[field] != old || d.New[field] != new {
		t.Fatalf("%s: changed_fields %v, old %v, new %v; want %s changed from %v to %v", what, d.ChangedFields, d.Old[field], d.New[field], field, old, new)
	}
}

func countDeliveries(t *testing.T, b *bundle) int {
	t.Helper()
	return must(b.ts.WebhookDeliveries(b.ctx, ion.ListOptions{}))(t).TotalCount
}

func testWebhooks(t *testing.T, h *harness) {
	t.Run("Receivers", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		r := must(b.ts.CreateWebhookReceiver(b.ctx, ion.WebhookReceiver{URL: "https://hooks.example/in",
			Headers: []ion.WebhookHeader{{Key: "X-Team", Value: "erp"}}}))(t)
		if r.DeliveryMode != ion.DeliverySink || r.Status != ion.ReceiverActive || r.ExpectedResponseCode != 200 ||
			len(r.SharedSecret) < 32 || r.Name != r.URL || len(r.Headers) != 1 || r.Etag == "" {
			t.Fatalf("created receiver = %+v, want SINK, ACTIVE, 200, a generated secret, name = url, one header", r)
		}
		same(t, "receiver read", must(b.ts.WebhookReceiver(b.ctx, r.ID))(t), r)
		for _, tc := range []struct {
			name  string
			in    ion.WebhookReceiver
			field string
		}{
			{"no url", ion.WebhookReceiver{}, "url"},
			{"ftp url", ion.WebhookReceiver{URL: "ftp://hooks.example/"}, "url"},
			{"url without host", ion.WebhookReceiver{URL: "https:///x"}, "url"},
			{"bad response code", ion.WebhookReceiver{URL: "https://h.example/", ExpectedResponseCode: 42}, "expectedResponseCode"},
			{"reserved header", ion.WebhookReceiver{URL: "https://h.example/", Headers: []ion.WebhookHeader{{Key: "X-Ion-Signature", Value: "x"}}}, "headers"},
			{"header with newline", ion.WebhookReceiver{URL: "https://h.example/", Headers: []ion.WebhookHeader{{Key: "X-A", Value: "a\r\nb"}}}, "headers"},
			{"bad mode", ion.WebhookReceiver{URL: "https://h.example/", DeliveryMode: "EMAIL"}, "deliveryMode"},
		} {
			_, err := b.ts.CreateWebhookReceiver(b.ctx, tc.in)
			if ion.ErrorCode(err) != ion.EVALIDATION {
				t.Fatalf("%s: error %v, want VALIDATION_ERROR", tc.name, err)
			}
			wantErr(t, err, ion.EVALIDATION, tc.field)
		}

		// The registry lists the tenant while it has an active LIVE receiver.
		registered := func() bool {
			return slices.Contains(must(b.control.WebhookTenants(b.ctx))(t), b.org.TenantID())
		}
		if registered() {
			t.Fatal("tenant registered with only a SINK receiver")
		}
		u := must(b.ts.UpdateWebhookReceiver(b.ctx, ion.WebhookReceiverPatch{ID: r.ID, Etag: r.Etag, DeliveryMode: ptr("live"), Name: ptr("ERP")}))(t)
		if u.DeliveryMode != ion.DeliveryLive || u.Name != "ERP" || u.Etag == r.Etag || u.SharedSecret != r.SharedSecret {
			t.Fatalf("updated receiver = %+v", u)
		}
		if !registered() {
			t.Fatal("tenant not registered with an active LIVE receiver")
		}
		_, err := b.ts.UpdateWebhookReceiver(b.ctx, ion.WebhookReceiverPatch{ID: r.ID, Etag: r.Etag, Name: ptr("stale")})
		wantErr(t, err, ion.ECONFLICT, "")
		d := must(b.ts.UpdateWebhookReceiver(b.ctx, ion.WebhookReceiverPatch{ID: u.ID, Etag: u.Etag, Status: ptr(ion.ReceiverDisabled)}))(t)
		if registered() {
			t.Fatal("tenant still registered after its only LIVE receiver was disabled")
		}
		a := must(b.ts.UpdateWebhookReceiver(b.ctx, ion.WebhookReceiverPatch{ID: d.ID, Etag: d.Etag, Status: ptr(ion.ReceiverActive)}))(t)
		if !registered() || a.Status != ion.ReceiverActive {
			t.Fatal("re-enabled LIVE receiver did not register the tenant")
		}
		sub := must(b.ts.CreateWebhookSubscription(b.ctx, ion.WebhookSubscription{ReceiverID: a.ID, Resource: "part_inventories", Action: "create"}))(t)
		ok(t, b.ts.DeleteWebhookReceiver(b.ctx, a.ID, a.Etag))
		if registered() {
			t.Fatal("tenant still registered after its receiver was deleted")
		}
		if n := must(b.ts.WebhookSubscriptions(b.ctx, ion.ListOptions{}))(t).TotalCount; n != 0 {
			t.Fatalf("subscription %d outlived its receiver: %d left", sub.ID, n)
		}
		_, err = b.ts.WebhookReceiver(b.ctx, a.ID)
		wantErr(t, err, ion.ENOTFOUND, "")
	})

	t.Run("Subscriptions", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		r := must(b.ts.CreateWebhookReceiver(b.ctx, ion.WebhookReceiver{URL: "https://hooks.example/in"}))(t)
		s := must(b.ts.CreateWebhookSubscription(b.ctx, ion.WebhookSubscription{ReceiverID: r.ID, Resource: "runs", Action: "update"}))(t)
		if s.Resource != ion.ResourceRun || s.Action != ion.ActionUpdate || s.ReceiverID != r.ID {
			t.Fatalf("subscription = %+v, want RUN UPDATE of receiver %d", s, r.ID)
		}
		for _, tc := range []struct {
			in    ion.WebhookSubscription
			field string
		}{
			{ion.WebhookSubscription{ReceiverID: r.ID, Resource: "WIDGETS", Action: "CREATE"}, "resource"},
			{ion.WebhookSubscription{ReceiverID: r.ID, Resource: "PART", Action: "UPSERT"}, "action"},
			{ion.WebhookSubscription{ReceiverID: 999, Resource: "PART", Action: "CREATE"}, "receiverId"},
			{ion.WebhookSubscription{ReceiverID: r.ID, Resource: "RUN", Action: "UPDATE"}, "action"}, // a duplicate
		} {
			_, err := b.ts.CreateWebhookSubscription(b.ctx, tc.in)
			wantErr(t, err, ion.EVALIDATION, tc.field)
		}
		other := must(b.ts.CreateWebhookSubscription(b.ctx, ion.WebhookSubscription{ReceiverID: r.ID, Resource: "PART_INVENTORIES", Action: "DELETE"}))(t)
		page := must(b.ts.WebhookSubscriptions(b.ctx, ion.ListOptions{Limit: 10, Filters: []ion.Filter{{Field: "resource", Op: ion.OpEq, Value: ion.ResourcePartInventory}}}))(t)
		if page.TotalCount != 1 || page.Items[0].ID != other.ID {
			t.Fatalf("filtered subscriptions = %+v, want only %d", page, other.ID)
		}
		wantErr(t, b.ts.DeleteWebhookSubscription(b.ctx, s.ID, "stale"), ion.ECONFLICT, "")
		ok(t, b.ts.DeleteWebhookSubscription(b.ctx, s.ID, s.Etag))
		if n := must(b.ts.WebhookSubscriptions(b.ctx, ion.ListOptions{}))(t).TotalCount; n != 1 {
			t.Fatalf("%d subscriptions after a delete, want 1", n)
		}
	})

	t.Run("CaptureEveryResource", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		subscribeAll(t, b, ion.DeliverySink)
		ctx, ts := b.ctx, b.ts

		p := must(ts.CreatePart(ctx, ion.Part{PartNumber: "P-1", Description: "bolt"}))(t)
		wantEvent(t, b, ion.ResourcePart, ion.ActionCreate, p.ID)
		p = must(ts.UpdatePart(ctx, ion.PartPatch{ID: p.ID, Etag: p.Etag, Description: ptr("hex bolt")}))(t)
		wantChanged(t, "part update", wantEvent(t, b, ion.ResourcePart, ion.ActionUpdate, p.ID), "description", "bolt", "hex bolt")
		asm := must(ts.CreatePart(ctx, ion.Part{PartNumber: "ASM-1"}))(t)

		loc := must(ts.CreateLocation(ctx, ion.Location{Name: "Bay 1", Available: true}))(t)
		wantEvent(t, b, ion.ResourceLocation, ion.ActionCreate, loc.ID)
		loc = must(ts.UpdateLocation(ctx, ion.LocationPatch{ID: loc.ID, Etag: loc.Etag, Name: ptr("Bay 2")}))(t)
		wantChanged(t, "location update", wantEvent(t, b, ion.ResourceLocation, ion.ActionUpdate, loc.ID), "name", "Bay 1", "Bay 2")

		inv := must(ts.CreatePartInventory(ctx, ion.PartInventory{PartID: p.ID, Quantity: 5, LocationID: &loc.ID}))(t)
		wantEvent(t, b, ion.ResourcePartInventory, ion.ActionCreate, inv.ID)
		inv = must(ts.UpdatePartInventory(ctx, ion.PartInventoryPatch{ID: inv.ID, Etag: inv.Etag, Quantity: ptr(4.0)}))(t)
		wantChanged(t, "inventory update", wantEvent(t, b, ion.ResourcePartInventory, ion.ActionUpdate, inv.ID), "quantity", 5.0, 4.0)

		m := must(ts.CreateMBomItem(ctx, ion.MBomItem{PartID: p.ID, ParentID: asm.ID, Quantity: 2}))(t)
		wantEvent(t, b, ion.ResourceMBomItem, ion.ActionCreate, m.ID)
		m = must(ts.UpdateMBomItem(ctx, ion.MBomItemPatch{ID: m.ID, Etag: m.Etag, Quantity: ptr(3.0)}))(t)
		wantChanged(t, "mBOM update", wantEvent(t, b, ion.ResourceMBomItem, ion.ActionUpdate, m.ID), "quantity", 2.0, 3.0)
		ok(t, ts.DeleteMBomItem(ctx, m.ID, m.Etag))
		wantEvent(t, b, ion.ResourceMBomItem, ion.ActionDelete, m.ID)

		proc := must(ts.CreateProcedure(ctx, ion.Procedure{Title: "Assemble"}))(t)
		wantEvent(t, b, ion.ResourceProcedure, ion.ActionCreate, proc.ID)
		st := must(ts.CreateStep(ctx, ion.Step{ProcedureID: proc.ID, Title: "torque"}))(t)
		wantEvent(t, b, ion.ResourceStep, ion.ActionCreate, st.ID)
		st = must(ts.UpdateStep(ctx, ion.StepPatch{ID: st.ID, Etag: st.Etag, Title: ptr("torque to 5 Nm")}))(t)
		wantChanged(t, "step update", wantEvent(t, b, ion.ResourceStep, ion.ActionUpdate, st.ID), "title", "torque", "torque to 5 Nm")
		extra := must(ts.CreateStep(ctx, ion.Step{ProcedureID: proc.ID, Title: "extra"}))(t)
		ok(t, ts.DeleteStep(ctx, extra.ID, extra.Etag))
		wantEvent(t, b, ion.ResourceStep, ion.ActionDelete, extra.ID)
		proc = must(ts.UpdateProcedure(ctx, ion.ProcedurePatch{ID: proc.ID, Etag: proc.Etag, Description: ptr("how")}))(t)
		wantEvent(t, b, ion.ResourceProcedure, ion.ActionUpdate, proc.ID)

		// A run copies the procedure's steps: each run step is created too;
		// starting a step changes the run's derived status, an UPDATE of the
		// run in the same transaction.
		run := must(ts.CreateRun(ctx, ion.Run{ProcedureID: proc.ID}))(t)
		wantEvent(t, b, ion.ResourceRun, ion.ActionCreate, run.ID)
		rs := must(ts.RunSteps(ctx, ion.ListOptions{Limit: 10, Filters: []ion.Filter{{Field: "runId", Op: ion.OpEq, Value: run.ID}}}))(t).Items
		if len(rs) != 1 {
			t.Fatalf("run has %d steps, want 1", len(rs))
		}
		wantEvent(t, b, ion.ResourceRunStep, ion.ActionCreate, rs[0].ID)
		must(ts.UpdateRunStep(ctx, ion.RunStepPatch{ID: rs[0].ID, Etag: rs[0].Etag, Status: ptr(ion.StatusInProgress)}))(t)
		wantChanged(t, "run step update", wantEvent(t, b, ion.ResourceRunStep, ion.ActionUpdate, rs[0].ID), "status", ion.StatusTodo, ion.StatusInProgress)
		wantChanged(t, "derived run status", wantEvent(t, b, ion.ResourceRun, ion.ActionUpdate, run.ID), "status", ion.StatusTodo, ion.StatusInProgress)

		// Installing moves the child inventory to INSTALLED: an UPDATE of it.
		parent := must(ts.CreatePartInventory(ctx, ion.PartInventory{PartID: asm.ID, Quantity: 1}))(t)
		child := must(ts.CreatePartInventory(ctx, ion.PartInventory{PartID: p.ID, Quantity: 1}))(t)
		br := must(ts.CreateBuildRequirement(ctx, ion.BuildRequirement{PartID: p.ID, PartInventoryID: parent.ID, QuantityPerParentPartInventory: 1}))(t)
		wantEvent(t, b, ion.ResourceBuildRequirement, ion.ActionCreate, br.ID)
		inst := must(ts.CreateAbomInstallation(ctx, ion.AbomInstallation{BuildRequirementID: br.ID, PartInventoryID: child.ID, Quantity: 1}))(t)
		wantEvent(t, b, ion.ResourceABomInstallation, ion.ActionCreate, inst.ID)
		wantChanged(t, "installed inventory", wantEvent(t, b, ion.ResourcePartInventory, ion.ActionUpdate, child.ID), "status", ion.InvAvailable, ion.InvInstalled)
		ok(t, ts.DeleteAbomInstallation(ctx, inst.ID, inst.Etag))
		wantEvent(t, b, ion.ResourceABomInstallation, ion.ActionDelete, inst.ID)
		br = must(ts.BuildRequirement(ctx, br.ID))(t)
		ok(t, ts.DeleteBuildRequirement(ctx, br.ID, br.Etag))
		wantEvent(t, b, ion.ResourceBuildRequirement, ion.ActionDelete, br.ID)

		is := must(ts.CreateIssue(ctx, ion.Issue{Title: "scratch"}))(t)
		wantEvent(t, b, ion.ResourceIssue, ion.ActionCreate, is.ID)
		is = must(ts.UpdateIssue(ctx, ion.IssuePatch{ID: is.ID, Etag: is.Etag, Title: ptr("deep scratch")}))(t)
		wantChanged(t, "issue update", wantEvent(t, b, ion.ResourceIssue, ion.ActionUpdate, is.ID), "title", "scratch", "deep scratch")
		ok(t, ts.DeleteIssue(ctx, is.ID, is.Etag))
		wantEvent(t, b, ion.ResourceIssue, ion.ActionDelete, is.ID)

		sup := must(ts.CreateSupplier(ctx, ion.Supplier{Name: "Acme Bolts"}))(t)
		wantEvent(t, b, ion.ResourceSupplier, ion.ActionCreate, sup.ID)
		sup = must(ts.UpdateSupplier(ctx, ion.SupplierPatch{ID: sup.ID, Etag: sup.Etag, Name: ptr("Acme Screws")}))(t)
		wantChanged(t, "supplier update", wantEvent(t, b, ion.ResourceSupplier, ion.ActionUpdate, sup.ID), "name", "Acme Bolts", "Acme Screws")
		po := must(ts.CreatePurchaseOrder(ctx, ion.PurchaseOrder{SupplierID: &sup.ID}))(t)
		wantEvent(t, b, ion.ResourcePurchaseOrder, ion.ActionCreate, po.ID)
		po = must(ts.UpdatePurchaseOrder(ctx, ion.PurchaseOrderPatch{ID: po.ID, Etag: po.Etag, Status: ptr(ion.POOrdered)}))(t)
		wantChanged(t, "order update", wantEvent(t, b, ion.ResourcePurchaseOrder, ion.ActionUpdate, po.ID), "status", ion.PODraft, ion.POOrdered)
		// A line creates ON_ORDER inventory in the same transaction.
		line := must(ts.CreatePurchaseOrderLine(ctx, ion.PurchaseOrderLine{PurchaseOrderID: po.ID, PartID: p.ID, Quantity: 2}))(t)
		wantEvent(t, b, ion.ResourcePurchaseOrderLine, ion.ActionCreate, line.ID)
		onOrder := lineInventory(t, b, line.ID)
		if len(onOrder) != 1 {
			t.Fatalf("line inventory = %+v, want one row", onOrder)
		}
		wantEvent(t, b, ion.ResourcePartInventory, ion.ActionCreate, onOrder[0].ID)
		line = must(ts.UpdatePurchaseOrderLine(ctx, ion.PurchaseOrderLinePatch{ID: line.ID, Etag: line.Etag, Description: ptr("rush")}))(t)
		wantEvent(t, b, ion.ResourcePurchaseOrderLine, ion.ActionUpdate, line.ID)
		ok(t, ts.DeletePurchaseOrderLine(ctx, line.ID, line.Etag))
		wantEvent(t, b, ion.ResourcePurchaseOrderLine, ion.ActionDelete, line.ID)
		wantEvent(t, b, ion.ResourcePartInventory, ion.ActionDelete, onOrder[0].ID)
		ok(t, ts.DeletePurchaseOrder(ctx, po.ID, po.Etag))
		wantEvent(t, b, ion.ResourcePurchaseOrder, ion.ActionDelete, po.ID)
		ok(t, ts.DeleteSupplier(ctx, sup.ID, sup.Etag))
		wantEvent(t, b, ion.ResourceSupplier, ion.ActionDelete, sup.ID)

		// Deleting a run deletes its steps.
		run = must(ts.Run(ctx, run.ID))(t)
		ok(t, ts.DeleteRun(ctx, run.ID, run.Etag))
		wantEvent(t, b, ion.ResourceRun, ion.ActionDelete, run.ID)
		wantEvent(t, b, ion.ResourceRunStep, ion.ActionDelete, rs[0].ID)
		proc = must(ts.Procedure(ctx, proc.ID))(t)
		ok(t, ts.DeleteProcedure(ctx, proc.ID, proc.Etag))
		wantEvent(t, b, ion.ResourceProcedure, ion.ActionDelete, proc.ID)
		wantEvent(t, b, ion.ResourceStep, ion.ActionDelete, st.ID)
		inv = must(ts.PartInventory(ctx, inv.ID))(t)
		ok(t, ts.DeletePartInventory(ctx, inv.ID, inv.Etag))
		wantEvent(t, b, ion.ResourcePartInventory, ion.ActionDelete, inv.ID)
		ok(t, ts.DeleteLocation(ctx, loc.ID, loc.Etag))
		wantEvent(t, b, ion.ResourceLocation, ion.ActionDelete, loc.ID)
		rev := must(ts.CreatePartRevision(ctx, asm.ID, ""))(t)
		wantEvent(t, b, ion.ResourcePart, ion.ActionCreate, rev.ID)
		// Deleting a part unlinks the revisions made from it: an UPDATE of each.
		x := must(ts.CreatePart(ctx, ion.Part{PartNumber: "X-1"}))(t)
		xRev := must(ts.CreatePartRevision(ctx, x.ID, ""))(t)
		ok(t, ts.DeletePart(ctx, x.ID, x.Etag))
		wantEvent(t, b, ion.ResourcePart, ion.ActionDelete, x.ID)
		wantChanged(t, "unlinked revision", wantEvent(t, b, ion.ResourcePart, ion.ActionUpdate, xRev.ID), "revisedFromId", float64(x.ID), nil)
		// Canceling a run cancels its open steps: an UPDATE of each.
		proc2 := must(ts.CreateProcedure(ctx, ion.Procedure{Title: "Inspect"}))(t)
		must(ts.CreateStep(ctx, ion.Step{ProcedureID: proc2.ID, Title: "look"}))(t)
		run2 := must(ts.CreateRun(ctx, ion.Run{ProcedureID: proc2.ID}))(t)
		rs2 := must(ts.RunSteps(ctx, ion.ListOptions{Limit: 10, Filters: []ion.Filter{{Field: "runId", Op: ion.OpEq, Value: run2.ID}}}))(t).Items
		must(ts.CancelRun(ctx, run2.ID, run2.Etag))(t)
		wantChanged(t, "canceled run", wantEvent(t, b, ion.ResourceRun, ion.ActionUpdate, run2.ID), "status", ion.StatusTodo, ion.StatusCanceled)
		wantChanged(t, "canceled run step", wantEvent(t, b, ion.ResourceRunStep, ion.ActionUpdate, rs2[0].ID), "status", ion.StatusTodo, ion.StatusCanceled)

		// Every delivery of a SINK receiver is recorded, never pending.
		if n := must(ts.WebhookDeliveries(ctx, ion.ListOptions{Filters: []ion.Filter{{Field: "status", Op: ion.OpNeq, Value: ion.DeliveryRecorded}}}))(t).TotalCount; n != 0 {
			t.Fatalf("%d deliveries of a SINK receiver are not SINK", n)
		}
	})

	t.Run("OnlyMatchingSubscriptions", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "P-0"}))(t)
		if n := countDeliveries(t, b); n != 0 {
			t.Fatalf("%d deliveries without any subscription", n)
		}
		r := must(b.ts.CreateWebhookReceiver(b.ctx, ion.WebhookReceiver{URL: "https://hooks.example/in"}))(t)
		must(b.ts.CreateWebhookSubscription(b.ctx, ion.WebhookSubscription{ReceiverID: r.ID, Resource: "PART", Action: "CREATE"}))(t)
		must(b.ts.UpdatePart(b.ctx, ion.PartPatch{ID: p.ID, Etag: p.Etag, Description: ptr("x")}))(t)
		must(b.ts.CreateLocation(b.ctx, ion.Location{Name: "L"}))(t)
		if n := countDeliveries(t, b); n != 0 {
			t.Fatalf("%d deliveries for changes nobody subscribed to", n)
		}
		p2 := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "P-2"}))(t)
		wantEvent(t, b, ion.ResourcePart, ion.ActionCreate, p2.ID)
		// A disabled receiver gets nothing new.
		r = must(b.ts.WebhookReceiver(b.ctx, r.ID))(t)
		must(b.ts.UpdateWebhookReceiver(b.ctx, ion.WebhookReceiverPatch{ID: r.ID, Etag: r.Etag, Status: ptr(ion.ReceiverDisabled)}))(t)
		must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "P-3"}))(t)
		if n := countDeliveries(t, b); n != 1 {
			t.Fatalf("%d deliveries, want 1 (none to a disabled receiver)", n)
		}
	})

	t.Run("RollbackRecordsNothing", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		subscribeAll(t, b, ion.DeliveryLive)
		p := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "P-1"}))(t)
		before := countDeliveries(t, b)
		_, err := b.ts.UpdatePart(b.ctx, ion.PartPatch{ID: p.ID, Etag: "stale", Description: ptr("x")})
		wantErr(t, err, ion.ECONFLICT, "")
		_, err = b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "P-1"}) // duplicate
		wantErr(t, err, ion.EVALIDATION, "partNumber")
		// Fails after its insert: more than available.
		asm := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "ASM"}))(t)
		parent := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: asm.ID, Quantity: 1}))(t)
		child := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: p.ID, Quantity: 1}))(t)
		br := must(b.ts.CreateBuildRequirement(b.ctx, ion.BuildRequirement{PartID: p.ID, PartInventoryID: parent.ID, QuantityPerParentPartInventory: 5}))(t)
		before += 4
		_, err = b.ts.CreateAbomInstallation(b.ctx, ion.AbomInstallation{BuildRequirementID: br.ID, PartInventoryID: child.ID, Quantity: 3})
		wantErr(t, err, ion.EVALIDATION, "quantity")
		if n := countDeliveries(t, b); n != before {
			t.Fatalf("%d deliveries after failed writes, want %d", n, before)
		}
	})

	t.Run("SinkAndLive", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		var notified atomic.Int64
		var notifiedTenant atomic.Value
		b.stores.(ion.WebhookNotifier).OnWebhookQueued(func(tenant string) {
			notified.Add(1)
			notifiedTenant.Store(tenant)
		})
		sink := must(b.ts.CreateWebhookReceiver(b.ctx, ion.WebhookReceiver{URL: "https://sink.example/", DeliveryMode: ion.DeliverySink}))(t)
		must(b.ts.CreateWebhookSubscription(b.ctx, ion.WebhookSubscription{ReceiverID: sink.ID, Resource: "PART", Action: "CREATE"}))(t)
		must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "P-1"}))(t)
		if notified.Load() != 0 {
			t.Fatal("dispatchers were told about a SINK delivery")
		}
		live := must(b.ts.CreateWebhookReceiver(b.ctx, ion.WebhookReceiver{URL: "https://live.example/", DeliveryMode: ion.DeliveryLive}))(t)
		must(b.ts.CreateWebhookSubscription(b.ctx, ion.WebhookSubscription{ReceiverID: live.ID, Resource: "PART", Action: "CREATE"}))(t)
		p := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "P-2"}))(t)
		ds := deliveriesOf(t, b, ion.ResourcePart, ion.ActionCreate, p.ID)
		if len(ds) != 2 {
			t.Fatalf("%d deliveries, want one per receiver", len(ds))
		}
		byReceiver := map[ion.ID]ion.WebhookDelivery{}
		for _, d := range ds {
			byReceiver[d.ReceiverID] = d
		}
		if d := byReceiver[sink.ID]; d.Status != ion.DeliveryRecorded || d.Mode != ion.DeliverySink {
			t.Fatalf("sink delivery = %+v, want SINK", d)
		}
		if d := byReceiver[live.ID]; d.Status != ion.DeliveryPending || d.Mode != ion.DeliveryLive || d.Event.ID != byReceiver[sink.ID].Event.ID {
			t.Fatalf("live delivery = %+v, want PENDING LIVE of the same event", d)
		}
		if notified.Load() != 1 || notifiedTenant.Load() != b.org.TenantID() {
			t.Fatalf("notified %d times (tenant %v), want once for %s", notified.Load(), notifiedTenant.Load(), b.org.TenantID())
		}
	})

	t.Run("ClaimAndFinish", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		r := must(b.ts.CreateWebhookReceiver(b.ctx, ion.WebhookReceiver{URL: "https://live.example/", DeliveryMode: ion.DeliveryLive}))(t)
		must(b.ts.CreateWebhookSubscription(b.ctx, ion.WebhookSubscription{ReceiverID: r.ID, Resource: "PART", Action: "CREATE"}))(t)
		p := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "P-1"}))(t)
		now := time.Now().UTC().Add(time.Second).Truncate(time.Microsecond)
		lease := time.Minute
		got := must(b.ts.ClaimWebhookDeliveries(b.ctx, now, lease, 10))(t)
		if len(got) != 1 || got[0].Event.ObjectID != p.ID || got[0].Attempts != 0 || !got[0].NextAttemptAt.Equal(now.Add(lease)) {
			t.Fatalf("claimed %+v, want the part's delivery leased until %v", got, now.Add(lease))
		}
		if again := must(b.ts.ClaimWebhookDeliveries(b.ctx, now, lease, 10))(t); len(again) != 0 {
			t.Fatalf("claimed a leased delivery again: %+v", again)
		}
		if after := must(b.ts.ClaimWebhookDeliveries(b.ctx, now.Add(2*lease), lease, 10))(t); len(after) != 1 {
			t.Fatalf("an expired lease was not claimable again: %+v", after)
		}
		id := got[0].ID
		retry := now.Add(time.Hour)
		ok(t, b.ts.FinishWebhookDelivery(b.ctx, ion.DeliveryOutcome{DeliveryID: id, AttemptedAt: now, StatusCode: 500, Error: "HTTP 500", NextAttemptAt: &retry}))
		d := must(b.ts.WebhookDeliveries(b.ctx, ion.ListOptions{Limit: 1}))(t).Items[0]
		if d.Status != ion.DeliveryPending || d.Attempts != 1 || d.LastStatusCode != 500 || d.LastError != "HTTP 500" || !d.NextAttemptAt.Equal(retry) ||
			d.LastAttemptAt == nil || !d.LastAttemptAt.Equal(now) {
			t.Fatalf("after a failed attempt: %+v", d)
		}
		rcv := must(b.ts.WebhookReceiver(b.ctx, r.ID))(t)
		if rcv.FailingSince == nil || !rcv.FailingSince.Equal(now) || rcv.LastError != "HTTP 500" {
			t.Fatalf("receiver after a failure: %+v, want FailingSince %v", rcv, now)
		}
		later := now.Add(time.Hour)
		ok(t, b.ts.FinishWebhookDelivery(b.ctx, ion.DeliveryOutcome{DeliveryID: id, AttemptedAt: later, StatusCode: 503, Error: "HTTP 503", NextAttemptAt: &retry}))
		if rcv := must(b.ts.WebhookReceiver(b.ctx, r.ID))(t); !rcv.FailingSince.Equal(now) {
			t.Fatalf("FailingSince moved to %v; it is the first failure's time %v", rcv.FailingSince, now)
		}
		ok(t, b.ts.FinishWebhookDelivery(b.ctx, ion.DeliveryOutcome{DeliveryID: id, AttemptedAt: later, StatusCode: 200, Delivered: true}))
		d = must(b.ts.WebhookDeliveries(b.ctx, ion.ListOptions{Limit: 1}))(t).Items[0]
		if d.Status != ion.DeliveryDelivered || d.Attempts != 3 || d.DeliveredAt == nil || !d.DeliveredAt.Equal(later) {
			t.Fatalf("after a success: %+v", d)
		}
		if rcv := must(b.ts.WebhookReceiver(b.ctx, r.ID))(t); rcv.FailingSince != nil || rcv.LastError != "" {
			t.Fatalf("FailingSince %v, LastError %q after a success, want nil and empty", rcv.FailingSince, rcv.LastError)
		}
		wantErr(t, b.ts.FinishWebhookDelivery(b.ctx, ion.DeliveryOutcome{DeliveryID: id, AttemptedAt: later, Delivered: true}), ion.ECONFLICT, "")
		wantErr(t, b.ts.FinishWebhookDelivery(b.ctx, ion.DeliveryOutcome{DeliveryID: 9999, AttemptedAt: later}), ion.ENOTFOUND, "")

		// Giving up makes it FAILED; a 410 disables the receiver, whose
		// pending deliveries are then not claimed.
		p2 := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "P-2"}))(t)
		p3 := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "P-3"}))(t)
		d2 := deliveriesOf(t, b, ion.ResourcePart, ion.ActionCreate, p2.ID)[0]
		d3 := deliveriesOf(t, b, ion.ResourcePart, ion.ActionCreate, p3.ID)[0]
		p5 := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "P-5"}))(t)
		d5 := deliveriesOf(t, b, ion.ResourcePart, ion.ActionCreate, p5.ID)[0]
		ok(t, b.ts.FinishWebhookDelivery(b.ctx, ion.DeliveryOutcome{DeliveryID: d2.ID, AttemptedAt: later, StatusCode: 400, Error: "HTTP 400"}))
		if d := deliveriesOf(t, b, ion.ResourcePart, ion.ActionCreate, p2.ID)[0]; d.Status != ion.DeliveryFailed {
			t.Fatalf("given-up delivery is %s, want FAILED", d.Status)
		}
		if !slices.Contains(must(b.control.WebhookTenants(b.ctx))(t), b.org.TenantID()) {
			t.Fatal("tenant with an active LIVE receiver is not registered")
		}
		ok(t, b.ts.FinishWebhookDelivery(b.ctx, ion.DeliveryOutcome{DeliveryID: d3.ID, AttemptedAt: later, StatusCode: 410, Error: "HTTP 410 Gone", DisableReceiver: true}))
		rcv = must(b.ts.WebhookReceiver(b.ctx, r.ID))(t)
		if rcv.Status != ion.ReceiverDisabled || rcv.LastError != "HTTP 410 Gone" {
			t.Fatalf("receiver after 410: %+v, want DISABLED with the error", rcv)
		}
		if slices.Contains(must(b.control.WebhookTenants(b.ctx))(t), b.org.TenantID()) {
			t.Fatal("tenant still registered after its receiver was disabled")
		}
		// A delivery claimed before the disable and failed after it keeps
		// the receiver's error: the one that says why it was disabled.
		ok(t, b.ts.FinishWebhookDelivery(b.ctx, ion.DeliveryOutcome{DeliveryID: d5.ID, AttemptedAt: later, Error: "the receiver is disabled"}))
		if rcv := must(b.ts.WebhookReceiver(b.ctx, r.ID))(t); rcv.LastError != "HTTP 410 Gone" {
			t.Fatalf("disabled receiver's lastError %q after a later failure, want the disabling error %q", rcv.LastError, "HTTP 410 Gone")
		}
		p4 := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "P-4"}))(t)
		if ds := deliveriesOf(t, b, ion.ResourcePart, ion.ActionCreate, p4.ID); len(ds) != 0 {
			t.Fatalf("a disabled receiver got a delivery: %+v", ds)
		}
		if got := must(b.ts.ClaimWebhookDeliveries(b.ctx, later.Add(24*time.Hour), lease, 10))(t); len(got) != 0 {
			t.Fatalf("claimed deliveries of a disabled receiver: %+v", got)
		}
	})

	t.Run("SyntheticEvents", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		r := must(b.ts.CreateWebhookReceiver(b.ctx, ion.WebhookReceiver{URL: "https://sink.example/"}))(t)
		must(b.ts.CreateWebhookSubscription(b.ctx, ion.WebhookSubscription{ReceiverID: r.ID, Resource: "SANDBOX", Action: "UPDATE"}))(t)
		must(b.ts.CreateWebhookSubscription(b.ctx, ion.WebhookSubscription{ReceiverID: r.ID, Resource: "RUN", Action: "UPDATE"}))(t)
		ds := must(b.ts.RecordWebhookEvent(b.ctx, ion.WebhookEvent{Resource: ion.ResourceSandbox, Action: ion.EventSandboxReset}))(t)
		if len(ds) != 1 || ds[0].Event.Action != ion.EventSandboxReset || string(ds[0].Event.Data) != "{}" || ds[0].Status != ion.DeliveryRecorded {
			t.Fatalf("sandbox.reset deliveries = %+v", ds)
		}
		ds = must(b.ts.RecordWebhookEvent(b.ctx, ion.WebhookEvent{Resource: "runs", Action: "update", ObjectID: 42, Data: []byte(`{"new":{"id":42}}`)}))(t)
		if len(ds) != 1 || ds[0].Event.Resource != ion.ResourceRun || ds[0].Event.ObjectID != 42 {
			t.Fatalf("fired RUN UPDATE deliveries = %+v", ds)
		}
		if ds := must(b.ts.RecordWebhookEvent(b.ctx, ion.WebhookEvent{Resource: "RUN", Action: "DELETE", ObjectID: 42}))(t); len(ds) != 0 {
			t.Fatalf("an event nobody subscribed to was delivered: %+v", ds)
		}
		_, err := b.ts.RecordWebhookEvent(b.ctx, ion.WebhookEvent{Resource: "WIDGET", Action: "UPDATE"})
		wantErr(t, err, ion.EVALIDATION, "resource")
		page := must(b.ts.WebhookDeliveries(b.ctx, ion.ListOptions{Limit: 10, Filters: []ion.Filter{{Field: "receiverId", Op: ion.OpEq, Value: r.ID}}}))(t)
		if page.TotalCount != 2 {
			t.Fatalf("receiver's log has %d entries, want 2", page.TotalCount)
		}
	})

	t.Run("ConcurrentClaimers", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		r := must(b.ts.CreateWebhookReceiver(b.ctx, ion.WebhookReceiver{URL: "https://live.example/", DeliveryMode: ion.DeliveryLive}))(t)
		must(b.ts.CreateWebhookSubscription(b.ctx, ion.WebhookSubscription{ReceiverID: r.ID, Resource: "LOCATION", Action: "CREATE"}))(t)
		const total = 40
		for i := range total {
			must(b.ts.CreateLocation(b.ctx, ion.Location{Name: "L" + string(rune('A'+i%26)) + string(rune('0'+i/26))}))(t)
		}
		// Two claimers on separate Stores (two replicas on PostgreSQL).
		other := h.open(t)
		t.Cleanup(func() { _ = other.Close() })
		ts2 := must(other.Tenant(b.ctx, b.org.TenantID()))(t)
		now := time.Now().UTC().Add(time.Second)
		var mu sync.Mutex
		claimed := map[ion.ID]int{}
		var wg sync.WaitGroup
		for _, ts := range []ion.TenantStore{b.ts, ts2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					got, err := ts.ClaimWebhookDeliveries(b.ctx, now, time.Hour, 3)
					if err != nil {
						t.Errorf("claim: %v", err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, d := range got {
						claimed[d.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(claimed) != total {
			t.Fatalf("claimed %d distinct deliveries, want %d", len(claimed), total)
		}
		for id, n := range claimed {
			if n != 1 {
				t.Fatalf("delivery %d was claimed %d times", id, n)
			}
		}
	})

	// Restoring a state keeps the webhook configuration and the deliveries
	// owed, whether the state was saved before there were any or is
	// ion.EmptyTenantState, which nothing saves.
	for _, tc := range []struct {
		name, state string
		save        bool
	}{
		{"SurviveRestoreAndDelete", "baseline", true},
		{"SurviveRestoreOfTheEmptyState", ion.EmptyTenantState, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := h.setup(t)
			id := b.org.TenantID()
			if tc.save {
				ok(t, b.stores.SaveTenantState(b.ctx, id, tc.state)) // before any webhook
			}
			r := must(b.ts.CreateWebhookReceiver(b.ctx, ion.WebhookReceiver{URL: "https://live.example/", DeliveryMode: ion.DeliveryLive}))(t)
			sub := must(b.ts.CreateWebhookSubscription(b.ctx, ion.WebhookSubscription{ReceiverID: r.ID, Resource: "PART", Action: "CREATE"}))(t)
			p := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "P-1"}))(t)
			owed := deliveriesOf(t, b, ion.ResourcePart, ion.ActionCreate, p.ID)
			if len(owed) != 1 {
				t.Fatalf("%d deliveries before the restore, want 1", len(owed))
			}

			ok(t, b.stores.RestoreTenantState(b.ctx, id, tc.state))
			if _, err := b.ts.Part(b.ctx, p.ID); ion.ErrorCode(err) != ion.ENOTFOUND {
				t.Fatalf("part after restoring %s: %v, want NOT_FOUND", tc.state, err)
			}
			same(t, "receiver after a restore", must(b.ts.WebhookReceiver(b.ctx, r.ID))(t), r)
			same(t, "subscriptions after a restore", must(b.ts.WebhookSubscriptions(b.ctx, ion.ListOptions{Limit: 10}))(t).Items, []ion.WebhookSubscription{sub})
			// The delivery still owed survives, and new ids do not reuse it
			// (receivers dedupe by them).
			same(t, "owed delivery after a restore", deliveriesOf(t, b, ion.ResourcePart, ion.ActionCreate, p.ID), owed)
			must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "P-2"}))(t) // may get P-1's id again: the data was reset
			all := must(b.ts.WebhookDeliveries(b.ctx, ion.ListOptions{Limit: 10}))(t).Items
			if len(all) != 2 || all[1].ID <= owed[0].ID || all[1].Event.ID <= owed[0].Event.ID {
				t.Fatalf("%d deliveries after the restore (last %d, event %d), want 2 with new ids after %d/%d",
					len(all), all[len(all)-1].ID, all[len(all)-1].Event.ID, owed[0].ID, owed[0].Event.ID)
			}
			if !slices.Contains(must(b.control.WebhookTenants(b.ctx))(t), id) {
				t.Fatal("tenant left the registry on a restore")
			}

			ok(t, b.stores.DeleteTenant(b.ctx, id))
			if slices.Contains(must(b.control.WebhookTenants(b.ctx))(t), id) {
				t.Fatal("a deleted tenant is still in the registry")
			}
		})
	}

}
