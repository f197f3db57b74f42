package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/ionbox/ionbox/ion"
)

// TenantStore is the SQLite implementation of ion.TenantStore: one
// tenant's file. It holds only the tenant id; every call pins the open file
// for its duration (reopening it if the janitor closed it while idle).
type TenantStore struct {
	stores *Stores
	id     string
}

var _ ion.TenantStore = (*TenantStore)(nil)

// update runs fn in one write transaction on the tenant's file.
// With an ion.IdempotentWrite in ctx, the step is recorded in the same
// transaction (or, in replay mode, nothing runs: the caller returns the
// recorded result).
func (s *TenantStore) update(ctx context.Context, op string, fn func(tx *tx) error) error {
	w, keyed := ion.IdempotentWriteFrom(ctx)
	if keyed && w.Replay != nil {
		return nil // the step committed before: replayed, never written twice
	}
	db, release, err := s.stores.acquire(ctx, s.id)
	if err != nil {
		return wrapErr(op, err)
	}
	defer release()
	var queued bool
	err = db.update(ctx, op, func(tx *tx) error {
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

// view runs fn in one read transaction on the tenant's read pool.
func (s *TenantStore) view(ctx context.Context, op string, fn func(q queryer) error) error {
	db, release, err := s.stores.acquire(ctx, s.id)
	if err != nil {
		return wrapErr(op, err)
	}
	defer release()
	return db.view(ctx, op, fn)
}

// get reads one object outside a transaction.
func get[T any](ctx context.Context, s *TenantStore, e *entity[T], id ion.ID) (T, error) {
	db, release, err := s.stores.acquire(ctx, s.id)
	if err != nil {
		var zero T
		return zero, wrapErr(e.kind, err)
	}
	defer release()
	v, err := e.get(ctx, db.read, id)
	return v, wrapErr(e.kind, err)
}

// list reads a page of objects: in a read transaction, so that the count
// and the page see one snapshot, or without the count as the one query it
// then is, which needs no transaction (and saves its BEGIN, ROLLBACK and
// database/sql's goroutine watching it).
func list[T any](ctx context.Context, s *TenantStore, e *entity[T], opts ion.ListOptions) (ion.Page[T], error) {
	var page ion.Page[T]
	if opts.SkipTotal {
		db, release, err := s.stores.acquire(ctx, s.id)
		if err != nil {
			return page, wrapErr(e.plural, err)
		}
		defer release()
		page, err = e.list(ctx, db.read, opts, nil, nil)
		return page, wrapErr(e.plural, err)
	}
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
	if errors.Is(err, sql.ErrNoRows) {
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

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
