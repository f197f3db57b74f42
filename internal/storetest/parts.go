package storetest

import (
	"math"
	"testing"

	"github.com/ionbox/ionbox/ion"
)

func testParts(t *testing.T, h *harness) {
	t.Run("CreateDefaults", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "ion-12", Description: "Part for API docs."}))(t)
		etagOK(t, p.Etag)
		if p.ID == 0 || p.Revision != "A" || p.PartType != ion.PartTypePart || p.Status != ion.PartReleased || p.TrackingType != nil {
			t.Fatalf("created part = %+v, want an id, revision A, type PART, status RELEASED, untracked", p)
		}
		if p.CreatedAt.IsZero() || !p.CreatedAt.Equal(p.UpdatedAt) {
			t.Fatalf("created part times %v / %v, want one non-zero time", p.CreatedAt, p.UpdatedAt)
		}
		same(t, "part read back", must(b.ts.Part(b.ctx, p.ID))(t), p)
		_, err := b.ts.Part(b.ctx, p.ID+1000)
		wantErr(t, err, ion.ENOTFOUND, "")
	})

	t.Run("EnumsInAnyCase", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "t-1", Revision: "b", PartType: "tool", TrackingType: ptr("lot"), SourcingStrategy: ptr("dual_source")}))(t)
		if p.Revision != "B" || p.PartType != ion.PartTypeTool || *p.TrackingType != ion.TrackingLot || *p.SourcingStrategy != "DUAL_SOURCE" {
			t.Fatalf("created part = %+v, want uppercase revision and enums", p)
		}
	})

	t.Run("UniquePartNumberAndRevision", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "ion-12"}))(t)
		for _, rev := range []string{"", "A", "a"} {
			_, err := b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "ion-12", Revision: rev})
			wantErr(t, err, ion.EVALIDATION, "partNumber")
		}
		must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "ion-12", Revision: "B"}))(t)
		must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "ion-13"}))(t)
		if n := must(b.ts.Parts(b.ctx, ion.ListOptions{}))(t).TotalCount; n != 3 {
			t.Fatalf("%d parts, want 3", n)
		}
	})

	t.Run("Validation", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		for _, c := range []struct {
			name  string
			part  ion.Part
			field string
		}{
			{"no part number", ion.Part{PartNumber: "  "}, "partNumber"},
			{"revision digits", ion.Part{PartNumber: "p", Revision: "1"}, "revision"},
			{"revision mixed", ion.Part{PartNumber: "p", Revision: "A1"}, "revision"},
			{"revision dash", ion.Part{PartNumber: "p", Revision: "A-"}, "revision"},
			{"revision non-ASCII", ion.Part{PartNumber: "p", Revision: "Ä"}, "revision"},
			{"revision too long", ion.Part{PartNumber: "p", Revision: "ABCDEFGHI"}, "revision"},
			{"part type", ion.Part{PartNumber: "p", PartType: "GADGET"}, "partType"},
			{"tracking type", ion.Part{PartNumber: "p", TrackingType: ptr("SERIALS")}, "trackingType"},
			{"status", ion.Part{PartNumber: "p", Status: "DRAFT"}, "status"},
			{"sourcing", ion.Part{PartNumber: "p", SourcingStrategy: ptr("STEAL")}, "sourcingStrategy"},
			{"cost", ion.Part{PartNumber: "p", Cost: ptr(math.NaN())}, "cost"},
			{"lead time", ion.Part{PartNumber: "p", LeadTime: ptr(int64(-1))}, "leadTime"},
			{"attribute key", ion.Part{PartNumber: "p", Attributes: []ion.Attribute{{Key: ""}}}, "attributes"},
			{"attribute twice", ion.Part{PartNumber: "p", Attributes: []ion.Attribute{{Key: "k"}, {Key: "k"}}}, "attributes"},
			{"revised from", ion.Part{PartNumber: "p", RevisedFromID: ptr(ion.ID(999))}, "revisedFromId"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := b.ts.CreatePart(b.ctx, c.part)
				wantErr(t, err, ion.EVALIDATION, c.field)
			})
		}
		if n := must(b.ts.Parts(b.ctx, ion.ListOptions{}))(t).TotalCount; n != 0 {
			t.Fatalf("refused creates left %d parts", n)
		}
	})

	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "ion-1", Description: "old", Cost: ptr(1.5)}))(t)
		u := must(b.ts.UpdatePart(b.ctx, ion.PartPatch{ID: p.ID, Etag: p.Etag, Description: ptr("new"), TrackingType: ptr(ptr("serial")),
			LeadTime: ptr(int64(4)), Attributes: &[]ion.Attribute{{Key: "color", Type: "STRING", Value: "red"}}}))(t)
		want := p
		want.Description, want.TrackingType, want.LeadTime = "new", ptr(ion.TrackingSerial), ptr(int64(4))
		want.Attributes = []ion.Attribute{{Key: "color", Type: "STRING", Value: "red"}}
		want.Etag, want.UpdatedAt = u.Etag, u.UpdatedAt
		same(t, "updated part", u, want)
		if u.Etag == p.Etag || u.UpdatedAt.Before(p.UpdatedAt) {
			t.Fatalf("update kept etag %s or moved time back", u.Etag)
		}
		same(t, "updated part read back", must(b.ts.Part(b.ctx, p.ID))(t), u)

		// A nil tracking type makes the part untracked again.
		u2 := must(b.ts.UpdatePart(b.ctx, ion.PartPatch{ID: p.ID, Etag: u.Etag, TrackingType: ptr[*string](nil)}))(t)
		if u2.TrackingType != nil || u2.Revision != "A" || u2.PartNumber != "ion-1" {
			t.Fatalf("part = %+v, want untracked with number and revision unchanged", u2)
		}
		_, err := b.ts.UpdatePart(b.ctx, ion.PartPatch{ID: p.ID, Etag: u2.Etag, PartType: ptr("GADGET")})
		wantErr(t, err, ion.EVALIDATION, "partType")
		_, err = b.ts.UpdatePart(b.ctx, ion.PartPatch{ID: p.ID + 100, Etag: u2.Etag})
		wantErr(t, err, ion.ENOTFOUND, "")
	})

	t.Run("TrackingChangeMustFitInventory", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "bulk"}))(t)
		must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: p.ID, Quantity: 5}))(t)
		_, err := b.ts.UpdatePart(b.ctx, ion.PartPatch{ID: p.ID, Etag: p.Etag, TrackingType: ptr(ptr(ion.TrackingSerial))})
		wantErr(t, err, ion.EVALIDATION, "trackingType")
		same(t, "part after the refused change", must(b.ts.Part(b.ctx, p.ID))(t), p)
	})

	t.Run("CreatePartRevision", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		a := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "ion-7", Description: "bracket", TrackingType: ptr(ion.TrackingSerial),
			Cost: ptr(3.0), Attributes: []ion.Attribute{{Key: "k", Type: "STRING", Value: "v"}}}))(t)
		rb := must(b.ts.CreatePartRevision(b.ctx, a.ID, ""))(t)
		want := a
		want.Meta, want.Revision, want.RevisedFromID = rb.Meta, "B", &a.ID
		same(t, "revision B", rb, want)
		if rb.ID == a.ID {
			t.Fatal("the revision reuses the part's id")
		}
		// The next revision follows the highest one, whichever part it is made from.
		if rc := must(b.ts.CreatePartRevision(b.ctx, a.ID, ""))(t); rc.Revision != "C" || *rc.RevisedFromID != a.ID {
			t.Fatalf("revision after B = %s revised from %v, want C from %d", rc.Revision, rc.RevisedFromID, a.ID)
		}
		if rf := must(b.ts.CreatePartRevision(b.ctx, rb.ID, "f"))(t); rf.Revision != "F" || *rf.RevisedFromID != rb.ID {
			t.Fatalf("explicit revision = %s from %v, want F from %d", rf.Revision, rf.RevisedFromID, rb.ID)
		}
		rg := must(b.ts.CreatePartRevision(b.ctx, a.ID, ""))(t)
		if rg.Revision != "G" {
			t.Fatalf("revision after F = %s, want G", rg.Revision)
		}
		_, err := b.ts.CreatePartRevision(b.ctx, a.ID, "B")
		wantErr(t, err, ion.EVALIDATION, "partNumber")
		_, err = b.ts.CreatePartRevision(b.ctx, a.ID, "2")
		wantErr(t, err, ion.EVALIDATION, "revision")
		_, err = b.ts.CreatePartRevision(b.ctx, a.ID+100, "")
		wantErr(t, err, ion.ENOTFOUND, "")

		z := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "zed", Revision: "Z"}))(t)
		if aa := must(b.ts.CreatePartRevision(b.ctx, z.ID, ""))(t); aa.Revision != "AA" {
			t.Fatalf("revision after Z = %s, want AA", aa.Revision)
		}
		ab := must(b.ts.CreatePartRevision(b.ctx, z.ID, ""))(t)
		if ab.Revision != "AB" {
			t.Fatalf("revision after AA = %s, want AB (AA sorts after Z)", ab.Revision)
		}

		latest := must(b.ts.Parts(b.ctx, ion.ListOptions{Limit: 10, Filters: []ion.Filter{
			{Field: "isLatestRevision", Op: ion.OpEq, Value: true},
		}}))(t)
		same(t, "latest revisions", ids(latest.Items, func(p ion.Part) ion.ID { return p.ID }), []ion.ID{rg.ID, ab.ID})
	})

	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		a := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "ion-1"}))(t)
		rb := must(b.ts.CreatePartRevision(b.ctx, a.ID, ""))(t)
		inv := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: rb.ID, Quantity: 1}))(t)

		err := b.ts.DeletePart(b.ctx, rb.ID, rb.Etag)
		wantErr(t, err, ion.ECONFLICT, "")
		wantMessage(t, err, "part inventories")
		ok(t, b.ts.DeletePartInventory(b.ctx, inv.ID, inv.Etag))
		wantErr(t, b.ts.DeletePart(b.ctx, a.ID, rb.Etag), ion.ECONFLICT, "")
		same(t, "part after a stale delete", must(b.ts.Part(b.ctx, a.ID))(t), a)

		// Deleting the original keeps its revision, which forgets where it came from.
		ok(t, b.ts.DeletePart(b.ctx, a.ID, a.Etag))
		_, err = b.ts.Part(b.ctx, a.ID)
		wantErr(t, err, ion.ENOTFOUND, "")
		after := must(b.ts.Part(b.ctx, rb.ID))(t)
		if after.RevisedFromID != nil || after.Etag == rb.Etag {
			t.Fatalf("revision after its origin's delete = %+v, want no RevisedFromID and a new etag", after)
		}
		wantErr(t, b.ts.DeletePart(b.ctx, a.ID, a.Etag), ion.ENOTFOUND, "")
	})

	t.Run("Quantities", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p1 := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "p1"}))(t)
		p2 := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "p2"}))(t)
		must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: p1.ID, Quantity: 2}))(t)
		must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: p1.ID, Quantity: 3.5}))(t)
		got := must(b.ts.PartQuantities(b.ctx, []ion.ID{p1.ID, p2.ID, 999}))(t)
		same(t, "part quantities", got, map[ion.ID]float64{p1.ID: 5.5, p2.ID: 0, 999: 0})
	})
}

func testMBom(t *testing.T, h *harness) {
	t.Run("ItemsAndCycles", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p := map[string]ion.Part{}
		for _, n := range []string{"A", "B", "C", "D"} {
			p[n] = must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "asm-" + n}))(t)
		}
		ab := must(b.ts.CreateMBomItem(b.ctx, ion.MBomItem{ParentID: p["A"].ID, PartID: p["B"].ID, Quantity: 2}))(t)
		etagOK(t, ab.Etag)
		same(t, "mBOM item read", must(b.ts.MBomItem(b.ctx, ab.ID))(t), ab)
		must(b.ts.CreateMBomItem(b.ctx, ion.MBomItem{ParentID: p["B"].ID, PartID: p["C"].ID, Quantity: 0.5}))(t)
		// A diamond is not a cycle.
		must(b.ts.CreateMBomItem(b.ctx, ion.MBomItem{ParentID: p["A"].ID, PartID: p["C"].ID, Quantity: 1}))(t)

		for _, c := range []struct {
			name  string
			item  ion.MBomItem
			field string
		}{
			{"zero quantity", ion.MBomItem{ParentID: p["A"].ID, PartID: p["D"].ID, Quantity: 0}, "quantity"},
			{"negative quantity", ion.MBomItem{ParentID: p["A"].ID, PartID: p["D"].ID, Quantity: -1}, "quantity"},
			{"NaN quantity", ion.MBomItem{ParentID: p["A"].ID, PartID: p["D"].ID, Quantity: math.NaN()}, "quantity"},
			{"missing part", ion.MBomItem{ParentID: p["A"].ID, PartID: 999, Quantity: 1}, "partId"},
			{"missing parent", ion.MBomItem{ParentID: 999, PartID: p["D"].ID, Quantity: 1}, "parentId"},
			{"itself", ion.MBomItem{ParentID: p["A"].ID, PartID: p["A"].ID, Quantity: 1}, "partId"},
			{"direct cycle", ion.MBomItem{ParentID: p["B"].ID, PartID: p["A"].ID, Quantity: 1}, "partId"},
			{"deep cycle", ion.MBomItem{ParentID: p["C"].ID, PartID: p["A"].ID, Quantity: 1}, "partId"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := b.ts.CreateMBomItem(b.ctx, c.item)
				wantErr(t, err, ion.EVALIDATION, c.field)
			})
		}
		page := must(b.ts.MBomItems(b.ctx, ion.ListOptions{Limit: 10, Filters: []ion.Filter{{Field: "parentId", Op: ion.OpEq, Value: p["A"].ID}}}))(t)
		if page.TotalCount != 2 {
			t.Fatalf("A has %d mBOM items, want 2", page.TotalCount)
		}

		u := must(b.ts.UpdateMBomItem(b.ctx, ion.MBomItemPatch{ID: ab.ID, Etag: ab.Etag, Quantity: ptr(3.0)}))(t)
		if u.Quantity != 3 || u.Etag == ab.Etag {
			t.Fatalf("updated item = %+v, want quantity 3 and a new etag", u)
		}
		_, err := b.ts.UpdateMBomItem(b.ctx, ion.MBomItemPatch{ID: ab.ID, Etag: u.Etag, Quantity: ptr(0.0)})
		wantErr(t, err, ion.EVALIDATION, "quantity")
		same(t, "item after a refused update", must(b.ts.MBomItem(b.ctx, ab.ID))(t), u)
	})

	t.Run("DeleteProtectedByBuildRequirement", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		asm := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "asm"}))(t)
		bolt := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "bolt"}))(t)
		alt := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "bolt-alt"}))(t)
		item := must(b.ts.CreateMBomItem(b.ctx, ion.MBomItem{ParentID: asm.ID, PartID: bolt.ID, Quantity: 4}))(t)
		sub := must(b.ts.CreateMBomSubstitute(b.ctx, ion.MBomSubstitute{MBomItemID: item.ID, PartID: alt.ID}))(t)
		unit := must(b.ts.CreatePartInventory(b.ctx, ion.PartInventory{PartID: asm.ID, Quantity: 1}))(t)
		req := must(b.ts.CreateBuildRequirement(b.ctx, ion.BuildRequirement{PartInventoryID: unit.ID, OriginMBomItemID: &item.ID, QuantityPerParentPartInventory: 4}))(t)

		err := b.ts.DeleteMBomItem(b.ctx, item.ID, item.Etag)
		wantErr(t, err, ion.ECONFLICT, "")
		wantMessage(t, err, "build requirement")
		same(t, "item after the refused delete", must(b.ts.MBomItem(b.ctx, item.ID))(t), item)

		ok(t, b.ts.DeleteBuildRequirement(b.ctx, req.ID, req.Etag))
		ok(t, b.ts.DeleteMBomItem(b.ctx, item.ID, item.Etag))
		_, err = b.ts.MBomItem(b.ctx, item.ID)
		wantErr(t, err, ion.ENOTFOUND, "")
		// Its substitutes went with it.
		if n := must(b.ts.MBomSubstitutes(b.ctx, ion.ListOptions{Filters: []ion.Filter{{Field: "id", Op: ion.OpEq, Value: sub.ID}}}))(t).TotalCount; n != 0 {
			t.Fatalf("substitute of a deleted item still listed")
		}
	})

	t.Run("Substitutes", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		asm := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "asm"}))(t)
		bolt := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "bolt"}))(t)
		alt := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "bolt-alt"}))(t)
		item := must(b.ts.CreateMBomItem(b.ctx, ion.MBomItem{ParentID: asm.ID, PartID: bolt.ID, Quantity: 4}))(t)
		sub := must(b.ts.CreateMBomSubstitute(b.ctx, ion.MBomSubstitute{MBomItemID: item.ID, PartID: alt.ID}))(t)
		etagOK(t, sub.Etag)
		_, err := b.ts.CreateMBomSubstitute(b.ctx, ion.MBomSubstitute{MBomItemID: item.ID, PartID: alt.ID})
		wantErr(t, err, ion.EVALIDATION, "partId")
		_, err = b.ts.CreateMBomSubstitute(b.ctx, ion.MBomSubstitute{MBomItemID: item.ID, PartID: bolt.ID})
		wantErr(t, err, ion.EVALIDATION, "partId")
		_, err = b.ts.CreateMBomSubstitute(b.ctx, ion.MBomSubstitute{MBomItemID: 999, PartID: alt.ID})
		wantErr(t, err, ion.EVALIDATION, "mbomItemId")
		page := must(b.ts.MBomSubstitutes(b.ctx, ion.ListOptions{Limit: 5, Filters: []ion.Filter{{Field: "mbomItemId", Op: ion.OpEq, Value: item.ID}}}))(t)
		same(t, "substitutes", page, ion.Page[ion.MBomSubstitute]{Items: []ion.MBomSubstitute{sub}, TotalCount: 1})
		wantErr(t, b.ts.DeleteMBomSubstitute(b.ctx, sub.ID, item.Etag), ion.ECONFLICT, "")
		ok(t, b.ts.DeleteMBomSubstitute(b.ctx, sub.ID, sub.Etag))
		if n := must(b.ts.MBomSubstitutes(b.ctx, ion.ListOptions{}))(t).TotalCount; n != 0 {
			t.Fatalf("%d substitutes after delete, want 0", n)
		}
	})
}
