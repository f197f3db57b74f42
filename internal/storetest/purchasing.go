package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// lineInventory returns the inventory a purchase order line created.
func lineInventory(t *testing.T, b *bundle, lineID ion.ID) []ion.PartInventory {
	t.Helper()
	return must(b.ts.PartInventories(b.ctx, ion.ListOptions{Limit: 100, Filters: []ion.Filter{{Field: "purchaseOrderLineId", Op: ion.OpEq, Value: lineID}}}))(t).Items
}

func testPurchasing(t *testing.T, h *harness) {
	t.Run("Suppliers", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		s := must(b.ts.CreateSupplier(b.ctx, ion.Supplier{Name: "Acme Bolts", Attributes: []ion.Attribute{{Key: "tier", Type: "STRING", Value: "1"}}}))(t)
		same(t, "supplier read", must(b.ts.Supplier(b.ctx, s.ID))(t), s)
		_, err := b.ts.CreateSupplier(b.ctx, ion.Supplier{})
		wantErr(t, err, ion.EVALIDATION, "name")
		u := must(b.ts.UpdateSupplier(b.ctx, ion.SupplierPatch{ID: s.ID, Etag: s.Etag, Name: ptr("Acme Screws")}))(t)
		if u.Name != "Acme Screws" || u.Etag == s.Etag || len(u.Attributes) != 1 {
			t.Fatalf("updated supplier = %+v", u)
		}
		po := must(b.ts.CreatePurchaseOrder(b.ctx, ion.PurchaseOrder{SupplierID: &s.ID}))(t)
		wantErr(t, b.ts.DeleteSupplier(b.ctx, s.ID, u.Etag), ion.ECONFLICT, "")
		ok(t, b.ts.DeletePurchaseOrder(b.ctx, po.ID, po.Etag))
		ok(t, b.ts.DeleteSupplier(b.ctx, s.ID, u.Etag))
	})

	t.Run("Orders", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		po := must(b.ts.CreatePurchaseOrder(b.ctx, ion.PurchaseOrder{}))(t)
		if po.Status != ion.PODraft || po.SupplierID != nil {
			t.Fatalf("purchase order = %+v, want DRAFT without supplier", po)
		}
		same(t, "order read", must(b.ts.PurchaseOrder(b.ctx, po.ID))(t), po)
		_, err := b.ts.CreatePurchaseOrder(b.ctx, ion.PurchaseOrder{Status: "LOST"})
		wantErr(t, err, ion.EVALIDATION, "status")
		_, err = b.ts.CreatePurchaseOrder(b.ctx, ion.PurchaseOrder{SupplierID: ptr(ion.ID(99))})
		wantErr(t, err, ion.EVALIDATION, "supplierId")
		u := must(b.ts.UpdatePurchaseOrder(b.ctx, ion.PurchaseOrderPatch{ID: po.ID, Etag: po.Etag, Status: ptr("ordered")}))(t)
		if u.Status != ion.POOrdered || u.Etag == po.Etag {
			t.Fatalf("updated order = %+v", u)
		}
		_, err = b.ts.UpdatePurchaseOrder(b.ctx, ion.PurchaseOrderPatch{ID: po.ID, Etag: u.Etag, SupplierID: ptr(ion.ID(99))})
		wantErr(t, err, ion.EVALIDATION, "supplierId")
	})

	t.Run("LinesCreateOnOrderInventory", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		serial := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "sensor", TrackingType: ptr(ion.TrackingSerial)}))(t)
		lotted := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "resin", TrackingType: ptr(ion.TrackingLot)}))(t)
		bulk := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "washer"}))(t)
		po := must(b.ts.CreatePurchaseOrder(b.ctx, ion.PurchaseOrder{Status: ion.POOrdered}))(t)
		need := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

		ls := must(b.ts.CreatePurchaseOrderLine(b.ctx, ion.PurchaseOrderLine{PurchaseOrderID: po.ID, PartID: serial.ID, Quantity: 3, NeedDate: &need, Description: "sensors"}))(t)
		etagOK(t, ls.Etag)
		if ls.Status != ion.POOrdered || !ls.NeedDate.Equal(need) {
			t.Fatalf("line = %+v, want ORDERED with the need date", ls)
		}
		same(t, "line read", must(b.ts.PurchaseOrderLine(b.ctx, ls.ID))(t), ls)
		units := lineInventory(t, b, ls.ID)
		if len(units) != 3 {
			t.Fatalf("serial line made %d units, want 3", len(units))
		}
		for i, u := range units {
			want := fmt.Sprintf("PO%d-L%d-%d", po.ID, ls.ID, i+1)
			if u.PartID != serial.ID || u.SerialNumber == nil || *u.SerialNumber != want || u.Quantity != 1 || u.Status != ion.InvOnOrder || *u.PurchaseOrderLineID != ls.ID {
				t.Fatalf("unit %d = %+v, want serial %s, quantity 1, ON_ORDER, linked to line %d", i, u, want, ls.ID)
			}
		}
		ll := must(b.ts.CreatePurchaseOrderLine(b.ctx, ion.PurchaseOrderLine{PurchaseOrderID: po.ID, PartID: lotted.ID, Quantity: 10}))(t)
		lots := lineInventory(t, b, ll.ID)
		if len(lots) != 1 || *lots[0].LotNumber != fmt.Sprintf("PO%d-L%d", po.ID, ll.ID) || lots[0].Quantity != 10 || lots[0].Status != ion.InvOnOrder {
			t.Fatalf("lot line inventory = %+v", lots)
		}
		lb := must(b.ts.CreatePurchaseOrderLine(b.ctx, ion.PurchaseOrderLine{PurchaseOrderID: po.ID, PartID: bulk.ID, Quantity: 4.5}))(t)
		rows := lineInventory(t, b, lb.ID)
		if len(rows) != 1 || rows[0].Quantity != 4.5 || rows[0].SerialNumber != nil || rows[0].LotNumber != nil || rows[0].Status != ion.InvOnOrder {
			t.Fatalf("untracked line inventory = %+v", rows)
		}

		for _, c := range []struct {
			name  string
			line  ion.PurchaseOrderLine
			field string
		}{
			{"zero", ion.PurchaseOrderLine{PurchaseOrderID: po.ID, PartID: bulk.ID}, "quantity"},
			{"negative", ion.PurchaseOrderLine{PurchaseOrderID: po.ID, PartID: bulk.ID, Quantity: -2}, "quantity"},
			{"part of a serial unit", ion.PurchaseOrderLine{PurchaseOrderID: po.ID, PartID: serial.ID, Quantity: 2.5}, "quantity"},
			{"missing part", ion.PurchaseOrderLine{PurchaseOrderID: po.ID, PartID: 999, Quantity: 1}, "partId"},
			{"missing order", ion.PurchaseOrderLine{PurchaseOrderID: 999, PartID: bulk.ID, Quantity: 1}, "purchaseOrderId"},
			{"status", ion.PurchaseOrderLine{PurchaseOrderID: po.ID, PartID: bulk.ID, Quantity: 1, Status: "LOST"}, "status"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := b.ts.CreatePurchaseOrderLine(b.ctx, c.line)
				wantErr(t, err, ion.EVALIDATION, c.field)
			})
		}
		if n := must(b.ts.PartInventories(b.ctx, ion.ListOptions{}))(t).TotalCount; n != 5 {
			t.Fatalf("%d inventories, want 5 (refused lines create none)", n)
		}

		// Resizing a line resizes what it ordered.
		ls = must(b.ts.UpdatePurchaseOrderLine(b.ctx, ion.PurchaseOrderLinePatch{ID: ls.ID, Etag: ls.Etag, Quantity: ptr(5.0)}))(t)
		if units = lineInventory(t, b, ls.ID); len(units) != 5 || *units[4].SerialNumber != fmt.Sprintf("PO%d-L%d-5", po.ID, ls.ID) {
			t.Fatalf("after growing to 5: %d units", len(units))
		}
		ls = must(b.ts.UpdatePurchaseOrderLine(b.ctx, ion.PurchaseOrderLinePatch{ID: ls.ID, Etag: ls.Etag, Quantity: ptr(2.0)}))(t)
		if got := lineInventory(t, b, ls.ID); len(got) != 2 || got[0].ID != units[0].ID || got[1].ID != units[1].ID {
			t.Fatalf("after shrinking to 2: %d units", len(got))
		}
		lb = must(b.ts.UpdatePurchaseOrderLine(b.ctx, ion.PurchaseOrderLinePatch{ID: lb.ID, Etag: lb.Etag, Quantity: ptr(6.0), Description: ptr("more")}))(t)
		if got := lineInventory(t, b, lb.ID); len(got) != 1 || got[0].ID != rows[0].ID || got[0].Quantity != 6 {
			t.Fatalf("untracked line after update = %+v", got)
		}

		// Receiving the line takes its inventory off order.
		ls = must(b.ts.UpdatePurchaseOrderLine(b.ctx, ion.PurchaseOrderLinePatch{ID: ls.ID, Etag: ls.Etag, Status: ptr(ion.POReceived)}))(t)
		for _, u := range lineInventory(t, b, ls.ID) {
			if u.Status != ion.InvAvailable {
				t.Fatalf("received unit status %s, want AVAILABLE", u.Status)
			}
		}
		// Receiving the order does it for every line.
		po = must(b.ts.PurchaseOrder(b.ctx, po.ID))(t)
		po = must(b.ts.UpdatePurchaseOrder(b.ctx, ion.PurchaseOrderPatch{ID: po.ID, Etag: po.Etag, Status: ptr(ion.POReceived)}))(t)
		if s := lineInventory(t, b, ll.ID)[0].Status; s != ion.InvAvailable {
			t.Fatalf("lot of a received order is %s, want AVAILABLE", s)
		}
		err := b.ts.DeletePurchaseOrderLine(b.ctx, ls.ID, ls.Etag)
		wantErr(t, err, ion.ECONFLICT, "")
		wantMessage(t, err, "received")
	})

	t.Run("DeleteOrder", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		serial := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "sensor", TrackingType: ptr(ion.TrackingSerial)}))(t)
		asm := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "asm"}))(t)
		po := must(b.ts.CreatePurchaseOrder(b.ctx, ion.PurchaseOrder{}))(t)
		l1 := must(b.ts.CreatePurchaseOrderLine(b.ctx, ion.PurchaseOrderLine{PurchaseOrderID: po.ID, PartID: serial.ID, Quantity: 2}))(t)
		l2 := must(b.ts.CreatePurchaseOrderLine(b.ctx, ion.PurchaseOrderLine{PurchaseOrderID: po.ID, PartID: asm.ID, Quantity: 1}))(t)
		units := lineInventory(t, b, l1.ID)

		// Install one ordered unit: now the order cannot go.
		parent := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: asm.ID, Quantity: 1}))(t)
		req := must(b.ts.CreateBuildRequirement(b.ctx, ion.BuildRequirement{PartInventoryID: parent.ID, PartID: serial.ID, QuantityPerParentPartInventory: 1}))(t)
		inst := must(b.ts.CreateAbomInstallation(b.ctx, ion.AbomInstallation{BuildRequirementID: req.ID, PartInventoryID: units[0].ID, Quantity: 1}))(t)
		err := b.ts.DeletePurchaseOrder(b.ctx, po.ID, po.Etag)
		wantErr(t, err, ion.ECONFLICT, "")
		wantMessage(t, err, "installed")
		for _, id := range []ion.ID{l1.ID, l2.ID} {
			must(b.ts.PurchaseOrderLine(b.ctx, id))(t)
		}
		if n := len(lineInventory(t, b, l1.ID)) + len(lineInventory(t, b, l2.ID)); n != 3 {
			t.Fatalf("%d ordered inventories after a refused delete, want 3", n)
		}
		_, err = b.ts.UpdatePurchaseOrderLine(b.ctx, ion.PurchaseOrderLinePatch{ID: l1.ID, Etag: l1.Etag, Quantity: ptr(0.5)})
		wantErr(t, err, ion.EVALIDATION, "quantity")

		ok(t, b.ts.DeleteAbomInstallation(b.ctx, inst.ID, inst.Etag))
		wantErr(t, b.ts.DeletePurchaseOrder(b.ctx, po.ID, l1.Etag), ion.ECONFLICT, "")
		ok(t, b.ts.DeletePurchaseOrderLine(b.ctx, l2.ID, l2.Etag))
		if n := len(lineInventory(t, b, l2.ID)); n != 0 {
			t.Fatalf("a deleted line left %d inventories", n)
		}
		ok(t, b.ts.DeletePurchaseOrder(b.ctx, po.ID, po.Etag))
		for _, id := range []ion.ID{units[0].ID, units[1].ID} {
			_, err := b.ts.PartInventory(b.ctx, id)
			wantErr(t, err, ion.ENOTFOUND, "")
		}
		_, err = b.ts.PurchaseOrderLine(b.ctx, l1.ID)
		wantErr(t, err, ion.ENOTFOUND, "")
		_, err = b.ts.PurchaseOrder(b.ctx, po.ID)
		wantErr(t, err, ion.ENOTFOUND, "")
	})
}

func testIssuesAndTeams(t *testing.T, h *harness) {
	t.Run("Issues", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "P"}))(t)
		must(b.ts.CreateStep(b.ctx, ion.Step{ProcedureID: p.ID, Title: "s"}))(t)
		r1 := must(b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: p.ID}))(t)
		r2 := must(b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: p.ID}))(t)
		step := runStepsOf(t, b, r1.ID)[0]
		part := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "p"}))(t)
		inv := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: part.ID, Quantity: 1}))(t)
		cause := `[{"children":[{"type":"p","children":[{"text":"scratched"}]}]}]`

		i := must(b.ts.CreateIssue(b.ctx, ion.Issue{Title: "Scratch", RunStepID: &step.ID, PartInventoryID: &inv.ID, CauseCondition: &cause}))(t)
		if i.Status != ion.IssuePending || i.RunID == nil || *i.RunID != r1.ID || *i.CauseCondition != cause {
			t.Fatalf("issue = %+v, want PENDING on run %d with the cause", i, r1.ID)
		}
		same(t, "issue read", must(b.ts.Issue(b.ctx, i.ID))(t), i)
		for _, c := range []struct {
			name  string
			issue ion.Issue
			field string
		}{
			{"status", ion.Issue{Status: "OPEN"}, "status"},
			{"missing run", ion.Issue{RunID: ptr(ion.ID(999))}, "runId"},
			{"missing step", ion.Issue{RunStepID: ptr(ion.ID(999))}, "runStepId"},
			{"step of another run", ion.Issue{RunID: &r2.ID, RunStepID: &step.ID}, "runStepId"},
			{"missing inventory", ion.Issue{PartInventoryID: ptr(ion.ID(999))}, "partInventoryId"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := b.ts.CreateIssue(b.ctx, c.issue)
				wantErr(t, err, ion.EVALIDATION, c.field)
			})
		}
		u := must(b.ts.UpdateIssue(b.ctx, ion.IssuePatch{ID: i.ID, Etag: i.Etag, Status: ptr("in_progress"), Disposition: ptr("REWORK")}))(t)
		if u.Status != ion.IssueInProgress || *u.Disposition != "REWORK" || u.Etag == i.Etag || *u.CauseCondition != cause {
			t.Fatalf("updated issue = %+v", u)
		}
		wantErr(t, b.ts.DeletePartInventory(b.ctx, inv.ID, inv.Etag), ion.ECONFLICT, "")
		ok(t, b.ts.DeleteIssue(b.ctx, i.ID, u.Etag))
		_, err := b.ts.Issue(b.ctx, i.ID)
		wantErr(t, err, ion.ENOTFOUND, "")
	})

	t.Run("Teams", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		tm := must(b.ts.CreateTeam(b.ctx, ion.Team{Name: "Line 1", UserIDs: []ion.ID{3, 1, 3}}))(t)
		same(t, "members", tm.UserIDs, []ion.ID{3, 1})
		same(t, "team read", must(b.ts.Team(b.ctx, tm.ID))(t), tm)
		_, err := b.ts.CreateTeam(b.ctx, ion.Team{})
		wantErr(t, err, ion.EVALIDATION, "name")
		u := must(b.ts.UpdateTeam(b.ctx, ion.TeamPatch{ID: tm.ID, Etag: tm.Etag, UserIDs: &[]ion.ID{}}))(t)
		if len(u.UserIDs) != 0 || u.Name != "Line 1" || u.Etag == tm.Etag {
			t.Fatalf("updated team = %+v", u)
		}
		page := must(b.ts.Teams(b.ctx, ion.ListOptions{Limit: 5, Filters: []ion.Filter{{Field: "name", Op: ion.OpEq, Value: "Line 1"}}}))(t)
		same(t, "teams", page, ion.Page[ion.Team]{Items: []ion.Team{u}, TotalCount: 1})
		ok(t, b.ts.DeleteTeam(b.ctx, tm.ID, u.Etag))
		_, err = b.ts.Team(b.ctx, tm.ID)
		wantErr(t, err, ion.ENOTFOUND, "")
	})
}
