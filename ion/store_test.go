package ion

import (
	"strings"
	"testing"
)

func TestStateNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                string
		wantState, wantSave string // the codes of ValidateStateName and ValidateSavedStateName
	}{
		{"baseline", "", ""},
		{"cp-before-import", "", ""},
		{EmptyTenantState, "", EVALIDATION},
		{"empty-1", "", ""},
		{"", EVALIDATION, EVALIDATION},
		{"Empty", EVALIDATION, EVALIDATION},
		{"-dash", EVALIDATION, EVALIDATION},
		{strings.Repeat("a", 64), EVALIDATION, EVALIDATION},
	} {
		if got := ErrorCode(ValidateStateName(tc.name)); got != tc.wantState {
			t.Errorf("ValidateStateName(%q): code %q, want %q", tc.name, got, tc.wantState)
		}
		err := ValidateSavedStateName(tc.name)
		if got := ErrorCode(err); got != tc.wantSave {
			t.Errorf("ValidateSavedStateName(%q): code %q, want %q", tc.name, got, tc.wantSave)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "name: ") {
			t.Errorf("ValidateSavedStateName(%q) = %q, which does not name the field", tc.name, err)
		}
	}
}
