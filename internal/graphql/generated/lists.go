package generated

// This file is written by hand; gqlgen writes only generated.go here.

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
)

// gqlgen marshals every element of a list of objects in a goroutine of its
// own, so that the resolvers below the elements can wait for a dataloader
// batch together. When nothing below a list can wait, those goroutines are
// pure cost: for a page of 50 parts with their inventory they (their
// creation, stack growth, scheduling and stack scans) took a quarter of the
// server's CPU. generated.go therefore calls marshalList instead of
// graphql.MarshalSliceConcurrently (`go generate` rewrites the calls, see
// ../generate.go), and marshalList asks the operation's ListOrder whether
// the list may be marshaled element after element.

// ListOrder decides how the elements of a list are marshaled.
type ListOrder interface {
	// InOrder reports whether the elements of the list that ctx's field
	// resolved to may be marshaled one after another in the calling
	// goroutine: true only if nothing below them can block waiting for
	// their siblings (a dataloader batch).
	InOrder(ctx context.Context) bool
}

type listOrderKey struct{}

// WithListOrder returns ctx with the ListOrder of an operation. Without one,
// every list is marshaled as gqlgen does.
func WithListOrder(ctx context.Context, o ListOrder) context.Context {
	return context.WithValue(ctx, listOrderKey{}, o)
}

// marshalList has the signature of graphql.MarshalSliceConcurrently and its
// results: element i's Marshaler at i, Null for an element that panicked.
func marshalList(ctx context.Context, length int, workerLimit int64, omitPanicHandler bool, marshalElement func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
	if length > 1 {
		if o, ok := ctx.Value(listOrderKey{}).(ListOrder); ok && o.InOrder(ctx) {
			return marshalInOrder(ctx, length, omitPanicHandler, marshalElement)
		}
	}
	return graphql.MarshalSliceConcurrently(ctx, length, workerLimit, omitPanicHandler, marshalElement)
}

// marshalInOrder is MarshalSliceConcurrently's one-element path applied to
// each element in turn.
func marshalInOrder(ctx context.Context, length int, omitPanicHandler bool, marshalElement func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
	ret := make(graphql.Array, length)
	for i := range length {
		childCtx := graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
		if omitPanicHandler {
			ret[i] = marshalElement(childCtx, i)
			continue
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					graphql.AddError(childCtx, graphql.Recover(childCtx, r))
					ret[i] = graphql.Null
				}
			}()
			ret[i] = marshalElement(childCtx, i)
		}()
	}
	return ret
}
