package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"github.com/ionbox/ionbox/internal/sqlcol"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	goosedb "github.com/pressly/goose/v3/database"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ionbox/ionbox/ion"
)

//go:embed migrations/control/*.sql migrations/tenant/*.sql
var migrationFiles embed.FS

// Migration sets, one per kind of database.
var (
	controlMigrations = mustSub(migrationFiles, "migrations/control")
	tenantMigrations  = mustSub(migrationFiles, "migrations/tenant")
)

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // the embedded tree is fixed at compile time
	}
	return sub
}

// sqliteDriver is a private instance of modernc's driver, so that the
// function registered below reaches only this package's connections and no
// other user of the "sqlite" driver in the process.
var sqliteDriver = func() *sqlite.Driver {
	d := &sqlite.Driver{}
	// casefold(text) lowers a string with Unicode rules. SQLite's own
	// lower() and LIKE fold ASCII only; ilike filters need "Ä" to match "ä"
	// as PostgreSQL's ILIKE does.
	d.MustRegisterDeterministicScalarFunction("casefold", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return strings.ToLower(v), nil
		case []byte:
			return strings.ToLower(string(v)), nil
		case nil:
			return nil, nil
		default:
			return strings.ToLower(fmt.Sprint(v)), nil
		}
	})
	// new_etag() is ion.NewEtag for statements that rewrite many rows, so
	// that each row still gets its own etag.
	d.MustRegisterScalarFunction("new_etag", 0, func(*sqlite.FunctionContext, []driver.Value) (driver.Value, error) {
		return ion.NewEtag(), nil
	})
	return d
}()

// newEtagSQL is ion.NewEtag in SQL (the new_etag function registered
// above), spelled as the PostgreSQL store spells its own, so that files the
// two stores share read the same.
const newEtagSQL = `new_etag()`

type connector struct{ dsn string }

func (c connector) Connect(context.Context) (driver.Conn, error) {
	conn, err := sqliteDriver.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return newStmtConn(conn), nil
}
func (c connector) Driver() driver.Driver { return sqliteDriver }

// database is one SQLite file: a single-connection writer, whose
// transactions begin IMMEDIATE so that they never fail upgrading a read lock,
// and a pool of query-only readers, which WAL lets run beside the writer.
type database struct {
	path  string
	write *sql.DB
	read  *sql.DB
	now   func() time.Time
}

// dsn builds the connection string. busy_timeout comes first so that the
// pragmas after it already wait instead of failing with SQLITE_BUSY.
// synchronous=NORMAL in WAL mode loses nothing on a process crash (kill -9),
// only possibly the last transactions on a power loss, which is the
// durability the project asks for.
func dsn(path string, busy time.Duration, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// openDatabase opens the writer and the read pool of the file at path,
// creating the file if it does not exist.
func openDatabase(path string, opts Options) (*database, error) {
	write := sql.OpenDB(connector{dsn(path, opts.BusyTimeout, false)})
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	read := sql.OpenDB(connector{dsn(path, opts.BusyTimeout, true)})
	read.SetMaxOpenConns(opts.ReadConns)
	read.SetMaxIdleConns(opts.ReadConns)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)
	db := &database{path: path, write: write, read: read, now: opts.Now}
	// A file not in WAL mode yet (a new one, or a tenant made before the
	// template was in WAL mode) needs the writer first: it switches the file
	// to WAL, which the query-only readers cannot do. A file already in WAL
	// mode opens its writer on its first write, so that a tenant that is
	// only read costs one connection (a schema parse, and file descriptors).
	if !inWALMode(path) {
		if err := write.Ping(); err != nil {
			db.close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	return db, nil
}

// inWALMode reports whether the database file at path says it is in WAL
// mode: bytes 18 and 19 of its header (the write and read format versions)
// are 2. A missing or short file is not.
func inWALMode(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var header [20]byte
	if _, err := io.ReadFull(f, header[:]); err != nil {
		return false
	}
	return header[18] == 2 && header[19] == 2
}

func (db *database) close() error {
	return errors.Join(db.read.Close(), db.write.Close())
}

// migrate applies the embedded migrations in fsys that the file lacks.
func migrate(ctx context.Context, db *sql.DB, fsys fs.FS) error {
	p, err := goose.NewProvider(goosedb.DialectSQLite3, db, fsys)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// latestVersion is the highest migration version in fsys.
func latestVersion(fsys fs.FS) (int64, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, e := range entries {
		n, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("migration file %s has no version prefix", e.Name())
		}
		latest = max(latest, v)
	}
	return latest, nil
}

// schemaVersion is the migration version a file is at, 0 for a new file.
func schemaVersion(ctx context.Context, db *sql.DB) (int64, error) {
	var tables int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version'`).Scan(&tables)
	if err != nil || tables == 0 {
		return 0, err
	}
	var v sql.NullInt64
	err = db.QueryRowContext(ctx, `SELECT max(version_id) FROM goose_db_version WHERE is_applied`).Scan(&v)
	return v.Int64, err
}

// queryer is what reads need: a pool, a connection or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// tx is a write transaction. It fixes now, so that every row written by one
// change carries the same timestamp.
type tx struct {
	*sql.Tx
	ctx context.Context
	now time.Time
	// result is what a tenant write returns, for its Idempotency-Key
	// record (see setResult).
	result txResult
	// capture records the business objects the transaction touches, for
	// webhook events (see webhooks.go); nil until the first touch.
	capture *changeCapture
}

// txResult is the object a tenant write returns: its kind, id and value
// (nil for a delete).
type txResult struct {
	kind  string
	id    ion.ID
	value any
}

// setResult notes what the write returns, so that an Idempotency-Key step
// recorded in this transaction can replay it.
func (tx *tx) setResult(kind string, id ion.ID, value any) {
	tx.result = txResult{kind: kind, id: id, value: value}
}

// nowMicros is now as stored.
func (tx *tx) nowMicros() int64 { return sqlcol.ToMicros(tx.now) }

func (tx *tx) exec(query string, args ...any) (sql.Result, error) {
	return tx.ExecContext(tx.ctx, query, args...)
}

func (tx *tx) query(query string, args ...any) (*sql.Rows, error) {
	return tx.QueryContext(tx.ctx, query, args...)
}

func (tx *tx) queryRow(query string, args ...any) *sql.Row {
	return tx.QueryRowContext(tx.ctx, query, args...)
}

// insert runs an INSERT and returns the new row's id.
func (tx *tx) insert(query string, args ...any) (ion.ID, error) {
	res, err := tx.exec(query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// update runs fn in one write transaction and commits it; any error rolls
// everything back. Application errors (*ion.Error) come back as they are,
// anything else wrapped with op.
func (db *database) update(ctx context.Context, op string, fn func(tx *tx) error) error {
	if b, ok := ctx.Value(batchKey{db}).(*batch); ok {
		return wrapErr(op, b.savepoint(ctx, fn))
	}
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr(op, err)
	}
	t := &tx{Tx: sqlTx, ctx: ctx, now: db.now().UTC().Truncate(time.Microsecond)}
	if err := fn(t); err != nil {
		_ = sqlTx.Rollback()
		return wrapErr(op, err)
	}
	if err := sqlTx.Commit(); err != nil {
		_ = sqlTx.Rollback()
		return wrapErr(op, err)
	}
	return nil
}

// view runs fn in a read transaction on the read pool, so that the queries
// inside it (a page and its total count) see one snapshot.
func (db *database) view(ctx context.Context, op string, fn func(q queryer) error) error {
	if b, ok := ctx.Value(batchKey{db}).(*batch); ok {
		return wrapErr(op, fn(b.tx))
	}
	sqlTx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr(op, err)
	}
	defer func() { _ = sqlTx.Rollback() }()
	if err := fn(sqlTx); err != nil {
		return wrapErr(op, err)
	}
	return nil
}

// batchKey keys, in a context, the transaction of an atomically call on
// one database.
type batchKey struct{ db *database }

// batch is the transaction of an atomically call: the calls made with its
// context run inside it.
type batch struct {
	tx  *sql.Tx
	now time.Time
}

// atomically runs fn so that every call on db made with the context fn is
// given (reads too, so that they see the batch's own writes) is part of
// one write transaction, which commits when fn returns nil and rolls back
// otherwise. Each write inside runs in a savepoint, so that a failed one
// leaves nothing behind even if fn goes on. The transaction holds db's
// only writer until it ends: fn must not use the context from several
// goroutines at once, and must not wait for a write to db made with
// another context. Inside a batch, atomically just calls fn. fn's errors
// come back as they are.
func (db *database) atomically(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(batchKey{db}).(*batch); ok {
		return fn(ctx)
	}
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr(op, err)
	}
	defer func() { _ = sqlTx.Rollback() }()
	b := &batch{tx: sqlTx, now: db.now().UTC().Truncate(time.Microsecond)}
	if err := fn(context.WithValue(ctx, batchKey{db}, b)); err != nil {
		return err
	}
	return wrapErr(op, sqlTx.Commit())
}

// savepoint runs fn, a write inside the batch, in a savepoint of its
// transaction, which fn's error rolls back.
func (b *batch) savepoint(ctx context.Context, fn func(tx *tx) error) error {
	if _, err := b.tx.ExecContext(ctx, `SAVEPOINT write`); err != nil {
		return err
	}
	if err := fn(&tx{Tx: b.tx, ctx: ctx, now: b.now}); err != nil {
		bg := context.WithoutCancel(ctx)
		_, rerr := b.tx.ExecContext(bg, `ROLLBACK TO write`)
		_, relErr := b.tx.ExecContext(bg, `RELEASE write`)
		if rerr != nil || relErr != nil {
			return errors.Join(err, rerr, relErr)
		}
		return err
	}
	_, err := b.tx.ExecContext(ctx, `RELEASE write`)
	return err
}

// reader is what a read on db made with ctx uses: the transaction of the
// batch ctx is in, or else the read pool.
func (db *database) reader(ctx context.Context) queryer {
	if b, ok := ctx.Value(batchKey{db}).(*batch); ok {
		return b.tx
	}
	return db.read
}

// wrapErr leaves application errors alone, turns constraint violations
// that slipped past the explicit checks into CONFLICT, and wraps the rest.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ie *ion.Error
	if errors.As(err, &ie) {
		return ie
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return ion.Errorf(ion.ECONFLICT, "%s: the change would duplicate an existing object.", op)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return ion.Errorf(ion.ECONFLICT, "%s: the change would leave a reference to an object that does not exist.", op)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}
