package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ionbox/ionbox/internal/sqlcol"
	"github.com/ionbox/ionbox/ion"
)

// Idempotency-Key records live in the tenant's own store (tables
// idempotency_steps and idempotency_responses), so that each sandbox's keys
// are its own and a reset takes them back with the data they recorded.

var _ ion.IdempotencyStore = (*TenantStore)(nil)

// recordIdempotentStep writes the step of w, with what the transaction's
// write returns, in that write's transaction, after pruning expired
// records. A step already recorded means another request with the same key
// did this write: IDEMPOTENCY_KEY_IN_USE, and the transaction rolls back.
func recordIdempotentStep(tx *tx, w *ion.IdempotentWrite) error {
	if !w.PruneBefore.IsZero() {
		cut := sqlcol.ToMicros(w.PruneBefore)
		if _, err := tx.exec(`DELETE FROM idempotency_steps WHERE created_at < ?`, cut); err != nil {
			return fmt.Errorf("prune idempotency steps: %w", err)
		}
		if _, err := tx.exec(`DELETE FROM idempotency_responses WHERE created_at < ?`, cut); err != nil {
			return fmt.Errorf("prune idempotency responses: %w", err)
		}
	}
	var n int
	if err := tx.queryRow(`SELECT count(*) FROM idempotency_steps WHERE scope = ? AND idem_key = ? AND step = ?`,
		w.Scope, w.Key, w.Step).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return ion.Errorf(ion.EIDEMPOTENCYINUSE, "Idempotency-Key %q: another request with this key already made this change and has not answered yet; retry in a moment to get its result.", w.Key)
	}
	result, err := json.Marshal(tx.result.value)
	if err != nil {
		return fmt.Errorf("encode the result of step %s: %w", w.Step, err)
	}
	at := w.At
	if at.IsZero() {
		at = tx.now
	}
	_, err = tx.exec(`INSERT INTO idempotency_steps (scope, idem_key, step, fingerprint, kind, object_id, result, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, w.Scope, w.Key, w.Step, w.Fingerprint, tx.result.kind, tx.result.id, string(result), sqlcol.ToMicros(at))
	return err
}

// IdempotencyRecord returns the record of key for scope.
func (s *TenantStore) IdempotencyRecord(ctx context.Context, scope, key string) (ion.IdempotencyRecord, error) {
	rec := ion.IdempotencyRecord{Scope: scope, Key: key}
	err := s.view(ctx, "idempotency record", func(q queryer) error {
		rows, err := q.QueryContext(ctx, `SELECT step, fingerprint, kind, object_id, result, created_at FROM idempotency_steps
			WHERE scope = ? AND idem_key = ? ORDER BY created_at, step`, scope, key)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st ion.IdempotentStep
			var result string
			var at int64
			if err := rows.Scan(&st.Step, &rec.Fingerprint, &st.Kind, &st.ObjectID, &result, &at); err != nil {
				return err
			}
			st.Result = json.RawMessage(result)
			if len(rec.Steps) == 0 {
				rec.CreatedAt = sqlcol.FromMicros(at)
			}
			rec.Steps = append(rec.Steps, st)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(rec.Steps) == 0 {
			return idempotencyNotFound(key)
		}
		var status int64
		err = q.QueryRowContext(ctx, `SELECT status, body FROM idempotency_responses WHERE scope = ? AND idem_key = ?`, scope, key).Scan(&status, &rec.Response)
		if isNoRows(err) {
			return nil
		}
		rec.Status = int(status)
		return err
	})
	return rec, err
}

func idempotencyNotFound(key string) error {
	return ion.Errorf(ion.ENOTFOUND, "Idempotency-Key %q has no committed write.", key)
}

// SaveIdempotentResponse stores the answer of a keyed request whose steps
// committed; the first answer stored stays.
func (s *TenantStore) SaveIdempotentResponse(ctx context.Context, scope, key string, status int, body []byte) error {
	// Not a step of its own: the context's IdempotentWrite, if any, is not
	// for this write.
	ctx = ion.WithIdempotentWrite(ctx, nil)
	return s.update(ctx, "save idempotent response", func(tx *tx) error {
		var first *int64
		if err := tx.queryRow(`SELECT min(created_at) FROM idempotency_steps WHERE scope = ? AND idem_key = ?`, scope, key).Scan(&first); err != nil {
			return err
		}
		if first == nil {
			return idempotencyNotFound(key)
		}
		_, err := tx.exec(`INSERT INTO idempotency_responses (scope, idem_key, status, body, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (scope, idem_key) DO NOTHING`, scope, key, status, body, *first)
		return err
	})
}

// PruneIdempotencyRecords deletes the records created before before.
func (s *TenantStore) PruneIdempotencyRecords(ctx context.Context, before time.Time) (int, error) {
	ctx = ion.WithIdempotentWrite(ctx, nil)
	var n int
	err := s.update(ctx, "prune idempotency records", func(tx *tx) error {
		cut := sqlcol.ToMicros(before)
		if err := tx.queryRow(`SELECT count(*) FROM (SELECT DISTINCT scope, idem_key FROM idempotency_steps WHERE created_at < ?) AS expired`, cut).Scan(&n); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM idempotency_steps WHERE created_at < ?`, cut); err != nil {
			return err
		}
		_, err := tx.exec(`DELETE FROM idempotency_responses WHERE created_at < ?`, cut)
		return err
	})
	return n, err
}
