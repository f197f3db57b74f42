package graphql

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ionbox/ionbox/internal/limit"
	"github.com/ionbox/ionbox/ion"
)

// mutationCost is what each root field of a mutation adds: writes cost
// more than reads, as in Shopify's and GitHub's cost models.
const mutationCost = 10

// The cost model, in the manner of Shopify's and GitHub's GraphQL APIs:
// scalar and enum fields cost 0; an object field costs 1 plus what it
// selects; a connection costs 1 plus, per item of its page (first/last,
// else the maximum page size), 1 for the node plus what the node selects
// (edges, pageInfo, cursor and totalCount are free); a plain list of
// objects costs listFanout times (1 plus what each selects); every root
// field of a mutation adds mutationCost. A query costs at least 1.
//
// The requested cost is computed before execution from the page sizes
// asked for; it is what the caller's cost budget is charged. The actual
// cost is the same sum with each connection's page size replaced by the
// largest page it really returned (so that a parts(first: 100) that
// finds 3 parts costs as 3), reported so that callers can ask for smaller
// pages.
type costWalk struct {
	vars    map[string]any
	maxPage int
	// pages, when not nil, are the items each connection field returned
	// (the actual cost); nil computes the requested cost.
	pages map[*ast.Field]int
}

func operationCost(op *ast.OperationDefinition, vars map[string]any, maxPage int, pages map[*ast.Field]int) int {
	if op == nil {
		return 0
	}
	w := costWalk{vars: vars, maxPage: maxPage, pages: pages}
	cost := w.selections(op.SelectionSet)
	if op.Operation == ast.Mutation {
		for range expandedFields(op.SelectionSet) {
			cost = satAdd(cost, mutationCost)
		}
	}
	if cost > int64(1<<31-1) {
		return 1<<31 - 1
	}
	return int(max(cost, 1))
}

// expandedFields returns the fields of a selection set with fragments expanded.
func expandedFields(set ast.SelectionSet) []*ast.Field {
	var out []*ast.Field
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			out = append(out, s)
		case *ast.InlineFragment:
			out = append(out, expandedFields(s.SelectionSet)...)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				out = append(out, expandedFields(s.Definition.SelectionSet)...)
			}
		}
	}
	return out
}

func (w costWalk) selections(set ast.SelectionSet) int64 {
	var cost int64
	for _, f := range expandedFields(set) {
		cost = satAdd(cost, w.field(f))
	}
	return cost
}

func (w costWalk) field(f *ast.Field) int64 {
	if len(f.SelectionSet) == 0 || f.Name == "__schema" || f.Name == "__type" {
		return 0
	}
	if f.Definition != nil && f.Definition.Arguments.ForName("first") != nil {
		return satAdd(1, satMul(int64(w.pageSize(f)), w.perItem(f.SelectionSet)))
	}
	if f.Definition != nil && f.Definition.Type.Elem != nil {
		return satMul(listFanout, satAdd(1, w.selections(f.SelectionSet)))
	}
	return satAdd(1, w.selections(f.SelectionSet))
}

// perItem is the cost of one item of a connection: its node and what the
// node selects.
func (w costWalk) perItem(set ast.SelectionSet) int64 {
	var cost int64
	for _, f := range expandedFields(set) {
		switch f.Name {
		case "edges":
			for _, g := range expandedFields(f.SelectionSet) {
				if g.Name == "node" {
					cost = satAdd(cost, satAdd(1, w.selections(g.SelectionSet)))
				}
			}
		case "nodes":
			cost = satAdd(cost, satAdd(1, w.selections(f.SelectionSet)))
		}
	}
	return cost
}

// pageSize is the connection's requested page size or, for the actual
// cost, the largest page it returned.
func (w costWalk) pageSize(f *ast.Field) int {
	if w.pages != nil {
		if n, ok := w.pages[f]; ok {
			return n
		}
	}
	size := w.maxPage
	for _, name := range []string{"first", "last"} {
		arg := f.Arguments.ForName(name)
		if arg == nil {
			continue
		}
		if v, err := arg.Value.Value(w.vars); err == nil && v != nil {
			if n, ok := intOf(v); ok && n >= 0 {
				size = min(size, int(n))
			}
		}
	}
	return size
}

// pageRecorder collects, per connection field of one operation, the
// largest page it returned.
type pageRecorder struct {
	mu    sync.Mutex
	pages map[*ast.Field]int
}

type pageRecorderKey struct{}

func withPageRecorder(ctx context.Context) (context.Context, *pageRecorder) {
	r := &pageRecorder{pages: map[*ast.Field]int{}}
	return context.WithValue(ctx, pageRecorderKey{}, r), r
}

// recordPage notes that the connection field being resolved returned n
// items.
func recordPage(ctx context.Context, n int) {
	r, ok := ctx.Value(pageRecorderKey{}).(*pageRecorder)
	if !ok {
		return
	}
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Field == nil {
		return
	}
	r.mu.Lock()
	r.pages[fc.Field.Field] = max(r.pages[fc.Field.Field], n)
	r.mu.Unlock()
}

func (r *pageRecorder) snapshot() map[*ast.Field]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[*ast.Field]int, len(r.pages))
	for k, v := range r.pages {
		out[k] = v
	}
	return out
}

// costExtension is extensions.cost, shaped like Shopify's.
type costExtension struct {
	RequestedQueryCost int             `json:"requestedQueryCost"`
	ActualQueryCost    int             `json:"actualQueryCost"`
	ThrottleStatus     *throttleStatus `json:"throttleStatus"`
}

type throttleStatus struct {
	MaximumAvailable   int     `json:"maximumAvailable"`
	CurrentlyAvailable int     `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

func throttleOf(d limit.CostDecision) *throttleStatus {
	return &throttleStatus{MaximumAvailable: d.Policy.Burst, CurrentlyAvailable: d.Remaining, RestoreRate: d.Policy.RequestsPerSecond}
}

// costRefusal answers a query its budget cannot pay for now: 429
// RATE_LIMITED naming the cost budget and when to retry, with Retry-After
// and RateLimit-* headers describing the cost budget.
func costRefusal(d limit.CostDecision) *httpError {
	retry := limit.RetryAfterSeconds(d.RetryAfter)
	e := newHTTPError(http.StatusTooManyRequests, ion.ERATELIMITED, fmt.Sprintf(
		"Rate limit exceeded: this query costs %d points and %s has %d left (at most %d, restored at %s points per second). Retry after %d second(s), or ask for smaller pages.",
		d.Cost, limit.ScopeCost, d.Remaining, d.Policy.Burst, strconv.FormatFloat(d.Policy.RequestsPerSecond, 'g', -1, 64), retry))
	e.headers = map[string]string{
		"Retry-After":         strconv.Itoa(retry),
		"RateLimit-Limit":     strconv.Itoa(d.Policy.Burst),
		"RateLimit-Remaining": strconv.Itoa(d.Remaining),
		"RateLimit-Reset":     strconv.Itoa(limit.RetryAfterSeconds(d.Reset)),
	}
	e.cost = &costExtension{RequestedQueryCost: d.Cost, ThrottleStatus: throttleOf(d)}
	return e
}

// tooCostly answers a query that costs more than the budget ever holds:
// no wait helps, so it is QUERY_TOO_COMPLEX rather than RATE_LIMITED.
func tooCostly(d limit.CostDecision) *gqlerror.Error {
	return codedError(ion.EQUERYTOOCOMPLEX,
		"This query costs %d points; %s holds at most %d. Ask for smaller pages (first/last) or fewer nested lists.",
		d.Cost, limit.ScopeCost, d.Policy.Burst)
}
