package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ionbox/ionbox/internal/sqlcol"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ionbox/ionbox/ion"
)

// valueKind is how a filterable column's values are typed.
type valueKind int

const (
	kindInt valueKind = iota
	kindFloat
	kindText
	kindEnum // text whose values are uppercase; eq/in values are uppercased
	kindBool
	kindTime
)

// column is a filterable, sortable field: an SQL expression over the table
// alias t and the type of its values.
type column struct {
	expr string
	kind valueKind
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// entity describes how one kind of object is read and listed.
type entity[T any] struct {
	kind    string // as in messages: "part"
	plural  string // "parts"
	table   string
	columns string // select list over alias t, in scan order
	fields  map[string]column
	scan    func(sc scanner) (T, error)
	meta    func(T) ion.Meta // nil for objects without an etag

	proj   *sqlcol.Projection[T] // reads the columns ListOptions.Fields asks for
	byName map[string]string     // normalized field name -> field name
	names  []string              // field names, sorted, for messages
}

// newEntity indexes the entity's fields. Every entity can filter and sort
// on id and createdAt, and mutable ones (with meta) on updatedAt.
func newEntity[T any](e entity[T]) *entity[T] {
	e.fields["id"] = column{"t.id", kindInt}
	e.fields["createdAt"] = column{"t.created_at", kindTime}
	if e.meta != nil {
		e.fields["updatedAt"] = column{"t.updated_at", kindTime}
	}
	e.byName = map[string]string{"created": "createdAt"}
	if e.meta != nil {
		e.byName["updated"] = "updatedAt"
	}
	for name := range e.fields {
		e.byName[normalizeField(name)] = name
		e.names = append(e.names, name)
	}
	slices.Sort(e.names)
	e.proj = sqlcol.MustProjection(e.columns, func(sc sqlcol.Scanner) (T, error) { return e.scan(sc) })
	return &e
}

// normalizeField lets "partNumber", "PART_NUMBER" and "part_number" name
// the same field, so that sort enum values map without a table.
func normalizeField(name string) string {
	return strings.ToLower(strings.ReplaceAll(name, "_", ""))
}

func (e *entity[T]) field(name string) (column, bool) {
	n, ok := e.byName[normalizeField(name)]
	if !ok {
		return column{}, false
	}
	return e.fields[n], true
}

// get reads the object with the given id. NOT_FOUND if there is none.
func (e *entity[T]) get(ctx context.Context, q queryer, id ion.ID) (T, error) {
	v, err := e.scan(q.QueryRowContext(ctx, "SELECT "+e.columns+" FROM "+e.table+" t WHERE t.id = ?", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return v, ion.NotFound(e.kind, id)
	}
	return v, err
}

// queueGet queues get's read of the object with the given id into b (see
// tx.pipeline); once b is sent, *out and *errp are what get returns.
func (e *entity[T]) queueGet(b *pgx.Batch, id ion.ID, out *T, errp *error) {
	queue(b, "SELECT "+e.columns+" FROM "+e.table+" t WHERE t.id = ?", id).QueryRow(func(r pgx.Row) error {
		v, err := e.scan(r)
		if errors.Is(err, pgx.ErrNoRows) {
			err = ion.NotFound(e.kind, id)
		}
		*out, *errp = v, err
		return nil
	})
}

// list reads a window of the filtered, sorted list and its total count.
// where and args are extra conditions (a tenant or organization scope).
func (e *entity[T]) list(ctx context.Context, q queryer, opts ion.ListOptions, where []string, args []any) (ion.Page[T], error) {
	page := ion.Page[T]{Items: []T{}}
	if opts.Offset < 0 {
		return page, ion.Invalid("offset", "must not be negative (got %d).", opts.Offset)
	}
	if opts.Limit < 0 {
		return page, ion.Invalid("limit", "must not be negative (got %d).", opts.Limit)
	}
	conds, fargs, err := e.where(opts.Filters)
	if err != nil {
		return page, err
	}
	order, err := e.orderBy(opts.Sort)
	if err != nil {
		return page, err
	}
	where = append(slices.Clip(where), conds...)
	args = append(slices.Clip(args), fargs...)
	whereSQL := ""
	if len(where) > 0 {
		whereSQL = " WHERE " + strings.Join(where, " AND ")
	}
	size := opts.Limit // how many items the page can have
	if !opts.SkipTotal {
		if err := q.QueryRowContext(ctx, "SELECT count(*) FROM "+e.table+" t"+whereSQL, args...).Scan(&page.TotalCount); err != nil {
			return page, err
		}
		size = min(size, page.TotalCount-opts.Offset)
	}
	if size <= 0 {
		return page, nil
	}
	selectList, cols := e.proj.Select(opts.Fields)
	query := "SELECT " + selectList + " FROM " + e.table + " t" + whereSQL + " ORDER BY " + order + " LIMIT ? OFFSET ?"
	rows, err := q.QueryContext(ctx, query, append(args, opts.Limit, opts.Offset)...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	if opts.SkipTotal {
		// Without a count, size is only the limit: a long page grows past
		// this rather than every short one being allocated for the limit.
		size = min(size, 256)
	}
	page.Items = make([]T, 0, size)
	if direct := e.proj.Direct(cols); direct != nil {
		// Only plain columns: scanned straight into the page's items.
		var zero T
		buf := make([]any, len(cols))
		for rows.Next() {
			page.Items = append(page.Items, zero)
			if err := direct(rows, &page.Items[len(page.Items)-1], buf); err != nil {
				return page, err
			}
		}
		return page, rows.Err()
	}
	row := e.proj.Scanner(rows, cols)
	for rows.Next() {
		v, err := e.scan(row)
		if err != nil {
			return page, err
		}
		page.Items = append(page.Items, v)
	}
	return page, rows.Err()
}

// all reads every object matching the SQL condition, in id order. For
// internal use with trusted conditions only.
func (e *entity[T]) all(ctx context.Context, q queryer, cond string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+e.columns+" FROM "+e.table+" t WHERE "+cond+" ORDER BY t.id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := e.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// orderBy turns sort keys into an ORDER BY list ending with the id
// tie-break. NULLs sort last ascending and first descending, as in
// the SQLite store, so that both stores order alike.
func (e *entity[T]) orderBy(keys []ion.SortKey) (string, error) {
	var parts []string
	for _, k := range keys {
		c, ok := e.field(k.Field)
		if !ok {
			return "", ion.Invalid("sort", "cannot sort %s by %q; use one of: %s.", e.plural, k.Field, strings.Join(e.names, ", "))
		}
		if k.Desc {
			parts = append(parts, c.expr+" DESC NULLS FIRST")
		} else {
			parts = append(parts, c.expr+" ASC NULLS LAST")
		}
		if c.expr == "t.id" {
			return strings.Join(parts, ", "), nil
		}
	}
	return strings.Join(append(parts, "t.id ASC"), ", "), nil
}

// where turns filters into SQL conditions with placeholders.
func (e *entity[T]) where(filters []ion.Filter) ([]string, []any, error) {
	var conds []string
	var args []any
	for _, f := range filters {
		c, ok := e.field(f.Field)
		if !ok {
			return nil, nil, ion.Invalid(f.Field, "cannot filter %s on this field; use one of: %s.", e.plural, strings.Join(e.names, ", "))
		}
		cond, a, err := c.condition(f)
		if err != nil {
			return nil, nil, err
		}
		conds = append(conds, cond)
		args = append(args, a...)
	}
	return conds, args, nil
}

var operators = []string{ion.OpEq, ion.OpNeq, ion.OpIn, ion.OpNotIn, ion.OpLike, ion.OpIlike, ion.OpGt, ion.OpGte, ion.OpLt, ion.OpLte, ion.OpIsNull}

// condition is one filter as SQL.
//
// neq and notIn treat NULL as a value that differs from every other value
// ("status neq X" also returns rows without a status), which is what a
// reader of the filter expects, not SQL's three-valued logic. like is
// case-sensitive and ilike case-insensitive with Unicode case folding
// (lower() under the ICU root collation, whatever the database's locale);
// both use % and _ as wildcards and \ as the escape character.
func (c column) condition(f ion.Filter) (string, []any, error) {
	switch f.Op {
	case ion.OpEq, ion.OpNeq:
		if f.Value == nil {
			if f.Op == ion.OpEq {
				return c.expr + " IS NULL", nil, nil
			}
			return c.expr + " IS NOT NULL", nil, nil
		}
		v, err := c.arg(f.Field, f.Value)
		if err != nil {
			return "", nil, err
		}
		if f.Op == ion.OpEq {
			return c.expr + " = ?", []any{v}, nil
		}
		return c.expr + " IS DISTINCT FROM ?", []any{v}, nil
	case ion.OpIn, ion.OpNotIn:
		list, ok := asList(f.Value)
		if !ok {
			return "", nil, ion.Invalid(f.Field, "%s needs a list of values.", f.Op)
		}
		var args []any
		hasNull := false
		for _, item := range list {
			if item == nil {
				hasNull = true
				continue
			}
			v, err := c.arg(f.Field, item)
			if err != nil {
				return "", nil, err
			}
			args = append(args, v)
		}
		// One array parameter instead of one per value keeps the query
		// text the same for any number of values, so its prepared
		// statement is reused (dataloaders send lists of every length).
		in, inArgs := "false", []any(nil)
		if len(args) > 0 {
			in, inArgs = c.expr+" = ANY(?)", []any{c.array(args)}
		}
		if f.Op == ion.OpIn {
			if hasNull {
				in = "(" + in + " OR " + c.expr + " IS NULL)"
			}
			return in, inArgs, nil
		}
		if hasNull {
			return "(" + c.expr + " IS NOT NULL AND NOT " + in + ")", inArgs, nil
		}
		return "(" + c.expr + " IS NULL OR NOT " + in + ")", inArgs, nil
	case ion.OpLike, ion.OpIlike:
		if c.kind != kindText && c.kind != kindEnum {
			return "", nil, ion.Invalid(f.Field, "%s applies to text fields only.", f.Op)
		}
		pattern, ok := f.Value.(string)
		if !ok {
			return "", nil, ion.Invalid(f.Field, "%s needs a string pattern such as \"%%BRKT%%\".", f.Op)
		}
		if f.Op == ion.OpLike {
			return c.expr + " LIKE ?", []any{pattern}, nil
		}
		return `lower((` + c.expr + `) COLLATE "und-x-icu") LIKE lower(?::text COLLATE "und-x-icu")`, []any{pattern}, nil
	case ion.OpGt, ion.OpGte, ion.OpLt, ion.OpLte:
		v, err := c.arg(f.Field, f.Value)
		if err != nil {
			return "", nil, err
		}
		op := map[string]string{ion.OpGt: ">", ion.OpGte: ">=", ion.OpLt: "<", ion.OpLte: "<="}[f.Op]
		return c.expr + " " + op + " ?", []any{v}, nil
	case ion.OpIsNull:
		b, ok := f.Value.(bool)
		if !ok {
			return "", nil, ion.Invalid(f.Field, "isNull needs true or false.")
		}
		if b {
			return c.expr + " IS NULL", nil, nil
		}
		return c.expr + " IS NOT NULL", nil, nil
	}
	return "", nil, ion.Invalid(f.Field, "unknown filter operator %q; use one of: %s.", f.Op, strings.Join(operators, ", "))
}

// array turns converted filter values (see arg) into the typed slice pgx
// sends as the column's array type.
func (c column) array(vals []any) any {
	switch c.kind {
	case kindInt, kindTime:
		out := make([]int64, len(vals))
		for i, v := range vals {
			out[i] = v.(int64)
		}
		return out
	case kindFloat:
		out := make([]float64, len(vals))
		for i, v := range vals {
			out[i] = v.(float64)
		}
		return out
	case kindBool:
		out := make([]bool, len(vals))
		for i, v := range vals {
			out[i] = v.(bool)
		}
		return out
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = v.(string)
	}
	return out
}

func asList(v any) ([]any, bool) {
	if l, ok := v.([]any); ok {
		return l, true
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.Kind() != reflect.Slice {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// arg converts a filter value to what the column stores.
func (c column) arg(field string, v any) (any, error) {
	switch c.kind {
	case kindInt:
		if n, ok := toInt(v); ok {
			return n, nil
		}
		return nil, ion.Invalid(field, "needs an integer (got %v).", v)
	case kindFloat:
		if f, ok := toFloat(v); ok {
			return f, nil
		}
		return nil, ion.Invalid(field, "needs a number (got %v).", v)
	case kindText:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, ion.Invalid(field, "needs a string (got %v).", v)
	case kindEnum:
		if s, ok := v.(string); ok {
			return strings.ToUpper(s), nil
		}
		return nil, ion.Invalid(field, "needs an enum value such as \"TODO\" (got %v).", v)
	case kindBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
		return nil, ion.Invalid(field, "needs true or false (got %v).", v)
	case kindTime:
		switch x := v.(type) {
		case time.Time:
			return sqlcol.ToMicros(x), nil
		case string:
			if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return sqlcol.ToMicros(t), nil
			}
		}
		return nil, ion.Invalid(field, "needs an RFC 3339 date-time such as \"2026-04-20T10:00:00Z\" (got %v).", v)
	}
	return nil, fmt.Errorf("column kind %d has no conversion", c.kind)
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}
