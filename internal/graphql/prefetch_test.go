package graphql

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/go-cmp/cmp"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/ionbox/ionbox/ion"
)

// watchListOrder records, for every list field of the following requests
// (by alias), whether requestState.InOrder lets its elements be marshaled
// in order. It returns a function that returns what was recorded since its
// last call. Call it before the bundle serves requests.
func watchListOrder(b *bundle) func() map[string][]bool {
	var mu sync.Mutex
	seen := map[string][]bool{}
	b.h.(*handler).exec.AroundFields(func(ctx context.Context, next graphql.Resolver) (any, error) {
		fc := graphql.GetFieldContext(ctx)
		if d := fc.Field.Definition; d != nil && d.Type.Elem != nil && len(fc.Field.Selections) > 0 {
			st, err := stateFrom(ctx)
			if err != nil {
				return nil, err
			}
			inOrder := st.InOrder(ctx)
			mu.Lock()
			if !slices.Contains(seen[fc.Field.Alias], inOrder) {
				seen[fc.Field.Alias] = append(seen[fc.Field.Alias], inOrder)
			}
			mu.Unlock()
		}
		return next(ctx)
	})
	return func() map[string][]bool {
		mu.Lock()
		defer mu.Unlock()
		out := seen
		seen = map[string][]bool{}
		return out
	}
}

// TestReadAhead: a connection (or a field such as part(id)) reads ahead what
// the query selects below it, one store call per loader and level, and a
// list is marshaled in order, without a goroutine per element, exactly when
// nothing below it can wait for a loader's batch.
func TestReadAhead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	listOrder := watchListOrder(b)
	ctx := t.Context()
	loc, err := b.ts.CreateLocation(ctx, ion.Location{Name: "Bin 1", Available: true})
	if err != nil {
		t.Fatal(err)
	}
	var firstPart ion.ID
	for i := range 3 {
		p, err := b.ts.CreatePart(ctx, ion.Part{PartNumber: fmt.Sprintf("RA-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			firstPart = p.ID
		}
		for j := range 2 {
			inv := ion.PartInventory{PartID: p.ID, Quantity: float64(j + 1)}
			if j == 0 {
				inv.LocationID = &loc.ID
			}
			if _, err := b.ts.CreatePartInventory(ctx, inv); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name      string
		query     string
		wantOrder map[string][]bool
		wantCalls map[string]int
		wantData  string // a fragment of the answer
	}{{
		name:      "two levels read ahead",
		query:     `{ parts(first: 3) { edges { node { partNumber partInventories { quantity } } } } }`,
		wantOrder: map[string][]bool{"edges": {true}, "partInventories": {true}},
		wantCalls: map[string]int{"Tenant": 1, "Parts": 1, "PartInventories": 1},
		wantData:  `"partNumber":"RA-0","partInventories":[{"quantity":1},{"quantity":2}]`,
	}, {
		name: "three levels, through fragments and aliases",
		query: `{ parts(first: 3) { edges { node { ...p } } } }
			fragment p on Part { inv: partsInventory { location { name } part { partNumber quantity } } partInventories { id } }`,
		wantOrder: map[string][]bool{"edges": {true}, "inv": {true}, "partInventories": {true}},
		// The page, then every inventory of it, then every part and
		// location those name: one call per level and loader.
		wantCalls: map[string]int{"Tenant": 1, "Parts": 2, "PartInventories": 1},
		wantData:  `"inv":[{"location":{"name":"Bin 1"},"part":{"partNumber":"RA-0","quantity":3}},{"location":null,"part":{"partNumber":"RA-0","quantity":3}}]`,
	}, {
		name:      "plain fields only",
		query:     `{ parts(first: 3) { edges { cursor node { id partNumber } } pageInfo { hasNextPage } totalCount } }`,
		wantOrder: map[string][]bool{"edges": {true}},
		wantCalls: map[string]int{"Tenant": 1, "Parts": 1},
	}, {
		// buildRequirements is no field prefetch.go knows: the lists above
		// it keep a goroutine per element, and their loaders still batch.
		name:      "a field that is not read ahead",
		query:     `{ parts(first: 3) { edges { node { partInventories { id buildRequirements { id } } } } } }`,
		wantOrder: map[string][]bool{"edges": {false}, "partInventories": {false}, "buildRequirements": {true}},
		wantCalls: map[string]int{"Tenant": 1, "Parts": 1, "PartInventories": 1},
	}, {
		name:      "below a single object",
		query:     fmt.Sprintf(`{ part(id: %d) { partInventories { part { partNumber } } } }`, firstPart),
		wantOrder: map[string][]bool{"partInventories": {true}},
		wantCalls: map[string]int{"Tenant": 1, "Parts": 1, "PartInventories": 1},
		wantData:  `"partInventories":[{"part":{"partNumber":"RA-0"}},{"part":{"partNumber":"RA-0"}}]`,
	}} {
		b.t = t
		listOrder()
		b.stores.calls()
		r := b.post(tc.query, nil)
		if len(r.Errors) > 0 {
			t.Fatalf("%s: %s", tc.name, r.raw)
		}
		if diff := cmp.Diff(tc.wantOrder, listOrder()); diff != "" {
			t.Errorf("%s: lists in order (-want +got):\n%s", tc.name, diff)
		}
		if diff := cmp.Diff(tc.wantCalls, b.stores.calls()); diff != "" {
			t.Errorf("%s: store calls (-want +got):\n%s", tc.name, diff)
		}
		if !strings.Contains(string(r.raw), tc.wantData) {
			t.Errorf("%s: answer lacks %s:\n%s", tc.name, tc.wantData, r.raw)
		}
	}
}

// TestReadAheadFailure: a read-ahead that fails changes nothing: the fields
// load as they would have and report the error where they always did, and
// the lists above them keep their goroutines.
func TestReadAheadFailure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	listOrder := watchListOrder(b)
	if _, err := b.ts.CreatePart(t.Context(), ion.Part{PartNumber: "F-1"}); err != nil {
		t.Fatal(err)
	}
	b.stores.setHook(func(ctx context.Context, method string) error {
		if method == "PartInventories" {
			return errors.New("disk on fire")
		}
		return nil
	})
	r := b.post(`{ parts { edges { node { partNumber partInventories { id } } } } }`, nil)
	if r.code() != ion.EINTERNAL || fmt.Sprint(r.Errors[0].Path) != "[parts edges 0 node partInventories]" {
		t.Errorf("errors %+v, want INTERNAL_SERVER_ERROR at parts.edges.0.node.partInventories", r.Errors)
	}
	if want := `"data":{"parts":{"edges":[{"node":null}]}}`; !strings.Contains(string(r.raw), want) {
		t.Errorf("answer %s, want %s", r.raw, want)
	}
	if diff := cmp.Diff(map[string][]bool{"edges": {false}, "partInventories": {true}}, listOrder()); diff != "" {
		t.Errorf("lists in order (-want +got):\n%s", diff)
	}
	// Read ahead once and loaded once by the field, which failed again.
	if calls := b.stores.calls(); calls["PartInventories"] != 2 {
		t.Errorf("store calls %v, want 2 PartInventories", calls)
	}
}

// TestReadAheadMatchesSchema: every field prefetch.go reads ahead exists,
// takes no arguments (which a read-ahead would ignore), and the schema has
// no interfaces or unions, since fields are collected as those of plain
// objects (see collect).
func TestReadAheadMatchesSchema(t *testing.T) {
	t.Parallel()
	schema := testSchema(t)
	for k := range fieldPrimers {
		def := schema.Types[k.object]
		if def == nil || def.Fields.ForName(k.field) == nil {
			t.Errorf("fieldPrimers has %s.%s, which the schema lacks", k.object, k.field)
			continue
		}
		if args := def.Fields.ForName(k.field).Arguments; len(args) > 0 {
			t.Errorf("fieldPrimers has %s.%s, which takes arguments", k.object, k.field)
		}
	}
	for name, def := range schema.Types {
		if !def.BuiltIn && (def.Kind == ast.Interface || def.Kind == ast.Union) {
			t.Errorf("%s is an %s: teach collect (prefetch.go) about abstract types", name, strings.ToLower(string(def.Kind)))
		}
	}
}
