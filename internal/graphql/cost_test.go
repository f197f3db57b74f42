package graphql

import (
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/ionbox/ionbox/internal/graphql/generated"
)

func TestOperationCost(t *testing.T) {
	t.Parallel()
	schema := generated.NewExecutableSchema(generated.Config{Resolvers: &Resolver{}}).Schema()
	cases := []struct {
		name       string
		query      string
		vars       map[string]any
		returned   map[string]int // connection field name → items returned
		wantCost   int
		wantActual int
	}{
		{"scalars only", `{ currentUser { id email } }`, nil, nil, 1, 1},
		{"introspection is free", `{ __schema { types { name } } }`, nil, nil, 1, 1},
		{"page of nodes", `{ parts(first: 50) { totalCount pageInfo { hasNextPage } edges { cursor node { id partNumber } } } }`, nil,
			map[string]int{"parts": 3}, 51, 4},
		{"page size from a variable", `query($n: Int) { parts(first: $n) { edges { node { id } } } }`, map[string]any{"n": 20}, nil, 21, 21},
		{"default page size", `{ parts { edges { node { id } } } }`, nil, map[string]int{"parts": 0}, 1001, 1},
		{"plain list of objects", `{ run(id: 1) { steps { id } } }`, nil, nil, 11, 11},
		{"fragments count", `{ parts(first: 10) { ...P } } fragment P on PartConnection { edges { node { id } } }`, nil, nil, 11, 11},
		{"mutation adds 10 per root field", `mutation { a: deletePart(id: 1, etag: "x") { id } b: deletePart(id: 2, etag: "x") { id } }`, nil, nil, 22, 22},
	}
	for _, c := range cases {
		doc, errs := gqlparser.LoadQuery(schema, c.query)
		if errs != nil {
			t.Fatalf("%s: %v", c.name, errs)
		}
		op := doc.Operations[0]
		if got := operationCost(op, c.vars, DefaultMaxPageSize, nil); got != c.wantCost {
			t.Errorf("%s: requested cost %d, want %d", c.name, got, c.wantCost)
		}
		pages := map[*ast.Field]int{}
		for _, f := range fieldsOf(op.SelectionSet) {
			if n, ok := c.returned[f.Name]; ok {
				pages[f] = n
			}
		}
		if got := operationCost(op, c.vars, DefaultMaxPageSize, pages); got != c.wantActual {
			t.Errorf("%s: actual cost %d, want %d", c.name, got, c.wantActual)
		}
	}
}
