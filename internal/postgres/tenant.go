package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/ionbox/ionbox/ion"
)

// TenantStore is the PostgreSQL implementation of ion.TenantStore: one
// tenant's schema. Every call is one transaction that points search_path at
// the schema and holds the tenant's lifetime lock shared (DeleteTenant takes
// it exclusively, so it waits for running calls and later ones find the
// schema gone: NOT_FOUND). Writes also hold the tenant's write lock: one
// writer per tenant across every process, the SQLite store's single writer,
// so that every check a write makes (free serial numbers, quantities left
// to install, units not yet installed) still holds when it commits.
type TenantStore struct {
	stores *Stores
	id     string
	db     *database // transactions on the tenant's schema
}

var _ ion.TenantStore = (*TenantStore)(nil)

// newTenantStore returns the store of tenant id, whose schema is schema.
func newTenantStore(s *Stores, id, schema string) *TenantStore {
	ts := &TenantStore{stores: s, id: id}
	searchPath := quote(schema)
	lifetime, writer := lockKey(schema, "lifetime"), lockKey(schema, "write")
	ts.db = &database{
		pool: s.pool,
		now:  s.opts.Now,
		begin: func(b *pgx.Batch, write bool) {
			if write {
				b.Queue(`SELECT set_config('search_path', $1, true), pg_advisory_xact_lock_shared($2), pg_advisory_xact_lock($3)`,
					searchPath, lifetime, writer)
				return
			}
			b.Queue(`SELECT set_config('search_path', $1, true), pg_advisory_xact_lock_shared($2)`, searchPath, lifetime)
		},
		notFound: func(err error) error {
			switch pgCode(err) {
			case codeUndefinedTable, codeInvalidSchemaName:
				return errTenantNotFound(id)
			}
			return err
		},
	}
	return ts
}

// update runs fn in one write transaction on the tenant's schema.
// With an ion.IdempotentWrite in ctx, the step is recorded in the same
// transaction (or, in replay mode, nothing runs: the caller returns the
// recorded result).
func (s *TenantStore) update(ctx context.Context, op string, fn func(tx *tx) error) error {
	if err := s.stores.checkOpen(); err != nil {
		return err
	}
	w, keyed := ion.IdempotentWriteFrom(ctx)
	if keyed && w.Replay != nil {
		return nil // the step committed before: replayed, never written twice
	}
	// queued is reset per attempt: a retried transaction starts over.
	var queued bool
	err := s.db.update(ctx, op, func(tx *tx) error {
		queued = false
		if err := fn(tx); err != nil {
			return err
		}
		if err := tx.flushChanges(&queued); err != nil {
			return err
		}
		if keyed {
			return recordIdempotentStep(tx, w)
		}
		return nil
	})
	if err == nil && queued {
		s.stores.notifyWebhookQueued(s.id)
	}
	if err == nil && keyed && w.OnCommit != nil {
		w.OnCommit()
	}
	return err
}

// view runs fn in one read transaction on the tenant's schema.
func (s *TenantStore) view(ctx context.Context, op string, fn func(q queryer) error) error {
	if err := s.stores.checkOpen(); err != nil {
		return err
	}
	return s.db.view(ctx, op, fn)
}

// get reads one object.
func get[T any](ctx context.Context, s *TenantStore, e *entity[T], id ion.ID) (T, error) {
	var v T
	err := s.view(ctx, e.kind, func(q queryer) (err error) {
		v, err = e.get(ctx, q, id)
		return err
	})
	return v, err
}

// list reads a page of objects.
func list[T any](ctx context.Context, s *TenantStore, e *entity[T], opts ion.ListOptions) (ion.Page[T], error) {
	var page ion.Page[T]
	err := s.view(ctx, e.plural, func(q queryer) (err error) {
		page, err = e.list(ctx, q, opts, nil, nil)
		return err
	})
	return page, err
}

// create runs insert in a transaction and returns the new object as read
// back, so that it equals what later reads return.
func create[T any](ctx context.Context, s *TenantStore, e *entity[T], insert func(tx *tx) (ion.ID, error)) (T, error) {
	if out, ok, err := ion.ReplayedResult[T](ctx); ok {
		return out, err
	}
	var out T
	err := s.update(ctx, "create "+e.kind, func(tx *tx) error {
		id, err := insert(tx)
		if err != nil {
			return err
		}
		if err := trackCreated(tx, e, id); err != nil {
			return err
		}
		out, err = e.get(tx.ctx, tx, id)
		tx.setResult(e.kind, id, out)
		return err
	})
	return out, err
}

// change runs fn on the current object id (after the etag check) in a
// transaction and returns the object as read back.
func change[T any](ctx context.Context, s *TenantStore, e *entity[T], op string, id ion.ID, etag string, fn func(tx *tx, cur T) error) (T, error) {
	if out, ok, err := ion.ReplayedResult[T](ctx); ok {
		return out, err
	}
	var out T
	err := s.update(ctx, op+" "+e.kind, func(tx *tx) error {
		cur, err := e.get(tx.ctx, tx, id)
		if err != nil {
			return err
		}
		if err := ion.CheckEtag(e.kind, e.meta(cur), etag); err != nil {
			return err
		}
		if err := trackRead(tx, e, id, cur); err != nil {
			return err
		}
		if err := fn(tx, cur); err != nil {
			return err
		}
		out, err = e.get(tx.ctx, tx, id)
		tx.setResult(e.kind, id, out)
		return err
	})
	return out, err
}

// remove deletes object id after the etag check and whatever fn does first
// (reference checks, cascades).
func remove[T any](ctx context.Context, s *TenantStore, e *entity[T], id ion.ID, etag string, fn func(tx *tx, cur T) error) error {
	return s.update(ctx, "delete "+e.kind, func(tx *tx) error {
		cur, err := e.get(tx.ctx, tx, id)
		if err != nil {
			return err
		}
		if err := ion.CheckEtag(e.kind, e.meta(cur), etag); err != nil {
			return err
		}
		if err := trackRead(tx, e, id, cur); err != nil {
			return err
		}
		if fn != nil {
			if err := fn(tx, cur); err != nil {
				return err
			}
		}
		tx.setResult(e.kind, id, nil)
		_, err = tx.exec("DELETE FROM "+e.table+" WHERE id = ?", id)
		return err
	})
}

// touch gives a row a new etag and updated_at.
func touch(tx *tx, table string, id ion.ID) error {
	_, err := tx.exec("UPDATE "+table+" SET etag = ?, updated_at = ? WHERE id = ?", ion.NewEtag(), tx.nowMicros(), id)
	return err
}

// ref checks that a referenced object exists in this tenant; if not, the
// VALIDATION_ERROR names the referencing field: "locationId: location 99
// not found."
func ref(tx *tx, table, kind, field string, id ion.ID) error {
	var one int
	err := tx.queryRow("SELECT 1 FROM "+table+" WHERE id = ?", id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return ion.Invalid(field, "%s %d not found.", kind, id)
	}
	return err
}

// optRef is ref for an optional reference.
func optRef(tx *tx, table, kind, field string, id *ion.ID) error {
	if id == nil {
		return nil
	}
	return ref(tx, table, kind, field, *id)
}

// referrer is a table whose column may point at an object being deleted.
type referrer struct {
	table, column, what string // what: "part inventories"
}

// checkUnreferenced refuses to delete kind id while rows of refs point at
// it (CONFLICT saying what references it).
func checkUnreferenced(tx *tx, kind string, id ion.ID, refs ...referrer) error {
	for _, r := range refs {
		var n int
		if err := tx.queryRow("SELECT count(*) FROM "+r.table+" WHERE "+r.column+" = ?", id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ion.Errorf(ion.ECONFLICT, "%s %d cannot be deleted: %d %s reference it. Delete or change them first.", kind, id, n, r.what)
		}
	}
	return nil
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
