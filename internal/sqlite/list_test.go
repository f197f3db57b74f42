package sqlite

import (
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ionbox/ionbox/ion"
)

// listed is what the tests below need of an entity, whatever its type.
type listed interface {
	name() string
	columnCount() int
	projected() []string
	notNullColumns() (table string, cols []string)
}

func (e *entity[T]) name() string        { return e.plural }
func (e *entity[T]) columnCount() int    { return len(e.proj.Columns()) }
func (e *entity[T]) projected() []string { return e.proj.Fields() }
func (e *entity[T]) notNullColumns() (string, []string) {
	var cols []string
	for _, f := range e.notNull {
		cols = append(cols, strings.TrimPrefix(e.fields[f].expr, "t."))
	}
	return e.table, cols
}

var allEntities = []listed{
	buildRequirements, abomInstallations, organizations, users, apiKeys, partInventories, issues, teams,
	locations, unitsOfMeasurement, mbomItems, mbomSubstitutes, parts, procedures, steps, stepFields,
	suppliers, purchaseOrders, purchaseOrderLines, runs, runSteps, runStepFields,
}

// TestEveryColumnProjects: ListOptions.Fields can select every column of
// every entity by the field it fills (the id is always read), so that no
// column is read for a list that does not ask for it.
func TestEveryColumnProjects(t *testing.T) {
	t.Parallel()
	for _, e := range allEntities {
		if got, want := len(e.projected()), e.columnCount(); got != want {
			t.Errorf("%s: %d columns project by field (%v), want %d", e.name(), got, e.projected(), want)
		}
	}
}

// TestNotNullMarksMatchTheSchema: a field an entity marks notNull (sorted
// without a NULLS clause) is NOT NULL in the schema, so that the mark never
// changes where NULLs sort; and its sort has no NULLS clause, so that an
// index can serve it.
func TestNotNullMarksMatchTheSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	notNull := map[string]bool{} // "table.column"
	for _, set := range []struct {
		file string
		fsys fs.FS
	}{{"tenant.db", tenantMigrations}, {"control.db", controlMigrations}} {
		db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), set.file))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := migrate(ctx, db, set.fsys); err != nil {
			t.Fatal(err)
		}
		// An INTEGER PRIMARY KEY is the rowid, which is never NULL.
		rows, err := db.QueryContext(ctx, `SELECT m.name, p.name, p."notnull" OR (p.pk = 1 AND p.type = 'INTEGER') FROM sqlite_schema m, pragma_table_info(m.name) p WHERE m.type = 'table'`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var table, col string
			var nn bool
			if err := rows.Scan(&table, &col, &nn); err != nil {
				t.Fatal(err)
			}
			notNull[table+"."+col] = nn
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range allEntities {
		table, cols := e.notNullColumns()
		for _, c := range cols {
			if !notNull[table+"."+c] {
				t.Errorf("%s: marks %s notNull, but %s.%s may be NULL", e.name(), c, table, c)
			}
		}
	}
	for _, c := range []struct {
		key  ion.SortKey
		want string
	}{
		{ion.SortKey{Field: "partId"}, "t.part_id ASC, t.id ASC"},
		{ion.SortKey{Field: "partId", Desc: true}, "t.part_id DESC, t.id ASC"},
		{ion.SortKey{Field: "locationId"}, "t.location_id ASC NULLS LAST, t.id ASC"},
		{ion.SortKey{Field: "locationId", Desc: true}, "t.location_id DESC NULLS FIRST, t.id ASC"},
	} {
		if got, err := partInventories.orderBy([]ion.SortKey{c.key}); err != nil || got != c.want {
			t.Errorf("part inventories by %+v: ORDER BY %q (%v), want %q", c.key, got, err, c.want)
		}
	}
}
