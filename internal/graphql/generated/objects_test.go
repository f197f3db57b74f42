package generated

import (
	"bytes"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestObjectOf: an object writes what gqlgen's FieldSet writes, for plain
// aliases, a repeated alias and an alias gqlgen would escape.
func TestObjectOf(t *testing.T) {
	t.Parallel()
	for _, aliases := range [][]string{
		{},
		{"id"},
		{"id", "partNumber", "_etag", "q2"},
		{"id", "name", "id"},
		{"id", `we"ird`},
	} {
		fields := make([]graphql.CollectedField, len(aliases))
		for i, a := range aliases {
			fields[i] = graphql.CollectedField{Field: &ast.Field{Alias: a, Name: "f"}}
		}
		out := graphql.NewFieldSet(fields)
		for i := range out.Values {
			out.Values[i] = graphql.MarshalInt(i)
		}
		var want, got bytes.Buffer
		out.MarshalGQL(&want)
		objectOf(fields, out).MarshalGQL(&got)
		if got.String() != want.String() {
			t.Errorf("aliases %q: got %s, want %s", aliases, got.String(), want.String())
		}
	}
}
