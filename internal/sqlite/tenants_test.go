package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

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

// DeleteTenant waits for the calls using the tenant, refuses new ones
// meanwhile, and then removes the file and its journals.
func TestDeleteTenantWaitsForCallsInFlight(t *testing.T) {
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
	ts, err := s.Tenant(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.CreatePart(ctx, ion.Part{PartNumber: "p"}); err != nil {
		t.Fatal(err)
	}
	path := s.tenantPath("t1")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); err != nil {
			t.Fatalf("before the delete: %v", err)
		}
	}
	db, release, err := s.acquire(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.DeleteTenant(ctx, "t1") }()
	// Until the call in flight releases the file, new calls are refused
	// and the pinned one still works.
	waitFor(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.tenants["t1"].deleting
	})
	if _, err := ts.Parts(ctx, ion.ListOptions{}); ion.ErrorCode(err) != ion.ENOTFOUND {
		t.Fatalf("a new call during the delete: %v, want NOT_FOUND", err)
	}
	if n := s.CloseIdleTenants(0); n != 0 {
		t.Fatalf("the janitor closed %d tenants during a delete", n)
	}
	select {
	case err := <-done:
		t.Fatalf("DeleteTenant returned (%v) while a call was using the tenant", err)
	default:
	}
	if err := db.read.PingContext(ctx); err != nil {
		t.Fatalf("the pinned file was closed under its call: %v", err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if _, err := os.Stat(path + suffix); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after the delete: %v, want it gone", filepath.Base(path+suffix), err)
		}
	}
	if n := s.OpenTenants(); n != 0 {
		t.Fatalf("%d tenants open after the delete", n)
	}
	if _, err := ts.Parts(ctx, ion.ListOptions{}); ion.ErrorCode(err) != ion.ENOTFOUND {
		t.Fatalf("the old handle after the delete: %v, want NOT_FOUND", err)
	}
}

// A DeleteTenant whose context ends while it waits deletes nothing.
func TestDeleteTenantGivesUpWithItsContext(t *testing.T) {
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
	_, release, err := s.acquire(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.DeleteTenant(short, "t1") }()
	waitFor(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.tenants["t1"].deleting
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("DeleteTenant with a cancelled context: %v, want context.Canceled", err)
	}
	release()
	ts, err := s.Tenant(ctx, "t1")
	if err != nil {
		t.Fatalf("the tenant after a cancelled delete: %v", err)
	}
	if _, err := ts.CreatePart(ctx, ion.Part{PartNumber: "p"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTenant(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.tenantPath("t1")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("tenant file after the second delete: %v", err)
	}
}

// waitFor polls cond until it holds, failing the test after 10 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond) // polling with a deadline, not waiting a fixed time
	}
}

// Spare template copies wait in templates/, are used by new tenants, and
// are gone after Close.
func TestSpareTenantFiles(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	spares := func() []string {
		names, _ := filepath.Glob(filepath.Join(dir, "templates", ".spare.tmp-*"))
		return names
	}
	waitFor(t, func() bool { return len(spares()) == spareTenantFiles })
	for i := range 2 * spareTenantFiles {
		id := "t" + string(rune('a'+i))
		if err := s.CreateTenant(ctx, id); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(s.tenantPath(id))
		if err != nil || string(data) != string(s.template) {
			t.Fatalf("tenant %s is not a copy of the template (%v)", id, err)
		}
	}
	waitFor(t, func() bool { return len(spares()) == spareTenantFiles })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(spares()); n != 0 {
		t.Fatalf("%d spare files left after Close", n)
	}
}

// A tenant file in rollback-journal mode (made before the template was in
// WAL mode) is switched to WAL when opened, and a tenant file in WAL mode
// that is only read never opens its writer.
func TestTenantFilesOpenInWALMode(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"fresh", "legacy"} {
		if err := s.CreateTenant(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if !inWALMode(s.tenantPath("fresh")) {
		t.Fatal("a new tenant file is not in WAL mode")
	}
	legacy := sql.OpenDB(connector{"file:" + s.tenantPath("legacy") + "?_pragma=journal_mode(DELETE)"})
	if err := legacy.Ping(); err != nil {
		t.Fatal(err)
	}
	legacy.Close()
	if inWALMode(s.tenantPath("legacy")) {
		t.Fatal("could not make a rollback-journal tenant file")
	}

	fresh, err := s.Tenant(ctx, "fresh")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Parts(ctx, ion.ListOptions{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	db, release, err := s.acquire(ctx, "fresh")
	if err != nil {
		t.Fatal(err)
	}
	if n := db.write.Stats().OpenConnections; n != 0 {
		t.Fatalf("reading a tenant opened %d writer connections, want 0", n)
	}
	release()

	old, err := s.Tenant(ctx, "legacy")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.CreatePart(ctx, ion.Part{PartNumber: "p"}); err != nil {
		t.Fatal(err)
	}
	if !inWALMode(s.tenantPath("legacy")) {
		t.Fatal("opening a rollback-journal tenant did not switch it to WAL")
	}
}
