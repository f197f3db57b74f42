package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ionbox/ionbox/internal/postgres"
	"github.com/ionbox/ionbox/internal/scrub"
	"github.com/ionbox/ionbox/internal/storetest"
	"github.com/ionbox/ionbox/ion"
)

// TestSnapshotNoCanaryInAnySchema is the privacy test on PostgreSQL. The
// server's data files cannot be scanned for raw bytes from a test (they
// belong to the server, are shared by every database on it and keep dead
// tuples until VACUUM), so the proof is asked in SQL: after a snapshot, an
// interrupted snapshot and a refused one, no row of any table in any schema
// of this deployment except the source tenant's holds a canary in any
// column (each row is cast to text whole).
func TestSnapshotNoCanaryInAnySchema(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	ctx := t.Context()
	prefix := newPrefix(t, url)
	stores, err := postgres.Open(ctx, url, testOptions(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer stores.Close()
	const from = "production-org-1"
	for _, id := range []string{from, "sbx-org-1", "sbx-org-2"} {
		if err := stores.CreateTenant(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	src, err := stores.Tenant(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	canaries := storetest.SeedCanaries(t, ctx, src)
	policy := scrub.DefaultPolicy()
	policy.Costs = "remove"
	if _, err := stores.SnapshotTenant(ctx, from, "sbx-org-1", scrub.NewPlan(policy), nil); err != nil {
		t.Fatal(err)
	}
	// One interrupted midway: it must leave nothing either.
	cctx, cancel := context.WithCancel(ctx)
	calls := 0
	_, err = stores.SnapshotTenant(cctx, from, "sbx-org-2", scrub.NewPlan(policy), func(ion.SnapshotProgress) {
		if calls++; calls == 2 {
			cancel()
		}
	})
	cancel()
	if err == nil {
		t.Fatal("the interrupted snapshot succeeded")
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE starts_with(n.nspname, $1) AND c.relkind = 'r' ORDER BY 1, 2`, prefix)
	if err != nil {
		t.Fatal(err)
	}
	type table struct{ Schema, Name string }
	tables, err := pgx.CollectRows(rows, pgx.RowToStructByPos[table])
	if err != nil {
		t.Fatal(err)
	}
	var scanned, sourceHits int
	for _, tb := range tables {
		q := `SELECT count(*) FROM ` + pgx.Identifier{tb.Schema, tb.Name}.Sanitize() + ` AS r WHERE strpos(r::text, $1) > 0`
		for _, needle := range append([]string{"zqxcanary"}, tails(canaries)...) {
			var n int
			if err := conn.QueryRow(ctx, q, needle).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				continue
			}
			if tb.Schema == prefix+"t_"+from {
				sourceHits++
			} else {
				t.Errorf("%d rows of %s.%s hold canary %q", n, tb.Schema, tb.Name, needle)
			}
		}
		scanned++
	}
	if sourceHits == 0 {
		t.Fatal("no row of the source holds a canary: the scan cannot find one")
	}
	if scanned < 30 {
		t.Fatalf("scanned only %d tables", scanned)
	}
	// The copy's foreign keys hold: PostgreSQL checked them on COPY, and
	// they are still there to check.
	var fks int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
		WHERE n.nspname = $1 AND k.contype = 'f'`, prefix+"t_sbx-org-1").Scan(&fks); err != nil || fks < 20 {
		t.Fatalf("the copy has %d foreign keys (%v); want the tenant schema's", fks, err)
	}
}

// tails returns the random part of each canary.
func tails(canaries []string) []string {
	out := make([]string, len(canaries))
	for i, c := range canaries {
		out[i] = c[strings.LastIndex(c, "-")+1:]
	}
	return out
}
