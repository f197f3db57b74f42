package generated

// This file is written by hand; gqlgen writes only generated.go here.

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
)

// newDeferredGroup is graphql.NewDeferredGroup for an object whose fields
// are fields. generated.go calls it instead (`go generate` rewrites the
// calls, see ../internal/lazydefer): gqlgen makes a group, with the
// object's path, for every object it marshals, but reads the group only
// for fields under @defer. Without such a field the group stays empty and
// is never processed, so an empty one does, and costs nothing.
func newDeferredGroup(ctx context.Context, fields []graphql.CollectedField) graphql.DeferredGroup {
	for _, f := range fields {
		if f.IsDeferred() {
			return graphql.NewDeferredGroup(ctx)
		}
	}
	return graphql.DeferredGroup{Context: ctx}
}
