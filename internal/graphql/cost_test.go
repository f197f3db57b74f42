package graphql

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/ionbox/ionbox/internal/graphql/generated"
	"github.com/ionbox/ionbox/internal/limit"
	"github.com/ionbox/ionbox/ion"
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
		for _, f := range expandedFields(op.SelectionSet) {
			if n, ok := c.returned[f.Name]; ok {
				pages[f] = n
			}
		}
		if got := operationCost(op, c.vars, DefaultMaxPageSize, pages); got != c.wantActual {
			t.Errorf("%s: actual cost %d, want %d", c.name, got, c.wantActual)
		}
	}
}

// TestCostBudgetInABatch: an operation of a batch that the budget cannot
// pay for is refused on its own, after the ones before it ran (and wrote);
// a single operation it cannot pay for is answered 429.
func TestCostBudgetInABatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lim, err := limit.New(limit.Config{ProductionCost: limit.Policy{RequestsPerSecond: 0.001, Burst: 15}}, limit.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := ion.WithActor(r.Context(), b.actor)
		ctx = limit.WithCostAccount(ctx, limit.CostAccount{Limiter: lim, Env: ion.Environment{Name: ion.ProductionEnvironment, Kind: ion.EnvProduction}, Credential: "c"})
		b.h.ServeHTTP(w, r.WithContext(ctx))
	}))
	t.Cleanup(srv.Close)
	post := func(body string) (*http.Response, string) {
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp, string(raw)
	}
	create := `{"query": "mutation($n: String!) { createPart(input: {partNumber: $n}) { part { id } } }", "variables": {"n": "%s"}}`
	resp, raw := post("[" + fmt.Sprintf(create, "C-1") + "," + fmt.Sprintf(create, "C-2") + "]")
	var got []struct {
		Data       map[string]any
		Errors     []struct{ Extensions map[string]any }
		Extensions map[string]any
	}
	if err := json.Unmarshal([]byte(raw), &got); err != nil || resp.StatusCode != 200 || len(got) != 2 {
		t.Fatalf("batch: HTTP %d %s", resp.StatusCode, raw)
	}
	if got[0].Data == nil || len(got[0].Errors) != 0 || len(got[1].Errors) != 1 || got[1].Errors[0].Extensions["code"] != ion.ERATELIMITED {
		t.Fatalf("batch answers: %s", raw)
	}
	if page, err := b.ts.Parts(t.Context(), ion.ListOptions{Limit: 10}); err != nil || page.TotalCount != 1 {
		t.Fatalf("parts after the batch: %+v, %v; want the first operation's one part", page, err)
	}
	resp, raw = post(fmt.Sprintf(create, "C-3"))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || resp.Header.Get("RateLimit-Limit") != "15" ||
		resp.Header.Get("RateLimit-Remaining") != "3" || !strings.Contains(raw, `"requestedQueryCost":12`) {
		t.Fatalf("single operation over the budget: HTTP %d %v %s", resp.StatusCode, resp.Header, raw)
	}
}
