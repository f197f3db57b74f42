package postgres

import (
	"context"
	"errors"
	"fmt"
	"github.com/ionbox/ionbox/internal/sqlcol"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ionbox/ionbox/ion"
)

// newEtagSQL is ion.NewEtag in SQL, for statements that rewrite many rows,
// so that each row still gets its own etag: 32 lowercase hex characters.
const newEtagSQL = `replace(gen_random_uuid()::text, '-', '')`

// pgxQuerier is what pgx.Tx and *pgxpool.Pool have in common.
type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// queryer is what reads need: a pool or a transaction. Queries are written
// with ? placeholders, as in the SQLite store, and rebound to $n here, so
// that both stores' SQL reads alike.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) pgx.Row
	ExecContext(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error)
}

// rows is pgx.Rows with database/sql's Close signature.
type rows struct{ pgx.Rows }

func (r *rows) Close() error {
	r.Rows.Close()
	return r.Rows.Err()
}

// pgq rebinds placeholders and passes queries to a pool or transaction.
type pgq struct{ q pgxQuerier }

func (p pgq) QueryContext(ctx context.Context, query string, args ...any) (*rows, error) {
	r, err := p.q.Query(ctx, rebind(query), args...)
	if err != nil {
		return nil, err
	}
	return &rows{r}, nil
}

func (p pgq) QueryRowContext(ctx context.Context, query string, args ...any) pgx.Row {
	return p.q.QueryRow(ctx, rebind(query), args...)
}

func (p pgq) ExecContext(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	return p.q.Exec(ctx, rebind(query), args...)
}

var rebound sync.Map // query text with ? → with $n

// rebind turns ? placeholders into $1, $2, …. The store's SQL has no ? in
// literals or comments, and no operator spelled with ?.
func rebind(query string) string {
	if v, ok := rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	out := b.String()
	rebound.Store(query, out)
	return out
}

// tx is a write (or read) transaction. It fixes now, so that every row
// written by one change carries the same timestamp.
type tx struct {
	pgq
	ctx context.Context
	now time.Time
	// result is what a tenant write returns, for its Idempotency-Key
	// record (see setResult).
	result txResult
	// capture records the business objects the transaction touches, for
	// webhook events (see webhooks.go); nil until the first touch.
	capture *changeCapture
	// committed runs once what the transaction wrote has committed (see
	// onCommit).
	committed []func()
}

// onCommit runs f once what tx wrote has committed: when its transaction
// commits, or for a write inside a batch, when the batch does. It never
// runs if they roll back.
func (tx *tx) onCommit(f func()) { tx.committed = append(tx.committed, f) }

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

func (tx *tx) exec(query string, args ...any) (pgconn.CommandTag, error) {
	return tx.ExecContext(tx.ctx, query, args...)
}

func (tx *tx) query(query string, args ...any) (*rows, error) {
	return tx.QueryContext(tx.ctx, query, args...)
}

func (tx *tx) queryRow(query string, args ...any) pgx.Row {
	return tx.QueryRowContext(tx.ctx, query, args...)
}

// pipeline sends the queries of b (queued with queue) in one round trip
// and runs their callbacks in order. A write whose checks are reads of
// their own (does the organization exist, is the name free) queues the
// checks' reads, each keeping what it found, and then the write, and
// looks at what the checks found once the pipeline is back: when a check
// fails, the write ran anyway, and returning the check's error rolls it
// back with the transaction (or its savepoint). Each check costs a round
// trip only when it fails, as before; otherwise none.
func (tx *tx) pipeline(b *pgx.Batch) error {
	return tx.pgq.q.SendBatch(tx.ctx, b).Close()
}

// queue queues query, with ? placeholders, and args into b.
func queue(b *pgx.Batch, query string, args ...any) *pgx.QueuedQuery {
	return b.Queue(rebind(query), args...)
}

// insert runs an INSERT and returns the new row's id.
func (tx *tx) insert(query string, args ...any) (ion.ID, error) {
	var id ion.ID
	err := tx.queryRow(query+" RETURNING id", args...).Scan(&id)
	return id, err
}

// database is the pool of one kind of schema use: the control schema (its
// connections have search_path set at connect) or tenant schemas (each
// transaction sets search_path locally).
type database struct {
	pool *pgxpool.Pool
	read queryer
	now  func() time.Time
	// begin queues into b what runs right after BEGIN: it points
	// search_path at the schema and takes the advisory locks the
	// transaction needs. They are sent with the transaction's first
	// statement (see lazyTx).
	begin func(b *pgx.Batch, write bool)
	// notFound maps errors of a missing schema (a deleted tenant).
	notFound func(err error) error
}

// beginTx starts a transaction on a connection of db's pool: a write, or a
// read that sees one snapshot (a page and its count). Nothing is sent yet.
func (db *database) beginTx(ctx context.Context, write bool) (*lazyTx, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	head := &pgx.Batch{}
	if write {
		head.Queue(`begin`)
	} else {
		head.Queue(`begin isolation level repeatable read read only`)
	}
	if db.begin != nil {
		db.begin(head, write)
	}
	return newLazyTx(conn, head.QueuedQueries), nil
}

// maxAttempts bounds retries of a transaction PostgreSQL aborted to break
// a deadlock or a serialization conflict.
const maxAttempts = 5

// update runs fn in one write transaction and commits it; any error rolls
// everything back. Application errors (*ion.Error) come back as they are,
// anything else wrapped with op. A deadlock or serialization failure
// retries the whole transaction.
func (db *database) update(ctx context.Context, op string, fn func(tx *tx) error) error {
	return db.run(ctx, op, true, fn)
}

// view runs fn in a read transaction, so that the queries inside it (a
// page and its total count) see one snapshot.
func (db *database) view(ctx context.Context, op string, fn func(q queryer) error) error {
	return db.run(ctx, op, false, func(tx *tx) error { return fn(tx) })
}

func (db *database) run(ctx context.Context, op string, write bool, fn func(tx *tx) error) error {
	if b, ok := ctx.Value(batchKey{db}).(*batch); ok {
		return db.inBatch(ctx, b, op, write, fn)
	}
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		err = db.attempt(ctx, write, fn)
		if !retryable(err) {
			break
		}
	}
	if db.notFound != nil {
		err = db.notFound(err)
	}
	return wrapErr(op, err)
}

func (db *database) attempt(ctx context.Context, write bool, fn func(tx *tx) error) error {
	lt, err := db.beginTx(ctx, write)
	if err != nil {
		return err
	}
	defer lt.rollback(context.WithoutCancel(ctx))
	t := &tx{pgq: pgq{lt}, ctx: ctx, now: db.now().UTC().Truncate(time.Microsecond)}
	if err := fn(t); err != nil {
		return err
	}
	if err := lt.commit(ctx); err != nil {
		return err
	}
	for _, f := range t.committed {
		f()
	}
	return nil
}

// batchKey keys, in a context, the transaction of an atomically call on
// one database.
type batchKey struct{ db *database }

// batch is the transaction of an atomically call: the calls made with its
// context run inside it.
type batch struct {
	pt  *lazyTx
	now time.Time
	// afterCommit runs once the batch has committed (see afterCommit).
	afterCommit []func()
	// savepoints counts the savepoints made, for their names.
	savepoints int
}

// atomically runs fn so that every call on db made with the context fn is
// given (reads too, so that they see the batch's own writes) is part of
// one write transaction, which commits when fn returns nil and rolls back
// otherwise. Each write inside runs in a savepoint, so that a failed one
// leaves nothing behind even if fn goes on. The transaction holds one
// connection and db's write locks (db.begin) until it ends; fn must not
// use the context from several goroutines at once, and must not wait for
// a write to db made with another context. Inside a batch, atomically
// just calls fn. fn's errors come back as they are.
func (db *database) atomically(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(batchKey{db}).(*batch); ok {
		return fn(ctx)
	}
	pt, err := db.beginTx(ctx, true)
	if err != nil {
		return wrapErr(op, err)
	}
	defer pt.rollback(context.WithoutCancel(ctx))
	b := &batch{pt: pt, now: db.now().UTC().Truncate(time.Microsecond)}
	if err := fn(context.WithValue(ctx, batchKey{db}, b)); err != nil {
		if pt.failed != nil {
			// A deferred write failed (ion.Deferrable): the cause of
			// whatever fn met after it.
			return pt.failed
		}
		return err
	}
	if err := pt.commit(ctx); err != nil {
		return wrapErr(op, err)
	}
	for _, f := range b.afterCommit {
		f()
	}
	return nil
}

// inBatch runs fn inside batch b: a read on the batch's transaction, a
// write in a savepoint of it (see savepoint).
func (db *database) inBatch(ctx context.Context, b *batch, op string, write bool, fn func(tx *tx) error) error {
	var err error
	if !write {
		err = fn(&tx{pgq: pgq{b.pt}, ctx: ctx, now: b.now})
	} else {
		b.savepoints++
		sp := newSavepoint(b.pt, "ionbox_sp_"+strconv.Itoa(b.savepoints))
		t := &tx{pgq: pgq{sp}, ctx: ctx, now: b.now}
		if err = fn(t); err != nil {
			if rerr := sp.rollback(context.WithoutCancel(ctx)); rerr != nil {
				err = fmt.Errorf("%w (and rolling back its savepoint: %v)", err, rerr)
			}
		} else {
			b.afterCommit = append(b.afterCommit, t.committed...)
		}
	}
	if db.notFound != nil {
		err = db.notFound(err)
	}
	return wrapErr(op, err)
}

// savepoint is a write inside a batch. Its SAVEPOINT is sent with the
// write's first statement, in one round trip (a pgx batch), and it is
// never released (the batch's commit releases it), so that a write in a
// batch costs no round trip more than on its own: a sandbox's
// provisioning makes about ten. On failure, rollback returns the batch's
// transaction to the savepoint, so that the failed write leaves nothing
// behind and the batch can go on.
type savepoint struct {
	after  // through open, then on pt
	pt     pgxQuerier
	name   string
	opened bool
}

func newSavepoint(pt pgxQuerier, name string) *savepoint {
	sp := &savepoint{pt: pt, name: name}
	sp.after = after{open: sp.open, direct: pt}
	return sp
}

// open runs query with args on the batch's transaction, sending the
// SAVEPOINT first if it is not made yet, and returns the query's results
// and the pgx batch to close after them (nil if there is none).
func (sp *savepoint) open(ctx context.Context, exec bool, query string, args []any) (pgx.BatchResults, error) {
	if sp.opened {
		return nil, nil
	}
	if unbatched(exec, args) {
		_, err := sp.pt.Exec(ctx, `SAVEPOINT `+sp.name)
		sp.opened = err == nil
		return nil, err
	}
	b := &pgx.Batch{}
	b.Queue(`SAVEPOINT ` + sp.name)
	b.Queue(query, args...)
	br := sp.pt.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return nil, err
	}
	sp.opened = true
	return br, nil
}

func (sp *savepoint) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if !sp.opened {
		sp.opened = true
		b.QueuedQueries = append([]*pgx.QueuedQuery{{SQL: `SAVEPOINT ` + sp.name}}, b.QueuedQueries...)
	}
	return sp.pt.SendBatch(ctx, b)
}

func (sp *savepoint) rollback(ctx context.Context) error {
	if !sp.opened {
		return nil
	}
	_, err := sp.pt.Exec(ctx, `ROLLBACK TO SAVEPOINT `+sp.name)
	return err
}

// opener sends what must go before a statement (a savepoint's SAVEPOINT,
// a transaction's BEGIN) and the statement in one batch, and returns the
// batch's results at the statement's; nil when nothing is left to send
// first, and the statement goes on its own. exec says it is an Exec.
type opener func(ctx context.Context, exec bool, query string, args []any) (pgx.BatchResults, error)

// after is Exec, Query and QueryRow through open, or on direct once
// nothing is left to send first.
type after struct {
	open   opener
	direct pgxQuerier
}

func (a after) Exec(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	br, err := a.open(ctx, true, query, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	if br == nil {
		return a.direct.Exec(ctx, query, args...)
	}
	tag, err := br.Exec()
	return tag, errors.Join(err, br.Close())
}

func (a after) Query(ctx context.Context, query string, args ...any) (pgx.Rows, error) {
	br, err := a.open(ctx, false, query, args)
	if err != nil {
		return nil, err
	}
	if br == nil {
		return a.direct.Query(ctx, query, args...)
	}
	r, err := br.Query()
	if err != nil {
		return nil, errors.Join(err, br.Close())
	}
	return &batchRows{Rows: r, br: br}, nil
}

func (a after) QueryRow(ctx context.Context, query string, args ...any) pgx.Row {
	br, err := a.open(ctx, false, query, args)
	if err != nil {
		return errRow{err}
	}
	if br == nil {
		return a.direct.QueryRow(ctx, query, args...)
	}
	return batchRow{row: br.QueryRow(), br: br}
}

// lazyTx is a transaction on one connection whose BEGIN, and what
// database.begin queues after it (search_path, advisory locks), go with
// its first statement, in one round trip (a pgx batch), instead of one
// round trip each before it: measured, a tenant read was four round trips
// (BEGIN, search_path and lock, the query, COMMIT), and the control
// transaction of a provisioning began with two. A transaction that sent
// nothing has nothing to commit or roll back.
//
// pgx prepares the statements of a batch that are new to the connection
// before it sends the batch, and so before the head has pointed
// search_path at a tenant's schema, where the tenant's tables would not be
// found. So a first statement that the connection has not run yet (see
// prepared) waits for the head to be sent on its own, as every statement
// did before lazyTx; and should pgx have dropped one from its cache, the
// failed preparation (nothing has run then) is retried that way too.
type lazyTx struct {
	after // through withHead, then on conn
	conn  *pgxpool.Conn
	// head is what is sent before the next statement: BEGIN and what
	// follows it until the first statement, then the deferred writes
	// (see later); nil when there is none.
	head []*pgx.QueuedQuery
	// begun is set once BEGIN has been sent.
	begun bool
	// deferred is set while head holds deferred writes, and checked while
	// one of them checks what it found once it is sent (a callback).
	deferred, checked bool
	// failed is the error of a deferred write: the transaction must not
	// commit, whatever its caller does next.
	failed error
	// prepared is the statements the connection has run.
	prepared map[string]struct{}
	closed   bool
}

// preparedKey keys the set of statements a connection has run in its
// pgconn.PgConn.CustomData, which lives and dies with the connection.
const preparedKey = "ionbox.prepared"

func newLazyTx(conn *pgxpool.Conn, head []*pgx.QueuedQuery) *lazyTx {
	data := conn.Conn().PgConn().CustomData()
	prepared, _ := data[preparedKey].(map[string]struct{})
	if prepared == nil {
		prepared = map[string]struct{}{}
		data[preparedKey] = prepared
	}
	t := &lazyTx{conn: conn, head: head, prepared: prepared}
	t.after = after{open: t.withHead, direct: conn}
	return t
}

// ran notes that the connection has run (and so pgx has prepared) query.
func (t *lazyTx) ran(query string) {
	if len(t.prepared) >= maxPrepared {
		clear(t.prepared) // pgx's cache holds 512; start over
	}
	t.prepared[query] = struct{}{}
}

// maxPrepared bounds the set of statements noted per connection.
const maxPrepared = 1024

// later queues a write, in queries, to go with the transaction's next
// statement or its COMMIT, in the same round trip. checked says that one
// of the queries' callbacks checks what the write found: then it is sent
// before the COMMIT, so that a failed check keeps the transaction from
// committing. Statements queued here must be ones pgx can prepare before
// BEGIN (control statements: the control pool's search_path is set at
// connect).
func (t *lazyTx) later(queries []*pgx.QueuedQuery, checked bool) {
	t.head = append(t.head, queries...)
	t.deferred = true
	t.checked = t.checked || checked
}

// takeHead takes the head to send, and returns it with what is to be
// told of reading its results: an error fails the transaction if the head
// held deferred writes.
func (t *lazyTx) takeHead() ([]*pgx.QueuedQuery, func(error) error) {
	head, deferred := t.head, t.deferred
	t.head, t.begun, t.deferred, t.checked = nil, true, false, false
	return head, func(err error) error {
		if err != nil && deferred && t.failed == nil {
			t.failed = err
		}
		return err
	}
}

// sendHead sends the head on its own, for a statement that cannot go in a
// batch with it.
func (t *lazyTx) sendHead(ctx context.Context) error {
	if t.head == nil {
		return nil
	}
	head, done := t.takeHead()
	return done(t.conn.SendBatch(ctx, &pgx.Batch{QueuedQueries: head}).Close())
}

// withHead sends query after the head, in one batch, and returns the
// batch's results at the query's. It returns nil once the head is sent:
// the caller sends query itself.
func (t *lazyTx) withHead(ctx context.Context, exec bool, query string, args []any) (pgx.BatchResults, error) {
	if unbatched(exec, args) {
		return nil, t.sendHead(ctx)
	}
	if _, ok := t.prepared[query]; !ok || t.head == nil {
		t.ran(query)
		return nil, t.sendHead(ctx)
	}
	b := &pgx.Batch{}
	b.Queue(query, args...)
	br := t.SendBatch(ctx, b)
	if hr, ok := br.(*headResults); ok {
		if err := hr.drain(); err != nil {
			_ = br.Close()
			return nil, err
		}
	}
	return br, nil
}

// SendBatch sends b, after the head if it is not sent yet. The results
// start at b's first query either way.
func (t *lazyTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	known := true
	for _, q := range b.QueuedQueries {
		if _, ok := t.prepared[q.SQL]; !ok {
			known = false
			t.ran(q.SQL)
		}
	}
	if !known {
		if err := t.sendHead(ctx); err != nil {
			return errResults{err}
		}
	}
	if t.head == nil {
		return t.conn.SendBatch(ctx, b)
	}
	return t.sendWithHead(ctx, b)
}

// sendWithHead sends the head and then b in one batch.
func (t *lazyTx) sendWithHead(ctx context.Context, b *pgx.Batch) *headResults {
	head, done := t.takeHead()
	// Sent as copies: pgx notes on each what it prepared for it, which the
	// retry must not reuse.
	all := &pgx.Batch{QueuedQueries: append(copyQueued(head), copyQueued(b.QueuedQueries)...)}
	return &headResults{
		BatchResults: t.conn.SendBatch(ctx, all),
		head:         head,
		tail:         b.QueuedQueries,
		done:         done,
		retry: func() (pgx.BatchResults, error) {
			if err := t.conn.SendBatch(ctx, &pgx.Batch{QueuedQueries: copyQueued(head)}).Close(); err != nil {
				return nil, err
			}
			return t.conn.SendBatch(ctx, b), nil
		},
	}
}

// copyQueued copies queued queries, callbacks included.
func copyQueued(qs []*pgx.QueuedQuery) []*pgx.QueuedQuery {
	out := make([]*pgx.QueuedQuery, len(qs))
	for i, q := range qs {
		out[i] = &pgx.QueuedQuery{SQL: q.SQL, Arguments: q.Arguments, Fn: q.Fn}
	}
	return out
}

// errResults are the results of a batch that could not be sent.
type errResults struct{ err error }

func (r errResults) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, r.err }
func (r errResults) Query() (pgx.Rows, error)         { return nil, r.err }
func (r errResults) QueryRow() pgx.Row                { return errRow{r.err} }
func (r errResults) Close() error                     { return r.err }
func (r errResults) Tx() pgx.Tx                       { return nil }

// commit commits what the transaction sent. COMMIT of a transaction that
// failed rolls it back: that is an error. Deferred writes go with the
// COMMIT, or just before it when they check what they found.
func (t *lazyTx) commit(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	if t.checked {
		if err := t.sendHead(ctx); err != nil {
			return err
		}
	}
	if t.failed != nil {
		return t.failed
	}
	var tag pgconn.CommandTag
	var err error
	switch {
	case !t.begun && !t.deferred:
		// Nothing was sent: nothing to commit.
		t.closed = true
		t.conn.Release()
		return nil
	case t.head != nil:
		b := &pgx.Batch{}
		b.Queue(`commit`)
		br := t.sendWithHead(ctx, b)
		tag, err = br.Exec()
		err = errors.Join(err, br.Close())
	default:
		tag, err = t.conn.Exec(ctx, `commit`)
	}
	if err != nil {
		return err
	}
	t.closed = true
	t.conn.Release()
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// rollback ends the transaction unless it committed, and gives back the
// connection; the pool closes one left in a transaction (a rollback that
// failed).
func (t *lazyTx) rollback(ctx context.Context) {
	if t.closed {
		return
	}
	t.closed = true
	if t.begun {
		_, _ = t.conn.Exec(ctx, `rollback`)
	}
	t.conn.Release()
}

// headResults are the results of a batch sent after a lazyTx's head: the
// head's results are read (and an error in them returned) before b's.
type headResults struct {
	pgx.BatchResults
	// head is what went before b; read is how many of its results have
	// been read. tail is b's queries.
	head, tail []*pgx.QueuedQuery
	read       int
	err        error
	// done is told what reading the head found (lazyTx.takeHead).
	done func(error) error
	// retry sends the head on its own and then b, when preparing the
	// batch failed (see lazyTx.SendBatch).
	retry func() (pgx.BatchResults, error)
}

func (r *headResults) drain() error {
	for r.err == nil && r.read < len(r.head) {
		q := r.head[r.read]
		r.read++
		if q.Fn != nil {
			r.err = q.Fn(r.BatchResults)
		} else {
			_, r.err = r.BatchResults.Exec()
		}
		var prep pgx.ErrPreprocessingBatch
		if r.retry != nil && errors.As(r.err, &prep) {
			_ = r.BatchResults.Close()
			br, err := r.retry()
			r.retry, r.read, r.err = nil, len(r.head), err
			if err == nil {
				r.BatchResults = br
			} // else r.BatchResults, closed, stays
		}
		r.retry = nil
		if r.err != nil || r.read == len(r.head) {
			r.done(r.err)
			r.done = func(err error) error { return err }
		}
	}
	return r.err
}

func (r *headResults) Exec() (pgconn.CommandTag, error) {
	if err := r.drain(); err != nil {
		return pgconn.CommandTag{}, err
	}
	return r.BatchResults.Exec()
}

func (r *headResults) Query() (pgx.Rows, error) {
	if err := r.drain(); err != nil {
		return nil, err
	}
	return r.BatchResults.Query()
}

func (r *headResults) QueryRow() pgx.Row {
	if err := r.drain(); err != nil {
		return errRow{err}
	}
	return r.BatchResults.QueryRow()
}

func (r *headResults) Close() error {
	if err := r.drain(); err != nil {
		_ = r.BatchResults.Close()
		// b's callbacks learn that their queries failed: a write that
		// looks at what its checks found after the pipeline (see
		// tx.pipeline) must not take checks that never ran for passed.
		for _, q := range r.tail {
			if q.Fn != nil {
				_ = q.Fn(errResults{err})
			}
		}
		return err
	}
	return r.BatchResults.Close()
}

// unbatched reports whether a statement with args must be sent on its own
// rather than in a batch: pgx sends an Exec without arguments, or any
// statement with a QueryExecMode, in the simple protocol (it may hold
// several statements, or name a schema, which a batch would prepare and
// cache).
func unbatched(exec bool, args []any) bool {
	if len(args) == 0 {
		return exec
	}
	_, ok := args[0].(pgx.QueryExecMode)
	return ok
}

// batchRows are the rows of a query sent in a pgx batch; closing them
// closes the batch.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	r.err = r.br.Close()
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// batchRow is the row of a query sent in a pgx batch; scanning it closes
// the batch.
type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// errRow is a row that only reports err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// afterCommit runs f once what ctx's calls on db wrote has committed: now,
// outside a batch, or when the batch commits (never, if it rolls back).
func (db *database) afterCommit(ctx context.Context, f func()) {
	if b, ok := ctx.Value(batchKey{db}).(*batch); ok {
		b.afterCommit = append(b.afterCommit, f)
		return
	}
	f()
}

// write runs a control write made of the queries queue adds to a batch
// and the check it returns, which looks at what the queries found once
// they are back (see tx.pipeline): in a transaction of its own; in a
// savepoint of the batch ctx is in; or, when ctx is also ion.Deferrable,
// queued to go with the batch's next statement or its commit
// (lazyTx.later), the check then running as the last query's callback. A
// write that cannot fail a check returns a nil check.
func (db *database) write(ctx context.Context, op string, queue func(b *pgx.Batch, now time.Time) (check func() error)) error {
	if db.deferrable(ctx) {
		bt := ctx.Value(batchKey{db}).(*batch)
		b := &pgx.Batch{}
		check := queue(b, bt.now)
		if n := len(b.QueuedQueries); check != nil && n > 0 {
			last := b.QueuedQueries[n-1]
			read := last.Fn
			last.Fn = func(br pgx.BatchResults) error {
				var err error
				if read != nil {
					err = read(br)
				} else {
					_, err = br.Exec()
				}
				// As on its own: what a check found explains a failed
				// write better than the write's own error.
				if cerr := check(); cerr != nil {
					err = cerr
				}
				return wrapErr(op, err)
			}
		}
		bt.pt.later(b.QueuedQueries, check != nil)
		return nil
	}
	return db.update(ctx, op, func(tx *tx) error {
		b := &pgx.Batch{}
		check := queue(b, tx.now)
		err := tx.pipeline(b)
		if check != nil {
			if cerr := check(); cerr != nil {
				return cerr
			}
		}
		return err
	})
}

// deferrable reports whether a write made with ctx would be deferred (see
// write).
func (db *database) deferrable(ctx context.Context) bool {
	_, ok := ctx.Value(batchKey{db}).(*batch)
	return ok && ion.IsDeferrable(ctx)
}

// sendRead sends the reads queued in b in one round trip: on the
// transaction of the batch ctx is in, or else on a connection of the pool.
func (db *database) sendRead(ctx context.Context, b *pgx.Batch) error {
	if bt, ok := ctx.Value(batchKey{db}).(*batch); ok {
		return bt.pt.SendBatch(ctx, b).Close()
	}
	return db.pool.SendBatch(ctx, b).Close()
}

// reader is what a read on db made with ctx uses: the transaction of the
// batch ctx is in, or else the read pool.
func (db *database) reader(ctx context.Context) queryer {
	if b, ok := ctx.Value(batchKey{db}).(*batch); ok {
		return pgq{b.pt}
	}
	return db.read
}

// PostgreSQL error codes the store handles.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeUndefinedTable       = "42P01"
	codeInvalidSchemaName    = "3F000"
	codeDuplicateSchema      = "42P06"
	codeDeadlockDetected     = "40P01"
	codeSerializationFailure = "40001"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func retryable(err error) bool {
	switch pgCode(err) {
	case codeDeadlockDetected, codeSerializationFailure:
		return true
	}
	return false
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
	switch pgCode(err) {
	case codeUniqueViolation:
		return ion.Errorf(ion.ECONFLICT, "%s: the change would duplicate an existing object.", op)
	case codeForeignKeyViolation:
		return ion.Errorf(ion.ECONFLICT, "%s: the change would leave a reference to an object that does not exist.", op)
	}
	return fmt.Errorf("%s: %w", op, err)
}
