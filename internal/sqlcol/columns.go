package sqlcol

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// JSON array columns (attributes, options, upstream ids, roles, user ids)
// hold '[]' when empty and read back as empty, non-nil slices, so that a
// value returned by a write equals the same value read later.

// EncodeList encodes a JSON array column.
func EncodeList[T any](v []T) string {
	if len(v) == 0 {
		return "[]"
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Only strings, ids and attributes are stored; they always marshal.
		panic(fmt.Sprintf("sqlcol: encode %T: %v", v, err))
	}
	return string(b)
}

// DecodeList decodes a JSON array column into dst.
func DecodeList[T any](s string, dst *[]T) error {
	out := []T{}
	if s != "" && s != "[]" {
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return fmt.Errorf("decode %T column: %w", out, err)
		}
	}
	*dst = out
	return nil
}

// JSONList is a scan destination for a JSON array column.
type JSONList[T any] struct{ Dst *[]T }

func (j JSONList[T]) Scan(src any) error {
	switch v := src.(type) {
	case string:
		return DecodeList(v, j.Dst)
	case []byte:
		return DecodeList(string(v), j.Dst)
	case nil:
		*j.Dst = []T{}
		return nil
	}
	return fmt.Errorf("decode JSON column: unexpected %T", src)
}

// Micros is a scan destination for a time column: Dst is a *time.Time
// (NOT NULL column) or a **time.Time (Nullable column).
type Micros struct{ Dst any }

func (m Micros) Scan(src any) error {
	var us *int64
	switch v := src.(type) {
	case int64:
		us = &v
	case nil:
	default:
		return fmt.Errorf("decode time column: unexpected %T", src)
	}
	switch d := m.Dst.(type) {
	case **time.Time:
		*d = FromNullMicros(us)
	case *time.Time:
		if us == nil {
			return fmt.Errorf("decode time column: unexpected NULL")
		}
		*d = FromMicros(*us)
	default:
		return fmt.Errorf("decode time column into %T", m.Dst)
	}
	return nil
}

// MetaDest returns the scan destinations of the id, etag, created_at and
// updated_at columns, in that order.
func MetaDest(m *ion.Meta) []any {
	return []any{&m.ID, &m.Etag, Micros{Dst: &m.CreatedAt}, Micros{Dst: &m.UpdatedAt}}
}

// MetaCols is the select list that MetaDest scans.
const MetaCols = "t.id, t.etag, t.created_at, t.updated_at"

// Nullable turns an optional value into a query argument.
func Nullable[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// Times are stored as Unix microseconds, UTC: PostgreSQL's precision and
// SQLite's integer representation, so both stores return equal times and
// filter and sort on them alike.

// ToMicros encodes a time.
func ToMicros(t time.Time) int64 { return t.UnixMicro() }

// FromMicros decodes a time.
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// NullMicros encodes an optional time as a query argument.
func NullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ToMicros(*t)
}

// FromNullMicros decodes an optional time.
func FromNullMicros(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := FromMicros(*v)
	return &t
}
