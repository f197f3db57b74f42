package postgres

import (
	"context"
	"github.com/ionbox/ionbox/internal/sqlcol"
	"time"
)

// spareSchemas keeps Options.SpareSchemas migrated, empty tenant schemas
// ready, registered in the control schema's spare_schemas table, so that
// creating a tenant (and so provisioning a sandbox) claims one and renames
// it (ALTER SCHEMA … RENAME TO …, a catalog update) instead of running the
// tenant migration's DDL while the caller waits.
//
// A spare's row is written before its schema is made and marked ready once
// the migration committed, so a claimed spare is always complete and a
// spare that a dying process left half-made is found (unready for longer
// than staleSpareAge) and dropped. The table is shared, so replicas keep
// one pool between them; every process refills after its own claims.
type spareSchemas struct {
	s      *Stores
	want   int
	refill chan struct{}
	ctx    context.Context
	stop   context.CancelFunc
	done   chan struct{}
}

// staleSpareAge is how long a spare may stay unready before it counts as
// abandoned. Migrating one takes well under a second.
const staleSpareAge = 10 * time.Minute

func startSpareSchemas(s *Stores, want int) *spareSchemas {
	ctx, stop := context.WithCancel(context.Background())
	p := &spareSchemas{s: s, want: want, refill: make(chan struct{}, 1), ctx: ctx, stop: stop, done: make(chan struct{})}
	p.refill <- struct{}{}
	go p.run()
	return p
}

func (p *spareSchemas) run() {
	defer close(p.done)
	p.dropAbandoned()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.refill:
		}
		for p.ctx.Err() == nil {
			var n int
			if err := p.s.controlPool.QueryRow(p.ctx, `SELECT count(*) FROM spare_schemas`).Scan(&n); err != nil || n >= p.want {
				break
			}
			if err := p.make(p.ctx); err != nil {
				// Creating a tenant makes its own spare instead, and
				// reports the error if that fails too.
				break
			}
		}
	}
}

// kick asks for a refill after a claim.
func (p *spareSchemas) kick() {
	select {
	case p.refill <- struct{}{}:
	default: // a refill is already due
	}
}

// make creates, migrates and registers one spare schema.
func (p *spareSchemas) make(ctx context.Context) error {
	name := p.s.spareSchemaName()
	if _, err := p.s.controlPool.Exec(ctx, `INSERT INTO spare_schemas (name, ready, created_at) VALUES ($1, false, $2)`,
		name, sqlcol.ToMicros(time.Now())); err != nil {
		return err
	}
	err := migrate(ctx, p.s.config, name, tenantMigrations, false, true)
	if err == nil {
		_, err = p.s.controlPool.Exec(ctx, `UPDATE spare_schemas SET ready = true WHERE name = $1`, name)
	}
	if err != nil {
		p.drop(context.WithoutCancel(ctx), name)
	}
	return err
}

// drop removes a spare and its row.
func (p *spareSchemas) drop(ctx context.Context, name string) {
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
