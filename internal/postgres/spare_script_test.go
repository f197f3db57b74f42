package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// catalogQueries describe a schema ($1) as the rows of its catalog: tables
// and their columns, indexes, constraints, sequences, triggers, functions,
// comments and goose's version rows (not their times).
var catalogQueries = map[string]string{
	"columns": `SELECT c.relname || ' ' || c.relkind::text || ' ' || a.attnum || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ||
			' notnull=' || a.attnotnull || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text ||
			' collation=' || coalesce(co.collname, '') || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') ||
			' comment=' || coalesce(col_description(c.oid, a.attnum), '')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		LEFT JOIN pg_collation co ON co.oid = a.attcollation
		LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
		WHERE n.nspname = $1`,
	"relations": `SELECT c.relname || ' ' || c.relkind::text || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1`,
	"indexes":     `SELECT indexdef FROM pg_indexes WHERE schemaname = $1`,
	"constraints": `SELECT k.conname || ' ' || c.relname || ' ' || pg_get_constraintdef(k.oid) FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1`,
	"sequences": `SELECT sequencename || ' ' || data_type || ' ' || start_value || ' ' || increment_by || ' ' || min_value || ' ' || max_value || ' ' ||
			cache_size || ' ' || cycle || ' ' || coalesce(last_value::text, 'null') FROM pg_sequences WHERE schemaname = $1`,
	"triggers":  `SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT t.tgisinternal`,
	"functions": `SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1`,
	"goose":     `SELECT id || ' ' || version_id || ' ' || is_applied FROM %s.goose_db_version`,
}

func describeSchema(t *testing.T, conn *pgx.Conn, schema string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for kind, q := range catalogQueries {
		args := []any{schema}
		if kind == "goose" {
			q, args = strings.Replace(q, "%s", quote(schema), 1), nil
		}
		rows, err := conn.Query(t.Context(), q, args...)
		if err != nil {
			t.Fatalf("%s of %s: %v", kind, schema, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s of %s: %v", kind, schema, err)
		}
		for i, l := range lines {
			lines[i] = strings.ReplaceAll(l, schema, "<schema>")
		}
		slices.Sort(lines)
		out[kind] = lines
	}
	return out
}

// TestFastSpareMatchesGoose checks that a spare made by the one-transaction
// script is what goose makes, and that goose then finds nothing to do.
func TestFastSpareMatchesGoose(t *testing.T) {
	t.Parallel()
	url := postgresURL(t)
	if tenantMigrationScript.err != nil {
		t.Fatalf("the tenant migrations cannot run as one script: %v", tenantMigrationScript.err)
	}
	ctx := t.Context()
	conn, s, prefix := scratchStores(t, url)

	if err := s.spares.make(ctx); err != nil {
		t.Fatalf("make a spare: %v", err)
	}
	var fast string
	var ready bool
	if err := s.controlPool.QueryRow(ctx, `SELECT name, ready FROM spare_schemas`).Scan(&fast, &ready); err != nil {
		t.Fatalf("the spare's row: %v", err)
	}
	if !ready {
		t.Fatalf("spare %s was registered unready", fast)
	}
	slow := prefix + "goose"
	if err := migrate(ctx, s.config, slow, tenantMigrations, false, true); err != nil {
		t.Fatal(err)
	}
	want := describeSchema(t, conn, slow)
	if len(want["columns"]) < 50 || len(want["goose"]) < 2 {
		t.Fatalf("the goose-migrated schema looks empty: %v", want)
	}
	// Goose sees the fast spare as migrated: had it any migration to apply,
	// its first CREATE TABLE would fail on the existing table.
	if err := migrate(ctx, s.config, fast, tenantMigrations, true, false); err != nil {
		t.Fatalf("goose on the fast spare: %v", err)
	}
	got := describeSchema(t, conn, fast)
	for kind := range catalogQueries {
		if !slices.Equal(got[kind], want[kind]) {
			t.Errorf("%s differ:\nfast spare:\n  %s\ngoose:\n  %s", kind, strings.Join(got[kind], "\n  "), strings.Join(want[kind], "\n  "))
		}
	}
}

// scratchStores opens stores under a fresh schema prefix with no spare
// makers (SpareSchemas: -1) and a plain connection beside them; every
// schema of the prefix is dropped when the test ends.
// postgresURL is the database the tests that need PostgreSQL use; they
// skip without one.
func postgresURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("ION_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("ION_TEST_POSTGRES_URL is not set; set it to e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL store tests")
	}
	return url
}

func scratchStores(t *testing.T, url string) (conn *pgx.Conn, s *Stores, prefix string) {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix = "it_" + hex.EncodeToString(b[:]) + "_"
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		rows, err := conn.Query(ctx, `SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname::text, $1)`, prefix)
		if err == nil {
			names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
			for _, n := range names {
				_, _ = conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+quote(n)+` CASCADE`)
			}
		}
		conn.Close(ctx)
	})
	s, err = Open(ctx, url, Options{Schema: prefix, MaxConns: 2, ControlConns: 1, SpareSchemas: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return conn, s, prefix
}
