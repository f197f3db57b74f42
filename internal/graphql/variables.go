package graphql

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// enumVariables is an executor extension that rewrites enum values in
// variables to the schema's spelling before the executor coerces them:
// ION's docs send "todo", "complete" and "part" where the schema says TODO,
// COMPLETE and PART, and ION accepted any case. The GraphQL spec wants exact
// names; this deviation is emulated on purpose.
type enumVariables struct {
	schema *ast.Schema
	// docs is the executor's cache of parsed, validated documents: a
	// repeated operation is not parsed again here.
	docs graphql.Cache[*ast.QueryDocument]
}

var _ interface {
	graphql.OperationParameterMutator
	graphql.HandlerExtension
} = enumVariables{}

func (enumVariables) ExtensionName() string                          { return "EnumVariables" }
func (enumVariables) Validate(schema graphql.ExecutableSchema) error { return nil }

func (e enumVariables) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	if params.Query == "" || len(params.Variables) == 0 {
		return nil
	}
	doc, ok := e.docs.Get(ctx, params.Query)
	if !ok {
		var err error
		if doc, err = parser.ParseQuery(&ast.Source{Input: params.Query}); err != nil {
			return nil // the executor reports the syntax error
		}
	}
	if op := doc.Operations.ForName(params.OperationName); op != nil {
		normaliseEnumVariables(e.schema, op.VariableDefinitions, params.Variables)
	}
	return nil
}

// normaliseEnumVariables replaces, in vars, every string that stands where a
// variable's type (directly, in a list, or in an input object's fields) is
// an enum, and that matches one of its values in another case, with the
// value's exact name. Anything else is left for the executor to judge.
func normaliseEnumVariables(schema *ast.Schema, defs ast.VariableDefinitionList, vars map[string]any) {
	for _, def := range defs {
		if v, ok := vars[def.Variable]; ok {
			vars[def.Variable] = normaliseEnumValue(schema, def.Type, v, 0)
		}
	}
}

// maxInputNesting bounds the walk; deeper values are left as they are.
const maxInputNesting = 32

func normaliseEnumValue(schema *ast.Schema, t *ast.Type, v any, depth int) any {
	if v == nil || depth > maxInputNesting {
		return v
	}
	if t.Elem != nil {
		if list, ok := v.([]any); ok {
			for i := range list {
				list[i] = normaliseEnumValue(schema, t.Elem, list[i], depth+1)
			}
			return list
		}
		// A single value stands for a one-item list (input coercion).
		return normaliseEnumValue(schema, t.Elem, v, depth+1)
	}
	def := schema.Types[t.NamedType]
	if def == nil {
		return v
	}
	switch def.Kind {
	case ast.Enum:
		if s, ok := v.(string); ok {
			for _, ev := range def.EnumValues {
				if strings.EqualFold(ev.Name, s) {
					return ev.Name
				}
			}
		}
	case ast.InputObject:
		if obj, ok := v.(map[string]any); ok {
			for _, f := range def.Fields {
				if fv, ok := obj[f.Name]; ok {
					obj[f.Name] = normaliseEnumValue(schema, f.Type, fv, depth+1)
				}
			}
		}
	}
	return v
}
