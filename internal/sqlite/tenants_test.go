package sqlite

import (
	"testing"

	"github.com/ionbox/ionbox/ion"
)

// A tenant in use is never closed under a running call, however idle the
// clock says it is.
func TestInFlightTenantStaysOpen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateTenant(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	db, release, err := s.acquire(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CloseIdleTenants(0); n != 0 {
		t.Fatalf("closed %d tenants while one call was using it", n)
	}
	if err := db.read.PingContext(ctx); err != nil {
		t.Fatalf("the pinned file was closed: %v", err)
	}
	release()
	if n := s.CloseIdleTenants(0); n != 1 {
		t.Fatalf("closed %d tenants after release, want 1", n)
	}
	if err := db.read.PingContext(ctx); err == nil {
		t.Fatal("the released, idle file is still open")
	}
}

func TestLikeToGlob(t *testing.T) {
	t.Parallel()
	for pattern, want := range map[string]string{
		"ion-%":   "ion-*",
		"x_1":     "x?1",
		`x\_1`:    "x_1",
		`50\%%`:   "50%*",
		"a*b?[c]": "a[*]b[?][[]c]",
		`a\\b`:    `a\b`,
		`end\`:    `end\`,
	} {
		if got := likeToGlob(pattern); got != want {
			t.Errorf("likeToGlob(%q) = %q, want %q", pattern, got, want)
		}
	}
}

func TestTenantIDs(t *testing.T) {
	t.Parallel()
	for id, valid := range map[string]bool{
		"production-org-12":  true,
		"acme-erp-dev-org-1": true,
		"A_b-9":              true,
		"":                   false,
		"../etc":             false,
		"a/b":                false,
		".hidden":            false,
		"-dash":              false,
		"a b":                false,
	} {
		err := validateTenantID(id)
		if (err == nil) != valid {
			t.Errorf("validateTenantID(%q) = %v, want valid %v", id, err, valid)
		}
		if err != nil && ion.ErrorCode(err) != ion.EVALIDATION {
			t.Errorf("validateTenantID(%q) code %s", id, ion.ErrorCode(err))
		}
	}
}
