package storetest

import (
	"testing"

	"github.com/ionbox/ionbox/ion"
)

// testListReads: ListOptions.Fields reads the named fields (and the id) as
// a full read does, in the same order and window, whatever the filters and
// sort use; a name that is no stored field reads everything. SkipTotal
// returns the same items without a count.
func testListReads(t *testing.T, h *harness) {
	b := h.setup(t)
	loc := must(b.ts.CreateLocation(b.ctx, ion.Location{Name: "Shelf", Available: true}))(t)
	attrs := []ion.Attribute{{Key: "color", Type: "text", Value: "red"}}
	var parts []ion.Part
	for i, s := range []ion.Part{
		{PartNumber: "LR-1", Description: "one", Cost: ptr(1.5), TrackingType: ptr(ion.TrackingSerial), Attributes: attrs},
		{PartNumber: "LR-2", Description: "two", LeadTime: ptr(int64(4))},
		{PartNumber: "LR-3", Description: "three", Cost: ptr(0.5), TrackingType: ptr(ion.TrackingLot)},
	} {
		p := must(b.ts.CreatePart(b.ctx, s))(t)
		parts = append(parts, p)
		for n := range i + 1 {
			inv := ion.PartInventory{PartID: p.ID, Quantity: float64(n + 1), LocationID: &loc.ID, Attributes: attrs}
			switch {
			case s.TrackingType == nil:
			case *s.TrackingType == ion.TrackingSerial:
				inv.SerialNumber, inv.Quantity = ptr("SN-"+p.PartNumber), 1
			default:
				inv.LotNumber = ptr("LOT-" + p.PartNumber)
			}
			must(b.ts.CreatePartInventory(b.ctx, inv))(t)
		}
	}
	byNumber := []ion.SortKey{{Field: "partNumber", Desc: true}}
	notFirst := []ion.Filter{{Field: "cost", Op: ion.OpIsNull, Value: false}}

	t.Run("Fields", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			name    string
			opts    ion.ListOptions
			project func(ion.Part) ion.Part // the fields asked for, the others zero
		}{
			{"some fields", ion.ListOptions{Limit: 10, Fields: []string{"id", "partNumber", "description", "_etag"}},
				func(p ion.Part) ion.Part {
					return ion.Part{Meta: ion.Meta{ID: p.ID, Etag: p.Etag}, PartNumber: p.PartNumber, Description: p.Description}
				}},
			{"any spelling", ion.ListOptions{Limit: 10, Fields: []string{"PART_NUMBER", "trackingtype", "createdAt"}},
				func(p ion.Part) ion.Part {
					return ion.Part{Meta: ion.Meta{ID: p.ID, CreatedAt: p.CreatedAt}, PartNumber: p.PartNumber, TrackingType: p.TrackingType}
				}},
			{"sorted and filtered on others", ion.ListOptions{Limit: 10, Sort: byNumber, Filters: notFirst, Fields: []string{"attributes"}},
				func(p ion.Part) ion.Part { return ion.Part{Meta: ion.Meta{ID: p.ID}, Attributes: p.Attributes} }},
			{"a window", ion.ListOptions{Offset: 1, Limit: 1, Fields: []string{"cost", "leadTime"}},
				func(p ion.Part) ion.Part {
					return ion.Part{Meta: ion.Meta{ID: p.ID}, Cost: p.Cost, LeadTime: p.LeadTime}
				}},
			{"no fields reads the id", ion.ListOptions{Limit: 10, Fields: []string{}},
				func(p ion.Part) ion.Part { return ion.Part{Meta: ion.Meta{ID: p.ID}} }},
			{"a computed field reads everything", ion.ListOptions{Limit: 10, Fields: []string{"partNumber", "partInventories"}},
				func(p ion.Part) ion.Part { return p }},
		} {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				full := c.opts
				full.Fields = nil
				want := must(b.ts.Parts(b.ctx, full))(t)
				got := must(b.ts.Parts(b.ctx, c.opts))(t)
				if got.TotalCount != want.TotalCount || len(got.Items) != len(want.Items) || len(want.Items) == 0 {
					t.Fatalf("got %d of %d items, want %d of %d", len(got.Items), got.TotalCount, len(want.Items), want.TotalCount)
				}
				// What was not asked for may be read or not: only what was
				// asked for is compared.
				for i := range want.Items {
					same(t, "projected part", c.project(got.Items[i]), c.project(want.Items[i]))
				}
			})
		}
	})

	t.Run("FieldsOfChildren", func(t *testing.T) {
		t.Parallel()
		opts := ion.ListOptions{
			Filters: []ion.Filter{{Field: "partId", Op: ion.OpIn, Value: []any{parts[0].ID, parts[2].ID}}},
			Sort:    []ion.SortKey{{Field: "partId"}},
			Limit:   1000,
		}
		want := must(b.ts.PartInventories(b.ctx, opts))(t)
		opts.Fields = []string{"partId", "quantity", "status", "serialNumber", "lotNumber", "locationId"}
		got := must(b.ts.PartInventories(b.ctx, opts))(t)
		project := func(i ion.PartInventory) ion.PartInventory {
			return ion.PartInventory{Meta: ion.Meta{ID: i.ID}, PartID: i.PartID, Quantity: i.Quantity, Status: i.Status,
				SerialNumber: i.SerialNumber, LotNumber: i.LotNumber, LocationID: i.LocationID}
		}
		if len(want.Items) != 4 || len(got.Items) != len(want.Items) {
			t.Fatalf("got %d inventories, want 4 (full read: %d)", len(got.Items), len(want.Items))
		}
		for i := range want.Items {
			same(t, "projected inventory", project(got.Items[i]), project(want.Items[i]))
		}
	})

	t.Run("SkipTotal", func(t *testing.T) {
		t.Parallel()
		for _, opts := range []ion.ListOptions{
			{Limit: 10},
			{Limit: 2, Sort: byNumber},
			{Offset: 2, Limit: 10, Fields: []string{"partNumber"}},
			{Offset: 5, Limit: 10},
			{Limit: 0},
			{Limit: 10, Filters: notFirst},
		} {
			counted := must(b.ts.Parts(b.ctx, opts))(t)
			opts.SkipTotal = true
			got := must(b.ts.Parts(b.ctx, opts))(t)
			counted.TotalCount = 0
			same(t, "uncounted page", got, counted)
		}
		wantErr(t, second(b.ts.Parts(b.ctx, ion.ListOptions{Limit: -1, SkipTotal: true})), ion.EVALIDATION, "limit")
	})
}

func second[T any](_ T, err error) error { return err }
