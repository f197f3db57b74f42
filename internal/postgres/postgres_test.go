package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ionbox/ionbox/internal/postgres"
	"github.com/ionbox/ionbox/internal/storetest"
	"github.com/ionbox/ionbox/ion"
)

// testURL is the database the tests use; they skip without it.
func testURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("ION_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("ION_TEST_POSTGRES_URL is not set; set it to e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL store tests")
	}
	return url
}

// testOptions keeps each test's pools small: many tests run at once
// against one server.
func testOptions(prefix string) postgres.Options {
	return postgres.Options{Schema: prefix, MaxConns: 4, ControlConns: 2, SpareSchemas: 1}
}

// newPrefix returns a schema prefix no other test uses and drops every
// schema with it when t ends.
func newPrefix(t testing.TB, url string) string {
	t.Helper()
	var b [5]byte
	_, _ = rand.Read(b[:])
	prefix := "it_" + hex.EncodeToString(b[:]) + "_"
	t.Cleanup(func() { dropSchemas(t, url, prefix) })
	return prefix
}

func dropSchemas(t testing.TB, url, prefix string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Errorf("drop test schemas: %v", err)
		return
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)`, prefix)
	if err != nil {
		t.Errorf("drop test schemas: %v", err)
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Errorf("drop test schemas: %v", err)
		return
	}
	for _, name := range names {
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	}
}

// opener opens stores under a schema prefix per test; a second call for
// the same test opens the same schemas, as storetest.Opener requires.
func opener(url string) storetest.Opener {
	var mu sync.Mutex
	prefixes := map[*testing.T]string{}
	return func(t *testing.T) ion.Stores {
		t.Helper()
		mu.Lock()
		prefix, ok := prefixes[t]
		if !ok {
			prefix = newPrefix(t, url)
			prefixes[t] = prefix
		}
		mu.Unlock()
		s, err := postgres.Open(t.Context(), url, testOptions(prefix))
		if err != nil {
			t.Fatalf("open stores with prefix %s: %v", prefix, err)
		}
		return s
	}
}

func TestConformance(t *testing.T) {
	url := testURL(t)
	storetest.Run(t, opener(url))
}

// TestConformanceWithoutSuperuser runs the areas that copy rows between
// schemas as a role that may not set session_replication_role, so that
// the copies run every foreign-key check (the conformance run above, as
// the superuser of the test database, skips them).
func TestConformanceWithoutSuperuser(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	const role = "ionbox_test_plain"
	// Roles belong to the cluster: made once, kept for later runs.
	if _, err := conn.Exec(ctx, `DO $$BEGIN
		CREATE ROLE `+role+` LOGIN NOSUPERUSER;
	EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
	END$$`); err != nil {
		t.Fatalf("create role %s: %v", role, err)
	}
	var db string
	if err := conn.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `GRANT CREATE ON DATABASE `+pgx.Identifier{db}.Sanitize()+` TO `+role); err != nil {
		t.Fatalf("grant CREATE to %s: %v", role, err)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	plain := strings.Replace(url, "://"+cfg.User+"@", "://"+role+"@", 1)
	if plain == url {
		t.Fatalf("ION_TEST_POSTGRES_URL %q does not name its user as scheme://user@host; name it so that this test can connect as %s", url, role)
	}
	var super bool
	pc, err := pgx.Connect(ctx, plain)
	if err != nil {
		t.Fatalf("connect as %s (the test database must let it in as it lets in %s): %v", role, cfg.User, err)
	}
	err = pc.QueryRow(ctx, `SELECT current_setting('is_superuser') = 'on' OR has_parameter_privilege('session_replication_role', 'SET')`).Scan(&super)
	pc.Close(ctx)
	if err != nil || super {
		t.Fatalf("role %s may set session_replication_role (%v), so this test would not run the checked copies", role, err)
	}
	storetest.RunAreas(t, opener(plain), "States", "Templates", "Snapshots", "Tenancy", "Atomically")
}
