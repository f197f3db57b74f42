package postgres

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ionbox/ionbox/internal/sqlcol"
)

// spareSchemas keeps Options.SpareSchemas migrated, empty tenant schemas
// ready, registered in the control schema's spare_schemas table, so that
// creating a tenant (and so provisioning a sandbox, loading a template,
// saving a state or preparing its ready copy) claims one and renames it
// (ALTER SCHEMA … RENAME TO …, a catalog update) instead of running the
// tenant migration's DDL while the caller waits.
//
// A spare is made in one transaction, in one round trip (tenantScript):
// its schema, its tables and its ready row commit together, so a claimed
// spare is always complete. Up to spareMakers are made at once, so that a
// burst of claims is refilled about as fast as it drains the pool. The
// table is shared, so replicas keep one pool between them; every process
// refills after its own claims. Spares that older versions registered
// unready and never finished are found (unready for longer than
// staleSpareAge) and dropped.
type spareSchemas struct {
	s      *Stores
	want   int
	refill chan struct{}
	ctx    context.Context
	stop   context.CancelFunc
	done   chan struct{}
	makers sync.WaitGroup
	// waiting is set while a refill waits for the store to be quiet.
	waiting atomic.Bool
}

// staleSpareAge is how long a spare may stay unready before it counts as
// abandoned. Migrating one takes well under a second.
const staleSpareAge = 10 * time.Minute

// spareMakers is how many spares one process makes at once. Each holds a
// tenant pool connection for tens of milliseconds; more than two mostly
// contend for PostgreSQL's catalog locks.
const spareMakers = 2

// makeTimeout bounds making one spare in the background.
const makeTimeout = time.Minute

func startSpareSchemas(s *Stores, want int) *spareSchemas {
	ctx, stop := context.WithCancel(context.Background())
	p := &spareSchemas{s: s, want: want, refill: make(chan struct{}, 1), ctx: ctx, stop: stop, done: make(chan struct{})}
	p.refill <- struct{}{}
	go p.run()
	return p
}

// run starts makers while the pool (counting the spares being made) is
// short, and waits for a kick: a claim, or a maker finishing.
func (p *spareSchemas) run() {
	defer close(p.done)
	defer p.makers.Wait()
	p.dropAbandoned()
	inFlight := 0
	finished := make(chan error, spareMakers)
	failed := false
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.refill:
			failed = false
		case err := <-finished:
			inFlight--
			if err != nil {
				// Creating a tenant makes its own spare instead, and
				// reports the error if that fails too; the next claim
				// tries again.
				failed = true
			}
		}
		if failed || inFlight >= spareMakers || p.want == 0 {
			continue
		}
		var n int
		if err := p.s.controlPool.QueryRow(p.ctx, `SELECT count(*) FROM spare_schemas`).Scan(&n); err != nil {
			continue
		}
		for ; n+inFlight < p.want && inFlight < spareMakers; inFlight++ {
			p.makers.Add(1)
			go func() {
				defer p.makers.Done()
				// Not cut short by close, which waits instead: a
				// cancelled query may still commit on the server after
				// pgx gave up on it, leaving a spare behind the caller's
				// back (a test dropping its schemas would miss it).
				ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), makeTimeout)
				defer cancel()
				err := p.make(ctx)
				if err == nil {
					p.s.warmIdleConnections(ctx)
				}
				finished <- err
			}()
		}
	}
}

// A refill after a claim waits until the store is quiet: at least
// refillDelay after the claim, then until neither pool has handed out a
// connection for refillQuiet, and at most refillMaxWait. Making a spare
// takes about a fifth of a second of PostgreSQL CPU, and every backend
// then processes its catalog invalidations; started while a user's
// requests run (a new sandbox's first token and queries, or the next
// provisioning), it would slow them. A claim that finds no spare ready
// makes its own.
const (
	refillDelay   = 40 * time.Millisecond
	refillQuiet   = 50 * time.Millisecond
	refillMaxWait = time.Second
	refillPoll    = 10 * time.Millisecond
)

// kick asks for a refill after a claim, once the store is quiet.
func (p *spareSchemas) kick() {
	if !p.waiting.CompareAndSwap(false, true) {
		return // a refill is already waiting for quiet
	}
	go func() {
		p.s.waitQuiet(p.ctx)
		p.waiting.Store(false)
		p.kickNow()
	}()
}

// waitQuiet waits for the store to be quiet (see refillDelay), or for ctx
// to end.
func (s *Stores) waitQuiet(ctx context.Context) {
	start := time.Now()
	acquires := func() int64 { return s.pool.Stat().AcquireCount() + s.controlPool.Stat().AcquireCount() }
	last, quietSince := acquires(), start
	t := time.NewTicker(refillPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n := acquires(); n != last {
				last, quietSince = n, now
			}
			waited := now.Sub(start)
			if waited >= refillMaxWait || (waited >= refillDelay && now.Sub(quietSince) >= refillQuiet) {
				return
			}
		}
	}
}

// kickNow asks for a refill now.
func (p *spareSchemas) kickNow() {
	select {
	case p.refill <- struct{}{}:
	default: // a refill is already due
	}
}

// make creates, migrates and registers one spare schema in one
// transaction, sent as one simple-protocol query (the statements of a
// multi-statement query commit together). If the migrations cannot run as
// one script, goose migrates the spare instead.
func (p *spareSchemas) make(ctx context.Context) error {
	name := p.s.spareSchemaName()
	if tenantMigrationScript.err != nil {
		return p.makeWithGoose(ctx, name)
	}
	// The name is made of [a-z0-9_] (Options.Schema's pattern and hex), so
	// it is a valid string literal as it is.
	_, err := p.s.pool.Exec(ctx, `CREATE SCHEMA `+quote(name)+`;
SELECT set_config('search_path', '`+quote(name)+`', true);
`+tenantMigrationScript.sql+`
INSERT INTO `+quote(p.s.controlSchema())+`.spare_schemas (name, ready, created_at) VALUES ('`+name+`', true, `+
		strconv.FormatInt(sqlcol.ToMicros(time.Now()), 10)+`)`)
	if err != nil {
		return fmt.Errorf("make spare schema %s: %w", name, err)
	}
	p.s.ownSpares.Store(name, struct{}{})
	return nil
}

// makeWithGoose registers a spare unready, migrates it with goose and
// marks it ready.
func (p *spareSchemas) makeWithGoose(ctx context.Context, name string) error {
	if _, err := p.s.controlPool.Exec(ctx, `INSERT INTO spare_schemas (name, ready, created_at) VALUES ($1, false, $2)`,
		name, sqlcol.ToMicros(time.Now())); err != nil {
		return err
	}
	err := migrate(ctx, p.s.config, name, tenantMigrations, false, true)
	if err == nil {
		_, err = p.s.controlPool.Exec(ctx, `UPDATE spare_schemas SET ready = true WHERE name = $1`, name)
	}
	if err == nil {
		p.s.ownSpares.Store(name, struct{}{})
	}
	if err != nil {
		p.drop(context.WithoutCancel(ctx), name)
	}
	return err
}

// drop removes a spare and its row.
func (p *spareSchemas) drop(ctx context.Context, name string) {
	p.s.ownSpares.Delete(name)
	if _, err := p.s.pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+quote(name)+` CASCADE`); err == nil {
		_, _ = p.s.controlPool.Exec(ctx, `DELETE FROM spare_schemas WHERE name = $1`, name)
	}
}

// dropAbandoned drops the spares some process began and never finished.
func (p *spareSchemas) dropAbandoned() {
	rows, err := p.s.controlPool.Query(p.ctx, `SELECT name FROM spare_schemas WHERE NOT ready AND created_at < $1`,
		sqlcol.ToMicros(time.Now().Add(-staleSpareAge)))
	if err != nil {
		return
	}
	var names []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) == nil {
			names = append(names, name)
		}
	}
	rows.Close()
	for _, name := range names {
		p.drop(p.ctx, name)
	}
}

// close stops the refilling and waits for a spare being made. The spares
// stay registered for the next Open (or another process) to use.
func (p *spareSchemas) close() {
	p.stop()
	<-p.done
}

// warmIdleConnections runs one small catalog query on every idle
// connection of both pools. Making a spare is DDL on about 120 catalog
// relations, and every other backend processes the invalidations it sent
// (or, past PostgreSQL's queue, rebuilds its caches) at the start of its
// next transaction: measured, 1-3 ms that the next request on each
// connection (a new sandbox's token or first query) would wait for. Done
// here, after the maker, it is off every request's path. The query is the
// one Stores.Tenant runs first.
func (s *Stores) warmIdleConnections(ctx context.Context) {
	for _, pool := range []*pgxpool.Pool{s.controlPool, s.pool} {
		for _, c := range pool.AcquireAllIdle(ctx) {
			var exists bool
			_ = c.QueryRow(ctx, schemaExistsSQL, "").Scan(&exists)
			c.Release()
		}
	}
}
