package graphql

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ionbox/ionbox/ion"
)

// listFanout is what a plain (non-connection) list of objects, such as
// run.steps or part.mbom, is assumed to hold when a query's complexity is
// computed: such lists are not paginated, so their size is unknown up front.
const listFanout = 10

// maxFieldVisits bounds the walk itself: a document whose fragments expand
// to more fields than this is too complex whatever its cost.
const maxFieldVisits = 100_000

// operationLimits is an executor extension that checks an operation against
// the limits after it is parsed and validated and before any resolver runs:
// depth (QUERY_TOO_DEEP), aliases (TOO_MANY_ALIASES), page sizes given as
// literals or variables (PAGE_SIZE_TOO_LARGE, or VALIDATION_ERROR when
// negative) and complexity (QUERY_TOO_COMPLEX).
//
// Complexity: every field costs 1; a connection field multiplies the cost of
// its selection by its page size (first/last, else MaxPageSize); a plain list
// of objects multiplies it by listFanout. Introspection (__schema, __type) is
// exempt from depth, aliases and complexity: gqlparser's
// MaxIntrospectionDepth rule already bounds it, and the standard
// introspection query is deeper than MaxDepth.
type operationLimits struct {
	limits Limits
}

var _ interface {
	graphql.OperationContextMutator
	graphql.HandlerExtension
} = operationLimits{}

func (operationLimits) ExtensionName() string                          { return "OperationLimits" }
func (operationLimits) Validate(schema graphql.ExecutableSchema) error { return nil }

func (o operationLimits) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	return o.check(rc.Operation, rc.Variables)
}

// limitWalk holds the state of one check.
type limitWalk struct {
	limits  Limits
	vars    map[string]any
	aliases int
	depth   int
	visits  int
	err     *gqlerror.Error
}

func (o operationLimits) check(op *ast.OperationDefinition, vars map[string]any) *gqlerror.Error {
	if err := checkStringLengths(op, vars, o.limits.MaxStringLength); err != nil {
		return err
	}
	w := &limitWalk{limits: o.limits, vars: vars}
	cost := w.selections(op.SelectionSet, 1)
	switch {
	case w.err != nil:
		return w.err
	case w.depth > o.limits.MaxDepth:
		return codedError(ion.EQUERYTOODEEP, "Query depth %d is over the limit of %d nested fields. Select fewer nested levels, or split the query in two.", w.depth, o.limits.MaxDepth)
	case w.aliases > o.limits.MaxAliases:
		return codedError(ion.ETOOMANYALIASES, "Query uses %d aliases; the limit is %d. Send several requests (or a batch) instead.", w.aliases, o.limits.MaxAliases)
	case cost > int64(o.limits.MaxComplexity):
		return codedError(ion.EQUERYTOOCOMPLEX, "Query complexity %s is over the limit of %d. Each field costs 1 and lists multiply what they select by their page size (first/last, default %d; nested lists by %d): ask for smaller pages or fewer nested lists.",
			costString(cost), o.limits.MaxComplexity, o.limits.MaxPageSize, listFanout)
	}
	return nil
}

// selections returns the cost of a selection set whose fields are at depth.
func (w *limitWalk) selections(set ast.SelectionSet, depth int) int64 {
	var cost int64
	for _, sel := range set {
		if w.err != nil {
			return cost
		}
		switch sel := sel.(type) {
		case *ast.Field:
			cost = satAdd(cost, w.field(sel, depth))
		case *ast.InlineFragment:
			cost = satAdd(cost, w.selections(sel.SelectionSet, depth))
		case *ast.FragmentSpread:
			if sel.Definition != nil {
				cost = satAdd(cost, w.selections(sel.Definition.SelectionSet, depth))
			}
		}
	}
	return cost
}

func (w *limitWalk) field(f *ast.Field, depth int) int64 {
	if f.Name == "__schema" || f.Name == "__type" {
		return 0
	}
	w.visits++
	if w.visits > maxFieldVisits {
		w.err = codedError(ion.EQUERYTOOCOMPLEX, "Query expands to more than %d fields; the limit of complexity is %d. Use fewer fragments and fields.", maxFieldVisits, w.limits.MaxComplexity)
		return 0
	}
	if f.Alias != "" && f.Alias != f.Name {
		w.aliases++
	}
	w.depth = max(w.depth, depth)
	multiplier := int64(1)
	if size, ok := w.pageSize(f); ok {
		multiplier = int64(size)
	} else if f.Definition != nil && f.Definition.Type.Elem != nil && len(f.SelectionSet) > 0 {
		multiplier = listFanout
	}
	if w.err != nil || len(f.SelectionSet) == 0 {
		return 1
	}
	return satAdd(1, satMul(multiplier, w.selections(f.SelectionSet, depth+1)))
}

// pageSize returns the page size of a connection field (one with first and
// last arguments) and checks first/last against the limit.
func (w *limitWalk) pageSize(f *ast.Field) (int, bool) {
	if f.Definition == nil || f.Definition.Arguments.ForName("first") == nil {
		return 0, false
	}
	size := w.limits.MaxPageSize
	for _, name := range []string{"first", "last"} {
		arg := f.Arguments.ForName(name)
		if arg == nil {
			continue
		}
		v, err := arg.Value.Value(w.vars)
		if err != nil || v == nil {
			continue
		}
		n, ok := intOf(v)
		switch {
		case !ok:
			w.err = codedError(ion.EVALIDATION, "%s: must be a whole number of items (got %v).", name, v)
		case n < 0:
			w.err = codedError(ion.EVALIDATION, "%s: must not be negative (got %d).", name, n)
		case n > int64(w.limits.MaxPageSize):
			w.err = codedError(ion.EPAGETOOLARGE, "%s", pageTooLargeMessage(name, n, w.limits.MaxPageSize))
		default:
			size = min(size, int(n))
		}
		if w.err != nil {
			return 0, true
		}
	}
	return size, true
}

func intOf(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

const costCap = math.MaxInt64 / 4

func satAdd(a, b int64) int64 {
	if a > costCap-b {
		return costCap
	}
	return a + b
}

func satMul(a, b int64) int64 {
	if a != 0 && b > costCap/a {
		return costCap
	}
	return a * b
}

func costString(c int64) string {
	if c >= costCap {
		return "(too large to count)"
	}
	return strconv.FormatInt(c, 10)
}

// checkStringLengths refuses an operation whose variables or argument
// literals hold a string longer than max bytes, naming where it is, so that
// an oversized value is a clear VALIDATION_ERROR before any resolver runs
// rather than a row nobody can display.
func checkStringLengths(op *ast.OperationDefinition, vars map[string]any, max int) *gqlerror.Error {
	tooLong := func(where string, n int) *gqlerror.Error {
		return codedError(ion.EVALIDATION, "%s: the value is %d bytes long; the limit for one value is %d bytes. Shorten it.", where, n, max)
	}
	var walkVar func(where string, v any) *gqlerror.Error
	walkVar = func(where string, v any) *gqlerror.Error {
		switch x := v.(type) {
		case string:
			if len(x) > max {
				return tooLong(where, len(x))
			}
		case map[string]any:
			for k, e := range x {
				if err := walkVar(where+"."+k, e); err != nil {
					return err
				}
			}
		case []any:
			for i, e := range x {
				if err := walkVar(where+"["+strconv.Itoa(i)+"]", e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for name, v := range vars {
		if err := walkVar("$"+name, v); err != nil {
			return err
		}
	}
	var walkValue func(where string, v *ast.Value) *gqlerror.Error
	walkValue = func(where string, v *ast.Value) *gqlerror.Error {
		if v == nil {
			return nil
		}
		if (v.Kind == ast.StringValue || v.Kind == ast.BlockValue) && len(v.Raw) > max {
			return tooLong(where, len(v.Raw))
		}
		for _, c := range v.Children {
			if err := walkValue(where+"."+c.Name, c.Value); err != nil {
				return err
			}
		}
		return nil
	}
	seen := map[string]bool{}
	var walkSet func(set ast.SelectionSet) *gqlerror.Error
	walkSet = func(set ast.SelectionSet) *gqlerror.Error {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				for _, a := range s.Arguments {
					if err := walkValue(s.Name+"("+a.Name+")", a.Value); err != nil {
						return err
					}
				}
				if err := walkSet(s.SelectionSet); err != nil {
					return err
				}
			case *ast.InlineFragment:
				if err := walkSet(s.SelectionSet); err != nil {
					return err
				}
			case *ast.FragmentSpread:
				if s.Definition != nil && !seen[s.Name] {
					seen[s.Name] = true
					if err := walkSet(s.Definition.SelectionSet); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	return walkSet(op.SelectionSet)
}
