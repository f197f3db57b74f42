package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
)

// stmtConn wraps one SQLite connection with a cache of its prepared
// statements by query text, so that repeated queries skip SQLite's parser
// (a large part of a simple read's cost). Queries are built from
// allow-listed fields only, so the set of texts is small; past
// maxCachedStmts the cache stops growing and further texts run unprepared.
//
// database/sql uses a connection from one goroutine at a time, but a
// transaction may run a query while rows of an earlier one are still open;
// a statement whose rows are open is busy, and the same text then runs
// unprepared rather than resetting it under those rows.
type stmtConn struct {
	inner sqliteConn
	stmts map[string]*cachedStmt
}

const maxCachedStmts = 200

// sqliteConn is what modernc's connection implements and stmtConn passes on.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// sqliteRows is what modernc's rows implement and cachedRows passes on.
type sqliteRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

type cachedStmt struct {
	stmt interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	}
	busy bool // rows of it are open
}

var _ sqliteConn = (*stmtConn)(nil)

func newStmtConn(c driver.Conn) driver.Conn {
	inner, ok := c.(sqliteConn)
	if !ok {
		return c
	}
	return &stmtConn{inner: inner, stmts: map[string]*cachedStmt{}}
}

// Unwrap returns modernc's connection, for code that needs its own methods
// (the backup API) through database/sql's Conn.Raw.
func (c *stmtConn) Unwrap() driver.Conn { return c.inner }

// statement returns the cached statement for query, preparing it on first
// use, or nil when it cannot be used now.
func (c *stmtConn) statement(ctx context.Context, query string) (*cachedStmt, error) {
	if s, ok := c.stmts[query]; ok {
		if s.busy {
			return nil, nil
		}
		return s, nil
	}
	if len(c.stmts) >= maxCachedStmts {
		return nil, nil
	}
	ds, err := c.inner.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	st, ok := ds.(interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	})
	if !ok {
		ds.Close()
		return nil, nil
	}
	s := &cachedStmt{stmt: st}
	c.stmts[query] = s
	return s, nil
}

func (c *stmtConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.inner.QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	sr, ok := rows.(sqliteRows)
	if !ok {
		// Rows we cannot watch would leave the statement's state unknown.
		rows.Close()
		delete(c.stmts, query)
		s.stmt.Close()
		return c.inner.QueryContext(ctx, query, args)
	}
	s.busy = true
	return &cachedRows{sqliteRows: sr, stmt: s}, nil
}

func (c *stmtConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.inner.ExecContext(ctx, query, args)
	}
	return s.stmt.ExecContext(ctx, args)
}

func (c *stmtConn) Close() error {
	var errs []error
	for _, s := range c.stmts {
		errs = append(errs, s.stmt.Close())
	}
	c.stmts = nil
	return errors.Join(append(errs, c.inner.Close())...)
}

func (c *stmtConn) Prepare(query string) (driver.Stmt, error) { return c.inner.Prepare(query) }
func (c *stmtConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.inner.PrepareContext(ctx, query)
}
func (c *stmtConn) Begin() (driver.Tx, error) { return c.inner.Begin() } //nolint:staticcheck // required by driver.Conn
func (c *stmtConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner.BeginTx(ctx, opts)
}
func (c *stmtConn) Ping(ctx context.Context) error         { return c.inner.Ping(ctx) }
func (c *stmtConn) ResetSession(ctx context.Context) error { return c.inner.ResetSession(ctx) }
func (c *stmtConn) IsValid() bool                          { return c.inner.IsValid() }

// cachedRows frees its statement for reuse once closed.
type cachedRows struct {
	sqliteRows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.sqliteRows.Close()
	r.stmt.busy = false
	return err
}
