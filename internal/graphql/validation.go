package graphql

import (
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// inputAliases maps the input type names that ION's newer docs use to the
// vendor names the schema's mutations take. The schema declares each alias
// as an input type with the same fields (a test keeps them equal), so a
// variable declared "$input: RunCreateInput!" is coerced like CreateRunInput;
// the relaxed rule below lets it stand where CreateRunInput! is expected.
var inputAliases = map[string]string{
	"PartCreateInput": "CreatePartInput",
	"RunCreateInput":  "CreateRunInput",
	"RunUpdateInput":  "UpdateRunInput",
}

// sameNamedType says whether a variable of type varType may stand where
// expected is wanted. Beyond equal names it accepts:
//   - Int and ID for each other: published ION clients declare id variables
//     both "$id: ID!" and "$id: Int!", and Graphene accepted both;
//   - an alias input type for its canonical type (inputAliases);
//   - Int, Float or String where Decimal is wanted: quantities arrive as
//     numbers or decimal strings, and the Decimal scalar reads all three.
func sameNamedType(varType, expected string) bool {
	switch {
	case varType == expected:
		return true
	case (varType == "Int" || varType == "ID") && (expected == "Int" || expected == "ID"):
		return true
	case inputAliases[varType] == expected:
		return true
	case expected == "Decimal" && (varType == "Int" || varType == "Float" || varType == "String"):
		return true
	}
	return false
}

// relaxedCompatible is ast.Type.IsCompatible with sameNamedType in place of
// name equality.
func relaxedCompatible(t, other *ast.Type) bool {
	if !sameNamedType(t.NamedType, other.NamedType) {
		return false
	}
	if t.Elem != nil && other.Elem == nil {
		return false
	}
	if t.Elem != nil && !relaxedCompatible(t.Elem, other.Elem) {
		return false
	}
	if other.NonNull {
		return t.NonNull
	}
	return true
}

// relaxedVariablesInAllowedPosition replaces the spec's
// VariablesInAllowedPosition rule (gqlparser's, otherwise unchanged) with one
// that uses relaxedCompatible. This deviates from the GraphQL spec on
// purpose: ION's clients send such queries unchanged and ION accepted them.
var relaxedVariablesInAllowedPosition = core.Rule{
	Name: rules.VariablesInAllowedPositionRule.Name,
	RuleFunc: func(observers *core.Events, addError core.AddErrFunc) {
		observers.OnValue(func(walker *core.Walker, value *ast.Value) {
			if value.Kind != ast.Variable || value.ExpectedType == nil ||
				value.VariableDefinition == nil || walker.CurrentOperation == nil {
				return
			}
			tmp := *value.ExpectedType
			// A variable with a non-null default may fill a non-null position.
			if value.VariableDefinition.DefaultValue != nil &&
				value.VariableDefinition.DefaultValue.Kind != ast.NullValue {
				tmp.NonNull = false
			}
			// So may any variable where the position has a default.
			if value.ExpectedTypeHasDefault {
				tmp.NonNull = false
			}
			if !relaxedCompatible(value.VariableDefinition.Type, &tmp) {
				addError(
					core.Message(`Variable "%s" of type "%s" used in position expecting type "%s".`,
						value, value.VariableDefinition.Type.String(), value.ExpectedType.String()),
					core.At(value.Position),
				)
			}
		})

		observers.OnValue(func(walker *core.Walker, value *ast.Value) {
			if value.Kind != ast.ObjectValue || value.Definition == nil ||
				value.Definition.Directives.ForName("oneOf") == nil {
				return
			}
			for _, child := range value.Children {
				v := child.Value
				if v == nil || v.Kind != ast.Variable || v.VariableDefinition == nil {
					continue
				}
				if !v.VariableDefinition.Type.NonNull {
					addError(
						core.Message(`Variable "%s" is of type "%s" but must be non-nullable to be used for OneOf Input Object "%s".`,
							v, v.VariableDefinition.Type.String(), value.Definition.Name),
						core.At(v.VariableDefinition.Position),
						core.At(v.Position),
					)
				}
			}
		})
	},
}

// validationRules is the spec's rule set with VariablesInAllowedPosition
// relaxed as described above.
func validationRules() *rules.Rules {
	r := rules.NewDefaultRules()
	r.ReplaceRule(relaxedVariablesInAllowedPosition.Name, relaxedVariablesInAllowedPosition.RuleFunc)
	return r
}
