package storetest

import (
	"math"
	"testing"

	"github.com/ionbox/ionbox/ion"
)

func testLocationsAndUnits(t *testing.T, h *harness) {
	t.Run("Locations", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		l := must(b.ts.CreateLocation(b.ctx, ion.Location{Name: " Shelf 1 ", Available: true}))(t)
		etagOK(t, l.Etag)
		if l.Name != "Shelf 1" || !l.Available {
			t.Fatalf("created location = %+v", l)
		}
		same(t, "location read", must(b.ts.Location(b.ctx, l.ID))(t), l)
		_, err := b.ts.CreateLocation(b.ctx, ion.Location{Name: ""})
		wantErr(t, err, ion.EVALIDATION, "name")

		u := must(b.ts.UpdateLocation(b.ctx, ion.LocationPatch{ID: l.ID, Etag: l.Etag, Name: ptr("Shelf 2")}))(t)
		if u.Name != "Shelf 2" || !u.Available || u.Etag == l.Etag {
			t.Fatalf("updated location = %+v", u)
		}
		_, err = b.ts.UpdateLocation(b.ctx, ion.LocationPatch{ID: l.ID, Etag: u.Etag, Name: ptr(" ")})
		wantErr(t, err, ion.EVALIDATION, "name")

		part := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "p"}))(t)
		inv := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: part.ID, Quantity: 1, LocationID: &l.ID}))(t)
		err = b.ts.DeleteLocation(b.ctx, l.ID, u.Etag)
		wantErr(t, err, ion.ECONFLICT, "")
		wantMessage(t, err, "part inventories")
		ok(t, b.ts.DeletePartInventory(b.ctx, inv.ID, inv.Etag))
		ok(t, b.ts.DeleteLocation(b.ctx, l.ID, u.Etag))
		_, err = b.ts.Location(b.ctx, l.ID)
		wantErr(t, err, ion.ENOTFOUND, "")
	})

	t.Run("Units", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		kg := must(b.ts.CreateUnitOfMeasurement(b.ctx, ion.UnitOfMeasurement{Type: "kg"}))(t)
		same(t, "unit read", must(b.ts.UnitOfMeasurement(b.ctx, kg.ID))(t), kg)
		_, err := b.ts.CreateUnitOfMeasurement(b.ctx, ion.UnitOfMeasurement{})
		wantErr(t, err, ion.EVALIDATION, "type")
		g := must(b.ts.UpdateUnitOfMeasurement(b.ctx, ion.UnitOfMeasurementPatch{ID: kg.ID, Etag: kg.Etag, Type: ptr("g")}))(t)
		if g.Type != "g" || g.Etag == kg.Etag {
			t.Fatalf("updated unit = %+v", g)
		}
		part := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "p"}))(t)
		must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: part.ID, Quantity: 1, UnitOfMeasureID: &g.ID}))(t)
		wantErr(t, b.ts.DeleteUnitOfMeasurement(b.ctx, g.ID, g.Etag), ion.ECONFLICT, "")
		each := must(b.ts.CreateUnitOfMeasurement(b.ctx, ion.UnitOfMeasurement{Type: "each"}))(t)
		ok(t, b.ts.DeleteUnitOfMeasurement(b.ctx, each.ID, each.Etag))
		page := must(b.ts.UnitsOfMeasurement(b.ctx, ion.ListOptions{Limit: 10}))(t)
		same(t, "units", page, ion.Page[ion.UnitOfMeasurement]{Items: []ion.UnitOfMeasurement{g}, TotalCount: 1})
	})
}

func testInventory(t *testing.T, h *harness) {
	t.Run("TrackingRules", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		parts := map[string]ion.Part{
			"serial":    must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "s", TrackingType: ptr(ion.TrackingSerial)}))(t),
			"lot":       must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "l", TrackingType: ptr(ion.TrackingLot)}))(t),
			"untracked": must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "u"}))(t),
		}
		for _, c := range []struct {
			name, part    string
			serial, lot   *string
			quantity      float64
			wantField     string // "" for success
			wantSerial    *string
			wantLot       *string
			wantStatus    string
			wantAvailable float64
		}{
			{name: "serial ok", part: "serial", serial: ptr("SN-1"), quantity: 1, wantSerial: ptr("SN-1"), wantStatus: ion.InvAvailable, wantAvailable: 1},
			{name: "serial trimmed", part: "serial", serial: ptr("  SN-2 "), quantity: 1, wantSerial: ptr("SN-2"), wantStatus: ion.InvAvailable, wantAvailable: 1},
			{name: "serial with lot", part: "serial", serial: ptr("SN-3"), lot: ptr("L-1"), quantity: 1, wantSerial: ptr("SN-3"), wantLot: ptr("L-1"), wantStatus: ion.InvAvailable, wantAvailable: 1},
			{name: "serial zero", part: "serial", serial: ptr("SN-4"), quantity: 0, wantSerial: ptr("SN-4"), wantStatus: ion.InvUnavailable},
			{name: "serial missing", part: "serial", quantity: 1, wantField: "serialNumber"},
			{name: "serial blank", part: "serial", serial: ptr("  "), quantity: 1, wantField: "serialNumber"},
			{name: "serial quantity 2", part: "serial", serial: ptr("SN-5"), quantity: 2, wantField: "quantity"},
			{name: "serial taken", part: "serial", serial: ptr("SN-1"), quantity: 1, wantField: "serialNumber"},
			{name: "lot ok", part: "lot", lot: ptr("L-9"), quantity: 12.5, wantLot: ptr("L-9"), wantStatus: ion.InvAvailable, wantAvailable: 12.5},
			{name: "lot missing", part: "lot", quantity: 1, wantField: "lotNumber"},
			{name: "lot with serial", part: "lot", lot: ptr("L-9"), serial: ptr("SN-1"), quantity: 1, wantField: "serialNumber"},
			{name: "untracked ok", part: "untracked", quantity: 100, wantStatus: ion.InvAvailable, wantAvailable: 100},
			{name: "untracked serial", part: "untracked", serial: ptr("SN-1"), quantity: 1, wantField: "serialNumber"},
			{name: "untracked lot", part: "untracked", lot: ptr("L-1"), quantity: 1, wantField: "lotNumber"},
			{name: "negative", part: "untracked", quantity: -1, wantField: "quantity"},
			{name: "infinite", part: "untracked", quantity: math.Inf(1), wantField: "quantity"},
		} {
			t.Run(c.name, func(t *testing.T) {
				inv, err := b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: parts[c.part].ID, SerialNumber: c.serial, LotNumber: c.lot, Quantity: c.quantity})
				if c.wantField != "" {
					wantErr(t, err, ion.EVALIDATION, c.wantField)
					return
				}
				ok(t, err)
				etagOK(t, inv.Etag)
				same(t, "serial number", inv.SerialNumber, c.wantSerial)
				same(t, "lot number", inv.LotNumber, c.wantLot)
				if inv.Status != c.wantStatus || inv.QuantityAvailable != c.wantAvailable || inv.Quantity != c.quantity {
					t.Fatalf("inventory = %+v, want status %s, quantity %v, available %v", inv, c.wantStatus, c.quantity, c.wantAvailable)
				}
				same(t, "inventory read back", must(b.ts.PartInventory(b.ctx, inv.ID))(t), inv)
			})
		}
		// Serial numbers are unique per part, not per tenant.
		other := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "s2", TrackingType: ptr(ion.TrackingSerial)}))(t)
		must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: other.ID, SerialNumber: ptr("SN-1"), Quantity: 1}))(t)
	})

	t.Run("References", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		part := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "p"}))(t)
		_, err := b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: part.ID, Quantity: 1, LocationID: ptr(ion.ID(99))})
		wantErr(t, err, ion.EVALIDATION, "locationId")
		if got := ion.ErrorMessage(err); got != "locationId: location 99 not found." {
			t.Fatalf("message = %q, want %q", got, "locationId: location 99 not found.")
		}
		_, err = b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: part.ID, Quantity: 1, UnitOfMeasureID: ptr(ion.ID(99))})
		wantErr(t, err, ion.EVALIDATION, "unitOfMeasureId")
		_, err = b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: 99, Quantity: 1})
		wantErr(t, err, ion.EVALIDATION, "partId")
		_, err = b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: part.ID, Quantity: 1, Cost: ptr(math.NaN())})
		wantErr(t, err, ion.EVALIDATION, "cost")
		if n := must(b.ts.PartInventories(b.ctx, ion.ListOptions{}))(t).TotalCount; n != 0 {
			t.Fatalf("refused creates left %d inventories", n)
		}
	})

	t.Run("UpdateReappliesRules", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		part := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "s", TrackingType: ptr(ion.TrackingSerial)}))(t)
		loc := must(b.ts.CreateLocation(b.ctx, ion.Location{Name: "bin", Available: true}))(t)
		unit := must(b.ts.CreateUnitOfMeasurement(b.ctx, ion.UnitOfMeasurement{Type: "each"}))(t)
		one := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: part.ID, SerialNumber: ptr("SN-1"), Quantity: 1}))(t)
		two := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: part.ID, SerialNumber: ptr("SN-2"), Quantity: 1}))(t)

		for _, c := range []struct {
			name  string
			patch ion.PartInventoryPatch
			field string
		}{
			{"quantity 2", ion.PartInventoryPatch{Quantity: ptr(2.0)}, "quantity"},
			{"serial cleared", ion.PartInventoryPatch{SerialNumber: ptr("")}, "serialNumber"},
			{"serial taken", ion.PartInventoryPatch{SerialNumber: ptr("SN-1")}, "serialNumber"},
			{"missing location", ion.PartInventoryPatch{LocationID: ptr(ion.ID(99))}, "locationId"},
			{"missing unit", ion.PartInventoryPatch{UnitOfMeasureID: ptr(ion.ID(99))}, "unitOfMeasureId"},
		} {
			t.Run(c.name, func(t *testing.T) {
				c.patch.ID, c.patch.Etag = two.ID, two.Etag
				_, err := b.ts.UpdatePartInventory(b.ctx, c.patch)
				wantErr(t, err, ion.EVALIDATION, c.field)
				same(t, "inventory after a refused update", must(b.ts.PartInventory(b.ctx, two.ID))(t), two)
			})
		}
		u := must(b.ts.UpdatePartInventory(b.ctx, ion.PartInventoryPatch{ID: two.ID, Etag: two.Etag, SerialNumber: ptr("SN-9"),
			LotNumber: ptr("L-1"), LocationID: &loc.ID, UnitOfMeasureID: &unit.ID, Cost: ptr(2.5),
			Attributes: &[]ion.Attribute{{Key: "k", Type: "STRING", Value: "v"}}}))(t)
		want := two
		want.Meta = u.Meta
		want.SerialNumber, want.LotNumber, want.LocationID, want.UnitOfMeasureID, want.Cost = ptr("SN-9"), ptr("L-1"), &loc.ID, &unit.ID, ptr(2.5)
		want.Attributes = []ion.Attribute{{Key: "k", Type: "STRING", Value: "v"}}
		same(t, "updated inventory", u, want)
		if u.Etag == two.Etag || u.ID != two.ID || u.PartID != part.ID {
			t.Fatalf("updated inventory = %+v", u)
		}
		same(t, "untouched inventory", must(b.ts.PartInventory(b.ctx, one.ID))(t), one)
	})

	t.Run("DerivedStatus", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		part := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "u"}))(t)
		loc := must(b.ts.CreateLocation(b.ctx, ion.Location{Name: "bin", Available: true}))(t)
		inv := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: part.ID, Quantity: 0, LocationID: &loc.ID}))(t)
		status := func(want string) ion.PartInventory {
			t.Helper()
			got := must(b.ts.PartInventory(b.ctx, inv.ID))(t)
			if got.Status != want {
				t.Fatalf("status = %s, want %s", got.Status, want)
			}
			return got
		}
		if inv.Status != ion.InvUnavailable {
			t.Fatalf("zero quantity status = %s, want UNAVAILABLE", inv.Status)
		}
		inv = must(b.ts.UpdatePartInventory(b.ctx, ion.PartInventoryPatch{ID: inv.ID, Etag: inv.Etag, Quantity: ptr(3.0)}))(t)
		if inv.Status != ion.InvAvailable || inv.QuantityAvailable != 3 {
			t.Fatalf("inventory = %+v, want AVAILABLE with 3 available", inv)
		}
		// Moving the location out of availability makes what is there unavailable.
		loc = must(b.ts.UpdateLocation(b.ctx, ion.LocationPatch{ID: loc.ID, Etag: loc.Etag, Available: ptr(false)}))(t)
		after := status(ion.InvUnavailable)
		if after.Etag == inv.Etag {
			t.Fatal("a derived status change kept the inventory's etag")
		}
		must(b.ts.UpdateLocation(b.ctx, ion.LocationPatch{ID: loc.ID, Etag: loc.Etag, Available: ptr(true)}))(t)
		inv = status(ion.InvAvailable)
		// Status cannot be filtered wrong: the stored column follows.
		page := must(b.ts.PartInventories(b.ctx, ion.ListOptions{Filters: []ion.Filter{{Field: "status", Op: ion.OpEq, Value: ion.InvAvailable}}}))(t)
		if page.TotalCount != 1 {
			t.Fatalf("%d AVAILABLE inventories, want 1", page.TotalCount)
		}
		inv = must(b.ts.UpdatePartInventory(b.ctx, ion.PartInventoryPatch{ID: inv.ID, Etag: inv.Etag, Quantity: ptr(0.0)}))(t)
		if inv.Status != ion.InvUnavailable {
			t.Fatalf("status at quantity 0 = %s, want UNAVAILABLE", inv.Status)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		part := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "u"}))(t)
		proc := must(b.ts.CreateProcedure(b.ctx, ion.Procedure{Title: "Build"}))(t)
		inv := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: part.ID, Quantity: 1}))(t)
		run := must(b.ts.CreateRun(b.ctx, ion.Run{ProcedureID: proc.ID, PartInventoryID: &inv.ID}))(t)
		inv = must(b.ts.PartInventory(b.ctx, inv.ID))(t)
		err := b.ts.DeletePartInventory(b.ctx, inv.ID, inv.Etag)
		wantErr(t, err, ion.ECONFLICT, "")
		wantMessage(t, err, "runs")
		ok(t, b.ts.DeleteRun(b.ctx, run.ID, run.Etag))
		inv = must(b.ts.PartInventory(b.ctx, inv.ID))(t)
		wantErr(t, b.ts.DeletePartInventory(b.ctx, inv.ID, "0123456789abcdef0123456789abcdef"), ion.ECONFLICT, "")
		ok(t, b.ts.DeletePartInventory(b.ctx, inv.ID, inv.Etag))
		_, err = b.ts.PartInventory(b.ctx, inv.ID)
		wantErr(t, err, ion.ENOTFOUND, "")
	})
}
