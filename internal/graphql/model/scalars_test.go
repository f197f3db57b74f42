package model

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestUnmarshalID(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   any
		want int64
		ok   bool
	}{
		{42, 42, true}, {int64(42), 42, true}, {"42", 42, true}, {" 7 ", 7, true}, {json.Number("1135"), 1135, true},
		{float64(3), 3, true}, {json.Number("4.0"), 4, true},
		{"abc", 0, false}, {"", 0, false}, {1.5, 0, false}, {true, 0, false}, {nil, 0, false}, {float64(1 << 60), 0, false},
	} {
		got, err := UnmarshalID(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("UnmarshalID(%#v) = %d, %v", c.in, got, err)
		}
	}
	var buf bytes.Buffer
	MarshalID(42).MarshalGQL(&buf)
	if buf.String() != "42" {
		t.Errorf("MarshalID(42) = %s, want the JSON number 42", buf.String())
	}
}

func TestUnmarshalDecimal(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   any
		want float64
		ok   bool
	}{
		{"2.5", 2.5, true}, {" 2.50 ", 2.5, true}, {"-1", -1, true}, {"1e3", 1000, true}, {json.Number("0.1"), 0.1, true}, {3, 3, true}, {2.5, 2.5, true},
		{"NaN", 0, false}, {"Inf", 0, false}, {"0x10", 0, false}, {"1,5", 0, false}, {"", 0, false}, {true, 0, false}, {nil, 0, false},
	} {
		got, err := UnmarshalDecimal(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("UnmarshalDecimal(%#v) = %v, %v", c.in, got, err)
		}
	}
}

func TestDateTime(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   any
		want time.Time
		ok   bool
	}{
		{"2026-04-20T10:00:00Z", time.Date(2026, 4, 20, 10, 0, 0, 0, time.UTC), true},
		{"2026-04-20T12:00:00+02:00", time.Date(2026, 4, 20, 10, 0, 0, 0, time.UTC), true},
		{"2026-04-20T10:00:00.5", time.Date(2026, 4, 20, 10, 0, 0, 5e8, time.UTC), true},
		{"2026-04-20", time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC), true},
		{"20 April", time.Time{}, false}, {1234, time.Time{}, false},
	} {
		got, err := UnmarshalDateTime(c.in)
		if (err == nil) != c.ok || !got.Equal(c.want) {
			t.Errorf("UnmarshalDateTime(%#v) = %v, %v", c.in, got, err)
		}
	}
	var buf bytes.Buffer
	MarshalDateTime(time.Date(2026, 4, 20, 12, 0, 0, 0, time.FixedZone("x", 7200))).MarshalGQL(&buf)
	if buf.String() != `"2026-04-20T10:00:00Z"` {
		t.Errorf("MarshalDateTime = %s", buf.String())
	}
}

func TestGenericScalar(t *testing.T) {
	t.Parallel()
	for in, want := range map[any]string{
		true: "true", "x": `"x"`, nil: "null",
	} {
		var buf bytes.Buffer
		MarshalGenericScalar(in).MarshalGQL(&buf)
		if buf.String() != want {
			t.Errorf("MarshalGenericScalar(%#v) = %s, want %s", in, buf.String(), want)
		}
	}
	var buf bytes.Buffer
	MarshalGenericScalar(json.RawMessage(`[{"a":1}]`)).MarshalGQL(&buf)
	if buf.String() != `[{"a":1}]` {
		t.Errorf("raw JSON = %s", buf.String())
	}
}
