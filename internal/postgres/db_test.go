package postgres

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ionbox/ionbox/ion"
)

// sends counts the queries and batches pgx sends on a connection, each a
// round trip (pgx preparing a batch's new statements first is one more,
// not counted; a batch that fails to prepare counts, though it sent
// only the preparation).
type sends struct{ n atomic.Int64 }

func (c *sends) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *sends) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *sends) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *sends) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *sends) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// TestLazyTx checks the transactions of a tenant's schema: BEGIN and the
// statement that points search_path at the schema go with the first
// statement once the connection has prepared it, and before it otherwise
// (pgx prepares a batch's new statements before BEGIN has run, when the
// tenant's tables cannot be found), even when pgx has dropped it from its
// cache; a commit after a failed statement is an error; a failed
// transaction leaves its connection usable.
func TestLazyTx(t *testing.T) {
	t.Parallel()
	url := postgresURL(t)
	ctx := t.Context()
	_, s, _ := scratchStores(t, url)
	if err := s.CreateTenant(ctx, "lazy"); err != nil {
		t.Fatal(err)
	}
	ts, err := s.Tenant(ctx, "lazy")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.CreatePart(ctx, ion.Part{PartNumber: "P-1"}); err != nil {
		t.Fatal(err)
	}

	// One connection, counted, with the tenant's transactions.
	counter := &sends{}
	config := s.config.Copy()
	config.MaxConns = 1
	config.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(ctx, config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	db := *ts.(*TenantStore).db
	db.pool = pool
	countParts := func() (int, int64) {
		t.Helper()
		before := counter.n.Load()
		var n int
		if err := db.view(ctx, "count", func(q queryer) error {
			return q.QueryRowContext(ctx, `SELECT count(*) FROM parts`).Scan(&n)
		}); err != nil {
			t.Fatalf("count parts: %v", err)
		}
		return n, counter.n.Load() - before
	}

	// New to the connection: the head goes on its own, then the query
	// (which pgx prepares), then COMMIT.
	if n, sent := countParts(); n != 1 || sent != 3 {
		t.Fatalf("first read on a new connection: %d parts in %d sends, want 1 part in 3", n, sent)
	}
	// Prepared: BEGIN, search_path and the query in one batch, then COMMIT.
	if n, sent := countParts(); n != 1 || sent != 2 {
		t.Fatalf("read with a prepared statement: %d parts in %d sends, want 1 part in 2", n, sent)
	}

	// A statement taken for prepared that pgx has not prepared (dropped
	// from its cache): its batch fails to prepare, before anything ran,
	// and is sent again after the head.
	const query = `SELECT count(*) FROM parts WHERE id > $1`
	c, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Conn().PgConn().CustomData()[preparedKey].(map[string]struct{})[query] = struct{}{}
	c.Release()
	before := counter.n.Load()
	var n int
	if err := db.view(ctx, "count", func(q queryer) error { return q.QueryRowContext(ctx, query, 0).Scan(&n) }); err != nil {
		t.Fatalf("read with a statement dropped from the cache: %v", err)
	}
	if sent := counter.n.Load() - before; n != 1 || sent != 4 {
		t.Fatalf("read with a statement dropped from the cache: %d parts in %d sends, want 1 part in 4", n, sent)
	}

	// A failed statement whose error fn ignores: COMMIT rolls back, and
	// the write is an error.
	err = db.update(ctx, "write", func(tx *tx) error {
		if _, err := tx.exec(`INSERT INTO parts (part_number) VALUES (?)`, "P-2"); err == nil {
			t.Error("insert without its required columns succeeded")
		}
		return nil
	})
	if !errors.Is(err, pgx.ErrTxCommitRollback) {
		t.Fatalf("commit after a failed statement = %v, want %v", err, pgx.ErrTxCommitRollback)
	}
	// An error from fn rolls back what ran before it.
	boom := errors.New("boom")
	err = db.update(ctx, "write", func(tx *tx) error {
		if _, err := tx.exec(`DELETE FROM parts`); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("update = %v, want %v", err, boom)
	}
	// Nothing sent, nothing to end.
	before = counter.n.Load()
	if err := db.update(ctx, "nothing", func(*tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if sent := counter.n.Load() - before; sent != 0 {
		t.Fatalf("an empty transaction sent %d statements, want 0", sent)
	}
	// The one connection is back, outside any transaction, and the part
	// is still there.
	if n, sent := countParts(); n != 1 || sent != 2 {
		t.Fatalf("after the failures: %d parts in %d sends, want 1 part in 2", n, sent)
	}
	if st := pool.Stat(); st.TotalConns() != 1 || st.IdleConns() != 1 {
		t.Fatalf("pool after the transactions: %d connections, %d idle; want the one, idle", st.TotalConns(), st.IdleConns())
	}
}

// The control pool plans its statements once per connection (generic
// plans); tenant connections keep PostgreSQL's default, since a tenant's
// lists filter on values whose best plan depends on the data.
func TestControlPoolUsesGenericPlans(t *testing.T) {
	t.Parallel()
	url := postgresURL(t)
	ctx := t.Context()
	_, s, _ := scratchStores(t, url)
	for _, tc := range []struct {
		pool *pgxpool.Pool
		want string
	}{{s.controlPool, "force_generic_plan"}, {s.pool, "auto"}} {
		var mode string
		if err := tc.pool.QueryRow(ctx, `SHOW plan_cache_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != tc.want {
			t.Errorf("plan_cache_mode = %q, want %q", mode, tc.want)
		}
	}
}
