package postgres

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// JSON array columns (attributes, options, upstream ids, roles, user ids)
// hold '[]' when empty and read back as empty, non-nil slices, so that a
// value returned by a write equals the same value read later.

func encodeList[T any](v []T) string {
	if len(v) == 0 {
		return "[]"
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Only strings, ids and attributes are stored; they always marshal.
		panic(fmt.Sprintf("postgres: encode %T: %v", v, err))
	}
	return string(b)
}

func decodeList[T any](s string, dst *[]T) error {
	out := []T{}
	if s != "" && s != "[]" {
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return fmt.Errorf("decode %T column: %w", out, err)
		}
	}
	*dst = out
	return nil
}

// jsonList is a scan destination for a JSON array column.
type jsonList[T any] struct{ dst *[]T }

func (j jsonList[T]) Scan(src any) error {
	switch v := src.(type) {
	case string:
		return decodeList(v, j.dst)
	case []byte:
		return decodeList(string(v), j.dst)
	case nil:
		*j.dst = []T{}
		return nil
	}
	return fmt.Errorf("decode JSON column: unexpected %T", src)
}

// micros is a scan destination for a time column: dst is a *time.Time
// (NOT NULL column) or a **time.Time (nullable column).
type micros struct{ dst any }

func (m micros) Scan(src any) error {
	var us *int64
	switch v := src.(type) {
	case int64:
		us = &v
	case nil:
	default:
		return fmt.Errorf("decode time column: unexpected %T", src)
	}
	switch d := m.dst.(type) {
	case **time.Time:
		*d = fromNullMicros(us)
	case *time.Time:
		if us == nil {
			return fmt.Errorf("decode time column: unexpected NULL")
		}
		*d = fromMicros(*us)
	default:
		return fmt.Errorf("decode time column into %T", m.dst)
	}
	return nil
}

// metaDest returns the scan destinations of the id, etag, created_at and
// updated_at columns, in that order.
func metaDest(m *ion.Meta) []any {
	return []any{&m.ID, &m.Etag, micros{&m.CreatedAt}, micros{&m.UpdatedAt}}
}

// metaCols is the select list that metaDest scans.
const metaCols = "t.id, t.etag, t.created_at, t.updated_at"

// nullable turns an optional value into a query argument.
func nullable[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// checkPositive checks a quantity that must be a finite number > 0.
func checkPositive(field string, q float64) error {
	if math.IsNaN(q) || math.IsInf(q, 0) {
		return ion.Invalid(field, "must be a finite number.")
	}
	if q <= 0 {
		return ion.Invalid(field, "must be greater than 0 (got %v).", q)
	}
	return nil
}

// checkFinite checks an optional number.
func checkFinite(field string, f *float64) error {
	if f != nil && (math.IsNaN(*f) || math.IsInf(*f, 0)) {
		return ion.Invalid(field, "must be a finite number.")
	}
	return nil
}

// checkEnum checks value against the allowed values (already uppercase) and
// returns its uppercase form; enum inputs are accepted in any case.
func checkEnum(field, value string, allowed ...string) (string, error) {
	up := strings.ToUpper(strings.TrimSpace(value))
	for _, a := range allowed {
		if up == a {
			return up, nil
		}
	}
	return "", ion.Invalid(field, "%q is not allowed; use one of: %s.", value, strings.Join(allowed, ", "))
}

// checkAttributes checks custom attributes: each needs a key, and keys are
// unique.
func checkAttributes(attrs []ion.Attribute) error {
	seen := map[string]bool{}
	for _, a := range attrs {
		if strings.TrimSpace(a.Key) == "" {
			return ion.Invalid("attributes", "every attribute needs a key.")
		}
		if seen[a.Key] {
			return ion.Invalid("attributes", "key %q appears more than once; keys must be unique.", a.Key)
		}
		seen[a.Key] = true
	}
	return nil
}

// checkEtag is the optimistic concurrency check of updates and deletes.
func checkEtag(kind string, m ion.Meta, etag string) error {
	if etag == "" {
		return ion.Invalid("etag", "is required; pass the _etag you last read for %s %d.", kind, m.ID)
	}
	if etag != m.Etag {
		return ion.StaleEtag(kind, m.ID)
	}
	return nil
}
