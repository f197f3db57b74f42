package sqlcol

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unsafe"
)

// Scanner is what a store's scan function reads a row from: a *sql.Row,
// *sql.Rows or pgx.Rows.
type Scanner interface{ Scan(dest ...any) error }

// A Projection reads some of the columns of an entity's select list instead
// of all of them (ion.ListOptions.Fields).
//
// It needs nothing from the entity but what the store already has: its
// select list and its scan function. Which field of the object each column
// fills is learned once, by running the scan function on a scanner that only
// records where the destinations point: the id column's destination tells
// where the object lies, and every other destination's offset from it names
// the field (Scan wrappers such as JSONList and Micros are looked through).
// A column whose destination is not a field of the object is always read.
type Projection[T any] struct {
	all     string         // the whole select list
	columns []string       // the select list, one expression each
	byName  map[string]int // normalized field name -> column
	always  []bool         // read whatever is asked: the id, and unnamed columns
	// direct[i], when not nil, makes column i's destination in an object
	// at base without the scan function: a pointer to a field of a plain
	// type (see directDest).
	direct []func(base unsafe.Pointer) any
}

// NewProjection learns which field each column of the select list columns
// fills, from scan. The first column must be the id: it is always read.
func NewProjection[T any](columns string, scan func(Scanner) (T, error)) (*Projection[T], error) {
	p := &Projection[T]{all: columns, columns: splitColumns(columns), byName: map[string]int{}}
	p.always = make([]bool, len(p.columns))
	rec := &recorder{}
	if _, err := scan(rec); err != nil {
		return nil, err
	}
	if len(rec.dest) != len(p.columns) {
		return nil, fmt.Errorf("sqlcol: %d columns in %q but %d scan destinations", len(p.columns), columns, len(rec.dest))
	}
	fields := leafFields(reflect.TypeFor[T](), 0, nil)
	id, ok := fields["id"]
	if !ok || !strings.HasSuffix(p.columns[0], ".id") {
		return nil, fmt.Errorf("sqlcol: %T has no id field first in %q", *new(T), columns)
	}
	idAddr, ok := target(rec.dest[0])
	if !ok {
		return nil, fmt.Errorf("sqlcol: the id column of %T is not scanned into a field", *new(T))
	}
	base := idAddr - id.offset
	byOffset := map[uintptr]string{}
	for name, f := range fields {
		byOffset[f.offset] = name
	}
	p.always[0] = true
	p.byName["id"] = 0
	p.direct = make([]func(unsafe.Pointer) any, len(p.columns))
	p.direct[0] = directDest(rec.dest[0], id.offset)
	for i, d := range rec.dest[1:] {
		addr, ok := target(d)
		name, known := byOffset[addr-base]
		if !ok || addr < base || !known {
			p.always[i+1] = true
			continue
		}
		p.byName[name] = i + 1
		p.direct[i+1] = directDest(d, addr-base)
	}
	return p, nil
}

// directDest returns what makes a destination like d (a pointer to a field
// at offset off) for another object, when d is a plain pointer of a type
// database/sql scans into itself; else nil.
func directDest(d any, off uintptr) func(base unsafe.Pointer) any {
	switch d.(type) {
	case *string:
		return func(b unsafe.Pointer) any { return (*string)(unsafe.Add(b, off)) }
	case **string:
		return func(b unsafe.Pointer) any { return (**string)(unsafe.Add(b, off)) }
	case *int64:
		return func(b unsafe.Pointer) any { return (*int64)(unsafe.Add(b, off)) }
	case **int64:
		return func(b unsafe.Pointer) any { return (**int64)(unsafe.Add(b, off)) }
	case *float64:
		return func(b unsafe.Pointer) any { return (*float64)(unsafe.Add(b, off)) }
	case **float64:
		return func(b unsafe.Pointer) any { return (**float64)(unsafe.Add(b, off)) }
	case *bool:
		return func(b unsafe.Pointer) any { return (*bool)(unsafe.Add(b, off)) }
	}
	return nil
}

// Direct returns, for the columns cols that Select chose, a function that
// scans a row into *dst without the entity's scan function (which makes a
// destination for every column of the full list), or nil when a column's
// destination is not a plain pointer (a JSON list, a time) or cols is nil.
func (p *Projection[T]) Direct(cols []int) func(row Scanner, dst *T, buf []any) error {
	if cols == nil {
		return nil
	}
	for _, i := range cols {
		if p.direct[i] == nil {
			return nil
		}
	}
	return func(row Scanner, dst *T, buf []any) error {
		base := unsafe.Pointer(dst)
		for k, i := range cols {
			buf[k] = p.direct[i](base)
		}
		return row.Scan(buf[:len(cols)]...)
	}
}

// MustProjection is NewProjection for a store's fixed entities: a select
// list that does not match its scan function is a bug.
func MustProjection[T any](columns string, scan func(Scanner) (T, error)) *Projection[T] {
	p, err := NewProjection(columns, scan)
	if err != nil {
		panic(err)
	}
	return p
}

// Select returns the select list that reads fields (and the id) and the
// indexes of its columns in the full list, in order. When fields is nil or
// names a field that is not a column of the list, it returns the full list
// and nil.
func (p *Projection[T]) Select(fields []string) (list string, cols []int) {
	if fields == nil {
		return p.all, nil
	}
	want := make([]bool, len(p.columns))
	copy(want, p.always)
	for _, f := range fields {
		i, ok := p.byName[NormalizeField(f)]
		if !ok {
			return p.all, nil
		}
		want[i] = true
	}
	var exprs []string
	for i, w := range want {
		if w {
			exprs = append(exprs, p.columns[i])
			cols = append(cols, i)
		}
	}
	return strings.Join(exprs, ", "), cols
}

// Columns returns the select list's expressions.
func (p *Projection[T]) Columns() []string { return slices.Clone(p.columns) }

// Fields returns the field names the projection can select, normalized.
func (p *Projection[T]) Fields() []string {
	out := make([]string, 0, len(p.byName))
	for name := range p.byName {
		out = append(out, name)
	}
	return out
}

// Scanner returns the scanner that scan functions use on a row read with
// the select list of Select (cols is what Select returned): it hands each
// selected column to the destination of that column in the full list and
// leaves the other destinations alone.
func (p *Projection[T]) Scanner(row Scanner, cols []int) Scanner {
	if cols == nil {
		return row
	}
	return projected{row: row, cols: cols}
}

type projected struct {
	row  Scanner
	cols []int
}

func (s projected) Scan(dest ...any) error {
	sub := make([]any, len(s.cols))
	for k, i := range s.cols {
		sub[k] = dest[i]
	}
	return s.row.Scan(sub...)
}

// NormalizeField lets "partNumber", "PartNumber", "_etag" and "part_number"
// name the same field.
func NormalizeField(name string) string {
	return strings.ToLower(strings.ReplaceAll(name, "_", ""))
}

// recorder is a Scanner that keeps the destinations and fills none.
type recorder struct{ dest []any }

func (r *recorder) Scan(dest ...any) error {
	r.dest = dest
	return nil
}

// target returns the address a scan destination writes to: the pointer
// itself, or the pointer a Scan wrapper (a struct whose first pointer field
// is where it writes, as JSONList and Micros) holds.
func target(d any) (uintptr, bool) {
	v := reflect.ValueOf(d)
	if v.Kind() == reflect.Pointer {
		return v.Pointer(), true
	}
	if v.Kind() == reflect.Struct {
		for i := range v.NumField() {
			f := v.Field(i)
			if f.Kind() == reflect.Interface {
				f = f.Elem()
			}
			if f.Kind() == reflect.Pointer {
				return f.Pointer(), true
			}
		}
	}
	return 0, false
}

type leafField struct{ offset uintptr }

// leafFields returns the fields of t by normalized name, with their offsets
// from the start of t; fields of embedded structs (ion.Meta) are promoted.
func leafFields(t reflect.Type, offset uintptr, out map[string]leafField) map[string]leafField {
	if out == nil {
		out = map[string]leafField{}
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			leafFields(f.Type, offset+f.Offset, out)
			continue
		}
		out[NormalizeField(f.Name)] = leafField{offset: offset + f.Offset}
	}
	return out
}

// splitColumns splits a select list at its top-level commas (not those in
// parentheses or quotes).
func splitColumns(list string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i, c := range list {
		switch {
		case c == '\'':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(list[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(list[start:]))
}
