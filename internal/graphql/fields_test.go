package graphql

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ionbox/ionbox/ion"
)

// must fails the test on a non-nil error and otherwise returns the value.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

// TestProjectedTypesMatchResolvers: every type fields.go projects exists,
// and its table names exactly its resolver fields, so that a new resolver
// field is not read with too few fields (it would read every field, but
// its author should say what it reads).
func TestProjectedTypesMatchResolvers(t *testing.T) {
	t.Parallel()
	schema := testSchema(t)
	for typ, deps := range projectedTypes {
		def := schema.Types[typ]
		if def == nil {
			t.Errorf("projectedTypes has %s, which the schema lacks", typ)
			continue
		}
		var listed, resolvers []string
		for name := range deps {
			listed = append(listed, strings.ToLower(name))
		}
		for name := range resolverFields[typ] {
			resolvers = append(resolvers, name)
		}
		slices.Sort(listed)
		slices.Sort(resolvers)
		if diff := cmp.Diff(resolvers, listed); diff != "" {
			t.Errorf("%s: projectedTypes lists other fields than the resolver fields (-resolvers +listed):\n%s", typ, diff)
		}
		for name := range deps {
			if def.Fields.ForName(name) == nil {
				t.Errorf("projectedTypes has %s.%s, which the schema lacks", typ, name)
			}
		}
	}
}

// TestListsReadWhatTheOperationSelects: a list reads the fields that the
// operation selects on its type anywhere (through fragments too), what its
// resolver fields read, and the loader's grouping field; it counts only
// when the connection selects totalCount or pageInfo.
func TestListsReadWhatTheOperationSelects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	part := must(b.ts.CreatePart(t.Context(), ion.Part{PartNumber: "F-1"}))(t)
	must(b.ts.CreatePartInventory(t.Context(), ion.PartInventory{PartID: part.ID, Quantity: 2}))(t)
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	for _, c := range []struct {
		name      string
		query     string
		wantParts ion.ListOptions // Fields (sorted) and SkipTotal of the Parts call
		wantInv   *ion.ListOptions
	}{
		{"the benchmark's query",
			`{ parts(first: 50) { edges { node { id partNumber revision description partInventories { id quantity status serialNumber } } } } }`,
			ion.ListOptions{Fields: []string{"description", "id", "partNumber", "revision"}, SkipTotal: true},
			&ion.ListOptions{Fields: []string{"id", "partId", "quantity", "serialNumber", "status"}, SkipTotal: true}},
		{"totalCount counts", `{ parts { totalCount edges { node { partNumber } } } }`,
			ion.ListOptions{Fields: []string{"partNumber"}}, nil},
		{"pageInfo counts", `{ parts { pageInfo { hasNextPage } edges { cursor } } }`,
			ion.ListOptions{Fields: []string{}}, nil},
		{"resolver fields read what they use",
			`{ parts { edges { node { attributes { key } partInventories { installed location { id } } } } } }`,
			ion.ListOptions{Fields: []string{"_etag", "attributes"}, SkipTotal: true},
			&ion.ListOptions{Fields: []string{"locationId", "partId", "status"}, SkipTotal: true}},
		{"fields anywhere in the operation, through fragments",
			`query { a: parts { edges { node { ...P } } } b: partInventories { edges { node { lotNumber part { cost } } } } }
			 fragment P on Part { leadTime partInventories { ... on PartInventory { quantity } } }`,
			ion.ListOptions{Fields: []string{"cost", "leadTime"}, SkipTotal: true},
			&ion.ListOptions{Fields: []string{"lotNumber", "partId", "quantity"}, SkipTotal: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b.stores.listCalls()
			b.mustData(c.query, nil)
			calls := b.stores.listCalls()
			check := func(method string, want ion.ListOptions) {
				t.Helper()
				if len(calls[method]) == 0 {
					t.Fatalf("no %s call", method)
				}
				for _, got := range calls[method] {
					if !cmp.Equal(sorted(got.Fields), want.Fields) || got.SkipTotal != want.SkipTotal {
						t.Errorf("%s read fields %q (skip total %v), want %q (%v)", method, sorted(got.Fields), got.SkipTotal, want.Fields, want.SkipTotal)
					}
				}
			}
			check("Parts", c.wantParts)
			if c.wantInv != nil {
				check("PartInventories", *c.wantInv)
			}
		})
	}
}

// TestListedObjectsAnswerAsReadAlone: every field of a part and of its
// inventory answers the same through a list (which reads only the selected
// fields) as through part(id) and partInventory(id) (which read whole
// objects).
func TestListedObjectsAnswerAsReadAlone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	loc := must(b.ts.CreateLocation(ctx, ion.Location{Name: "Bin", Available: true}))(t)
	kg := must(b.ts.CreateUnitOfMeasurement(ctx, ion.UnitOfMeasurement{Type: "kg"}))(t)
	attrs := []ion.Attribute{{Key: "color", Type: "text", Value: "red"}}
	old := must(b.ts.CreatePart(ctx, ion.Part{PartNumber: "R-1", Description: "old", TrackingType: ptr(ion.TrackingSerial), Cost: ptr(2.5), LeadTime: ptr(int64(3)), Attributes: attrs}))(t)
	newer := must(b.ts.CreatePartRevision(ctx, old.ID, ""))(t)
	for _, p := range []ion.Part{old, newer} {
		must(b.ts.CreatePartInventory(ctx, ion.PartInventory{PartID: p.ID, Quantity: 1, SerialNumber: ptr("SN-" + p.Revision),
			LocationID: &loc.ID, UnitOfMeasureID: &kg.ID, Cost: ptr(1.25), Attributes: attrs}))(t)
	}
	for _, sel := range []struct{ part, inv string }{
		{ // every field
			`id _etag partNumber revision description partType trackingType status sourcingStrategy cost leadTime
			revisedFromId revisedFrom { id revision } quantity attributes { key type value } createdAt updatedAt`,
			`id _etag partId part { id partNumber } serialNumber lotNumber quantity quantityAvailable quantityInstalled
			quantityScrapped locationId location { id name } unitOfMeasureId unitOfMeasure { id type } cost status installed kitted
			received purchaseOrderLineId attributes { key type value } createdById createdAt updatedAt`,
		},
		{ // the resolver fields alone, without the fields they read
			`id revisedFrom { id } quantity attributes { key value }`,
			`id part { id } location { id } unitOfMeasure { id } installed kitted received attributes { key value } createdById`,
		},
	} {
		list := b.mustData(`{ parts(first: 10) { edges { node { `+sel.part+` partInventories { `+sel.inv+` } } } } }`, nil)
		edges := list["parts"].(map[string]any)["edges"].([]any)
		if len(edges) != 2 {
			t.Fatalf("got %d parts, want 2", len(edges))
		}
		for _, e := range edges {
			node := e.(map[string]any)["node"].(map[string]any)
			alone := b.mustData(fmt.Sprintf(`{ part(id: %v) { %s } }`, node["id"], sel.part), nil)["part"].(map[string]any)
			invs := node["partInventories"].([]any)
			delete(node, "partInventories")
			if diff := cmp.Diff(alone, node); diff != "" {
				t.Errorf("part %v listed differs from read alone (-alone +listed):\n%s", node["id"], diff)
			}
			if len(invs) != 1 {
				t.Fatalf("part %v has %d inventories, want 1", node["id"], len(invs))
			}
			inv := invs[0].(map[string]any)
			aloneInv := b.mustData(fmt.Sprintf(`{ partInventory(id: %v) { %s } }`, inv["id"], sel.inv), nil)["partInventory"]
			if diff := cmp.Diff(aloneInv, any(inv)); diff != "" {
				t.Errorf("inventory %v listed differs from read alone (-alone +listed):\n%s", inv["id"], diff)
			}
		}
	}
}
