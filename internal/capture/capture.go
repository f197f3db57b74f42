package capture

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Object is a business object as JSON fields under their GraphQL names
// ("partNumber", "_etag", "upstreamStepIds"). Values are JSON encoded, so
// that two states of an object compare field by field as bytes.
type Object map[string]json.RawMessage

// Of returns v (an ion entity struct, or a pointer to one) as an Object.
// Embedded structs (ion.Meta) are flattened into the object.
func Of(v any) (Object, error) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, nil
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil, fmt.Errorf("capture: %T is not a struct", v)
	}
	obj := Object{}
	if err := addFields(obj, rv); err != nil {
		return nil, err
	}
	return obj, nil
}

func addFields(obj Object, rv reflect.Value) error {
	rt := rv.Type()
	for i := range rt.NumField() {
		f := rt.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			if err := addFields(obj, rv.Field(i)); err != nil {
				return err
			}
			continue
		}
		raw, err := json.Marshal(rv.Field(i).Interface())
		if err != nil {
			return fmt.Errorf("capture: field %s: %w", f.Name, err)
		}
		obj[FieldName(f.Name)] = raw
	}
	return nil
}

// FieldName is the GraphQL name of a Go field of an ion entity: lower camel
// case with the initialisms the schema spells as words ("RevisedFromID" →
// "revisedFromId", "UpstreamStepIDs" → "upstreamStepIds", "OriginMBomItemID"
// → "originMbomItemId"). Etag is "_etag", as ION names it.
func FieldName(goName string) string {
	switch goName {
	case "ID":
		return "id"
	case "Etag":
		return "_etag"
	}
	n := strings.ReplaceAll(goName, "MBom", "Mbom")
	n = strings.ReplaceAll(n, "IDs", "Ids")
	if strings.HasSuffix(n, "ID") {
		n = n[:len(n)-2] + "Id"
	}
	r, size := utf8.DecodeRuneInString(n)
	return string(unicode.ToLower(r)) + n[size:]
}

// Change is the "data" document of an event: the object after the change
// (null after a delete), the old values of the fields that changed (the
// whole object before a delete, null for a create) and the names of the
// changed fields, sorted.
type Change struct {
	New           Object   `json:"new"`
	Old           Object   `json:"old"`
	ChangedFields []string `json:"changed_fields"`
}

// Diff compares two states of one object; either may be nil (created,
// deleted). changed is false when the states are equal.
func Diff(before, after Object) (c Change, changed bool) {
	c.ChangedFields = []string{}
	switch {
	case before == nil && after == nil:
		return c, false
	case before == nil:
		c.New = after
		return c, true
	case after == nil:
		c.Old = before
		return c, true
	}
	c.New = after
	c.Old = Object{}
	for k, v := range after {
		if old, ok := before[k]; !ok || string(old) != string(v) {
			c.Old[k] = before[k]
			if !ok {
				c.Old[k] = json.RawMessage("null")
			}
			c.ChangedFields = append(c.ChangedFields, k)
		}
	}
	slices.Sort(c.ChangedFields)
	return c, len(c.ChangedFields) > 0
}

// Marshal encodes a Change as the event's data.
func (c Change) Marshal() ([]byte, error) {
	return json.Marshal(c)
}
