package graphql

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/ionbox/ionbox/internal/graphql/model"
	"github.com/ionbox/ionbox/ion"
)

// cursorPrefix is Graphene's offset cursor: a cursor is
// base64("arrayconnection:" + N) for the item at 0-based offset N. ION's
// cursors look exactly like this ("YXJyYXljb25uZWN0aW9uOjE5" is offset 19),
// and clients that store them keep working.
const cursorPrefix = "arrayconnection:"

func offsetCursor(offset int) string {
	return base64.StdEncoding.EncodeToString([]byte(cursorPrefix + strconv.Itoa(offset)))
}

// cursorOffset decodes a cursor; arg names the argument in the error.
func cursorOffset(arg, cursor string) (int, error) {
	bad := ion.Invalid(arg, "%q is not a valid cursor; pass a cursor taken from edges.cursor or pageInfo of an earlier page.", truncate(cursor, 60))
	var raw []byte
	var err error
	// Graphene pads its base64; unpadded and URL-safe forms are accepted too
	// because clients sometimes strip "=" when they put cursors in URLs.
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(cursor); err == nil {
			break
		}
	}
	if err != nil || !strings.HasPrefix(string(raw), cursorPrefix) {
		return 0, bad
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(raw), cursorPrefix))
	if err != nil || n < 0 {
		return 0, bad
	}
	return n, nil
}

// pageArgs are a connection field's Relay arguments.
type pageArgs struct {
	first, last   *int
	after, before *string
}

// window is where a page lies in the whole list, computed with Relay's
// connectionFromArraySlice algorithm as Graphene implements it.
type window struct {
	start, end   int // the page is items [start, end)
	first, last  *int
	afterOffset  int // -1 without after
	beforeOffset int // total without before
	hasBefore    bool
}

// parse checks the arguments: negative sizes are a VALIDATION_ERROR, sizes
// over maxPage a PAGE_SIZE_TOO_LARGE, malformed cursors a VALIDATION_ERROR
// naming the argument. Without first and last the page is the first maxPage
// items, as Graphene does with a connection max_limit, so hasNextPage tells
// a client that more exist.
func (p pageArgs) parse(maxPage int) (window, error) {
	w := window{afterOffset: -1, first: p.first, last: p.last}
	for _, s := range []struct {
		name string
		v    *int
	}{{"first", p.first}, {"last", p.last}} {
		if s.v == nil {
			continue
		}
		if *s.v < 0 {
			return w, ion.Invalid(s.name, "must not be negative (got %d).", *s.v)
		}
		if *s.v > maxPage {
			return w, pageTooLarge(s.name, *s.v, maxPage)
		}
	}
	if p.first == nil && p.last == nil {
		n := maxPage
		w.first = &n
	}
	if p.after != nil && *p.after != "" {
		n, err := cursorOffset("after", *p.after)
		if err != nil {
			return w, err
		}
		w.afterOffset = n
	}
	if p.before != nil && *p.before != "" {
		n, err := cursorOffset("before", *p.before)
		if err != nil {
			return w, err
		}
		w.beforeOffset, w.hasBefore = n, true
	}
	return w, nil
}

func pageTooLarge(arg string, got, maxPage int) error {
	return &ion.Error{Code: ion.EPAGETOOLARGE, Message: pageTooLargeMessage(arg, int64(got), maxPage)}
}

func pageTooLargeMessage(arg string, got int64, maxPage int) string {
	return fmt.Sprintf("%s: %d is over the page size limit of %d items; page through the list with first/after.", arg, got, maxPage)
}

// bounds computes [start, end) for a list of total items.
func (w *window) bounds(total int) {
	before := total
	if w.hasBefore {
		before = w.beforeOffset
	}
	w.beforeOffset = before
	w.start = max(w.afterOffset, -1) + 1
	w.end = min(total, before)
	if w.first != nil {
		w.end = min(w.end, w.start+*w.first)
	}
	if w.last != nil {
		w.start = max(w.start, w.end-*w.last)
	}
}

// lister reads one window of a filtered, sorted list.
type lister[T any] func(ctx context.Context, opts ion.ListOptions) (ion.Page[T], error)

// paginate answers a connection: it reads the page that the Relay arguments
// select with one store call (two when last is given, which needs the total
// first) and builds edges and pageInfo. The store reads the fields the
// operation selects on T (see fields.go), and counts the whole list only
// when the connection selects what needs the count.
func paginate[T any](ctx context.Context, list lister[T], p pageArgs, maxPage int, filters []ion.Filter, sort []ion.SortKey) (*model.Connection[T], error) {
	read := ion.ListOptions{Filters: filters, Sort: sort, SkipTotal: !selectsTotal(ctx)}
	if st, err := stateFrom(ctx); err == nil {
		read.Fields = fieldsOf[T](st)
	}
	return paginateWith(ctx, list, p, maxPage, read)
}

// paginateWith is paginate reading with read's filters, sort, fields and
// SkipTotal (which it ignores for last, which needs the count).
func paginateWith[T any](ctx context.Context, list lister[T], p pageArgs, maxPage int, read ion.ListOptions) (*model.Connection[T], error) {
	w, err := p.parse(maxPage)
	if err != nil {
		return nil, err
	}
	opts := read
	var page ion.Page[T]
	if w.last == nil {
		// The page starts at the after offset whatever the total is, so one
		// call reads it and the total together.
		w.start = w.afterOffset + 1
		limit := *w.first
		if w.hasBefore {
			limit = min(limit, w.beforeOffset-w.start)
		}
		opts.Offset, opts.Limit = w.start, max(limit, 0)
		if page, err = list(ctx, opts); err != nil {
			return nil, err
		}
		if opts.SkipTotal {
			// Nothing selected needs the count: as far as the page goes,
			// the list ends where the page does.
			page.TotalCount = w.start + len(page.Items)
		}
		w.bounds(page.TotalCount)
		if n := max(w.end-w.start, 0); len(page.Items) > n {
			page.Items = page.Items[:n]
		}
	} else {
		// last counts back from the end of the window, which needs the total.
		opts.Limit, opts.SkipTotal = 0, false
		count, err := list(ctx, opts)
		if err != nil {
			return nil, err
		}
		w.bounds(count.TotalCount)
		page.TotalCount = count.TotalCount
		if w.end > w.start {
			opts.Offset, opts.Limit = w.start, w.end-w.start
			if page, err = list(ctx, opts); err != nil {
				return nil, err
			}
		}
	}
	recordPage(ctx, len(page.Items)) // for the actual cost (cost.go)
	return connectionOf(page, w), nil
}

func connectionOf[T any](page ion.Page[T], w window) *model.Connection[T] {
	edges := make([]*model.Edge[T], len(page.Items))
	for i := range page.Items {
		edges[i] = &model.Edge[T]{Node: &page.Items[i], Cursor: offsetCursor(w.start + i)}
	}
	info := &model.PageInfo{TotalCount: page.TotalCount, Count: len(edges)}
	if len(edges) > 0 {
		info.StartCursor = &edges[0].Cursor
		info.EndCursor = &edges[len(edges)-1].Cursor
	}
	lower := 0
	if w.afterOffset >= 0 {
		lower = w.afterOffset + 1
	}
	// As in Relay's reference algorithm, hasPreviousPage is only computed
	// when paging backwards (last) and hasNextPage only forwards (first,
	// explicit or the implicit page-size cap).
	info.HasPreviousPage = w.last != nil && w.start > lower
	info.HasNextPage = w.first != nil && w.end < w.beforeOffset
	return &model.Connection[T]{Edges: edges, PageInfo: info, TotalCount: page.TotalCount}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
