package graphql

import (
	"reflect"
	"strings"
	"time"

	"github.com/ionbox/ionbox/internal/graphql/model"
	"github.com/ionbox/ionbox/ion"
)

var enumFilterType = reflect.TypeFor[model.EnumFilterInput]()

// filtersFrom translates a <Plural>InputFilters value (a generated struct of
// operator objects) into store filters: one ion.Filter per operator given,
// Field the GraphQL field name and Op the operator's name, both read from
// the generated json tags, so new filter fields need no code here. Values of
// EnumFilterInput fields are uppercased, because enum values may arrive in
// any case and are stored uppercase.
func filtersFrom(filters any) []ion.Filter {
	v := reflect.ValueOf(filters)
	if !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return nil
	}
	v = reflect.Indirect(v)
	var out []ion.Filter
	for i := range v.NumField() {
		ops := v.Field(i)
		if ops.IsNil() {
			continue
		}
		field := jsonName(v.Type().Field(i))
		upper := ops.Type().Elem() == enumFilterType
		ops = ops.Elem()
		for j := range ops.NumField() {
			val := ops.Field(j)
			if val.IsNil() {
				continue
			}
			op := jsonName(ops.Type().Field(j))
			if op == ion.OpIsNull {
				// A null-check needs no value of the field's type.
				out = append(out, ion.Filter{Field: field, Op: op, Value: val.Elem().Bool()})
				continue
			}
			if val.Kind() == reflect.Slice {
				list := make([]any, val.Len())
				for k := range val.Len() {
					list[k] = filterValue(val.Index(k), upper)
				}
				out = append(out, ion.Filter{Field: field, Op: op, Value: list})
				continue
			}
			out = append(out, ion.Filter{Field: field, Op: op, Value: filterValue(val.Elem(), upper)})
		}
	}
	return out
}

// filterValue converts a generated value to one of the types ion.Filter
// documents: string, int64, float64, bool or time.Time.
func filterValue(v reflect.Value, upper bool) any {
	switch x := v.Interface().(type) {
	case string:
		if upper {
			return strings.ToUpper(x)
		}
		return x
	case int:
		return int64(x)
	case int64, float64, bool:
		return x
	case time.Time:
		return x.UTC()
	}
	return v.Interface()
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// sortFrom translates sort enum values such as PART_NUMBER_DESC into store
// sort keys (partNumber, descending). CREATED and UPDATED name createdAt and
// updatedAt. Null entries are skipped.
func sortFrom(values []*string) []ion.SortKey {
	var keys []ion.SortKey
	for _, v := range values {
		if v == nil {
			continue
		}
		s := strings.ToUpper(*v)
		key := ion.SortKey{}
		switch {
		case strings.HasSuffix(s, "_DESC"):
			s, key.Desc = strings.TrimSuffix(s, "_DESC"), true
		case strings.HasSuffix(s, "_ASC"):
			s = strings.TrimSuffix(s, "_ASC")
		}
		switch s {
		case "CREATED":
			key.Field = "createdAt"
		case "UPDATED":
			key.Field = "updatedAt"
		default:
			key.Field = lowerCamel(s)
		}
		keys = append(keys, key)
	}
	return keys
}

// lowerCamel turns PART_NUMBER into partNumber.
func lowerCamel(s string) string {
	words := strings.Split(strings.ToLower(s), "_")
	for i := 1; i < len(words); i++ {
		if words[i] != "" {
			words[i] = strings.ToUpper(words[i][:1]) + words[i][1:]
		}
	}
	return strings.Join(words, "")
}
