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
// and the resolver closure, even for a field that only reads a struct field
// (obj.PartNumber). For a page of 50 parts with their inventory those were
// most of the executor's allocations. generated.go therefore resolves such
// fields with resolvePlainField (`go generate` rewrites the calls, see
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

// resolvePlainField takes graphql.ResolveField's arguments, for a field
// whose resolver only returns a struct field. When the operation allows it
// (WithPlainFields) and the value is one that marshals without an error (a
// string, boolean or integer, a finite number, or null for a nullable
// field), it marshals the value directly: what ResolveField would answer,
// without its field context, which only an error would read. Anything else
// goes through graphql.ResolveField.
func resolvePlainField[T any](
	ctx context.Context,
	oc *graphql.OperationContext,
	field graphql.CollectedField,
	initializeFieldContext func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error),
	fieldResolver func(ctx context.Context) (any, error),
	middlewareChain func(ctx context.Context, next graphql.Resolver) graphql.Resolver,
	marshal func(ctx context.Context, sel ast.SelectionSet, v T) graphql.Marshaler,
	recoverFromPanic bool,
	nonNull bool,
) graphql.Marshaler {
	if allowed, _ := ctx.Value(plainFieldsKey{}).(bool); allowed && middlewareChain == nil {
		if res, err := fieldResolver(ctx); err == nil {
			if v, ok := res.(T); ok && marshalsCleanly(res, nonNull) {
				return marshal(ctx, field.Selections, v)
			}
		}
	}
	return graphql.ResolveField(ctx, oc, field, initializeFieldContext, fieldResolver, middlewareChain, marshal, recoverFromPanic, nonNull)
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
