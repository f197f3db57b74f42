package graphql

import (
	"context"
	"slices"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/ionbox/ionbox/internal/graphql/generated"
)

var _ generated.ListOrder = (*requestState)(nil)

// InOrder reports whether the elements of the list that ctx's field resolved
// to may be marshaled one after another (see generated/lists.go): whether
// nothing below them can wait for a loader's batch of their siblings.
// That holds when the query selects no resolver field below the list, or
// when the list lies below a field (a connection, part(id) …) below which
// everything was read ahead (see readAhead in prefetch.go).
func (st *requestState) InOrder(ctx context.Context) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || len(fc.Field.Selections) == 0 {
		return false
	}
	// The answer depends only on what the field selects, which the
	// executor collects once per operation and place in the document: it
	// is worked out once for each.
	key := selectionKey{&fc.Field.Selections[0], len(fc.Field.Selections)}
	st.mu.Lock()
	plain, known := st.plainLists[key]
	readAhead := st.readAhead
	st.mu.Unlock()
	if !known {
		plain = !mayWait(ctx, graphql.GetOperationContext(ctx), fc, 0)
		st.mu.Lock()
		if st.plainLists == nil {
			st.plainLists = map[selectionKey]bool{}
		}
		st.plainLists[key] = plain
		st.mu.Unlock()
	}
	if plain {
		return true
	}
	for a := fc; a != nil && len(readAhead) > 0; a = a.Parent {
		if slices.Contains(readAhead, a) {
			return true
		}
	}
	return false
}

// selectionKey identifies a selection set that the executor collected.
type selectionKey struct {
	first *ast.Selection
	n     int
}

// markReadAhead records that everything below the field of fc that could
// wait has been read ahead.
func (st *requestState) markReadAhead(fc *graphql.FieldContext) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.readAhead = append(st.readAhead, fc)
}
