package graphql

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ionbox/ionbox/ion"
)

// relayReference is graphql-relay's connectionFromArraySlice (what Graphene,
// and so ION, runs) for a whole list of total items: the page is
// [start, end).
func relayReference(total int, first, last, after, before *int) (start, end int, hasPrev, hasNext bool) {
	beforeOffset, afterOffset := total, -1
	if before != nil {
		beforeOffset = *before
	}
	if after != nil {
		afterOffset = *after
	}
	start = max(0, afterOffset+1)
	end = min(total, beforeOffset)
	if first != nil {
		end = min(end, start+*first)
	}
	if last != nil {
		start = max(start, end-*last)
	}
	lower, upper := 0, total
	if after != nil {
		lower = afterOffset + 1
	}
	if before != nil {
		upper = beforeOffset
	}
	return start, end, last != nil && start > lower, first != nil && end < upper
}

// memoryList is a store list of total items whose values are their offsets.
// Like a store, it counts 0 items when asked to skip the count.
func memoryList(total int, calls *int) lister[int] {
	return func(ctx context.Context, opts ion.ListOptions) (ion.Page[int], error) {
		*calls++
		var items []int
		for i := opts.Offset; i < min(total, opts.Offset+opts.Limit); i++ {
			items = append(items, i)
		}
		if opts.SkipTotal {
			return ion.Page[int]{Items: items}, nil
		}
		return ion.Page[int]{Items: items, TotalCount: total}, nil
	}
}

// TestPaginateMatchesRelay compares paginate with the reference algorithm
// for every combination of first, last, after and before over small lists,
// including empty pages and cursors past the end; and without the count
// (when the query selects neither totalCount nor pageInfo), the same edges.
func TestPaginateMatchesRelay(t *testing.T) {
	t.Parallel()
	const maxPage = 4
	opt := func(v int) *int {
		if v < 0 {
			return nil
		}
		return &v
	}
	cursor := func(v *int) *string {
		if v == nil {
			return nil
		}
		return ptr(offsetCursor(*v))
	}
	cases := 0
	for _, skipTotal := range []bool{false, true} {
		for total := 0; total <= 6; total++ {
			for fi := -1; fi <= maxPage; fi++ {
				for li := -1; li <= maxPage; li++ {
					for ai := -1; ai <= 7; ai++ {
						for bi := -1; bi <= 7; bi++ {
							first, last, after, before := opt(fi), opt(li), opt(ai), opt(bi)
							var calls int
							conn, err := paginateWith(t.Context(), memoryList(total, &calls),
								pageArgs{first: first, last: last, after: cursor(after), before: cursor(before)}, maxPage, ion.ListOptions{SkipTotal: skipTotal})
							if err != nil {
								t.Fatalf("total %d first %v last %v after %v before %v: %v", total, fi, li, ai, bi, err)
							}
							refFirst := first
							if first == nil && last == nil {
								refFirst = opt(maxPage) // the implicit page-size cap
							}
							start, end, hasPrev, hasNext := relayReference(total, refFirst, last, after, before)
							var want []string
							for i := start; i < end; i++ {
								want = append(want, offsetCursor(i))
							}
							var got []string
							for i, e := range conn.Edges {
								if *e.Node != start+i {
									t.Fatalf("node %d at edge %d, want %d", *e.Node, i, start+i)
								}
								got = append(got, e.Cursor)
							}
							name := fmt.Sprintf("total %d first %d last %d after %d before %d skipTotal %v", total, fi, li, ai, bi, skipTotal)
							if diff := cmp.Diff(want, got); diff != "" {
								t.Fatalf("%s: cursors (-want +got):\n%s", name, diff)
							}
							pi := conn.PageInfo
							if skipTotal && last == nil {
								// Only the edges count: nothing that needs the
								// total is selected.
								if pi.Count != len(want) {
									t.Fatalf("%s: count %d, want %d", name, pi.Count, len(want))
								}
								cases++
								continue
							}
							if pi.HasPreviousPage != hasPrev || pi.HasNextPage != hasNext || pi.Count != len(want) || pi.TotalCount != total {
								t.Fatalf("%s: pageInfo %+v, want hasPrev %v hasNext %v count %d", name, *pi, hasPrev, hasNext, len(want))
							}
							if len(want) > 0 && (*pi.StartCursor != want[0] || *pi.EndCursor != want[len(want)-1]) {
								t.Fatalf("%s: start/end cursors %s %s", name, *pi.StartCursor, *pi.EndCursor)
							}
							if wantCalls := map[bool]int{false: 1, true: 2}[last != nil]; calls > wantCalls {
								t.Fatalf("%s: %d store calls, want at most %d", name, calls, wantCalls)
							}
							cases++
						}
					}
				}
			}
		}
	}
	t.Logf("%d combinations", cases)
}

func TestCursors(t *testing.T) {
	t.Parallel()
	if got := offsetCursor(19); got != "YXJyYXljb25uZWN0aW9uOjE5" {
		t.Errorf("offsetCursor(19) = %s, want Graphene's YXJyYXljb25uZWN0aW9uOjE5", got)
	}
	for _, c := range []struct {
		cursor string
		want   int
		ok     bool
	}{
		{"YXJyYXljb25uZWN0aW9uOjE5", 19, true},
		{"YXJyYXljb25uZWN0aW9uOjA=", 0, true},
		{"YXJyYXljb25uZWN0aW9uOjA", 0, true}, // unpadded
		{"not base64!", 0, false},
		{"aGVsbG8=", 0, false},                     // "hello"
		{"YXJyYXljb25uZWN0aW9uOi01", 0, false},     // negative
		{"YXJyYXljb25uZWN0aW9uOmFiYw==", 0, false}, // "abc"
		{"", 0, false},
	} {
		got, err := cursorOffset("after", c.cursor)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("cursorOffset(%q) = %d, %v; want %d ok=%v", c.cursor, got, err, c.want, c.ok)
		}
		if err != nil && ion.ErrorCode(err) != ion.EVALIDATION {
			t.Errorf("cursorOffset(%q) code %s", c.cursor, ion.ErrorCode(err))
		}
	}
}

// TestPaginationOverHTTP checks pagination end to end through the store.
func TestPaginationOverHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{limits: Limits{MaxPageSize: 4}})
	for i := 1; i <= 6; i++ {
		if _, err := b.ts.CreateLocation(t.Context(), ion.Location{Name: fmt.Sprintf("L%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	const sel = `edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor totalCount count }`
	c := offsetCursor
	b.run(t, []scenario{{
		name:     "no first or last: the first MaxPageSize items, hasNextPage set",
		query:    `{ locations { ` + sel + ` } }`,
		wantJSON: fmt.Sprintf(`{"locations":{"edges":[{"cursor":%q,"node":{"id":1}},{"cursor":%q,"node":{"id":2}},{"cursor":%q,"node":{"id":3}},{"cursor":%q,"node":{"id":4}}],"pageInfo":{"hasNextPage":true,"hasPreviousPage":false,"startCursor":%q,"endCursor":%q,"totalCount":6,"count":4}}}`, c(0), c(1), c(2), c(3), c(0), c(3)),
	}, {
		name:     "first and after",
		query:    fmt.Sprintf(`{ locations(first: 2, after: %q) { %s } }`, c(3), sel),
		wantJSON: fmt.Sprintf(`{"locations":{"edges":[{"cursor":%q,"node":{"id":5}},{"cursor":%q,"node":{"id":6}}],"pageInfo":{"hasNextPage":false,"hasPreviousPage":false,"startCursor":%q,"endCursor":%q,"totalCount":6,"count":2}}}`, c(4), c(5), c(4), c(5)),
	}, {
		name:     "last without before counts from the end",
		query:    `{ locations(last: 2) { ` + sel + ` } }`,
		wantJSON: fmt.Sprintf(`{"locations":{"edges":[{"cursor":%q,"node":{"id":5}},{"cursor":%q,"node":{"id":6}}],"pageInfo":{"hasNextPage":false,"hasPreviousPage":true,"startCursor":%q,"endCursor":%q,"totalCount":6,"count":2}}}`, c(4), c(5), c(4), c(5)),
	}, {
		name:     "last and before",
		query:    fmt.Sprintf(`{ locations(last: 2, before: %q) { %s } }`, c(2), sel),
		wantJSON: fmt.Sprintf(`{"locations":{"edges":[{"cursor":%q,"node":{"id":1}},{"cursor":%q,"node":{"id":2}}],"pageInfo":{"hasNextPage":false,"hasPreviousPage":false,"startCursor":%q,"endCursor":%q,"totalCount":6,"count":2}}}`, c(0), c(1), c(0), c(1)),
	}, {
		name:     "after the last item: an empty page",
		query:    fmt.Sprintf(`{ locations(first: 2, after: %q) { %s } }`, c(5), sel),
		wantJSON: `{"locations":{"edges":[],"pageInfo":{"hasNextPage":false,"hasPreviousPage":false,"startCursor":null,"endCursor":null,"totalCount":6,"count":0}}}`,
	}, {
		name:     "a cursor far past the end: an empty page",
		query:    fmt.Sprintf(`{ locations(first: 2, after: %q) { %s } }`, c(1000000), sel),
		wantJSON: `{"locations":{"edges":[],"pageInfo":{"hasNextPage":false,"hasPreviousPage":false,"startCursor":null,"endCursor":null,"totalCount":6,"count":0}}}`,
	}, {
		name:     "first: 0",
		query:    `{ locations(first: 0) { ` + sel + ` } }`,
		wantJSON: `{"locations":{"edges":[],"pageInfo":{"hasNextPage":true,"hasPreviousPage":false,"startCursor":null,"endCursor":null,"totalCount":6,"count":0}}}`,
	}, {
		name:     "filtered to nothing",
		query:    `{ locations(filters: {name: {eq: "nope"}}) { ` + sel + ` } }`,
		wantJSON: `{"locations":{"edges":[],"pageInfo":{"hasNextPage":false,"hasPreviousPage":false,"startCursor":null,"endCursor":null,"totalCount":0,"count":0}}}`,
	}, {
		name:        "malformed after",
		query:       `{ locations(first: 2, after: "bogus") { edges { cursor } } }`,
		wantCode:    ion.EVALIDATION,
		wantMessage: "after:",
	}, {
		name:        "malformed before",
		query:       `{ locations(last: 2, before: "YWJj") { edges { cursor } } }`,
		wantCode:    ion.EVALIDATION,
		wantMessage: "before:",
	}, {
		name:        "first over the page size",
		query:       `{ locations(first: 5) { edges { cursor } } }`,
		wantCode:    ion.EPAGETOOLARGE,
		wantMessage: "first: 5 is over the page size limit of 4",
	}, {
		name:        "last over the page size, as a variable",
		query:       `query($n: Int) { locations(last: $n) { edges { cursor } } }`,
		variables:   `{"n": 50}`,
		wantCode:    ion.EPAGETOOLARGE,
		wantMessage: "last: 50 is over the page size limit of 4",
	}, {
		name:        "negative first",
		query:       `{ locations(first: -1) { edges { cursor } } }`,
		wantCode:    ion.EVALIDATION,
		wantMessage: "first: must not be negative",
	}, {
		name:      "sort descending",
		query:     `query($s: [LocationSortEnum]) { locations(first: 2, sort: $s) { edges { node { id name } } } }`,
		variables: `{"s": ["name_desc"]}`,
		wantJSON:  `{"locations":{"edges":[{"node":{"id":6,"name":"L6"}},{"node":{"id":5,"name":"L5"}}]}}`,
	}})
}
