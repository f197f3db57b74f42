package graphql

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/ionbox/ionbox/internal/graphql/generated"
)

// Which fields of its objects a list reads (ion.ListOptions.Fields).
//
// A page of parts that shows four fields need not read twenty columns. So
// the lists of an operation read, for each object type, the fields that the
// operation selects on that type anywhere (and what the resolver fields
// among them read of their object). Anywhere, not only below the list at
// hand: the loaders cache objects for the whole operation, and an object one
// list read is what every other field of the operation that loads it gets.
//
// Only the types below are read that way: those whose objects no resolver
// reads for anything but the object's own fields. (An aBOM installation is
// not: installedPartInventories reads the installations' inventory ids
// whatever the query selects on them.) Each lists what its resolver fields
// read of the object, by GraphQL name; the id is always read. A selected
// resolver field missing here reads every field.
var projectedTypes = map[string]map[string][]string{
	"Part": {
		"revisedFrom":     {"revisedFromId"},
		"quantity":        nil,
		"attributes":      {"attributes", "_etag"},
		"mbom":            nil,
		"partsInventory":  nil,
		"partInventories": nil,
		"runs":            nil,
	},
	"PartInventory": {
		"part":              {"partId"},
		"location":          {"locationId"},
		"unitOfMeasure":     {"unitOfMeasureId"},
		"purchaseOrderLine": {"purchaseOrderLineId"},
		"installed":         {"status"},
		"kitted":            {"status"},
		"received":          {"status"},
		"buildRequirements": nil,
		"abomInstallations": nil,
		"runs":              nil,
		"attributes":        {"attributes", "_etag"},
		"createdById":       nil,
	},
	"Location": {
		"entityId":        nil,
		"partInventories": nil,
	},
	"UnitOfMeasurement": {},
}

// resolverFields are the fields of each object type that gqlgen resolves
// with a resolver (by lowercase name), read off generated.ResolverRoot: a
// method Part() PartResolver means type Part, and PartResolver's methods
// are its resolver fields.
var resolverFields = func() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	root := reflect.TypeFor[generated.ResolverRoot]()
	for i := range root.NumMethod() {
		m := root.Method(i)
		if m.Type.NumOut() != 1 || m.Type.Out(0).Kind() != reflect.Interface {
			continue
		}
		fields := map[string]bool{}
		r := m.Type.Out(0)
		for j := range r.NumMethod() {
			fields[strings.ToLower(r.Method(j).Name)] = true
		}
		out[m.Name] = fields
	}
	return out
}()

// operationFields is what an operation selects on each object type.
type operationFields struct {
	once     sync.Once
	selected map[string][]string // type -> field names, without repeats
}

// fieldsOf returns the fields the lists of objects of type T read in the
// operation: nil (every field) for a type not in projectedTypes, or when
// the operation is not known.
func fieldsOf[T any](st *requestState) []string {
	return st.fieldsOfType(reflect.TypeFor[T]().Name())
}

func (st *requestState) fieldsOfType(typ string) []string {
	deps, ok := projectedTypes[typ]
	if !ok || st.op == nil {
		return nil
	}
	st.fields.once.Do(func() { st.fields.selected = selectedFields(st.op) })
	out := []string{}
	for _, name := range st.fields.selected[typ] {
		switch {
		case name == "__typename":
		case resolverFields[typ][strings.ToLower(name)]:
			d, ok := deps[name]
			if !ok {
				return nil
			}
			for _, f := range d {
				if !slices.Contains(out, f) {
					out = append(out, f)
				}
			}
		case !slices.Contains(out, name):
			out = append(out, name)
		}
	}
	return out
}

// selectedFields returns the fields that op selects on each object type,
// through fragments too. Directives (@skip, @include) are not evaluated:
// a field they leave out is read all the same, which costs a column only.
func selectedFields(op *graphql.OperationContext) map[string][]string {
	out := map[string][]string{}
	seen := map[string]map[string]bool{}
	spread := map[string]bool{}
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				if s.ObjectDefinition != nil {
					typ := s.ObjectDefinition.Name
					if seen[typ] == nil {
						seen[typ] = map[string]bool{}
					}
					if !seen[typ][s.Name] {
						seen[typ][s.Name] = true
						out[typ] = append(out[typ], s.Name)
					}
				}
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				// Validation refuses fragment cycles; a fragment spread
				// twice has nothing new the second time.
				if s.Definition != nil && !spread[s.Name] {
					spread[s.Name] = true
					walk(s.Definition.SelectionSet)
				}
			}
		}
	}
	if op != nil && op.Operation != nil {
		walk(op.Operation.SelectionSet)
	}
	return out
}

// selectsTotal reports whether the connection field being resolved selects
// what needs the length of the whole list: totalCount, or pageInfo (whose
// hasNextPage does). Outside a field it answers true.
func selectsTotal(ctx context.Context) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || !graphql.HasOperationContext(ctx) || fc.Field.Definition == nil {
		return true
	}
	for _, f := range collect(graphql.GetOperationContext(ctx), fc.Field) {
		if f.Name == "totalCount" || f.Name == "pageInfo" {
			return true
		}
	}
	return false
}
