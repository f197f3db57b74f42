package storetest

import (
	"testing"

	"github.com/ionbox/ionbox/ion"
)

func testInstallations(t *testing.T, h *harness) {
	// An assembly A needs 2 of C (or its substitute S); X fits nowhere.
	type fixture struct {
		*bundle
		a, c, s, x ion.Part
		item       ion.MBomItem
		a1         ion.PartInventory
		req        ion.BuildRequirement
	}
	setup := func(t *testing.T) fixture {
		t.Helper()
		f := fixture{bundle: h.setup(t)}
		serial := ptr(ion.TrackingSerial)
		f.a = must(f.ts.CreatePart(f.ctx, ion.Part{PartNumber: "asm", TrackingType: serial}))(t)
		f.c = must(f.ts.CreatePart(f.ctx, ion.Part{PartNumber: "child", TrackingType: serial}))(t)
		f.s = must(f.ts.CreatePart(f.ctx, ion.Part{PartNumber: "child-alt", TrackingType: serial}))(t)
		f.x = must(f.ts.CreatePart(f.ctx, ion.Part{PartNumber: "unrelated", TrackingType: serial}))(t)
		f.item = must(f.ts.CreateMBomItem(f.ctx, ion.MBomItem{ParentID: f.a.ID, PartID: f.c.ID, Quantity: 2}))(t)
		must(f.ts.CreateMBomSubstitute(f.ctx, ion.MBomSubstitute{MBomItemID: f.item.ID, PartID: f.s.ID}))(t)
		f.a1 = must(f.ts.CreatePartInventory(f.ctx, ion.PartInventory{PartID: f.a.ID, SerialNumber: ptr("A1"), Quantity: 1}))(t)
		f.req = must(f.ts.CreateBuildRequirement(f.ctx, ion.BuildRequirement{PartInventoryID: f.a1.ID, OriginMBomItemID: &f.item.ID, QuantityPerParentPartInventory: 2}))(t)
		return f
	}
	unit := func(t *testing.T, f fixture, part ion.Part, serial string) ion.PartInventory {
		t.Helper()
		return must(f.ts.CreatePartInventory(f.ctx, ion.PartInventory{PartID: part.ID, SerialNumber: &serial, Quantity: 1}))(t)
	}

	t.Run("BuildRequirements", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		etagOK(t, f.req.Etag)
		if f.req.PartID != f.c.ID {
			t.Fatalf("requirement part = %d, want the mBOM item's part %d", f.req.PartID, f.c.ID)
		}
		same(t, "requirement read", must(f.ts.BuildRequirement(f.ctx, f.req.ID))(t), f.req)
		for _, c := range []struct {
			name  string
			req   ion.BuildRequirement
			field string
		}{
			{"zero quantity", ion.BuildRequirement{PartInventoryID: f.a1.ID, PartID: f.c.ID}, "quantityPerParentPartInventory"},
			{"missing parent", ion.BuildRequirement{PartInventoryID: 999, PartID: f.c.ID, QuantityPerParentPartInventory: 1}, "partInventoryId"},
			{"missing part", ion.BuildRequirement{PartInventoryID: f.a1.ID, PartID: 999, QuantityPerParentPartInventory: 1}, "partId"},
			{"missing item", ion.BuildRequirement{PartInventoryID: f.a1.ID, OriginMBomItemID: ptr(ion.ID(999)), QuantityPerParentPartInventory: 1}, "originMbomItemId"},
			{"part differs from item", ion.BuildRequirement{PartInventoryID: f.a1.ID, PartID: f.x.ID, OriginMBomItemID: &f.item.ID, QuantityPerParentPartInventory: 1}, "partId"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := f.ts.CreateBuildRequirement(f.ctx, c.req)
				wantErr(t, err, ion.EVALIDATION, c.field)
			})
		}
		page := must(f.ts.BuildRequirements(f.ctx, ion.ListOptions{Limit: 5, Filters: []ion.Filter{{Field: "partInventoryId", Op: ion.OpEq, Value: f.a1.ID}}}))(t)
		same(t, "requirements of A1", page, ion.Page[ion.BuildRequirement]{Items: []ion.BuildRequirement{f.req}, TotalCount: 1})
	})

	t.Run("InstallAndUninstall", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		c1, c2, s1, x1 := unit(t, f, f.c, "C1"), unit(t, f, f.c, "C2"), unit(t, f, f.s, "S1"), unit(t, f, f.x, "X1")

		inst := must(f.ts.CreateAbomInstallation(f.ctx, ion.AbomInstallation{BuildRequirementID: f.req.ID, PartInventoryID: c1.ID, Quantity: 1}))(t)
		etagOK(t, inst.Etag)
		same(t, "installation read", must(f.ts.AbomInstallation(f.ctx, inst.ID))(t), inst)
		got := must(f.ts.PartInventory(f.ctx, c1.ID))(t)
		if got.Status != ion.InvInstalled || got.QuantityInstalled != 1 || got.QuantityAvailable != 0 || got.Etag == c1.Etag {
			t.Fatalf("installed unit = %+v, want INSTALLED, 1 installed, 0 available, a new etag", got)
		}
		// The parent is untouched.
		same(t, "parent inventory", must(f.ts.PartInventory(f.ctx, f.a1.ID))(t), f.a1)

		// A substitute of the origin mBOM item fits.
		must(f.ts.CreateAbomInstallation(f.ctx, ion.AbomInstallation{BuildRequirementID: f.req.ID, PartInventoryID: s1.ID, Quantity: 1}))(t)

		other := must(f.ts.CreatePartInventory(f.ctx, ion.PartInventory{PartID: f.a.ID, SerialNumber: ptr("A2"), Quantity: 1}))(t)
		req2 := must(f.ts.CreateBuildRequirement(f.ctx, ion.BuildRequirement{PartInventoryID: other.ID, PartID: f.c.ID, QuantityPerParentPartInventory: 5}))(t)
		self := must(f.ts.CreateBuildRequirement(f.ctx, ion.BuildRequirement{PartInventoryID: f.a1.ID, PartID: f.a.ID, QuantityPerParentPartInventory: 1}))(t)
		for _, c := range []struct {
			name  string
			inst  ion.AbomInstallation
			field string
		}{
			{"over-install", ion.AbomInstallation{BuildRequirementID: f.req.ID, PartInventoryID: c2.ID, Quantity: 1}, "quantity"},
			{"double install", ion.AbomInstallation{BuildRequirementID: req2.ID, PartInventoryID: c1.ID, Quantity: 1}, "partInventoryId"},
			{"wrong part", ion.AbomInstallation{BuildRequirementID: req2.ID, PartInventoryID: x1.ID, Quantity: 1}, "partInventoryId"},
			{"substitute without origin item", ion.AbomInstallation{BuildRequirementID: req2.ID, PartInventoryID: unit(t, f, f.s, "S2").ID, Quantity: 1}, "partInventoryId"},
			{"into itself", ion.AbomInstallation{BuildRequirementID: self.ID, PartInventoryID: f.a1.ID, Quantity: 1}, "partInventoryId"},
			{"zero quantity", ion.AbomInstallation{BuildRequirementID: req2.ID, PartInventoryID: c2.ID, Quantity: 0}, "quantity"},
			{"more than the unit", ion.AbomInstallation{BuildRequirementID: req2.ID, PartInventoryID: c2.ID, Quantity: 2}, "quantity"},
			{"missing requirement", ion.AbomInstallation{BuildRequirementID: 999, PartInventoryID: c2.ID, Quantity: 1}, "buildRequirementId"},
			{"missing unit", ion.AbomInstallation{BuildRequirementID: req2.ID, PartInventoryID: 999, Quantity: 1}, "partInventoryId"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := f.ts.CreateAbomInstallation(f.ctx, c.inst)
				wantErr(t, err, ion.EVALIDATION, c.field)
			})
		}
		if n := must(f.ts.AbomInstallations(f.ctx, ion.ListOptions{}))(t).TotalCount; n != 2 {
			t.Fatalf("%d installations after refused ones, want 2", n)
		}
		same(t, "refused unit", must(f.ts.PartInventory(f.ctx, c2.ID))(t), c2)

		// In use: the unit, the requirement and the parent cannot go.
		got = must(f.ts.PartInventory(f.ctx, c1.ID))(t)
		wantErr(t, f.ts.DeletePartInventory(f.ctx, c1.ID, got.Etag), ion.ECONFLICT, "")
		wantErr(t, f.ts.DeleteBuildRequirement(f.ctx, f.req.ID, f.req.Etag), ion.ECONFLICT, "")
		wantErr(t, f.ts.DeletePartInventory(f.ctx, f.a1.ID, f.a1.Etag), ion.ECONFLICT, "")

		// Uninstall: a stale etag changes nothing, then the unit is available again.
		wantErr(t, f.ts.DeleteAbomInstallation(f.ctx, inst.ID, c1.Etag), ion.ECONFLICT, "")
		if s := must(f.ts.PartInventory(f.ctx, c1.ID))(t).Status; s != ion.InvInstalled {
			t.Fatalf("status after a stale uninstall = %s, want INSTALLED", s)
		}
		ok(t, f.ts.DeleteAbomInstallation(f.ctx, inst.ID, inst.Etag))
		got = must(f.ts.PartInventory(f.ctx, c1.ID))(t)
		if got.Status != ion.InvAvailable || got.QuantityInstalled != 0 || got.QuantityAvailable != 1 {
			t.Fatalf("uninstalled unit = %+v, want AVAILABLE with 1 available", got)
		}
		_, err := f.ts.AbomInstallation(f.ctx, inst.ID)
		wantErr(t, err, ion.ENOTFOUND, "")
		// Now it may go elsewhere, and the freed requirement takes C2.
		must(f.ts.CreateAbomInstallation(f.ctx, ion.AbomInstallation{BuildRequirementID: req2.ID, PartInventoryID: c1.ID, Quantity: 1}))(t)
		must(f.ts.CreateAbomInstallation(f.ctx, ion.AbomInstallation{BuildRequirementID: f.req.ID, PartInventoryID: c2.ID, Quantity: 1}))(t)
	})

	t.Run("PartialQuantities", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		asm := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "asm"}))(t)
		glue := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "glue", TrackingType: ptr(ion.TrackingLot)}))(t)
		parent := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: asm.ID, Quantity: 1}))(t)
		lot := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: glue.ID, LotNumber: ptr("L1"), Quantity: 5}))(t)
		req := must(b.ts.CreateBuildRequirement(b.ctx, ion.BuildRequirement{PartInventoryID: parent.ID, PartID: glue.ID, QuantityPerParentPartInventory: 3.5}))(t)
		_, err := b.ts.CreateAbomInstallation(b.ctx, ion.AbomInstallation{BuildRequirementID: req.ID, PartInventoryID: lot.ID, Quantity: 4})
		wantErr(t, err, ion.EVALIDATION, "quantity")
		must(b.ts.CreateAbomInstallation(b.ctx, ion.AbomInstallation{BuildRequirementID: req.ID, PartInventoryID: lot.ID, Quantity: 3.5}))(t)
		got := must(b.ts.PartInventory(b.ctx, lot.ID))(t)
		if got.Status != ion.InvAvailable || got.QuantityInstalled != 3.5 || got.QuantityAvailable != 1.5 {
			t.Fatalf("partly installed lot = %+v, want AVAILABLE, 3.5 installed, 1.5 available", got)
		}
		// Installed with nothing left counts as INSTALLED.
		got = must(b.ts.UpdatePartInventory(b.ctx, ion.PartInventoryPatch{ID: lot.ID, Etag: got.Etag, Quantity: ptr(0.0)}))(t)
		if got.Status != ion.InvInstalled || got.QuantityAvailable != 0 {
			t.Fatalf("lot at quantity 0 = %+v, want INSTALLED, 0 available", got)
		}
	})

	t.Run("NoCycles", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		pa := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "a"}))(t)
		pb := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "b"}))(t)
		ua := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: pa.ID, Quantity: 1}))(t)
		ub := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: pb.ID, Quantity: 1}))(t)
		needsA := must(b.ts.CreateBuildRequirement(b.ctx, ion.BuildRequirement{PartInventoryID: ub.ID, PartID: pa.ID, QuantityPerParentPartInventory: 1}))(t)
		needsB := must(b.ts.CreateBuildRequirement(b.ctx, ion.BuildRequirement{PartInventoryID: ua.ID, PartID: pb.ID, QuantityPerParentPartInventory: 1}))(t)
		must(b.ts.CreateAbomInstallation(b.ctx, ion.AbomInstallation{BuildRequirementID: needsA.ID, PartInventoryID: ua.ID, Quantity: 1}))(t)
		_, err := b.ts.CreateAbomInstallation(b.ctx, ion.AbomInstallation{BuildRequirementID: needsB.ID, PartInventoryID: ub.ID, Quantity: 1})
		wantErr(t, err, ion.EVALIDATION, "partInventoryId")
	})
}
