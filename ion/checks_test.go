package ion

import (
	"math"
	"testing"
)

func TestFieldChecks(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	meta := Meta{ID: 7, Etag: "abc"}
	for _, tc := range []struct {
		name     string
		err      error
		wantCode string
	}{
		{"positive ok", CheckPositive("quantity", 2), ""},
		{"positive zero", CheckPositive("quantity", 0), EVALIDATION},
		{"positive NaN", CheckPositive("quantity", nan), EVALIDATION},
		{"finite nil", CheckFinite("cost", nil), ""},
		{"finite NaN", CheckFinite("cost", &nan), EVALIDATION},
		{"attributes ok", CheckAttributes([]Attribute{{Key: "a"}, {Key: "b"}}), ""},
		{"attributes blank key", CheckAttributes([]Attribute{{Key: " "}}), EVALIDATION},
		{"attributes duplicate", CheckAttributes([]Attribute{{Key: "a"}, {Key: "a"}}), EVALIDATION},
		{"etag ok", CheckEtag("Part", meta, "abc"), ""},
		{"etag missing", CheckEtag("Part", meta, ""), EVALIDATION},
		{"etag stale", CheckEtag("Part", meta, "old"), ECONFLICT},
	} {
		if got := ErrorCode(tc.err); got != tc.wantCode {
			t.Errorf("%s: code %q (%v), want %q", tc.name, got, tc.err, tc.wantCode)
		}
	}
	if v, err := CheckEnum("status", " todo ", "TODO", "DONE"); err != nil || v != "TODO" {
		t.Errorf("CheckEnum(todo) = %q, %v; want TODO", v, err)
	}
	if _, err := CheckEnum("status", "maybe", "TODO"); ErrorCode(err) != EVALIDATION {
		t.Errorf("CheckEnum(maybe) = %v; want VALIDATION_ERROR", err)
	}
}
