package generated

// This file is written by hand; gqlgen writes only generated.go here.

import (
	"context"
	"math"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// gqlgen resolves every field of every object through graphql.ResolveField:
// a field context, a context value holding it, the field middleware chain
// and three closures, even for a field that only reads a struct field
// (obj.PartNumber). For a page of 50 parts with their inventory those were
// most of the executor's allocations. generated.go therefore first offers
// such fields to marshalPlain (`go generate` rewrites them, see
// ../internal/plainfields), which marshals the value at once when nothing
// can go wrong with it.

type plainFieldsKey struct{}

// WithPlainFields returns ctx for an operation whose executor has no field
// middleware (no AroundFields, no FieldInterceptor extension): only then may
// struct fields skip graphql.ResolveField, since it is what runs the
// middleware. Without it every field is resolved as gqlgen does.
func WithPlainFields(ctx context.Context) context.Context {
	return context.WithValue(ctx, plainFieldsKey{}, true)
}

// marshalPlain marshals v, the value of a field that only reads a struct
// field, with marshal (the field's generated marshal function), when the
// operation allows it (WithPlainFields) and v marshals without an error (a
// string, boolean or integer, a finite number, or null in a nullable
// field): what graphql.ResolveField would answer, without its field
// context, which only an error would read. ok is false otherwise, and the
// caller resolves the field with graphql.ResolveField.
func marshalPlain[T any](ctx context.Context, field graphql.CollectedField, v T, nonNull bool,
	marshal func(ctx context.Context, sel ast.SelectionSet, v T) graphql.Marshaler) (m graphql.Marshaler, ok bool) {
	if allowed, _ := ctx.Value(plainFieldsKey{}).(bool); !allowed || !marshalsCleanly(v, nonNull) {
		return nil, false
	}
	return marshal(ctx, field.Selections, v), true
}

// marshalsCleanly reports whether v, the value of a field (non-null or
// not), marshals without adding an error: those are the only marshals that
// read the field context.
func marshalsCleanly(v any, nonNull bool) bool {
	switch x := v.(type) {
	case string, bool, int64, int32, int:
		return true
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0)
	case *string:
		return x != nil || !nonNull
	case *bool:
		return x != nil || !nonNull
	case *int64:
		return x != nil || !nonNull
	case *int:
		return x != nil || !nonNull
	case *float64:
		if x == nil {
			return !nonNull
		}
		return !math.IsNaN(*x) && !math.IsInf(*x, 0)
	}
	return false
}
