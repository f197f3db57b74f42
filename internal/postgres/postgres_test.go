package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
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
