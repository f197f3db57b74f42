package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"

	"github.com/ionbox/ionbox/ion"
)

// A snapshot is built in a new file, a copy of the migrated template, with
// the source tenant's file attached: one INSERT … SELECT per table (in
// chunks of ids, for progress) writes the rows with every scrubbed column
// computed by ionbox_scrub, a Go function that applies the plan's rule. So
// no source value of a scrubbed column is ever written to the new file: not
// to a page, not to free pages, not to a journal (there is none: the file
// is private until it is placed, and a crash leaves only a temporary file
// that Open removes), and not to a temporary file (temp_store is memory).
// That is why the copy needs no VACUUM afterwards. All tables are read in
// one transaction, so the copy is one consistent point of the source, and
// verified in the same transaction: every scrubbed value passes its rule's
// Check and every table has the source's row count. Only then is the file
// renamed over the target tenant's.

// snapshotChunk is how many ids one INSERT … SELECT covers.
const snapshotChunk = 50_000

// activeSnapshot is what the SQL functions of one snapshot reach through
// its token: the rules, by index, and a count of scrubbed values.
type activeSnapshot struct {
	rules    []ion.ColumnRule
	scrubbed atomic.Int64
}

// activeSnapshots maps a snapshot's random token to its rules while it
// runs. The functions are registered once for the package's driver; the
// token, bound as a parameter, picks the snapshot.
var activeSnapshots sync.Map // int64 → *activeSnapshot

func init() {
	lookup := func(args []driver.Value) (*activeSnapshot, ion.ColumnRule, string, error) {
		tok, _ := args[0].(int64)
		idx, _ := args[1].(int64)
		v, ok := activeSnapshots.Load(tok)
		if !ok {
			return nil, ion.ColumnRule{}, "", errors.New("ionbox_scrub: no snapshot with that token is running")
		}
		a := v.(*activeSnapshot)
		if idx < 0 || int(idx) >= len(a.rules) {
			return nil, ion.ColumnRule{}, "", errors.New("ionbox_scrub: rule index out of range")
		}
		aux, _ := args[3].(string)
		return a, a.rules[idx], aux, nil
	}
	// ionbox_scrub(token, rule, value, aux) is the rule's Scrub.
	sqliteDriver.MustRegisterScalarFunction("ionbox_scrub", 4, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		a, rule, aux, err := lookup(args)
		if err != nil {
			return nil, err
		}
		v := sqlValue(args[2])
		if v != nil {
			a.scrubbed.Add(1)
		}
		return rule.Scrub(v, aux), nil
	})
	// ionbox_scrub_ok(token, rule, value, aux) is the rule's Check.
	sqliteDriver.MustRegisterScalarFunction("ionbox_scrub_ok", 4, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		_, rule, aux, err := lookup(args)
		if err != nil {
			return nil, err
		}
		if rule.Check(sqlValue(args[2]), aux) {
			return int64(1), nil
		}
		return int64(0), nil
	})
}

// sqlValue gives a rule what the plan expects: nil, string or float64 (an
// integer in a REAL column arrives as int64).
func sqlValue(v driver.Value) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case int64:
		return float64(x)
	}
	return v
}

// snapshotTable is one table to copy and how.
type snapshotTable struct {
	name      string
	chunked   bool   // has an integer id to copy by ranges
	cols      string // the columns written, quoted
	selects   string // what the SELECT computes for them
	checks    string // a condition true when every scrubbed value passes Check; "" for none
	source    int64  // its rows in the source
	min, max  int64  // its ids in the source
	scrubbing bool
}

// SnapshotTenant makes tenant to's file a scrubbed copy of tenant from (see
// ion.SnapshotStores).
func (s *Stores) SnapshotTenant(ctx context.Context, from, to string, plan ion.ScrubPlan, progress func(ion.SnapshotProgress)) (ion.SnapshotStats, error) {
	op := fmt.Sprintf("snapshot of tenant %s into %s", from, to)
	for _, id := range []string{from, to} {
		if err := validateTenantID(id); err != nil {
			return ion.SnapshotStats{}, err
		}
	}
	if from == to {
		return ion.SnapshotStats{}, ion.Invalid("to", "a tenant cannot be a snapshot of itself.")
	}
	if progress == nil {
		progress = func(ion.SnapshotProgress) {}
	}
	if _, err := os.Stat(s.tenantPath(to)); errors.Is(err, os.ErrNotExist) {
		return ion.SnapshotStats{}, errTenantDeleted(to)
	}
	// Pinned, the source is not deleted, swapped or closed meanwhile (and
	// it is migrated to the template's version on open).
	_, release, err := s.acquire(ctx, from)
	if err != nil {
		return ion.SnapshotStats{}, wrapErr(op, err)
	}
	defer release()

	tmp, err := s.spares.take()
	if err != nil {
		return ion.SnapshotStats{}, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	defer func() { // left only if it was not placed
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			os.Remove(tmp + suffix)
		}
	}()
	stats, err := s.buildSnapshot(ctx, s.tenantPath(from), tmp, plan, progress)
	if err != nil {
		return stats, wrapErr(op, err)
	}
	if err := syncFile(tmp); err != nil {
		return stats, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	unlock, err := s.lockStates(ctx, to)
	if err != nil {
		return stats, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	defer unlock()
	if _, err := os.Stat(s.tenantPath(to)); errors.Is(err, os.ErrNotExist) {
		return stats, errTenantDeleted(to) // deleted meanwhile
	}
	if err := s.swapTenantFile(ctx, to, tmp); err != nil {
		return stats, wrapErr(op, err)
	}
	return stats, nil
}

// buildSnapshot fills the template copy at dst from the tenant file at src.
func (s *Stores) buildSnapshot(ctx context.Context, src, dst string, plan ion.ScrubPlan, progress func(ion.SnapshotProgress)) (ion.SnapshotStats, error) {
	var stats ion.SnapshotStats
	// The file is private until it is placed: no journal and no syncs
	// while it is built (it is synced once, whole, at the end); foreign
	// keys are not checked row by row because every row comes, ids and
	// all, from one consistent state of a database that checked them.
	db := sql.OpenDB(connector{"file:" + dst + "?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=foreign_keys(0)" +
		"&_pragma=temp_store(MEMORY)&_pragma=cache_size(-131072)&_pragma=busy_timeout(" + fmt.Sprint(s.opts.BusyTimeout.Milliseconds()) + ")"})
	db.SetMaxOpenConns(1)
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return stats, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS src`, src); err != nil {
		return stats, fmt.Errorf("attach the source: %w", err)
	}

	var tokb [8]byte
	_, _ = rand.Read(tokb[:])
	tok := int64(binary.LittleEndian.Uint64(tokb[:]) >> 1)
	active := &activeSnapshot{}
	activeSnapshots.Store(tok, active)
	defer activeSnapshots.Delete(tok)

	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return stats, err
	}
	defer tx.Rollback()
	tables, err := snapshotTables(ctx, tx, plan, active)
	if err != nil {
		return stats, err
	}
	var total int64
	for _, t := range tables {
		total += t.source
	}

	start := time.Now()
	// Indexes are dropped and made again once the rows are in: sorting
	// each index once is much cheaper than keeping it in order row by
	// row, and remaking a unique index checks that the copy kept
	// uniqueness.
	indexes, err := dropIndexes(ctx, tx)
	if err != nil {
		return stats, err
	}
	var done int64
	progress(ion.SnapshotProgress{Phase: ion.SnapshotCopying, Total: total})
	for _, t := range tables {
		insert := `INSERT INTO main."` + t.name + `" (` + t.cols + `) SELECT ` + t.selects + ` FROM src."` + t.name + `"`
		err := forChunks(ctx, t, func(lo, hi int64) error {
			q, args := insert, []any{tok}
			if t.chunked {
				q += ` WHERE id > ?2 AND id <= ?3`
				args = append(args, lo, hi)
			}
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return fmt.Errorf("copy table %s: %w", t.name, err)
			}
			n, _ := res.RowsAffected()
			done += n
			progress(ion.SnapshotProgress{Phase: ion.SnapshotCopying, Done: done, Total: total})
			return nil
		})
		if err != nil {
			return stats, err
		}
	}
	for _, ix := range indexes {
		if _, err := tx.ExecContext(ctx, ix); err != nil {
			return stats, fmt.Errorf("index the copy: %w", err)
		}
	}
	// AUTOINCREMENT counters, so that the sandbox's new ids follow the
	// source's as they would have there.
	if _, err := tx.ExecContext(ctx, `DELETE FROM main.sqlite_sequence`); err != nil {
		return stats, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO main.sqlite_sequence (name, seq) SELECT name, seq FROM src.sqlite_sequence`); err != nil {
		return stats, err
	}
	stats.Rows, stats.Scrubbed, stats.CopyTime = done, active.scrubbed.Load(), time.Since(start)

	start = time.Now()
	if err := verifySnapshot(ctx, tx, tok, tables, total, progress); err != nil {
		return stats, err
	}
	if err := tx.Commit(); err != nil {
		return stats, err
	}
	stats.CheckTime = time.Since(start)
	if _, err := conn.ExecContext(ctx, `DETACH DATABASE src`); err != nil {
		return stats, err
	}
	// The header says WAL, as the template's does, so that the tenant
	// opens without switching modes.
	if _, err := conn.ExecContext(ctx, `PRAGMA journal_mode=WAL`); err != nil {
		return stats, err
	}
	if err := conn.Close(); err != nil {
		return stats, err
	}
	return stats, db.Close()
}

// dropIndexes drops the copy's explicit indexes and returns the statements
// that make them again.
func dropIndexes(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM main.sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var names, stmts []string
	for rows.Next() {
		var name, stmt string
		if err := rows.Scan(&name, &stmt); err != nil {
			rows.Close()
			return nil, err
		}
		names, stmts = append(names, name), append(stmts, stmt)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, err := tx.ExecContext(ctx, `DROP INDEX main."`+n+`"`); err != nil {
			return nil, err
		}
	}
	return stmts, nil
}

// verifySnapshot checks, in the transaction that wrote the copy (so that
// the source's counts are of the same point), that every table has the
// source's row count and that every scrubbed value passes its Check.
func verifySnapshot(ctx context.Context, tx *sql.Tx, tok int64, tables []*snapshotTable, total int64, progress func(ion.SnapshotProgress)) error {
	var done int64
	progress(ion.SnapshotProgress{Phase: ion.SnapshotVerifying, Total: total})
	for _, t := range tables {
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM main."`+t.name+`"`).Scan(&n); err != nil {
			return err
		}
		if n != t.source {
			return fmt.Errorf("verify: table %s has %d rows in the copy and %d in the source", t.name, n, t.source)
		}
		if t.checks == "" {
			done += n
			progress(ion.SnapshotProgress{Phase: ion.SnapshotVerifying, Done: done, Total: total})
			continue
		}
		err := forChunks(ctx, t, func(lo, hi int64) error {
			q, args := `SELECT count(*), coalesce(min(id), 0) FROM main."`+t.name+`" WHERE NOT (`+t.checks+`)`, []any{tok}
			if t.chunked {
				q += ` AND id > ?2 AND id <= ?3`
				args = append(args, lo, hi)
			}
			var bad, first int64
			if err := tx.QueryRowContext(ctx, q, args...).Scan(&bad, &first); err != nil {
				return fmt.Errorf("verify table %s: %w", t.name, err)
			}
			if bad > 0 {
				return fmt.Errorf("verify: %d rows of table %s (the first id %d) hold a value the scrub policy cannot have produced", bad, t.name, first)
			}
			done += min(hi, t.max) - lo
			progress(ion.SnapshotProgress{Phase: ion.SnapshotVerifying, Done: min(done, total), Total: total})
			return nil
		})
		if err != nil {
			return err
		}
	}
	progress(ion.SnapshotProgress{Phase: ion.SnapshotVerifying, Done: total, Total: total})
	return nil
}

// forChunks calls fn for each range (lo, hi] of snapshotChunk ids of t, or
// once for a table copied whole.
func forChunks(ctx context.Context, t *snapshotTable, fn func(lo, hi int64) error) error {
	if !t.chunked {
		return fn(0, 0)
	}
	for lo := t.min - 1; lo < t.max; lo += snapshotChunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(lo, lo+snapshotChunk); err != nil {
			return err
		}
	}
	return nil
}

// snapshotTables lists the source's tables with what to copy from each,
// registering the plan's rules with active. VALIDATION_ERROR naming policy
// for a text column without a rule.
func snapshotTables(ctx context.Context, tx *sql.Tx, plan ion.ScrubPlan, active *activeSnapshot) ([]*snapshotTable, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM src.sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var tables []*snapshotTable
	var missing []string
	for _, name := range names {
		if plan.Omits(name) {
			continue // left empty in the sandbox
		}
		t := &snapshotTable{name: name}
		cols, err := tableColumns(ctx, tx, name)
		if err != nil {
			return nil, err
		}
		var colNames, selects, checks []string
		for _, c := range cols {
			if c.name == "id" && c.pk {
				t.chunked = true
			}
			colNames = append(colNames, `"`+c.name+`"`)
			rule, ok := plan.Rule(name, c.name)
			if !ok {
				if strings.EqualFold(c.typ, "TEXT") {
					missing = append(missing, name+"."+c.name)
				}
				selects = append(selects, `"`+c.name+`"`)
				continue
			}
			if rule.Keep {
				selects = append(selects, `"`+c.name+`"`)
				continue
			}
			aux := `''`
			if rule.Aux != "" {
				aux = `"` + strings.ReplaceAll(rule.Aux, `"`, `""`) + `"`
			}
			idx := len(active.rules)
			active.rules = append(active.rules, rule)
			selects = append(selects, fmt.Sprintf(`ionbox_scrub(?1, %d, "%s", %s)`, idx, c.name, aux))
			checks = append(checks, fmt.Sprintf(`ionbox_scrub_ok(?1, %d, "%s", %s)`, idx, c.name, aux))
			t.scrubbing = true
		}
		t.cols, t.selects, t.checks = strings.Join(colNames, ", "), strings.Join(selects, ", "), strings.Join(checks, " AND ")
		count := `SELECT count(*), 0, 0 FROM src."` + name + `"`
		if t.chunked {
			count = `SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0) FROM src."` + name + `"`
		}
		if err := tx.QueryRowContext(ctx, count).Scan(&t.source, &t.min, &t.max); err != nil {
			return nil, err
		}
		tables = append(tables, t)
	}
	if len(missing) > 0 {
		return nil, ion.Invalid("policy", "the scrub policy has no rule for the text column(s) %s; add one for each (keep, text, name, …) so that nothing is copied unscrubbed by accident.", strings.Join(missing, ", "))
	}
	return tables, nil
}

type tableColumn struct {
	name, typ string
	pk        bool
}

// tableColumns lists the stored columns of src.table (generated columns
// compute themselves).
func tableColumns(ctx context.Context, tx *sql.Tx, table string) ([]tableColumn, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, type, pk, hidden FROM pragma_table_xinfo(?, 'src') ORDER BY cid`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []tableColumn
	for rows.Next() {
		var c tableColumn
		var pk, hidden int
		if err := rows.Scan(&c.name, &c.typ, &pk, &hidden); err != nil {
			return nil, err
		}
		if hidden == 2 || hidden == 3 {
			continue
		}
		c.pk = pk == 1
		cols = append(cols, c)
	}
	return cols, rows.Err()
}
