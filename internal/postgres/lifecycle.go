package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ionbox/ionbox/internal/sqlcol"
	"github.com/ionbox/ionbox/ion"
)

// Sandbox transitions, checkpoints and the lifecycle log (migration
// 00002_sandbox_lifecycle.sql).

// setEnvironmentState keeps the environment's state equal to its sandbox's.
func setEnvironmentState(tx *tx, name string) error {
	_, err := tx.exec(`UPDATE environments SET state = (SELECT state FROM sandboxes WHERE name = ?) WHERE name = ?`, name, name)
	return err
}

// TransitionSandbox moves a sandbox from state from to state to with one
// conditional UPDATE; it reports whether this call made the change.
func (c *ControlStore) TransitionSandbox(ctx context.Context, name, from, to string, ifLastActivity *time.Time) (bool, error) {
	for _, st := range []string{from, to} {
		if err := checkSandboxState(st); err != nil {
			return false, err
		}
	}
	var changed bool
	err := c.db.update(ctx, "transition sandbox", func(tx *tx) error {
		if _, err := getSandbox(ctx, tx, name); err != nil {
			return err
		}
		res, err := tx.exec(`UPDATE sandboxes SET state = ? WHERE name = ? AND state = ? AND (?::bigint IS NULL OR last_activity_at = ?)`,
			to, name, from, sqlcol.NullMicros(ifLastActivity), sqlcol.NullMicros(ifLastActivity))
		if err != nil {
			return err
		}
		if res.RowsAffected() == 0 {
			return nil
		}
		changed = true
		return setEnvironmentState(tx, name)
	})
	return changed, err
}

// TouchSandbox records activity at `at` and wakes a dormant sandbox.
func (c *ControlStore) TouchSandbox(ctx context.Context, name string, at time.Time) error {
	return c.db.update(ctx, "touch sandbox", func(tx *tx) error {
		return touchSandbox(ctx, tx, name, at)
	})
}

func touchSandbox(ctx context.Context, tx *tx, name string, at time.Time) error {
	if _, err := getSandbox(ctx, tx, name); err != nil {
		return err
	}
	if _, err := tx.exec(`UPDATE sandboxes SET last_activity_at = greatest(last_activity_at, ?::bigint),
		state = CASE state WHEN ? THEN ? ELSE state END WHERE name = ?`,
		sqlcol.ToMicros(at), ion.SandboxDormant, ion.SandboxActive, name); err != nil {
		return err
	}
	return setEnvironmentState(tx, name)
}

// ExtendSandbox renews a sandbox and sets its expiry and pin.
func (c *ControlStore) ExtendSandbox(ctx context.Context, name string, at time.Time, expiresAt *time.Time, pinned *bool) (ion.Sandbox, error) {
	var out ion.Sandbox
	err := c.db.update(ctx, "extend sandbox", func(tx *tx) error {
		sb, err := getSandbox(ctx, tx, name)
		if err != nil {
			return err
		}
		if sb.State == ion.SandboxExpired {
			return ion.Errorf(ion.ECONFLICT, "Sandbox %q has expired; request a new sandbox.", name)
		}
		if err := touchSandbox(ctx, tx, name, at); err != nil {
			return err
		}
		if expiresAt != nil {
			if _, err := tx.exec(`UPDATE sandboxes SET expires_at = ? WHERE name = ?`, sqlcol.ToMicros(*expiresAt), name); err != nil {
				return err
			}
		}
		if pinned != nil {
			if _, err := tx.exec(`UPDATE sandboxes SET pinned = ? WHERE name = ?`, *pinned, name); err != nil {
				return err
			}
		}
		out, err = getSandbox(ctx, tx, name)
		return err
	})
	return out, err
}

// CreateCheckpoint records checkpoint name of sandbox.
func (c *ControlStore) CreateCheckpoint(ctx context.Context, sandbox, name string) (ion.Checkpoint, error) {
	var out ion.Checkpoint
	err := c.db.update(ctx, "create checkpoint", func(tx *tx) error {
		if _, err := getSandbox(ctx, tx, sandbox); err != nil {
			return err
		}
		var one int
		err := tx.queryRow(`SELECT 1 FROM sandbox_checkpoints WHERE sandbox = ? AND name = ?`, sandbox, name).Scan(&one)
		if err == nil {
			return ion.Errorf(ion.ECONFLICT, "Sandbox %q already has a checkpoint %q; delete it first or pick another name.", sandbox, name)
		} else if !isNoRows(err) {
			return err
		}
		if _, err := tx.exec(`INSERT INTO sandbox_checkpoints (sandbox, name, created_at) VALUES (?, ?, ?)`, sandbox, name, tx.nowMicros()); err != nil {
			return err
		}
		out = ion.Checkpoint{Name: name, CreatedAt: sqlcol.FromMicros(tx.nowMicros())}
		return nil
	})
	return out, err
}

// Checkpoints lists the sandbox's checkpoints, oldest first.
func (c *ControlStore) Checkpoints(ctx context.Context, sandbox string) ([]ion.Checkpoint, error) {
	rows, err := c.db.reader(ctx).QueryContext(ctx, `SELECT name, created_at FROM sandbox_checkpoints WHERE sandbox = ? ORDER BY created_at, name`, sandbox)
	if err != nil {
		return nil, wrapErr("checkpoints", err)
	}
	defer rows.Close()
	out := []ion.Checkpoint{}
	for rows.Next() {
		var cp ion.Checkpoint
		if err := rows.Scan(&cp.Name, sqlcol.Micros{Dst: &cp.CreatedAt}); err != nil {
			return nil, wrapErr("checkpoints", err)
		}
		out = append(out, cp)
	}
	return out, wrapErr("checkpoints", rows.Err())
}

// DeleteCheckpoint removes the record of checkpoint name.
func (c *ControlStore) DeleteCheckpoint(ctx context.Context, sandbox, name string) error {
	return c.db.update(ctx, "delete checkpoint", func(tx *tx) error {
		res, err := tx.exec(`DELETE FROM sandbox_checkpoints WHERE sandbox = ? AND name = ?`, sandbox, name)
		if err != nil {
			return err
		}
		if res.RowsAffected() == 0 {
			return ion.Errorf(ion.ENOTFOUND, "sandbox %q has no checkpoint %q.", sandbox, name)
		}
		return nil
	})
}

// AddSandboxEvent appends e to the lifecycle log.
func (c *ControlStore) AddSandboxEvent(ctx context.Context, e ion.SandboxEvent) (ion.SandboxEvent, error) {
	if !slices.Contains(ion.SandboxEventKinds, e.Kind) {
		return ion.SandboxEvent{}, ion.Invalid("kind", "%q is not a sandbox event kind; use one of %q.", e.Kind, ion.SandboxEventKinds)
	}
	// Deferred (ion.Deferrable), it goes with the batch's next statement
	// and its id, read after the call returned, stays 0 for the caller.
	err := c.db.write(ctx, "add sandbox event", func(b *pgx.Batch, now time.Time) func() error {
		if e.At.IsZero() {
			e.At = now
		}
		e.At = sqlcol.FromMicros(sqlcol.ToMicros(e.At))
		queue(b, `INSERT INTO sandbox_events (sandbox, kind, actor, detail, at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			e.Sandbox, e.Kind, e.Actor, e.Detail, sqlcol.ToMicros(e.At)).
			QueryRow(func(r pgx.Row) error { return r.Scan(&e.ID) })
		return nil
	})
	return e, err
}

// SandboxEvents lists the lifecycle log of the sandbox name, oldest first.
func (c *ControlStore) SandboxEvents(ctx context.Context, sandbox string) ([]ion.SandboxEvent, error) {
	rows, err := c.db.reader(ctx).QueryContext(ctx, `SELECT id, sandbox, kind, actor, detail, at FROM sandbox_events WHERE sandbox = ? ORDER BY id`, sandbox)
	if err != nil {
		return nil, wrapErr("sandbox events", err)
	}
	defer rows.Close()
	out := []ion.SandboxEvent{}
	for rows.Next() {
		var e ion.SandboxEvent
		if err := rows.Scan(&e.ID, &e.Sandbox, &e.Kind, &e.Actor, &e.Detail, sqlcol.Micros{Dst: &e.At}); err != nil {
			return nil, wrapErr("sandbox events", err)
		}
		out = append(out, e)
	}
	return out, wrapErr("sandbox events", rows.Err())
}
