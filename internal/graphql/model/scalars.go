package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/ionbox/ionbox/ion"
)

// maxSafeInteger is the largest integer a float64 (a JavaScript number) holds
// exactly; larger float ids may have been rounded by the client.
const maxSafeInteger = 1<<53 - 1

// MarshalID writes an id as a JSON number, as ION's responses show
// ("id": 1133), not as the string the GraphQL spec suggests for ID.
func MarshalID(id int64) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.FormatInt(id, 10))
	})
}

// UnmarshalID accepts an id as a number (42) or a string ("42"): published ION
// clients send both.
func UnmarshalID(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return n, nil
		}
		if f, err := x.Float64(); err == nil {
			return floatID(f, v)
		}
	case float64:
		return floatID(x, v)
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			return n, nil
		}
	}
	return 0, badID(v)
}

func floatID(f float64, v any) (int64, error) {
	if f != math.Trunc(f) || math.Abs(f) > maxSafeInteger {
		return 0, badID(v)
	}
	return int64(f), nil
}

func badID(v any) error {
	return ion.Errorf(ion.EVALIDATION, "An ID must be an integer such as 42 or \"42\" (got %s).", describe(v))
}

// MarshalDecimal writes a decimal as a JSON number.
func MarshalDecimal(f float64) graphql.Marshaler {
	return graphql.MarshalFloat(f)
}

// UnmarshalDecimal accepts a JSON number (2.5) or a decimal string ("2.5"):
// ION's vendor scripts send quantities as decimal strings.
func UnmarshalDecimal(v any) (float64, error) {
	var f float64
	var err error
	switch x := v.(type) {
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case float64:
		f = x
	case json.Number:
		f, err = strconv.ParseFloat(string(x), 64)
	case string:
		s := strings.TrimSpace(x)
		// ParseFloat also reads "NaN", "Inf" and hex floats; a decimal is
		// digits, an optional point and an optional exponent only.
		if s == "" || strings.ContainsAny(strings.ToLower(s), "abcdfghijklmnopqrstuvwxyz") {
			return 0, badDecimal(v)
		}
		f, err = strconv.ParseFloat(s, 64)
	default:
		return 0, badDecimal(v)
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, badDecimal(v)
	}
	return f, nil
}

func badDecimal(v any) error {
	return ion.Errorf(ion.EVALIDATION, "A decimal must be a number such as 2.5 or a decimal string such as \"2.5\" (got %s).", describe(v))
}

// MarshalDateTime writes an ISO-8601 timestamp in UTC.
func MarshalDateTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.UTC().Format(time.RFC3339Nano)))
	})
}

// dateTimeLayouts are the forms UnmarshalDateTime reads, most specific first.
// A timestamp without a zone is taken as UTC; a bare date as its midnight UTC.
var dateTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"}

// UnmarshalDateTime reads an ISO-8601 timestamp.
func UnmarshalDateTime(v any) (time.Time, error) {
	if s, ok := v.(string); ok {
		for _, layout := range dateTimeLayouts {
			if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
				return t.UTC(), nil
			}
		}
	}
	return time.Time{}, ion.Errorf(ion.EVALIDATION, "A DateTime must be an ISO-8601 string such as \"2026-04-20T10:00:00Z\" (got %s).", describe(v))
}

// MarshalGenericScalar writes any JSON value. A json.RawMessage (a value
// stored as JSON text) is written compacted, so that the executor's output
// stays compact JSON, which the handler copies as it is.
func MarshalGenericScalar(v any) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		var buf bytes.Buffer
		if raw, ok := v.(json.RawMessage); ok && json.Compact(&buf, raw) == nil {
			_, _ = w.Write(buf.Bytes())
			return
		}
		buf.Reset()
		if err := json.NewEncoder(&buf).Encode(v); err != nil {
			_, _ = io.WriteString(w, "null")
			return
		}
		_, _ = w.Write(bytes.TrimRight(buf.Bytes(), "\n"))
	})
}

// UnmarshalGenericScalar accepts any JSON value.
func UnmarshalGenericScalar(v any) (any, error) {
	return v, nil
}

// describe renders an input value for an error message, shortened so that a
// huge value never makes a huge message.
func describe(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = strconv.Quote(x)
	case nil:
		s = "null"
	default:
		b, err := json.Marshal(x)
		if err != nil {
			s = fmt.Sprintf("%v", x)
		} else {
			s = string(b)
		}
	}
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}
