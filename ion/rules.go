package ion

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// NewEtag returns a fresh 32-character lowercase hex etag, as ION's look.
func NewEtag() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// ValidateRevision checks a part revision: one or more letters A–Z only
// (ION: "String value which can only contain alphabetic text").
func ValidateRevision(rev string) error {
	if rev == "" {
		return Invalid("revision", "must not be empty; use letters such as \"A\".")
	}
	if len(rev) > 8 {
		return Invalid("revision", "%q is too long; use at most 8 letters.", rev)
	}
	for _, r := range rev {
		if (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') {
			return Invalid("revision", "%q must contain letters only (A-Z), e.g. \"A\" or \"B\".", rev)
		}
	}
	return nil
}

// NextRevision returns the revision after rev: A→B, Z→AA, AZ→BA.
func NextRevision(rev string) string {
	b := []byte(strings.ToUpper(rev))
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 'Z' {
			b[i]++
			return string(b)
		}
		b[i] = 'A'
	}
	return "A" + string(b)
}

// DeriveRunStatus derives a run's status from its steps' statuses, in ION's
// order of precedence: any FAILED → FAILED; any REDLINE → REDLINE; any HOLD →
// HOLD; all COMPLETE → COMPLETE; any started → IN_PROGRESS; else TODO.
// CANCELED steps are ignored unless every step is canceled.
func DeriveRunStatus(stepStatuses []string) string {
	has := func(s string) bool { return slices.Contains(stepStatuses, s) }
	switch {
	case has(StatusFailed):
		return StatusFailed
	case has(StatusRedline):
		return StatusRedline
	case has(StatusHold):
		return StatusHold
	}
	live, complete, started := 0, 0, false
	for _, s := range stepStatuses {
		if s == StatusCanceled {
			continue
		}
		live++
		switch s {
		case StatusComplete:
			complete++
			started = true
		case StatusInProgress:
			started = true
		}
	}
	switch {
	case len(stepStatuses) > 0 && live == 0:
		return StatusCanceled
	case live > 0 && complete == live:
		return StatusComplete
	case started:
		return StatusInProgress
	}
	return StatusTodo
}

// InventoryFacts are the inputs of an inventory's derived status.
type InventoryFacts struct {
	Quantity          float64
	QuantityInstalled float64 // installed through aBOM installations
	QuantityScrapped  float64
	HasInstallations  bool
	OnOrder           bool // created by a purchase order line and not received
	InOpenRun         bool // linked to a run that is TODO, IN_PROGRESS, REDLINE, HOLD or FAILED
	LocationAvailable *bool
	Kitted            bool
}

// DeriveInventoryStatus applies ION's documented order, first match wins:
// installed with nothing left; unavailable at zero; scrapped; installed in
// full; WIP in an open run; kitted; on order; unavailable at a location that
// does not count as available; else available.
func DeriveInventoryStatus(f InventoryFacts) string {
	switch {
	case f.Quantity == 0 && f.HasInstallations:
		return InvInstalled
	case f.Quantity == 0:
		return InvUnavailable
	case f.QuantityScrapped > 0 && f.QuantityScrapped >= f.Quantity:
		return InvScrapped
	case f.QuantityInstalled > 0 && f.QuantityInstalled >= f.Quantity:
		return InvInstalled
	case f.InOpenRun:
		return InvWIP
	case f.Kitted:
		return InvKitted
	case f.OnOrder:
		return InvOnOrder
	case f.LocationAvailable != nil && !*f.LocationAvailable:
		return InvUnavailable
	}
	return InvAvailable
}

// ValidateTracking checks inventory against its part's tracking type:
// serial-tracked needs a serial number and quantity 0 or 1; lot-tracked needs
// a lot number and no serial number; untracked takes neither. Quantity is
// never negative or non-finite.
func ValidateTracking(trackingType *string, serial, lot *string, quantity float64) error {
	if math.IsNaN(quantity) || math.IsInf(quantity, 0) {
		return Invalid("quantity", "must be a finite number.")
	}
	if quantity < 0 {
		return Invalid("quantity", "must not be negative (got %v).", quantity)
	}
	blank := func(s *string) bool { return s == nil || strings.TrimSpace(*s) == "" }
	tt := ""
	if trackingType != nil {
		tt = *trackingType
	}
	switch tt {
	case TrackingSerial:
		if blank(serial) {
			return Invalid("serialNumber", "is required because the part is serial-tracked.")
		}
		if quantity != 0 && quantity != 1 {
			return Invalid("quantity", "serial-tracked inventory must have quantity 0 or 1 (got %v).", quantity)
		}
	case TrackingLot:
		if blank(lot) {
			return Invalid("lotNumber", "is required because the part is lot-tracked.")
		}
		if !blank(serial) {
			return Invalid("serialNumber", "must be empty because the part is lot-tracked, not serial-tracked.")
		}
	default:
		if !blank(serial) {
			return Invalid("serialNumber", "must be empty because the part is not serial-tracked.")
		}
		if !blank(lot) {
			return Invalid("lotNumber", "must be empty because the part is not lot-tracked.")
		}
	}
	return nil
}

// CheckFieldValue checks a run step field value, given as JSON, against the
// field's type and options, and returns its normalised JSON. Numbers may come
// as JSON numbers or numeric strings; booleans as true/false or "true"/"false";
// DATETIME as RFC 3339; SELECT one of the options; MULTISELECT a list of
// options; SIGNOFF true or a string; FILE_ATTACHMENT a string id.
func CheckFieldValue(fieldName, fieldType string, options []string, raw string) (string, error) {
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return "", Invalid("value", "is not valid JSON: %v", err)
	}
	if v == nil {
		return "null", nil
	}
	bad := func(want string) error {
		return Invalid("value", "field %q is of type %s and needs %s (got %s).", fieldName, fieldType, want, truncate(raw, 60))
	}
	switch fieldType {
	case FieldString, FieldFileAttachment:
		s, ok := v.(string)
		if !ok {
			return "", bad("a string")
		}
		return marshal(s), nil
	case FieldNumber:
		switch x := v.(type) {
		case float64:
			return marshal(x), nil
		case string:
			var f float64
			if _, err := fmt.Sscan(strings.TrimSpace(x), &f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return "", bad("a number")
			}
			return marshal(f), nil
		}
		return "", bad("a number")
	case FieldBoolean:
		switch x := v.(type) {
		case bool:
			return marshal(x), nil
		case string:
			switch strings.ToLower(x) {
			case "true":
				return "true", nil
			case "false":
				return "false", nil
			}
		}
		return "", bad("true or false")
	case FieldSignoff:
		switch x := v.(type) {
		case bool:
			return marshal(x), nil
		case string:
			return marshal(x), nil
		}
		return "", bad("true or a signer's name")
	case FieldDatetime:
		s, ok := v.(string)
		if !ok {
			return "", bad("an RFC 3339 date-time string")
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return "", bad("an RFC 3339 date-time string such as \"2026-04-20T10:00:00Z\"")
		}
		return marshal(t.UTC().Format(time.RFC3339)), nil
	case FieldSelect:
		s, ok := v.(string)
		if !ok || !slices.Contains(options, s) {
			return "", bad(fmt.Sprintf("one of %q", options))
		}
		return marshal(s), nil
	case FieldMultiselect:
		list, ok := v.([]any)
		if !ok {
			return "", bad(fmt.Sprintf("a list of %q", options))
		}
		out := make([]string, 0, len(list))
		for _, e := range list {
			s, ok := e.(string)
			if !ok || !slices.Contains(options, s) {
				return "", bad(fmt.Sprintf("a list of %q", options))
			}
			out = append(out, s)
		}
		return marshal(out), nil
	}
	return "", Invalid("type", "unknown field type %q.", fieldType)
}

func marshal(v any) string {
	b, _ := json.Marshal(v) // strings, floats, bools and string slices always marshal
	return string(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
