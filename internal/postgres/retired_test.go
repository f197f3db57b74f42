package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ionbox/ionbox/internal/postgres"
	"github.com/ionbox/ionbox/ion"
)

// A restore renames the replaced tenant schema aside and, in the
// background, empties it into a spare or drops it (dropping a large schema
// while callers wait would cost as much as its files); nothing of it is
// left once the stores are closed, and one that a stopped process left is
// dropped by the next Open.
func TestRetiredSchemasAreDropped(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	prefix := newPrefix(t, url)
	ctx := t.Context()
	retired := func() []string {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, `SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname::text, $1)`, prefix+"trash_")
		if err != nil {
			t.Fatal(err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return names
	}

	s, err := postgres.Open(ctx, url, testOptions(prefix))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTenant(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	ts, err := s.Tenant(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.CreatePart(ctx, ion.Part{PartNumber: "kept"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveTenantState(ctx, "t1", "baseline"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := s.RestoreTenantState(ctx, "t1", "baseline"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if left := retired(); len(left) != 0 {
		t.Fatalf("retired schemas left after Close: %v", left)
	}

	// One a stopped process left behind.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(context.Background(), `CREATE SCHEMA `+pgx.Identifier{prefix + "trash_left"}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	s, err = postgres.Open(ctx, url, testOptions(prefix))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if left := retired(); len(left) != 0 {
		t.Fatalf("retired schemas left after Open and Close: %v", left)
	}
}
