package graphql

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
)

// TestEveryFilterAndSortIsServed asks each connection for every sort value
// and every filter field the schema offers, so that the schema never
// promises what the store cannot do.
func TestEveryFilterAndSortIsServed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	schema := testSchema(t)
	var failures []string
	for _, f := range schema.Query.Fields {
		if !strings.HasSuffix(f.Type.Name(), "Connection") {
			continue
		}
		sortEnum := schema.Types[f.Arguments.ForName("sort").Type.Name()]
		for _, v := range sortEnum.EnumValues {
			q := fmt.Sprintf(`{ %s(first: 1, sort: [%s]) { totalCount } }`, f.Name, v.Name)
			if r := b.post(q, nil); r.code() != "" {
				failures = append(failures, fmt.Sprintf("%s sort %s: %s", f.Name, v.Name, r.Errors[0].Message))
			}
		}
		filters := schema.Types[f.Arguments.ForName("filters").Type.Name()]
		for _, field := range filters.Fields {
			q := fmt.Sprintf(`{ %s(first: 1, filters: {%s: {isNull: false}}) { totalCount } }`, f.Name, field.Name)
			if r := b.post(q, nil); r.code() != "" {
				failures = append(failures, fmt.Sprintf("%s filter %s: %s", f.Name, field.Name, r.Errors[0].Message))
			}
			if op := sampleEq(schema, field); op != "" {
				q := fmt.Sprintf(`{ %s(first: 1, filters: {%s: {eq: %s}}) { totalCount } }`, f.Name, field.Name, op)
				if r := b.post(q, nil); r.code() != "" {
					failures = append(failures, fmt.Sprintf("%s filter %s eq %s: %s", f.Name, field.Name, op, r.Errors[0].Message))
				}
			}
		}
	}
	slices.Sort(failures)
	for _, f := range failures {
		t.Error(f)
	}
}

// sampleEq is a literal of the filter field's value type.
func sampleEq(schema *ast.Schema, field *ast.FieldDefinition) string {
	switch field.Type.Name() {
	case "IDFilterInput", "IntFilterInput", "FloatFilterInput":
		return "1"
	case "StringFilterInput", "EnumFilterInput":
		return `"X"`
	case "BooleanFilterInput":
		return "true"
	case "DateTimeFilterInput":
		return `"2026-04-20T10:00:00Z"`
	}
	return ""
}
