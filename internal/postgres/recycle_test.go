package postgres

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ionbox/ionbox/ion"
)

// TestRecycledSchemaIsAFreshSpare checks that a tenant schema a restore
// replaced, emptied by recycle, is the same as a spare made by the
// migration script, down to its sequences, so that a tenant given it sees
// nothing of the tenant it was: both the small case (rows deleted,
// sequences reset) and the large one (tables truncated).
func TestRecycledSchemaIsAFreshSpare(t *testing.T) {
	t.Parallel()
	url := postgresURL(t)
	ctx := t.Context()
	conn, s, prefix := scratchStores(t, url)
	if err := s.spares.make(ctx); err != nil {
		t.Fatalf("make a spare: %v", err)
	}
	var fresh string
	if err := s.controlPool.QueryRow(ctx, `SELECT name FROM spare_schemas`).Scan(&fresh); err != nil {
		t.Fatal(err)
	}
	want := describeSchema(t, conn, fresh)

	for _, large := range []bool{false, true} {
		t.Run(fmt.Sprintf("large=%v", large), func(t *testing.T) {
			id := fmt.Sprintf("t-%v", large)
			if err := s.CreateTenant(ctx, id); err != nil {
				t.Fatal(err)
			}
			ts, err := s.Tenant(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			p, err := ts.CreatePart(ctx, ion.Part{PartNumber: "P-1", Description: strings.Repeat("x", 100)})
			if err != nil {
				t.Fatal(err)
			}
			loc, err := ts.CreateLocation(ctx, ion.Location{Name: "bin", Available: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ts.CreatePartInventory(ctx, ion.PartInventory{PartID: p.ID, LocationID: &loc.ID, Quantity: 2}); err != nil {
				t.Fatal(err)
			}
			tenant := s.tenantSchema(id)
			if large {
				// Past truncateAbove without thousands of API calls.
				if _, err := conn.Exec(ctx, `INSERT INTO `+quote(tenant)+`.parts (part_number, revision, description, part_type, status, etag, created_at, updated_at)
					SELECT 'BULK-' || i, 'A', repeat('y', 1000), 'PART', 'ACTIVE', 'e', 0, 0 FROM generate_series(1, 20000) i`); err != nil {
					t.Fatal(err)
				}
				var size int64
				if err := conn.QueryRow(ctx, `SELECT pg_total_relation_size($1::regclass)`, quote(tenant)+".parts").Scan(&size); err != nil || size <= truncateAbove {
					t.Fatalf("the large tenant's parts take %d bytes (%v), want over %d", size, err, truncateAbove)
				}
			}
			retired := prefix + "trash_" + strings.ReplaceAll(id, "-", "_")
			if _, err := conn.Exec(ctx, `ALTER SCHEMA `+quote(tenant)+` RENAME TO `+quote(retired)); err != nil {
				t.Fatal(err)
			}
			if err := s.recycle(ctx, retired); err != nil {
				t.Fatalf("recycle: %v", err)
			}
			var name string
			if err := s.controlPool.QueryRow(ctx, `SELECT name FROM spare_schemas WHERE name <> $1`, fresh).Scan(&name); err != nil {
				t.Fatal(err)
			}
			got := describeSchema(t, conn, name)
			for kind := range catalogQueries {
				if !slices.Equal(got[kind], want[kind]) {
					t.Errorf("%s differ:\nrecycled:\n  %s\nfresh spare:\n  %s", kind, strings.Join(got[kind], "\n  "), strings.Join(want[kind], "\n  "))
				}
			}
			var rows int
			if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM `+quote(name)+`.parts) + (SELECT count(*) FROM `+quote(name)+`.locations)
				+ (SELECT count(*) FROM `+quote(name)+`.part_inventories)`).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows != 0 {
				t.Fatalf("the recycled schema holds %d rows", rows)
			}
			if _, err := conn.Exec(ctx, `DELETE FROM `+quote(s.controlSchema())+`.spare_schemas WHERE name = $1`, name); err != nil {
				t.Fatal(err)
			}
		})
	}
}
