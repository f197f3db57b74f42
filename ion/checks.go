package ion

import (
	"math"
	"strings"
)

// CheckPositive checks a quantity that must be a finite number > 0.
func CheckPositive(field string, q float64) error {
	if math.IsNaN(q) || math.IsInf(q, 0) {
		return Invalid(field, "must be a finite number.")
	}
	if q <= 0 {
		return Invalid(field, "must be greater than 0 (got %v).", q)
	}
	return nil
}

// CheckFinite checks an optional number.
func CheckFinite(field string, f *float64) error {
	if f != nil && (math.IsNaN(*f) || math.IsInf(*f, 0)) {
		return Invalid(field, "must be a finite number.")
	}
	return nil
}

// CheckEnum checks value against the allowed values (already uppercase) and
// returns its uppercase form; enum inputs are accepted in any case.
func CheckEnum(field, value string, allowed ...string) (string, error) {
	up := strings.ToUpper(strings.TrimSpace(value))
	for _, a := range allowed {
		if up == a {
			return up, nil
		}
	}
	return "", Invalid(field, "%q is not allowed; use one of: %s.", value, strings.Join(allowed, ", "))
}

// CheckAttributes checks custom attributes: each needs a key, and keys are
// unique.
func CheckAttributes(attrs []Attribute) error {
	seen := map[string]bool{}
	for _, a := range attrs {
		if strings.TrimSpace(a.Key) == "" {
			return Invalid("attributes", "every attribute needs a key.")
		}
		if seen[a.Key] {
			return Invalid("attributes", "key %q appears more than once; keys must be unique.", a.Key)
		}
		seen[a.Key] = true
	}
	return nil
}

// CheckEtag is the optimistic concurrency check of updates and deletes.
func CheckEtag(kind string, m Meta, etag string) error {
	if etag == "" {
		return Invalid("etag", "is required; pass the _etag you last read for %s %d.", kind, m.ID)
	}
	if etag != m.Etag {
		return StaleEtag(kind, m.ID)
	}
	return nil
}
