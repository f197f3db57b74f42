package generated

import (
	"bytes"
	"context"
	"math"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/google/go-cmp/cmp"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestMarshalPlain: a field resolved as generated.go resolves struct fields
// (marshalPlain, else graphql.ResolveField) answers, with or without
// WithPlainFields, what graphql.ResolveField answers, the errors (and their
// paths) of values that do not marshal cleanly included.
func TestMarshalPlain(t *testing.T) {
	t.Parallel()
	s, nan := "a", math.NaN()
	for _, c := range []struct {
		name    string
		value   any
		nonNull bool
	}{
		{"string", "x", true},
		{"integer", int64(7), true},
		{"number", 1.5, true},
		{"NaN", nan, true},
		{"nullable string", &s, false},
		{"null", (*string)(nil), false},
		{"null in a non-null field", (*string)(nil), true},
		{"null number", (*float64)(nil), false},
		{"NaN pointer", &nan, false},
	} {
		for _, plain := range []bool{false, true} {
			want, wantErrs := resolveWith(c.value, c.nonNull, false, graphql.ResolveField[any])
			got, gotErrs := resolveWith(c.value, c.nonNull, plain, generatedStructField)
			if got != want || !cmp.Equal(gotErrs, wantErrs) {
				t.Errorf("%s (plain %v): got %s %v, want %s %v", c.name, plain, got, gotErrs, want, wantErrs)
			}
		}
	}
}

// generatedStructField resolves a field as generated.go resolves one that
// reads a struct field.
func generatedStructField(ctx context.Context, oc *graphql.OperationContext, field graphql.CollectedField,
	initializeFieldContext func(context.Context, graphql.CollectedField) (*graphql.FieldContext, error), fieldResolver func(context.Context) (any, error),
	middleware func(context.Context, graphql.Resolver) graphql.Resolver, marshal func(context.Context, ast.SelectionSet, any) graphql.Marshaler, recoverFromPanic, nonNull bool) graphql.Marshaler {
	v, _ := fieldResolver(ctx)
	if m, ok := marshalPlain(ctx, field, v, nonNull, marshal); ok {
		return m
	}
	return graphql.ResolveField(ctx, oc, field, initializeFieldContext, fieldResolver, middleware, marshal, recoverFromPanic, nonNull)
}

type resolveFunc func(context.Context, *graphql.OperationContext, graphql.CollectedField,
	func(context.Context, graphql.CollectedField) (*graphql.FieldContext, error), func(context.Context) (any, error),
	func(context.Context, graphql.Resolver) graphql.Resolver, func(context.Context, ast.SelectionSet, any) graphql.Marshaler, bool, bool) graphql.Marshaler

// resolveWith resolves a field of value as the generated code does, with
// the marshaling a generated marshal function of its type does, and returns
// the JSON and the errors' paths and messages.
func resolveWith(value any, nonNull, plain bool, resolve resolveFunc) (string, []string) {
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, graphql.DefaultRecover)
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: "parent"}}})
	if plain {
		ctx = WithPlainFields(ctx)
	}
	oc := &graphql.OperationContext{ResolverMiddleware: func(ctx context.Context, next graphql.Resolver) (any, error) { return next(ctx) }}
	field := graphql.CollectedField{Field: &ast.Field{Alias: "f", Name: "f"}}
	m := resolve(ctx, oc, field,
		func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {
			return graphql.NewScalarFieldContext("T", field, false, false, "Scalar")
		},
		func(context.Context) (any, error) { return value, nil },
		nil,
		func(ctx context.Context, _ ast.SelectionSet, v any) graphql.Marshaler {
			switch x := v.(type) {
			case float64:
				return graphql.WrapContextMarshaler(ctx, graphql.MarshalFloatContext(x))
			case *float64:
				if x == nil {
					return graphql.Null
				}
				return graphql.WrapContextMarshaler(ctx, graphql.MarshalFloatContext(*x))
			case *string:
				if x == nil {
					if nonNull {
						graphql.AddInvalidNullError(ctx, "String!")
					}
					return graphql.Null
				}
				return graphql.MarshalString(*x)
			case string:
				return graphql.MarshalString(x)
			case int64:
				return graphql.MarshalInt64(x)
			}
			return graphql.Null
		},
		true, nonNull)
	var buf bytes.Buffer
	m.MarshalGQL(&buf)
	var errs []string
	for _, e := range graphql.GetErrors(ctx) {
		errs = append(errs, e.Path.String()+": "+e.Message)
	}
	return buf.String(), errs
}
