package postgres

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ionbox/ionbox/ion"
)

// A snapshot streams each table of the source schema through Go: COPY …
// TO STDOUT on one connection, in a read-only REPEATABLE READ transaction
// (one consistent point of the source, whose lifetime lock it holds
// shared), the plan's rules applied to the scrubbed fields of each line,
// and COPY … FROM STDIN into a claimed spare schema on a second connection.
// Source values of scrubbed columns are never sent to the server in the
// copy. Everything on the second connection is one transaction: the copy,
// its sequences, the verification (row counts against the source, every
// scrubbed value read back and passed through its rule's Check) and finally
// the swap of the spare schema for the target's. A failure or a crash
// rolls all of it back, leaving the target and the spare as they were.
//
// Unlike the SQLite store's files, PostgreSQL's data files cannot be
// scanned for leftover bytes by the tests: the proof there is that no
// column of the sandbox's schema holds a canary, asked in SQL.

// SnapshotTenant makes tenant to's schema a scrubbed copy of tenant from
// (see ion.SnapshotStores).
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
	// Both exist and are at the latest schema version, which the spare
	// the copy is made in has too.
	for _, id := range []string{from, to} {
		if _, err := s.Tenant(ctx, id); err != nil {
			return ion.SnapshotStats{}, err
		}
	}
	var stats ion.SnapshotStats
	err := s.withSpare(ctx, func() error {
		var err error
		stats, err = s.snapshot(ctx, s.tenantSchema(from), to, plan, progress)
		return err
	})
	if err != nil {
		if ion.ErrorCode(err) != "" || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return stats, err
		}
		return stats, fmt.Errorf("postgres: %s: %w", op, err)
	}
	return stats, nil
}

// snapTable is one table to copy and how.
type snapTable struct {
	name    string
	cols    []snapColumn
	source  int64 // its rows in the source snapshot
	checked bool  // has a scrubbed column
}

type snapColumn struct {
	name  string
	float bool // double precision: the rule gets a float64
	rule  *ion.ColumnRule
	aux   int // index of the rule's aux column in cols, or -1
}

func (s *Stores) snapshot(ctx context.Context, src, to string, plan ion.ScrubPlan, progress func(ion.SnapshotProgress)) (ion.SnapshotStats, error) {
	var stats ion.SnapshotStats
	rconn, err := s.pool.Acquire(ctx)
	if err != nil {
		return stats, err
	}
	defer rconn.Release()
	rtx, err := rconn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return stats, err
	}
	defer rtx.Rollback(context.WithoutCancel(ctx))
	if _, err := rtx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, lockKey(src, "lifetime")); err != nil {
		return stats, err
	}

	wconn, err := s.pool.Acquire(ctx)
	if err != nil {
		return stats, err
	}
	defer wconn.Release()
	wpt, err := wconn.Begin(ctx)
	if err != nil {
		return stats, err
	}
	defer wpt.Rollback(context.WithoutCancel(ctx))
	wtx := &tx{pgq: pgq{wpt}, ctx: ctx, now: s.opts.Now()}
	spare, err := s.claimSpare(wtx)
	if err != nil {
		return stats, err
	}
	tables, err := snapshotTables(ctx, rtx, wtx, src, plan)
	if err != nil {
		return stats, err
	}
	var total int64
	for _, t := range tables {
		total += t.source
	}

	start := time.Now()
	// Secondary indexes and foreign keys are dropped from the spare and
	// made again once the rows are in: building an index once and checking
	// a foreign key with one join are much cheaper than keeping them row
	// by row, and they are checked all the same (a unique index or a key
	// the copy broke fails the snapshot).
	rebuild, err := dropIndexesAndKeys(wtx, spare)
	if err != nil {
		return stats, err
	}
	var done, scrubbed atomic.Int64
	progress(ion.SnapshotProgress{Phase: ion.SnapshotCopying, Total: total})
	tick := func() { progress(ion.SnapshotProgress{Phase: ion.SnapshotCopying, Done: done.Load(), Total: total}) }
	for _, t := range tables {
		if err := copyTable(ctx, rconn, wconn, src, spare, t, &done, &scrubbed, tick); err != nil {
			return stats, fmt.Errorf("copy table %s: %w", t.name, err)
		}
		tick()
	}
	for _, stmt := range rebuild {
		if _, err := wtx.exec(stmt); err != nil {
			return stats, fmt.Errorf("index the copy: %w", err)
		}
	}
	if err := copySequences(ctx, rtx, wtx, src, spare); err != nil {
		return stats, err
	}
	stats.Rows, stats.Scrubbed, stats.CopyTime = done.Load(), scrubbed.Load(), time.Since(start)

	start = time.Now()
	if err := verifyCopy(ctx, wconn, wtx, spare, tables, total, progress); err != nil {
		return stats, err
	}
	stats.CheckTime = time.Since(start)

	// The swap: no call may run on the target while its schema changes.
	tenant := s.tenantSchema(to)
	if _, err := wtx.exec(`SELECT pg_advisory_xact_lock(?)`, lockKey(tenant, "lifetime")); err != nil {
		return stats, err
	}
	if ok, err := schemaExists(wtx, tenant); err != nil || !ok {
		return stats, errors.Join(err, errTenantNotFound(to))
	}
	if _, err := wtx.exec(`DROP SCHEMA ` + quote(tenant) + ` CASCADE`); err != nil {
		return stats, err
	}
	if _, err := wtx.exec(`ALTER SCHEMA ` + quote(spare) + ` RENAME TO ` + quote(tenant)); err != nil {
		return stats, err
	}
	return stats, wpt.Commit(ctx)
}

// dropIndexesAndKeys drops the foreign keys and the indexes other than
// primary keys of schema's tables and returns the statements that make
// them again, indexes first.
func dropIndexesAndKeys(wtx *tx, schema string) ([]string, error) {
	var drops, indexes, keys []string
	rows, err := wtx.query(`SELECT quote_ident(c.relname) AS tbl, quote_ident(k.conname), pg_get_constraintdef(k.oid)
		FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = ? AND k.contype = 'f' ORDER BY 1, 2`, schema)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var table, name, def string
		if err := rows.Scan(&table, &name, &def); err != nil {
			rows.Close()
			return nil, err
		}
		t := quote(schema) + "." + table
		drops = append(drops, `ALTER TABLE `+t+` DROP CONSTRAINT `+name)
		keys = append(keys, `ALTER TABLE `+t+` ADD CONSTRAINT `+name+` `+def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = wtx.query(`SELECT quote_ident(i.relname), pg_get_indexdef(i.oid)
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
		WHERE n.nspname = ? AND NOT x.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
		ORDER BY 1`, schema)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return nil, err
		}
		drops = append(drops, `DROP INDEX `+quote(schema)+`.`+name)
		indexes = append(indexes, def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, d := range drops {
		if _, err := wtx.exec(d); err != nil {
			return nil, err
		}
	}
	return append(indexes, keys...), nil
}

// snapshotTables lists the source's tables, parents first, with their
// columns and rules and their row counts in the source snapshot.
// VALIDATION_ERROR naming policy for a text column without a rule.
func snapshotTables(ctx context.Context, rtx pgx.Tx, wtx *tx, src string, plan ion.ScrubPlan) ([]*snapTable, error) {
	names, err := tablesInOrder(&tx{pgq: pgq{rtx}, ctx: ctx}, src)
	if err != nil {
		return nil, err
	}
	var tables []*snapTable
	var missing []string
	for _, name := range names {
		if name == "goose_db_version" {
			continue // the spare's own says the same
		}
		if plan.Omits(name) {
			continue // left empty in the sandbox
		}
		t := &snapTable{name: name}
		rows, err := rtx.Query(ctx, `SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)
			FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
			ORDER BY a.attnum`, src, name)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c snapColumn
			var typ string
			if err := rows.Scan(&c.name, &typ); err != nil {
				rows.Close()
				return nil, err
			}
			c.float, c.aux = typ == "double precision", -1
			rule, ok := plan.Rule(name, c.name)
			switch {
			case !ok && typ == "text":
				missing = append(missing, name+"."+c.name)
			case ok && !rule.Keep:
				c.rule = &rule
				t.checked = true
			}
			t.cols = append(t.cols, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for i, c := range t.cols {
			if c.rule == nil || c.rule.Aux == "" {
				continue
			}
			for j, a := range t.cols {
				if a.name == c.rule.Aux {
					t.cols[i].aux = j
				}
			}
			if t.cols[i].aux < 0 {
				return nil, ion.Invalid("policy", "the rule for %s.%s needs column %s, which the table does not have.", name, c.name, c.rule.Aux)
			}
		}
		if err := rtx.QueryRow(ctx, `SELECT count(*) FROM `+quote(src)+`.`+quote(name)).Scan(&t.source); err != nil {
			return nil, err
		}
		tables = append(tables, t)
	}
	if len(missing) > 0 {
		return nil, ion.Invalid("policy", "the scrub policy has no rule for the text column(s) %s; add one for each (keep, text, name, …) so that nothing is copied unscrubbed by accident.", strings.Join(missing, ", "))
	}
	return tables, nil
}

func (t *snapTable) colList() string {
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = quote(c.name)
	}
	return strings.Join(names, ", ")
}

// copyTable streams table t from the source to the spare schema, scrubbing
// on the way.
func copyTable(ctx context.Context, rconn, wconn *pgxpool.Conn, src, dst string, t *snapTable, done, scrubbed *atomic.Int64, tick func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	outR, outW := io.Pipe()
	inR, inW := io.Pipe()
	readErr := make(chan error, 1)
	go func() {
		_, err := rconn.Conn().PgConn().CopyTo(ctx, outW, `COPY (SELECT `+t.colList()+` FROM `+quote(src)+`.`+quote(t.name)+`) TO STDOUT`)
		outW.CloseWithError(err)
		readErr <- err
	}()
	scrubErr := make(chan error, 1)
	go func() {
		err := scrubLines(outR, inW, t, done, scrubbed, tick)
		if err != nil {
			outR.CloseWithError(err)
			cancel()
		}
		inW.CloseWithError(err)
		scrubErr <- err
	}()
	_, err := wconn.Conn().PgConn().CopyFrom(ctx, inR, `COPY `+quote(dst)+`.`+quote(t.name)+` (`+t.colList()+`) FROM STDIN`)
	if err != nil {
		inR.CloseWithError(err)
		cancel()
	}
	return errors.Join(firstErr(<-scrubErr, <-readErr), err)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil && !errors.Is(e, io.ErrClosedPipe) {
			return e
		}
	}
	return nil
}

// progressEvery is how many rows pass between progress calls.
const progressEvery = 20_000

// scrubLines rewrites COPY text lines of t from r to w, applying each
// scrubbed column's rule.
func scrubLines(r io.Reader, w io.Writer, t *snapTable, done, scrubbed *atomic.Int64, tick func()) error {
	br := bufio.NewReaderSize(r, 1<<20)
	bw := bufio.NewWriterSize(w, 1<<20)
	fields := make([][]byte, 0, len(t.cols))
	var n int64
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A row longer than the buffer: gather it whole.
			full := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				full = append(full, line...)
			}
			line = full
		}
		if len(line) > 0 {
			fields = splitFields(fields[:0], bytes.TrimSuffix(line, []byte{'\n'}))
			if len(fields) != len(t.cols) {
				return fmt.Errorf("a COPY line has %d fields; want %d", len(fields), len(t.cols))
			}
			for i, c := range t.cols {
				if i > 0 {
					bw.WriteByte('\t')
				}
				if c.rule == nil {
					bw.Write(fields[i])
					continue
				}
				v, err := decodeField(fields[i], c.float)
				if err != nil {
					return fmt.Errorf("column %s: %w", c.name, err)
				}
				aux := ""
				if c.aux >= 0 {
					if a, _ := decodeField(fields[c.aux], false); a != nil {
						aux = a.(string)
					}
				}
				if v != nil {
					scrubbed.Add(1)
				}
				out := c.rule.Scrub(v, aux)
				if err := encodeField(bw, out); err != nil {
					return fmt.Errorf("column %s: %w", c.name, err)
				}
			}
			bw.WriteByte('\n')
			n++
			if n%progressEvery == 0 {
				done.Add(progressEvery)
				tick()
			}
		}
		if errors.Is(err, io.EOF) {
			done.Add(n % progressEvery)
			return bw.Flush()
		}
		if err != nil {
			return err
		}
	}
}

func splitFields(dst [][]byte, line []byte) [][]byte {
	for {
		i := bytes.IndexByte(line, '\t')
		if i < 0 {
			return append(dst, line)
		}
		dst = append(dst, line[:i])
		line = line[i+1:]
	}
}

// decodeField reads a COPY text field: nil for \N, a float64 for a
// double precision column, else the unescaped string.
func decodeField(f []byte, float bool) (any, error) {
	if string(f) == `\N` {
		return nil, nil
	}
	if float {
		return strconv.ParseFloat(string(f), 64)
	}
	if bytes.IndexByte(f, '\\') < 0 {
		return string(f), nil
	}
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '\\' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch c := f[i]; c {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case 'x':
			j := i + 1
			for j < len(f) && j < i+3 && isHex(f[j]) {
				j++
			}
			v, err := strconv.ParseUint(string(f[i+1:j]), 16, 8)
			if err != nil {
				return nil, fmt.Errorf("bad escape in COPY data")
			}
			b.WriteByte(byte(v))
			i = j - 1
		default:
			if c >= '0' && c <= '7' {
				j := i
				for j < len(f) && j < i+3 && f[j] >= '0' && f[j] <= '7' {
					j++
				}
				v, _ := strconv.ParseUint(string(f[i:j]), 8, 8)
				b.WriteByte(byte(v))
				i = j - 1
				continue
			}
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// encodeField writes v as a COPY text field.
func encodeField(w *bufio.Writer, v any) error {
	switch x := v.(type) {
	case nil:
		w.WriteString(`\N`)
	case float64:
		w.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case string:
		for i := 0; i < len(x); i++ {
			switch c := x[i]; c {
			case '\\':
				w.WriteString(`\\`)
			case '\n':
				w.WriteString(`\n`)
			case '\r':
				w.WriteString(`\r`)
			case '\t':
				w.WriteString(`\t`)
			default:
				w.WriteByte(c)
			}
		}
	default:
		return fmt.Errorf("a scrub rule returned a %T", v)
	}
	return nil
}

// copySequences sets the spare's identity sequences to the source's, so
// that the sandbox's new ids follow the source's.
func copySequences(ctx context.Context, rtx pgx.Tx, wtx *tx, src, dst string) error {
	rows, err := rtx.Query(ctx, `SELECT sequencename::text, last_value FROM pg_sequences WHERE schemaname = $1 AND last_value IS NOT NULL`, src)
	if err != nil {
		return err
	}
	type seq struct {
		name string
		last int64
	}
	var seqs []seq
	for rows.Next() {
		var q seq
		if err := rows.Scan(&q.name, &q.last); err != nil {
			rows.Close()
			return err
		}
		seqs = append(seqs, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, q := range seqs {
		if _, err := wtx.exec(`SELECT setval(?::text::regclass, ?, true)`, quote(dst)+"."+quote(q.name), q.last); err != nil {
			return err
		}
	}
	return nil
}

// verifyCopy checks, in the transaction that wrote the copy, that every
// table has the source's row count and that every scrubbed value passes
// its rule's Check (read back from the server, not from what was sent).
func verifyCopy(ctx context.Context, wconn *pgxpool.Conn, wtx *tx, dst string, tables []*snapTable, total int64, progress func(ion.SnapshotProgress)) error {
	var done int64
	progress(ion.SnapshotProgress{Phase: ion.SnapshotVerifying, Total: total})
	for _, t := range tables {
		var n int64
		if err := wtx.queryRow(`SELECT count(*) FROM ` + quote(dst) + `.` + quote(t.name)).Scan(&n); err != nil {
			return err
		}
		if n != t.source {
			return fmt.Errorf("verify: table %s has %d rows in the copy and %d in the source", t.name, n, t.source)
		}
		if t.checked {
			if err := checkTable(ctx, wconn, dst, t); err != nil {
				return err
			}
		}
		done += n
		progress(ion.SnapshotProgress{Phase: ion.SnapshotVerifying, Done: done, Total: total})
	}
	return nil
}

// checked is t reduced to its scrubbed columns and their aux columns,
// which is all verification reads.
func (t *snapTable) checkedColumns() *snapTable {
	keep := map[int]bool{}
	for i, c := range t.cols {
		if c.rule != nil {
			keep[i] = true
			if c.aux >= 0 {
				keep[c.aux] = true
			}
		}
	}
	out := &snapTable{name: t.name, source: t.source, checked: true}
	index := map[int]int{}
	for i, c := range t.cols {
		if keep[i] {
			index[i] = len(out.cols)
			out.cols = append(out.cols, c)
		}
	}
	for i, c := range out.cols {
		if c.aux >= 0 {
			out.cols[i].aux = index[c.aux]
		}
	}
	return out
}

func checkTable(ctx context.Context, wconn *pgxpool.Conn, dst string, t *snapTable) error {
	t = t.checkedColumns()
	r, w := io.Pipe()
	copyErr := make(chan error, 1)
	go func() {
		_, err := wconn.Conn().PgConn().CopyTo(ctx, w, `COPY (SELECT `+t.colList()+` FROM `+quote(dst)+`.`+quote(t.name)+`) TO STDOUT`)
		w.CloseWithError(err)
		copyErr <- err
	}()
	check := func() error {
		br := bufio.NewReaderSize(r, 1<<20)
		var fields [][]byte
		for row := 1; ; row++ {
			line, err := br.ReadBytes('\n')
			if len(line) > 0 {
				fields = splitFields(fields[:0], bytes.TrimSuffix(line, []byte{'\n'}))
				for i, c := range t.cols {
					if c.rule == nil {
						continue
					}
					v, derr := decodeField(fields[i], c.float)
					aux := ""
					if c.aux >= 0 {
						if a, _ := decodeField(fields[c.aux], false); a != nil {
							aux = a.(string)
						}
					}
					if derr != nil || !c.rule.Check(v, aux) {
						return fmt.Errorf("verify: row %d of table %s holds a value in %s that the scrub policy cannot have produced", row, t.name, c.name)
					}
				}
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	err := check()
	r.CloseWithError(errors.New("verification stopped"))
	cerr := <-copyErr
	if err != nil {
		return err
	}
	return cerr
}
