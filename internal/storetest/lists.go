package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

func testLists(t *testing.T, h *harness) {
	b := h.setup(t)
	// Seven parts with text, enum, number and NULL values chosen so that
	// every operator and sort has something to tell apart.
	seed := []ion.Part{
		{PartNumber: "ion-1", Description: "Bracket", Cost: ptr(1.5), TrackingType: ptr(ion.TrackingSerial)},
		{PartNumber: "ion-2", Description: "bracket", Cost: ptr(2.5), LeadTime: ptr(int64(3)), TrackingType: ptr(ion.TrackingLot)},
		{PartNumber: "ION-3", Description: "Ärger", LeadTime: ptr(int64(7))},
		{PartNumber: "x_1", Description: "50% off", Cost: ptr(10.0), LeadTime: ptr(int64(1))},
		{PartNumber: "abc*", Description: "star", Cost: ptr(2.5), TrackingType: ptr(ion.TrackingSerial)},
		{PartNumber: "xy1", Description: "ärger", Cost: ptr(0.0), LeadTime: ptr(int64(2)), TrackingType: ptr(ion.TrackingLot)},
		{PartNumber: "abcd", Description: "[x]"},
	}
	var p []ion.Part
	for _, s := range seed {
		p = append(p, must(b.ts.CreatePart(b.ctx, s))(t))
	}
	id := func(ns ...int) []ion.ID {
		out := []ion.ID{}
		for _, n := range ns {
			out = append(out, p[n-1].ID)
		}
		return out
	}
	partIDs := func(items []ion.Part) []ion.ID {
		out := []ion.ID{}
		for _, it := range items {
			out = append(out, it.ID)
		}
		return out
	}
	f := func(field, op string, v any) ion.Filter { return ion.Filter{Field: field, Op: op, Value: v} }
	later := time.Now().Add(time.Hour)

	t.Run("Filters", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			name    string
			filters []ion.Filter
			want    []ion.ID
		}{
			{"eq", []ion.Filter{f("partNumber", ion.OpEq, "ion-1")}, id(1)},
			{"eq enum any case", []ion.Filter{f("trackingType", ion.OpEq, "serial")}, id(1, 5)},
			{"eq null", []ion.Filter{f("trackingType", ion.OpEq, nil)}, id(3, 4, 7)},
			{"neq includes null", []ion.Filter{f("trackingType", ion.OpNeq, ion.TrackingSerial)}, id(2, 3, 4, 6, 7)},
			{"in", []ion.Filter{f("trackingType", ion.OpIn, []any{ion.TrackingSerial, "lot"})}, id(1, 2, 5, 6)},
			{"in ids", []ion.Filter{f("id", ion.OpIn, []any{p[0].ID, p[2].ID, int64(9999)})}, id(1, 3)},
			{"in typed list", []ion.Filter{f("partNumber", ion.OpIn, []string{"xy1", "abcd"})}, id(6, 7)},
			{"in empty", []ion.Filter{f("partNumber", ion.OpIn, []any{})}, id()},
			{"notIn includes null", []ion.Filter{f("trackingType", ion.OpNotIn, []any{ion.TrackingSerial})}, id(2, 3, 4, 6, 7)},
			{"notIn empty", []ion.Filter{f("partNumber", ion.OpNotIn, []any{})}, id(1, 2, 3, 4, 5, 6, 7)},
			{"like prefix is case-sensitive", []ion.Filter{f("partNumber", ion.OpLike, "ion-%")}, id(1, 2)},
			{"like suffix", []ion.Filter{f("description", ion.OpLike, "%racket")}, id(1, 2)},
			{"like capital", []ion.Filter{f("description", ion.OpLike, "B%")}, id(1)},
			{"like escaped percent", []ion.Filter{f("description", ion.OpLike, `50\%%`)}, id(4)},
			{"like underscore", []ion.Filter{f("partNumber", ion.OpLike, "x_1")}, id(4, 6)},
			{"like escaped underscore", []ion.Filter{f("partNumber", ion.OpLike, `x\_1`)}, id(4)},
			{"like star is literal", []ion.Filter{f("partNumber", ion.OpLike, "abc*")}, id(5)},
			{"like brackets are literal", []ion.Filter{f("description", ion.OpLike, "[x]")}, id(7)},
			{"ilike", []ion.Filter{f("partNumber", ion.OpIlike, "ion-%")}, id(1, 2, 3)},
			{"ilike inner", []ion.Filter{f("description", ion.OpIlike, "%BRACKET%")}, id(1, 2)},
			{"ilike unicode", []ion.Filter{f("description", ion.OpIlike, "ärger")}, id(3, 6)},
			{"gt", []ion.Filter{f("cost", ion.OpGt, 2)}, id(2, 4, 5)},
			{"gte", []ion.Filter{f("cost", ion.OpGte, 2.5)}, id(2, 4, 5)},
			{"lt skips null", []ion.Filter{f("cost", ion.OpLt, 2.0)}, id(1, 6)},
			{"lte", []ion.Filter{f("cost", ion.OpLte, 1.5)}, id(1, 6)},
			{"number as string", []ion.Filter{f("cost", ion.OpEq, "2.5")}, id(2, 5)},
			{"integer field", []ion.Filter{f("leadTime", ion.OpGt, int64(2))}, id(2, 3)},
			{"integer given as float", []ion.Filter{f("leadTime", ion.OpEq, 2.0)}, id(6)},
			{"isNull true", []ion.Filter{f("cost", ion.OpIsNull, true)}, id(3, 7)},
			{"isNull false", []ion.Filter{f("trackingType", ion.OpIsNull, false)}, id(1, 2, 5, 6)},
			{"time", []ion.Filter{f("createdAt", ion.OpLte, later)}, id(1, 2, 3, 4, 5, 6, 7)},
			{"time as text", []ion.Filter{f("updatedAt", ion.OpGt, later.Format(time.RFC3339))}, id()},
			{"bool", []ion.Filter{f("isLatestRevision", ion.OpEq, true)}, id(1, 2, 3, 4, 5, 6, 7)},
			{"and", []ion.Filter{f("trackingType", ion.OpEq, ion.TrackingLot), f("cost", ion.OpGt, 1)}, id(2)},
		} {
			t.Run(c.name, func(t *testing.T) {
				page := must(b.ts.Parts(b.ctx, ion.ListOptions{Filters: c.filters, Limit: 100}))(t)
				same(t, "ids", partIDs(page.Items), c.want)
				if page.TotalCount != len(c.want) {
					t.Fatalf("total count %d, want %d", page.TotalCount, len(c.want))
				}
			})
		}
	})

	t.Run("BadFilters", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			name  string
			opts  ion.ListOptions
			field string
		}{
			{"unknown field", ion.ListOptions{Filters: []ion.Filter{f("colour", ion.OpEq, "red")}}, "colour"},
			{"unknown operator", ion.ListOptions{Filters: []ion.Filter{f("cost", "between", 1)}}, "cost"},
			{"text for a number", ion.ListOptions{Filters: []ion.Filter{f("cost", ion.OpEq, "cheap")}}, "cost"},
			{"number for text", ion.ListOptions{Filters: []ion.Filter{f("partNumber", ion.OpEq, 12)}}, "partNumber"},
			{"like on a number", ion.ListOptions{Filters: []ion.Filter{f("cost", ion.OpLike, "1%")}}, "cost"},
			{"isNull needs a bool", ion.ListOptions{Filters: []ion.Filter{f("cost", ion.OpIsNull, "yes")}}, "cost"},
			{"in needs a list", ion.ListOptions{Filters: []ion.Filter{f("id", ion.OpIn, 3)}}, "id"},
			{"bad time", ion.ListOptions{Filters: []ion.Filter{f("createdAt", ion.OpGt, "yesterday")}}, "createdAt"},
			{"unknown sort", ion.ListOptions{Sort: []ion.SortKey{{Field: "colour"}}}, "sort"},
			{"negative offset", ion.ListOptions{Offset: -1}, "offset"},
			{"negative limit", ion.ListOptions{Limit: -1}, "limit"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := b.ts.Parts(b.ctx, c.opts)
				wantErr(t, err, ion.EVALIDATION, c.field)
			})
		}
		_, err := b.ts.Parts(b.ctx, ion.ListOptions{Filters: []ion.Filter{f("colour", ion.OpEq, "red")}})
		wantMessage(t, err, "partNumber", "trackingType")
	})

	t.Run("Sort", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			name string
			sort []ion.SortKey
			want []ion.ID
		}{
			{"default is id", nil, id(1, 2, 3, 4, 5, 6, 7)},
			{"id desc", []ion.SortKey{{Field: "id", Desc: true}}, id(7, 6, 5, 4, 3, 2, 1)},
			{"text in byte order", []ion.SortKey{{Field: "partNumber"}}, id(3, 5, 7, 1, 2, 4, 6)},
			{"enum-style name", []ion.SortKey{{Field: "PART_NUMBER", Desc: true}}, id(6, 4, 2, 1, 7, 5, 3)},
			{"nulls last ascending, ties by id", []ion.SortKey{{Field: "cost"}}, id(6, 1, 2, 5, 4, 3, 7)},
			{"nulls first descending, ties by id", []ion.SortKey{{Field: "cost", Desc: true}}, id(3, 7, 4, 2, 5, 1, 6)},
			{"two keys", []ion.SortKey{{Field: "trackingType"}, {Field: "leadTime", Desc: true}}, id(2, 6, 1, 5, 7, 3, 4)},
		} {
			t.Run(c.name, func(t *testing.T) {
				page := must(b.ts.Parts(b.ctx, ion.ListOptions{Sort: c.sort, Limit: 100}))(t)
				same(t, "order", partIDs(page.Items), c.want)
			})
		}
		// "created" and "updated" name createdAt and updatedAt.
		for _, key := range []string{"created", "updated", "createdAt"} {
			page := must(b.ts.Parts(b.ctx, ion.ListOptions{Sort: []ion.SortKey{{Field: key, Desc: true}}, Limit: 100}))(t)
			sorted := slices.IsSortedFunc(page.Items, func(x, y ion.Part) int {
				tx, ty := x.CreatedAt, y.CreatedAt
				if key == "updated" {
					tx, ty = x.UpdatedAt, y.UpdatedAt
				}
				if c := ty.Compare(tx); c != 0 {
					return c
				}
				return int(x.ID - y.ID)
			})
			if len(page.Items) != 7 || !sorted {
				t.Fatalf("sorted by %s descending: %v", key, partIDs(page.Items))
			}
		}
	})

	t.Run("Windows", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			name      string
			opts      ion.ListOptions
			want      []ion.ID
			wantTotal int
		}{
			{"first page", ion.ListOptions{Limit: 3}, id(1, 2, 3), 7},
			{"middle", ion.ListOptions{Offset: 3, Limit: 3}, id(4, 5, 6), 7},
			{"last page is short", ion.ListOptions{Offset: 5, Limit: 3}, id(6, 7), 7},
			{"past the end", ion.ListOptions{Offset: 7, Limit: 3}, id(), 7},
			{"count only", ion.ListOptions{Limit: 0}, id(), 7},
			{"filtered and sorted", ion.ListOptions{Offset: 1, Limit: 2, Filters: []ion.Filter{f("trackingType", ion.OpNeq, ion.TrackingSerial)},
				Sort: []ion.SortKey{{Field: "leadTime"}}}, id(6, 2), 5},
		} {
			t.Run(c.name, func(t *testing.T) {
				page := must(b.ts.Parts(b.ctx, c.opts))(t)
				same(t, "ids", partIDs(page.Items), c.want)
				if page.TotalCount != c.wantTotal {
					t.Fatalf("total count %d, want %d", page.TotalCount, c.wantTotal)
				}
			})
		}
	})

	t.Run("EveryEntityFilters", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		ctx := b.ctx
		part := must(b.ts.CreatePart(ctx, ion.Part{PartNumber: "bolt"}))(t)
		asm := must(b.ts.CreatePart(ctx, ion.Part{PartNumber: "asm"}))(t)
		loc := must(b.ts.CreateLocation(ctx, ion.Location{Name: "Shelf A", Available: true}))(t)
		must(b.ts.CreateLocation(ctx, ion.Location{Name: "Dock", Available: true}))(t)
		must(b.ts.CreateUnitOfMeasurement(ctx, ion.UnitOfMeasurement{Type: "kg"}))(t)
		item := must(b.ts.CreateMBomItem(ctx, ion.MBomItem{ParentID: asm.ID, PartID: part.ID, Quantity: 2}))(t)
		sub := must(b.ts.CreatePart(ctx, ion.Part{PartNumber: "bolt-alt"}))(t)
		must(b.ts.CreateMBomSubstitute(ctx, ion.MBomSubstitute{MBomItemID: item.ID, PartID: sub.ID}))(t)
		parent := must(b.ts.CreatePartInventory(ctx, ion.PartInventory{PartID: asm.ID, Quantity: 1, LocationID: &loc.ID}))(t)
		child := must(b.ts.CreatePartInventory(ctx, ion.PartInventory{PartID: part.ID, Quantity: 2, LocationID: &loc.ID}))(t)
		must(b.ts.CreatePartInventory(ctx, ion.PartInventory{PartID: part.ID, Quantity: 5}))(t)
		req := must(b.ts.CreateBuildRequirement(ctx, ion.BuildRequirement{PartInventoryID: parent.ID, OriginMBomItemID: &item.ID, QuantityPerParentPartInventory: 2}))(t)
		must(b.ts.CreateAbomInstallation(ctx, ion.AbomInstallation{BuildRequirementID: req.ID, PartInventoryID: child.ID, Quantity: 2}))(t)
		proc, steps, _ := procedureWithSteps(t, b)
		run := must(b.ts.CreateRun(ctx, ion.Run{ProcedureID: proc.ID}))(t)
		must(b.ts.CreateRun(ctx, ion.Run{ProcedureID: proc.ID, Title: "other"}))(t)
		must(b.ts.CreateIssue(ctx, ion.Issue{Title: "i", RunID: &run.ID}))(t)
		supplier := must(b.ts.CreateSupplier(ctx, ion.Supplier{Name: "Acme"}))(t)
		po := must(b.ts.CreatePurchaseOrder(ctx, ion.PurchaseOrder{SupplierID: &supplier.ID}))(t)
		must(b.ts.CreatePurchaseOrderLine(ctx, ion.PurchaseOrderLine{PurchaseOrderID: po.ID, PartID: part.ID, Quantity: 3}))(t)
		must(b.ts.CreateTeam(ctx, ion.Team{Name: "Line"}))(t)

		count := func(n int, err error) func(t *testing.T) int {
			return func(t *testing.T) int { t.Helper(); return must(n, err)(t) }
		}
		lo := func(fs ...ion.Filter) ion.ListOptions { return ion.ListOptions{Filters: fs, Limit: 10} }
		for _, c := range []struct {
			name string
			got  func(t *testing.T) int
			want int
		}{
			// The vendor's get_inventory_at_location.py query.
			{"inventory at a location, not installed", count(pageTotal(b.ts.PartInventories(ctx, lo(f("locationId", ion.OpEq, loc.ID), f("status", ion.OpNeq, ion.InvInstalled))))), 1},
			{"inventory by part and quantity available", count(pageTotal(b.ts.PartInventories(ctx, lo(f("partId", ion.OpEq, part.ID), f("quantityAvailable", ion.OpGt, 0))))), 2},
			{"inventory by purchase order line", count(pageTotal(b.ts.PartInventories(ctx, lo(f("purchaseOrderLineId", ion.OpIsNull, false))))), 1},
			{"locations by name", count(pageTotal(b.ts.Locations(ctx, lo(f("name", ion.OpIlike, "shelf%"))))), 1},
			{"units by type", count(pageTotal(b.ts.UnitsOfMeasurement(ctx, lo(f("type", ion.OpEq, "kg"))))), 1},
			{"mBOM items by parent", count(pageTotal(b.ts.MBomItems(ctx, lo(f("parentId", ion.OpEq, asm.ID))))), 1},
			{"substitutes by part", count(pageTotal(b.ts.MBomSubstitutes(ctx, lo(f("partId", ion.OpEq, sub.ID))))), 1},
			{"procedures by id", count(pageTotal(b.ts.Procedures(ctx, lo(f("id", ion.OpEq, proc.ID))))), 1},
			{"steps by title", count(pageTotal(b.ts.Steps(ctx, lo(f("title", ion.OpEq, "Assemble"))))), 1},
			{"steps by parent", count(pageTotal(b.ts.Steps(ctx, lo(f("parentId", ion.OpEq, steps[0].ID))))), 1},
			{"step fields by type", count(pageTotal(b.ts.StepFields(ctx, lo(f("type", ion.OpEq, "select"))))), 1},
			{"runs by procedure and status", count(pageTotal(b.ts.Runs(ctx, lo(f("procedureId", ion.OpEq, proc.ID), f("status", ion.OpIn, []any{"TODO", "IN_PROGRESS"}))))), 2},
			{"runs by title", count(pageTotal(b.ts.Runs(ctx, lo(f("title", ion.OpEq, "other"))))), 1},
			{"run steps by run", count(pageTotal(b.ts.RunSteps(ctx, lo(f("runId", ion.OpEq, run.ID))))), 3},
			{"run step fields without value", count(pageTotal(b.ts.RunStepFields(ctx, lo(f("value", ion.OpIsNull, true))))), 4},
			{"build requirements by part", count(pageTotal(b.ts.BuildRequirements(ctx, lo(f("partId", ion.OpEq, part.ID))))), 1},
			{"installations by requirement", count(pageTotal(b.ts.AbomInstallations(ctx, lo(f("buildRequirementId", ion.OpEq, req.ID))))), 1},
			{"issues by status", count(pageTotal(b.ts.Issues(ctx, lo(f("status", ion.OpEq, "pending"))))), 1},
			{"suppliers by name", count(pageTotal(b.ts.Suppliers(ctx, lo(f("name", ion.OpEq, "Acme"))))), 1},
			{"purchase orders by status", count(pageTotal(b.ts.PurchaseOrders(ctx, lo(f("status", ion.OpEq, ion.PODraft), f("supplierId", ion.OpEq, supplier.ID))))), 1},
			{"purchase order lines by part", count(pageTotal(b.ts.PurchaseOrderLines(ctx, lo(f("partId", ion.OpEq, part.ID))))), 1},
			{"teams by name", count(pageTotal(b.ts.Teams(ctx, lo(f("name", ion.OpLike, "L%"))))), 1},
		} {
			t.Run(c.name, func(t *testing.T) {
				if got := c.got(t); got != c.want {
					t.Fatalf("count %d, want %d", got, c.want)
				}
			})
		}
	})
}

// pageTotal is the total count of a page, keeping the error.
func pageTotal[T any](p ion.Page[T], err error) (int, error) { return p.TotalCount, err }
