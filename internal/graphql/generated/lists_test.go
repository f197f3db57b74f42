package generated

import (
	"bytes"
	"context"
	"io"
	"slices"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

type fixedOrder bool

func (o fixedOrder) InOrder(context.Context) bool { return bool(o) }

// TestMarshalList: in order or not, marshalList answers what
// graphql.MarshalSliceConcurrently answers, an element that panics included;
// in order, the elements run one after another in the caller.
func TestMarshalList(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		order   ListOrder // nil: none in the context
		inOrder bool
	}{
		{"no ListOrder", nil, false},
		{"concurrently", fixedOrder(false), false},
		{"in order", fixedOrder(true), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			oc := &graphql.OperationContext{RecoverFunc: func(ctx context.Context, err any) error { return graphql.DefaultRecover(ctx, err) }}
			ctx := graphql.WithResponseContext(graphql.WithOperationContext(context.Background(), oc), graphql.DefaultErrorPresenter, graphql.DefaultRecover)
			ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: "list"}}})
			if tc.order != nil {
				ctx = WithListOrder(ctx, tc.order)
			}
			var ran []int // appended without a lock: -race flags it unless in order
			out := marshalList(ctx, 4, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
				if tc.inOrder {
					ran = append(ran, i)
				}
				if *graphql.GetFieldContext(ctx).Index != i {
					t.Errorf("element %d has index %d", i, *graphql.GetFieldContext(ctx).Index)
				}
				if i == 2 {
					panic("element 2")
				}
				return graphql.MarshalInt(i)
			})
			var buf bytes.Buffer
			out.MarshalGQL(io.Writer(&buf))
			if got := buf.String(); got != "[0,1,null,3]" {
				t.Errorf("marshaled %s, want [0,1,null,3]", got)
			}
			if errs := graphql.GetErrors(ctx); len(errs) != 1 || errs[0].Path.String() != "list[2]" {
				t.Errorf("errors %v, want one at list[2]", errs)
			}
			if tc.inOrder && !slices.Equal(ran, []int{0, 1, 2, 3}) {
				t.Errorf("ran %v, want [0 1 2 3]", ran)
			}
		})
	}
}
