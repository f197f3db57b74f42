package generated

import (
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// TestNewDeferredGroup: without a deferred field the group is empty (and
// so never processed); with one it is graphql.NewDeferredGroup's, ready to
// collect the field.
func TestNewDeferredGroup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plain := []graphql.CollectedField{{}, {}}
	if g := newDeferredGroup(ctx, plain); g.FieldSet != nil || g.Defers != nil || g.Context != ctx {
		t.Errorf("no deferred field: got %+v, want an empty group with the context", g)
	}
	deferred := append(plain, graphql.CollectedField{Deferrables: []*graphql.Deferrable{{Label: "later"}}})
	g := newDeferredGroup(ctx, deferred)
	if g.FieldSet == nil || g.Defers == nil || g.Context != ctx {
		t.Errorf("a deferred field: got %+v, want graphql.NewDeferredGroup's group", g)
	}
}
