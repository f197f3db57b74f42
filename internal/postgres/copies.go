package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ionbox/ionbox/internal/sqlcol"
)

// Copies of tenant data between schemas (saved states, templates, ready
// copies) and the reuse of replaced tenant schemas.
//
// Every schema these copy into is a migrated tenant schema (a claimed
// spare, or a replaced tenant schema emptied by recycle), so that the copy
// is DML only: making a schema's tables is ≈ 0.1 s of PostgreSQL CPU for
// its DDL, copying a small tenant's rows a few milliseconds. The
// statements of one copy are sent as one multi-statement query (one round
// trip), not rebound or prepared, since their text names schemas.

// rawExec runs sql (no parameters, possibly several statements) in tx with
// the simple protocol, bypassing rebind's cache of query texts.
func rawExec(tx *tx, sql string) error {
	_, err := tx.pgq.q.Exec(tx.ctx, sql)
	return err
}

// literal quotes s as an SQL string literal.
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// tenantLayout is what copies need to know of a tenant schema at the
// latest migration: the same for every such schema, so it is read from the
// catalog once per process (finding a schema's relations by its name
// scans pg_class, which holds every tenant's: tens of milliseconds once
// there are hundreds of tenants).
type tenantLayout struct {
	tables []string          // parents before children, goose's left out
	cols   map[string]string // table → its column list, generated columns left out
	seqs   []string          // sequences, goose's left out
}

// layout returns the tenant layout, reading it from schema (which must be
// at the latest migration) the first time.
func (s *Stores) layout(tx *tx, schema string) (*tenantLayout, error) {
	s.layoutMu.Lock()
	defer s.layoutMu.Unlock()
	if s.tenantLayout != nil {
		return s.tenantLayout, nil
	}
	tables, err := tablesInOrder(tx, schema)
	if err != nil {
		return nil, err
	}
	l := &tenantLayout{cols: map[string]string{}}
	for _, t := range tables {
		if t != "goose_db_version" {
			l.tables = append(l.tables, t)
		}
	}
	rows, err := tx.query(`SELECT c.relname::text, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = ? AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		GROUP BY c.relname`, schema)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", schema, err)
	}
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			rows.Close()
			return nil, err
		}
		l.cols[t] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("columns of %s: %w", schema, err)
	}
	seqs, err := tx.query(`SELECT sequencename::text FROM pg_sequences WHERE schemaname = ? AND sequencename <> 'goose_db_version_id_seq'
		ORDER BY sequencename`, schema)
	if err != nil {
		return nil, err
	}
	for seqs.Next() {
		var name string
		if err := seqs.Scan(&name); err != nil {
			seqs.Close()
			return nil, err
		}
		l.seqs = append(l.seqs, name)
	}
	seqs.Close()
	if err := seqs.Err(); err != nil {
		return nil, err
	}
	s.tenantLayout = l
	return l, nil
}

// schemaVersion is the latest migration applied to tenant schema.
func schemaVersion(tx *tx, schema string) (int64, error) {
	var version *int64
	err := tx.pgq.q.QueryRow(tx.ctx, `SELECT max(version_id) FROM `+quote(schema)+`.goose_db_version WHERE is_applied`,
		pgx.QueryExecModeSimpleProtocol).Scan(&version)
	if err != nil || version == nil {
		return 0, err
	}
	return *version, nil
}

// trusted wraps script, which copies rows that already met every
// constraint (from a template, a saved state or a tenant) or empties a
// whole schema, so that PostgreSQL skips the per-row foreign-key checks
// while it runs, where the role may (Stores.skipChecks): they are
// triggers, which session_replication_role = replica does not fire.
// Unique, not-null and check constraints still apply. Measured on a
// seeded-small copy (2,355 rows): 113 ms with the checks, 43 without.
func (s *Stores) trusted(script string) string {
	if !s.skipChecks {
		return script
	}
	// Every script ends with ";\n".
	return "SET LOCAL session_replication_role = replica;\n" + script + "SET LOCAL session_replication_role = origin"
}

// copyRows copies every row of src (a migrated tenant schema, a template
// or a saved state) into dst, a tenant schema at the latest migration
// with no rows and fresh sequences, parents before children, and sets
// dst's sequences as src's are: one multi-statement query.
func (s *Stores) copyRows(tx *tx, src, dst string) error {
	l, err := s.layout(tx, dst)
	if err != nil {
		return err
	}
	v, err := schemaVersion(tx, src)
	if err != nil {
		return err
	}
	if v != s.latest {
		// Made by an older version: its own columns.
		return s.copyOlderRows(tx, src, dst)
	}
	var b strings.Builder
	for _, t := range l.tables {
		fmt.Fprintf(&b, "INSERT INTO %s.%s (%s) SELECT %s FROM %s.%s;\n", quote(dst), quote(t), l.cols[t], l.cols[t], quote(src), quote(t))
	}
	for _, q := range l.seqs {
		fmt.Fprintf(&b, "SELECT setval(%s::regclass, last_value, true) FROM %s.%s WHERE is_called;\n",
			literal(quote(dst)+"."+quote(q)), quote(src), quote(q))
	}
	if err := rawExec(tx, s.trusted(b.String())); err != nil {
		return fmt.Errorf("copy %s into %s: %w", src, dst, err)
	}
	return nil
}

// copyRetimed copies template src into dst as copyRows does, with the
// times retime would give for `at` computed as the rows are copied (see
// sqlcol.RetimeAssignments), so that each row is written once.
func (s *Stores) copyRetimed(tx *tx, src, dst string, at time.Time) error {
	l, err := s.layout(tx, dst)
	if err != nil {
		return err
	}
	v, err := schemaVersion(tx, src)
	if err != nil {
		return err
	}
	if v != s.latest {
		if err := s.copyOlderRows(tx, src, dst); err != nil {
			return err
		}
		return retime(tx, dst, at)
	}
	maxIDs, err := largestIDs(tx, src)
	if err != nil {
		return err
	}
	retimed := map[string][]sqlcol.Assignment{}
	for i, t := range sqlcol.RetimedTables {
		if maxIDs[i] != nil {
			retimed[t.Name] = sqlcol.RetimeAssignments(t, *maxIDs[i], at)
		}
	}
	var b strings.Builder
	for _, t := range l.tables {
		sel := l.cols[t]
		if sets := retimed[t]; len(sets) > 0 {
			cols := strings.Split(l.cols[t], ", ")
			for i, c := range cols {
				for _, a := range sets {
					if c == a.Column {
						cols[i] = a.Expr
					}
				}
			}
			sel = strings.Join(cols, ", ")
		}
		fmt.Fprintf(&b, "INSERT INTO %s.%s (%s) SELECT %s FROM %s.%s;\n", quote(dst), quote(t), l.cols[t], sel, quote(src), quote(t))
	}
	for _, q := range l.seqs {
		fmt.Fprintf(&b, "SELECT setval(%s::regclass, last_value, true) FROM %s.%s WHERE is_called;\n",
			literal(quote(dst)+"."+quote(q)), quote(src), quote(q))
	}
	if err := rawExec(tx, s.trusted(b.String())); err != nil {
		return fmt.Errorf("copy %s into %s retimed: %w", src, dst, err)
	}
	return nil
}

// largestIDs are the largest ids of schema's sqlcol.RetimedTables, in
// order (nil for an empty table), in one query.
func largestIDs(tx *tx, schema string) ([]*int64, error) {
	var sel strings.Builder
	sel.WriteString("SELECT ")
	for i, t := range sqlcol.RetimedTables {
		if i > 0 {
			sel.WriteString(", ")
		}
		fmt.Fprintf(&sel, "(SELECT max(id) FROM %s.%s)", quote(schema), quote(t.Name))
	}
	maxIDs := make([]*int64, len(sqlcol.RetimedTables))
	dest := make([]any, len(maxIDs))
	for i := range maxIDs {
		dest[i] = &maxIDs[i]
	}
	if err := tx.pgq.q.QueryRow(tx.ctx, sel.String(), pgx.QueryExecModeSimpleProtocol).Scan(dest...); err != nil {
		return nil, fmt.Errorf("largest ids of %s: %w", schema, err)
	}
	return maxIDs, nil
}

// copyOlderRows is copyRows from a schema an older version made, with the
// columns it has, read from the catalog.
func (s *Stores) copyOlderRows(tx *tx, src, dst string) error {
	tables, err := tablesInOrder(tx, src)
	if err != nil {
		return err
	}
	// Generated columns compute themselves.
	rows, err := tx.query(`SELECT c.relname::text, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = ? AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		GROUP BY c.relname`, src)
	if err != nil {
		return fmt.Errorf("columns of %s: %w", src, err)
	}
	cols := map[string]string{}
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			rows.Close()
			return err
		}
		cols[t] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("columns of %s: %w", src, err)
	}
	var b strings.Builder
	for _, t := range tables {
		if t == "goose_db_version" {
			continue // dst's own says the same
		}
		fmt.Fprintf(&b, "INSERT INTO %s.%s (%s) SELECT %s FROM %s.%s;\n", quote(dst), quote(t), cols[t], cols[t], quote(src), quote(t))
	}
	seqs, err := tx.query(`SELECT sequencename::text, last_value FROM pg_sequences WHERE schemaname = ? AND last_value IS NOT NULL
		AND sequencename <> 'goose_db_version_id_seq'`, src)
	if err != nil {
		return err
	}
	for seqs.Next() {
		var name string
		var last int64
		if err := seqs.Scan(&name, &last); err != nil {
			seqs.Close()
			return err
		}
		fmt.Fprintf(&b, "SELECT setval(%s::regclass, %d, true);\n", literal(quote(dst)+"."+quote(name)), last)
	}
	seqs.Close()
	if err := seqs.Err(); err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	if err := rawExec(tx, s.trusted(b.String())); err != nil {
		return fmt.Errorf("copy %s into %s: %w", src, dst, err)
	}
	return nil
}

// retime moves the times of schema's rows (a fresh copy of a template) to
// end at `at` (see sqlcol.RetimeStatement): one query for the tables'
// largest ids, one for the updates.
func retime(tx *tx, schema string, at time.Time) error {
	maxIDs, err := largestIDs(tx, schema)
	if err != nil {
		return fmt.Errorf("retime %s: %w", schema, err)
	}
	var b strings.Builder
	for i, t := range sqlcol.RetimedTables {
		if maxIDs[i] == nil {
			continue
		}
		if q := sqlcol.RetimeStatement(t, quote(schema)+"."+quote(t.Name), *maxIDs[i], at); q != "" {
			b.WriteString(q)
			b.WriteString(";\n")
		}
	}
	if b.Len() == 0 {
		return nil
	}
	if err := rawExec(tx, b.String()); err != nil {
		return fmt.Errorf("retime %s: %w", schema, err)
	}
	return nil
}

// truncateAbove is the size of a schema's tables above which emptying it
// truncates them (new files, catalog updates: tens of milliseconds however
// small) rather than deleting their rows (cheap for a few thousand rows,
// but a large table's dead rows would wait for vacuum).
const truncateAbove = 16 << 20

var errNotRecyclable = errors.New("the schema is not at the latest tenant migration")

// emptySchema makes schema, a migrated tenant schema at the latest
// version, equal to a fresh spare: no rows in any table but goose's, every
// identity sequence as new. The caller holds schema exclusively (it was
// retired under the tenant's exclusive lifetime lock, and no call names it
// since).
func (s *Stores) emptySchema(tx *tx, schema string) error {
	v, err := schemaVersion(tx, schema)
	if err != nil {
		return err
	}
	if v != s.latest {
		return errNotRecyclable
	}
	l, err := s.layout(tx, schema)
	if err != nil {
		return err
	}
	names := make([]string, len(l.tables))
	for i, t := range l.tables {
		names[i] = quote(schema) + "." + quote(t)
	}
	bytes, err := s.schemaBytes(tx, schema)
	if err != nil {
		return err
	}
	var b strings.Builder
	if bytes > truncateAbove {
		// Transactional, identity sequences included.
		b.WriteString("TRUNCATE " + strings.Join(names, ", ") + " RESTART IDENTITY;\n")
	} else {
		// Children before parents, for the foreign keys.
		for i := len(names) - 1; i >= 0; i-- {
			b.WriteString("DELETE FROM " + names[i] + ";\n")
		}
		for _, q := range l.seqs {
			// setval is not undone by a rollback, but a schema whose
			// recycling fails is dropped.
			fmt.Fprintf(&b, "SELECT setval(%s::regclass, 1, false);\n", literal(quote(schema)+"."+quote(q)))
		}
	}
	return rawExec(tx, s.trusted(b.String()))
}

// schemaBytes is the size of the tables (with their indexes and TOAST) of
// schema, a tenant schema at the latest migration.
func (s *Stores) schemaBytes(tx *tx, schema string) (int64, error) {
	l, err := s.layout(tx, schema)
	if err != nil {
		return 0, err
	}
	var size strings.Builder
	size.WriteString("SELECT 0")
	for _, t := range l.tables {
		fmt.Fprintf(&size, " + pg_total_relation_size(%s::regclass)", literal(quote(schema)+"."+quote(t)))
	}
	var bytes int64
	err = tx.pgq.q.QueryRow(tx.ctx, size.String(), pgx.QueryExecModeSimpleProtocol).Scan(&bytes)
	return bytes, err
}

// recycleInBackground reuses retired, a tenant schema that a restore or a
// load replaced (renamed <prefix>trash_…), instead of dropping it: emptied,
// it becomes a spare schema, so that no schema is dropped and none made
// for it (≈ 0.1 s of PostgreSQL CPU for the DDL against a few milliseconds
// for emptying a small one). If it cannot be reused it is dropped. Nothing
// runs once Close has begun (the next Open drops retired).
func (s *Stores) recycleInBackground(retired string) {
	if retired == "" {
		return
	}
	s.inBackground(func(ctx context.Context) {
		if err := s.recycle(ctx, retired); err != nil {
			_, _ = s.pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+quote(retired)+` CASCADE`)
		}
	})
}

// recycle empties retired and registers it as a spare, in one transaction.
func (s *Stores) recycle(ctx context.Context, retired string) error {
	err := s.tenantDB.run(ctx, "recycle schema", true, func(tx *tx) error {
		if err := s.emptySchema(tx, retired); err != nil {
			return err
		}
		name := s.spareSchemaName()
		tx.onCommit(func() { s.ownSpares.Store(name, struct{}{}) })
		return rawExec(tx, `ALTER SCHEMA `+quote(retired)+` RENAME TO `+quote(name)+`;
INSERT INTO `+quote(s.controlSchema())+`.spare_schemas (name, ready, created_at) VALUES (`+literal(name)+`, true, `+
			strconv.FormatInt(sqlcol.ToMicros(time.Now()), 10)+`)`)
	})
	if err == nil {
		// The pool may now be over its size; the makers make none until
		// it is short again.
		s.spares.kick()
	}
	return err
}

// fillReady copies state name of tenant id (described by info) into dst,
// a migrated schema without rows: the state's rows, or for a state kept
// as a template and a time, the template's retimed. The caller holds the
// tenant's states lock.
func (s *Stores) fillReady(tx *tx, id, name string, info stateInfo, dst string) error {
	if info.template == "" {
		return s.copyRows(tx, s.stateSchema(id, name, false), dst)
	}
	if err := lockTemplate(tx, info.template, true); err != nil {
		return err
	}
	// A template being replaced or deleted first turns the states that
	// name it into copies (see materializeTemplateStates); its lock, now
	// held, says whether that happened meanwhile.
	again, err := stateKind(tx, s.stateSchema(id, name, false))
	if err != nil {
		return err
	}
	if again.template != info.template || !again.at.Equal(info.at) {
		if again.exists && !again.empty && again.template == "" {
			return s.copyRows(tx, s.stateSchema(id, name, false), dst)
		}
		return fmt.Errorf("state %s of tenant %s changed while its ready copy was made", name, id)
	}
	return s.copyRetimed(tx, info.template, dst, info.at)
}
