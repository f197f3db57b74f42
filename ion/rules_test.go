package ion

import (
	"errors"
	"regexp"
	"testing"
)

func TestValidateRevision(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rev     string
		wantErr bool
	}{
		{"A", false}, {"b", false}, {"AB", false}, {"", true}, {"1", true}, {"A1", true}, {"A-", true}, {"ABCDEFGHI", true},
	} {
		err := ValidateRevision(tc.rev)
		if (err != nil) != tc.wantErr {
			t.Errorf("ValidateRevision(%q) = %v, want error %v", tc.rev, err, tc.wantErr)
		}
		if err != nil && ErrorCode(err) != EVALIDATION {
			t.Errorf("ValidateRevision(%q) code = %s, want %s", tc.rev, ErrorCode(err), EVALIDATION)
		}
	}
}

func TestNextRevision(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"A": "B", "Y": "Z", "Z": "AA", "AZ": "BA", "ZZ": "AAA", "c": "D"} {
		if got := NextRevision(in); got != want {
			t.Errorf("NextRevision(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDeriveRunStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		steps []string
		want  string
	}{
		{"no steps", nil, StatusTodo},
		{"all todo", []string{"TODO", "TODO"}, StatusTodo},
		{"one started", []string{"IN_PROGRESS", "TODO"}, StatusInProgress},
		{"one complete", []string{"COMPLETE", "TODO"}, StatusInProgress},
		{"all complete", []string{"COMPLETE", "COMPLETE"}, StatusComplete},
		{"complete and canceled", []string{"COMPLETE", "CANCELED"}, StatusComplete},
		{"hold", []string{"HOLD", "COMPLETE"}, StatusHold},
		{"redline beats hold", []string{"HOLD", "REDLINE"}, StatusRedline},
		{"failed beats all", []string{"REDLINE", "FAILED", "HOLD"}, StatusFailed},
		{"all canceled", []string{"CANCELED"}, StatusCanceled},
	} {
		if got := DeriveRunStatus(tc.steps); got != tc.want {
			t.Errorf("%s: DeriveRunStatus(%v) = %s, want %s", tc.name, tc.steps, got, tc.want)
		}
	}
}

func TestDeriveInventoryStatus(t *testing.T) {
	t.Parallel()
	no := false
	for _, tc := range []struct {
		name string
		f    InventoryFacts
		want string
	}{
		{"plain", InventoryFacts{Quantity: 5}, InvAvailable},
		{"zero with installation", InventoryFacts{Quantity: 0, HasInstallations: true}, InvInstalled},
		{"zero", InventoryFacts{Quantity: 0}, InvUnavailable},
		{"scrapped", InventoryFacts{Quantity: 2, QuantityScrapped: 2}, InvScrapped},
		{"fully installed", InventoryFacts{Quantity: 1, QuantityInstalled: 1, HasInstallations: true}, InvInstalled},
		{"partly installed", InventoryFacts{Quantity: 3, QuantityInstalled: 1, HasInstallations: true}, InvAvailable},
		{"in open run", InventoryFacts{Quantity: 1, InOpenRun: true}, InvWIP},
		{"kitted", InventoryFacts{Quantity: 1, Kitted: true}, InvKitted},
		{"on order", InventoryFacts{Quantity: 1, OnOrder: true}, InvOnOrder},
		{"unavailable location", InventoryFacts{Quantity: 1, LocationAvailable: &no}, InvUnavailable},
		{"installed beats wip", InventoryFacts{Quantity: 1, QuantityInstalled: 1, InOpenRun: true}, InvInstalled},
	} {
		if got := DeriveInventoryStatus(tc.f); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestValidateTracking(t *testing.T) {
	t.Parallel()
	s := func(v string) *string { return &v }
	for _, tc := range []struct {
		name      string
		tracking  *string
		serial    *string
		lot       *string
		qty       float64
		wantField string // "" = valid
	}{
		{"serial ok", s(TrackingSerial), s("SN-1"), nil, 1, ""},
		{"serial zero ok", s(TrackingSerial), s("SN-1"), s("L1"), 0, ""},
		{"serial missing", s(TrackingSerial), nil, nil, 1, "serialNumber"},
		{"serial blank", s(TrackingSerial), s("  "), nil, 1, "serialNumber"},
		{"serial qty 2", s(TrackingSerial), s("SN-1"), nil, 2, "quantity"},
		{"lot ok", s(TrackingLot), nil, s("L-1"), 40, ""},
		{"lot missing", s(TrackingLot), nil, nil, 40, "lotNumber"},
		{"lot with serial", s(TrackingLot), s("SN"), s("L"), 1, "serialNumber"},
		{"untracked ok", nil, nil, nil, 7.5, ""},
		{"untracked serial", nil, s("SN"), nil, 1, "serialNumber"},
		{"untracked lot", nil, nil, s("L"), 1, "lotNumber"},
		{"negative", nil, nil, nil, -1, "quantity"},
	} {
		err := ValidateTracking(tc.tracking, tc.serial, tc.lot, tc.qty)
		if tc.wantField == "" {
			if err != nil {
				t.Errorf("%s: unexpected error %v", tc.name, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != EVALIDATION || !regexp.MustCompile("^"+tc.wantField+":").MatchString(e.Message) {
			t.Errorf("%s: got %v, want VALIDATION_ERROR naming %s", tc.name, err, tc.wantField)
		}
	}
}

func TestCheckFieldValue(t *testing.T) {
	t.Parallel()
	opts := []string{"red", "green"}
	for _, tc := range []struct {
		typ, raw, want string // want "" = error
	}{
		{FieldString, `"hello"`, `"hello"`},
		{FieldString, `5`, ""},
		{FieldNumber, `5.5`, `5.5`},
		{FieldNumber, `"2.5"`, `2.5`},
		{FieldNumber, `"abc"`, ""},
		{FieldNumber, `true`, ""},
		{FieldBoolean, `true`, `true`},
		{FieldBoolean, `"FALSE"`, `false`},
		{FieldBoolean, `1`, ""},
		{FieldSelect, `"red"`, `"red"`},
		{FieldSelect, `"blue"`, ""},
		{FieldMultiselect, `["red","green"]`, `["red","green"]`},
		{FieldMultiselect, `["red","blue"]`, ""},
		{FieldDatetime, `"2026-04-20T10:00:00+02:00"`, `"2026-04-20T08:00:00Z"`},
		{FieldDatetime, `"yesterday"`, ""},
		{FieldSignoff, `true`, `true`},
		{FieldString, `null`, `null`},
		{FieldString, `{`, ""},
		{"BOGUS", `1`, ""},
	} {
		got, err := CheckFieldValue("f", tc.typ, opts, tc.raw)
		if tc.want == "" {
			if err == nil || ErrorCode(err) != EVALIDATION {
				t.Errorf("CheckFieldValue(%s, %s) = %q, %v; want VALIDATION_ERROR", tc.typ, tc.raw, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("CheckFieldValue(%s, %s) = %q, %v; want %q", tc.typ, tc.raw, got, err, tc.want)
		}
	}
}

func TestNewEtag(t *testing.T) {
	t.Parallel()
	a, b := NewEtag(), NewEtag()
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a) || a == b {
		t.Fatalf("etags %q, %q: want two distinct 32-hex strings", a, b)
	}
}

func TestErrorCode(t *testing.T) {
	t.Parallel()
	if got := ErrorCode(errors.New("boom")); got != EINTERNAL {
		t.Errorf("plain error code = %s, want %s", got, EINTERNAL)
	}
	wrapped := errors.Join(errors.New("ctx"), NotFound("Part", 3))
	if got := ErrorCode(wrapped); got != ENOTFOUND {
		t.Errorf("wrapped code = %s, want %s", got, ENOTFOUND)
	}
	if got := ErrorMessage(errors.New("secret detail")); got != "Internal error." {
		t.Errorf("internal message leaked: %q", got)
	}
}
