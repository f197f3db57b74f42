package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ionbox/ionbox/internal/sqlcol"
	"github.com/ionbox/ionbox/ion"
)

// Saved tenant states are schemas: <prefix>s_<tenant hash>_<name hash>
// holds the state, a copy of the tenant's tables made from a spare schema
// (so it has every constraint, index and identity of a migrated tenant)
// with INSERT … SELECT and its sequences set; <prefix>r_… is a ready copy
// of it, which the next restore renames over the tenant's schema under the
// tenant's exclusive lifetime lock, so that a restore costs a catalog
// update while the caller waits. The next copy is made in the background
// afterwards. Every step holds the tenant's "states" lock, so that replicas
// saving and restoring the same tenant take turns.
//
// A state saved from a tenant that has had no writes since it was made (a
// blank sandbox's baseline) is not copied: its schema is made empty, with
// emptyStateComment as its comment, and restoring it renames a spare schema
// (a migrated, empty tenant, like CreateTenant's) over the tenant's, so
// that saving and restoring it cost catalog updates and the restored
// tenant's ids start at 1 again. ion.EmptyTenantState is restored the same
// way, without a schema of its own to look up.
//
// A state saved by LoadTenantTemplateAsState (a seeded sandbox's baseline)
// is not copied either: its schema's comment (templateStateComment) names
// the template and the time, and its ready copy is the template's rows
// with their times moved to that time (fillReady).

// emptyStateComment marks the schema of a state saved from an empty tenant.
const emptyStateComment = "ionbox: empty tenant state"

// backgroundTimeout bounds preparing a copy in the background.
const backgroundTimeout = 10 * time.Minute

func (s *Stores) stateSchemaPrefix(id string, ready bool) string {
	sum := sha256.Sum256([]byte(id))
	kind := "s_"
	if ready {
		kind = "r_"
	}
	return s.opts.Schema + kind + hex.EncodeToString(sum[:8]) + "_"
}

func (s *Stores) stateSchema(id, name string, ready bool) string {
	sum := sha256.Sum256([]byte(name))
	return s.stateSchemaPrefix(id, ready) + hex.EncodeToString(sum[:8])
}

func checkStateArgs(id, name string) error {
	if err := validateTenantID(id); err != nil {
		return err
	}
	return ion.ValidateStateName(name)
}

// checkSavedStateArgs is checkStateArgs for saving or deleting a state,
// which ion.EmptyTenantState cannot be.
func checkSavedStateArgs(id, name string) error {
	if err := validateTenantID(id); err != nil {
		return err
	}
	return ion.ValidateSavedStateName(name)
}

// lockStates takes tenant id's states lock for the transaction.
func (s *Stores) lockStates(tx *tx, id string) error {
	_, err := tx.exec(`SELECT pg_advisory_xact_lock(?)`, lockKey(s.tenantSchema(id), "states"))
	return err
}

// templateStateComment starts the comment of the schema of a state kept
// as a template and a time (LoadTenantTemplateAsState): the comment goes
// on with the template's schema and the time in Unix microseconds.
const templateStateComment = "ionbox: template state "

// stateInfo describes a saved state's schema.
type stateInfo struct {
	exists   bool
	empty    bool   // the state of an empty tenant: no copy
	template string // for a state kept as a template loaded at `at`: the template's schema
	at       time.Time
}

// stateKind describes state schema: whether it exists, and whether it is
// the mark of an empty tenant's state or of a template's.
func stateKind(tx *tx, schema string) (stateInfo, error) {
	var comment string
	err := tx.queryRow(`SELECT coalesce(obj_description(oid, 'pg_namespace'), '') FROM pg_namespace WHERE nspname = ?`, schema).Scan(&comment)
	if isNoRows(err) {
		return stateInfo{}, nil
	}
	if err != nil {
		return stateInfo{}, err
	}
	info := stateInfo{exists: true, empty: comment == emptyStateComment}
	if rest, ok := strings.CutPrefix(comment, templateStateComment); ok {
		tpl, micros, _ := strings.Cut(rest, " ")
		us, err := strconv.ParseInt(micros, 10, 64)
		if err != nil || tpl == "" {
			return stateInfo{}, fmt.Errorf("state schema %s has a malformed comment %q", schema, comment)
		}
		info.template, info.at = tpl, sqlcol.FromMicros(us)
	}
	return info, nil
}

// markTemplateState makes state the mark of a state kept as template tpl
// loaded at `at`.
func markTemplateState(tx *tx, state, tpl string, at time.Time) error {
	return rawExec(tx, `CREATE SCHEMA `+quote(state)+`;
COMMENT ON SCHEMA `+quote(state)+` IS `+literal(templateStateComment+tpl+" "+strconv.FormatInt(sqlcol.ToMicros(at), 10)))
}

// tenantIsEmpty reports whether tenant schema (at the latest migration)
// has had no writes since it was made: its tables have no rows and their
// sequences were never advanced (a write rolled back or deleted afterwards
// advanced them). Goose's table and sequence, which the migration wrote,
// do not count. The caller holds the tenant's write lock. The tables and
// sequences are the tenant layout's, not looked up in the catalog.
func (s *Stores) tenantIsEmpty(tx *tx, schema string) (bool, error) {
	l, err := s.layout(tx, schema)
	if err != nil {
		return false, err
	}
	var b strings.Builder
	b.WriteString("SELECT true")
	for _, t := range l.tables {
		fmt.Fprintf(&b, " AND NOT EXISTS (SELECT 1 FROM %s.%s)", quote(schema), quote(t))
	}
	for _, q := range l.seqs {
		fmt.Fprintf(&b, " AND NOT (SELECT is_called FROM %s.%s)", quote(schema), quote(q))
	}
	var empty bool
	err = tx.pgq.q.QueryRow(tx.ctx, b.String(), pgx.QueryExecModeSimpleProtocol).Scan(&empty)
	return empty, err
}

// claimSpare takes a ready spare schema out of the pool inside tx, which
// must commit before withSpare asks for a refill; errNoSpare if none is
// ready.
func (s *Stores) claimSpare(tx *tx) (string, error) {
	var spare string
	err := tx.queryRow(`DELETE FROM ` + quote(s.controlSchema()) + `.spare_schemas WHERE name = (
		SELECT name FROM ` + quote(s.controlSchema()) + `.spare_schemas WHERE ready ORDER BY created_at, name LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING name`).Scan(&spare)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", errNoSpare
	}
	return spare, err
}

func schemaExists(tx *tx, schema string) (bool, error) {
	var exists bool
	err := tx.queryRow(`SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ?)`, schema).Scan(&exists)
	return exists, err
}

// SaveTenantState copies tenant id's schema to state name in one
// transaction that holds the tenant's write lock, so that the copy is one
// consistent point between writes, and starts preparing the copy the first
// restore will use. A tenant without writes since it was made is not
// copied: the state is marked empty.
func (s *Stores) SaveTenantState(ctx context.Context, id, name string) error {
	if err := checkSavedStateArgs(id, name); err != nil {
		return err
	}
	// Brings the tenant's schema up to date, so that it matches the spare
	// the copy is made in; NOT_FOUND for an unknown tenant.
	if _, err := s.Tenant(ctx, id); err != nil {
		return err
	}
	tenant, state := s.tenantSchema(id), s.stateSchema(id, name, false)
	empty := false
	err := s.withSpare(ctx, func() error {
		return s.tenantDB.run(ctx, "save tenant state", true, func(tx *tx) error {
			if _, err := tx.exec(`SELECT pg_advisory_xact_lock(?), pg_advisory_xact_lock_shared(?), pg_advisory_xact_lock(?)`,
				lockKey(tenant, "states"), lockKey(tenant, "lifetime"), lockKey(tenant, "write")); err != nil {
				return err
			}
			if ok, err := schemaExists(tx, tenant); err != nil || !ok {
				return errors.Join(err, errTenantNotFound(id))
			}
			var err error
			if empty, err = s.tenantIsEmpty(tx, tenant); err != nil {
				return err
			}
			drop := `DROP SCHEMA IF EXISTS ` + quote(state) + ` CASCADE;
DROP SCHEMA IF EXISTS ` + quote(s.stateSchema(id, name, true)) + ` CASCADE`
			if empty {
				return rawExec(tx, drop+`;
CREATE SCHEMA `+quote(state)+`;
COMMENT ON SCHEMA `+quote(state)+` IS `+literal(emptyStateComment))
			}
			if err := rawExec(tx, drop); err != nil {
				return err
			}
			return s.copySchema(tx, tenant, state)
		})
	})
	if err != nil {
		return fmt.Errorf("postgres: save state %s of tenant %s: %w", name, id, err)
	}
	if !empty {
		s.prepareInBackground(id, name)
	}
	return nil
}

// RestoreTenantState renames the ready copy of state name (or, for a state
// marked empty and for ion.EmptyTenantState, a spare schema) over tenant
// id's schema under the tenant's exclusive lifetime lock: running calls
// (which hold it shared) finish first, and calls waiting for it then find
// the restored tables by name. The ready copy or spare is committed before
// the swap begins, so that a call waiting for the lock sees its rows.
func (s *Stores) RestoreTenantState(ctx context.Context, id, name string) error {
	if err := checkStateArgs(id, name); err != nil {
		return err
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	tenant, state, ready := s.tenantSchema(id), s.stateSchema(id, name, false), s.stateSchema(id, name, true)
	reserved := name == ion.EmptyTenantState // no schema, no ready copy
	var retired string
	for attempt := 0; ; attempt++ {
		if !reserved {
			if err := s.prepareReady(ctx, id, name); err != nil {
				return fmt.Errorf("postgres: restore state %s of tenant %s: %w", name, id, err)
			}
		}
		errTaken := errors.New("the ready copy was taken by another restore")
		err := s.withSpare(ctx, func() error {
			return s.tenantDB.run(ctx, "restore tenant state", true, func(tx *tx) error {
				if err := s.lockStates(tx, id); err != nil {
					return err
				}
				// ion.EmptyTenantState is restored as a state marked empty.
				info := stateInfo{exists: true, empty: true}
				var err error
				if !reserved {
					if info, err = stateKind(tx, state); err != nil {
						return err
					}
				}
				if !info.exists {
					return ion.Errorf(ion.ENOTFOUND, "tenant %q has no saved state %q.", id, name)
				}
				src := ready
				if info.empty {
					if src, err = s.claimSpare(tx); err != nil {
						return err
					}
				} else if ok, err := schemaExists(tx, ready); err != nil || !ok {
					return errors.Join(err, errTaken)
				}
				if _, err := tx.exec(`SELECT pg_advisory_xact_lock(?)`, lockKey(tenant, "lifetime")); err != nil {
					return err
				}
				if ok, err := schemaExists(tx, tenant); err != nil || !ok {
					return errors.Join(err, errTenantNotFound(id))
				}
				if err := carryWebhookTables(tx, s.latest, tenant, src); err != nil {
					return fmt.Errorf("keep webhook configuration: %w", err)
				}
				if retired, err = s.retireSchema(tx, tenant); err != nil {
					return err
				}
				return rawExec(tx, `ALTER SCHEMA `+quote(src)+` RENAME TO `+quote(tenant))
			})
		})
		if errors.Is(err, errTaken) && attempt < 3 {
			continue
		}
		if err != nil {
			return fmt.Errorf("postgres: restore state %s of tenant %s: %w", name, id, err)
		}
		// A state saved by an older version may be behind the migrations:
		// the next Tenant call checks again.
		s.migrated.Delete(tenant)
		// The next restore's ready copy is made in a spare while the
		// replaced schema is emptied into another, side by side: a restore
		// soon after waits only for the copy.
		if !reserved {
			s.prepareInBackground(id, name)
		}
		s.recycleInBackground(retired)
		return nil
	}
}

// prepareReady makes the ready copy of state name if there is none and
// the state is not marked empty (restoring that claims a spare instead).
// NOT_FOUND if the state does not exist.
func (s *Stores) prepareReady(ctx context.Context, id, name string) error {
	state, ready := s.stateSchema(id, name, false), s.stateSchema(id, name, true)
	return s.withSpare(ctx, func() error {
		return s.tenantDB.run(ctx, "prepare tenant state", true, func(tx *tx) error {
			if err := s.lockStates(tx, id); err != nil {
				return err
			}
			info, err := stateKind(tx, state)
			if err != nil || !info.exists {
				return errors.Join(err, ion.Errorf(ion.ENOTFOUND, "tenant %q has no saved state %q.", id, name))
			}
			if info.empty {
				return nil
			}
			if ok, err := schemaExists(tx, ready); err != nil || ok {
				return err
			}
			spare, err := s.claimSpare(tx)
			if err != nil {
				return err
			}
			if err := rawExec(tx, `ALTER SCHEMA `+quote(spare)+` RENAME TO `+quote(ready)); err != nil {
				return err
			}
			return s.fillReady(tx, id, name, info, ready)
		})
	})
}

// prepareInBackground makes the ready copy of state name, unless Close
// has begun; if it fails, the next restore makes it.
func (s *Stores) prepareInBackground(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		ctx, cancel := context.WithTimeout(s.backgroundCtx, backgroundTimeout)
		defer cancel()
		_ = s.prepareReady(ctx, id, name)
	}()
}

// retireSchema renames schema (a tenant's, being replaced) to a new
// <prefix>trash_ name inside tx, for recycleInBackground once tx commits:
// dropping a large schema unlinks its files at commit, which would keep
// the callers waiting for the tenant as long.
func (s *Stores) retireSchema(tx *tx, schema string) (string, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	trash := s.opts.Schema + "trash_" + hex.EncodeToString(b[:])
	return trash, rawExec(tx, `ALTER SCHEMA `+quote(schema)+` RENAME TO `+quote(trash))
}

// dropInBackground drops a retired schema, unless Close has begun (the
// next Open drops it then, see dropRetiredSchemas).
func (s *Stores) dropInBackground(schema string) {
	if schema == "" {
		return
	}
	s.inBackground(func(ctx context.Context) {
		_, _ = s.pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+quote(schema)+` CASCADE`)
	})
}

// inBackground runs fn in a goroutine that Close waits for, unless Close
// has begun (the next Open drops what is left, see dropRetiredSchemas).
// fn's context is not cut short by Close, so that nothing is left to
// commit behind a cancelled query; it is bounded by backgroundTimeout.
func (s *Stores) inBackground(fn func(ctx context.Context)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		ctx, cancel := context.WithTimeout(context.Background(), backgroundTimeout)
		defer cancel()
		fn(ctx)
	}()
}

// dropRetiredSchemas drops the retired schemas a process left (it stopped
// before dropping them); other replicas may be dropping them too, which
// DROP … IF EXISTS tolerates.
func (s *Stores) dropRetiredSchemas() {
	rows, err := s.pool.Query(s.backgroundCtx, `SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname::text, $1)`, s.opts.Schema+"trash_")
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, n := range names {
		s.dropInBackground(n)
	}
}

// DeleteTenantState drops state name and its ready copy.
func (s *Stores) DeleteTenantState(ctx context.Context, id, name string) error {
	if err := checkSavedStateArgs(id, name); err != nil {
		return err
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	state, ready := s.stateSchema(id, name, false), s.stateSchema(id, name, true)
	err := s.tenantDB.run(ctx, "delete tenant state", true, func(tx *tx) error {
		if err := s.lockStates(tx, id); err != nil {
			return err
		}
		if ok, err := schemaExists(tx, state); err != nil || !ok {
			return errors.Join(err, ion.Errorf(ion.ENOTFOUND, "tenant %q has no saved state %q.", id, name))
		}
		if _, err := tx.exec(`DROP SCHEMA ` + quote(state) + ` CASCADE`); err != nil {
			return err
		}
		_, err := tx.exec(`DROP SCHEMA IF EXISTS ` + quote(ready) + ` CASCADE`)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete state %s of tenant %s: %w", name, id, err)
	}
	return nil
}

// dropStates drops every saved state of tenant id and their ready copies.
func (s *Stores) dropStates(tx *tx, id string) error {
	if err := s.lockStates(tx, id); err != nil {
		return err
	}
	var schemas []string
	for _, ready := range []bool{false, true} {
		prefix := s.stateSchemaPrefix(id, ready)
		rows, err := tx.query(`SELECT nspname::text FROM pg_namespace WHERE left(nspname::text, ?) = ?`, len(prefix), prefix)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			schemas = append(schemas, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for _, n := range schemas {
		if _, err := tx.exec(`DROP SCHEMA IF EXISTS ` + quote(n) + ` CASCADE`); err != nil {
			return err
		}
	}
	return nil
}

// copySchema makes dst, which must not exist, a copy of src, a migrated
// tenant schema: it claims a spare schema as dst and copies src's rows
// into its tables, parents before children, then sets its sequences.
func (s *Stores) copySchema(tx *tx, src, dst string) error {
	spare, err := s.claimSpare(tx)
	if err != nil {
		return err
	}
	if err := rawExec(tx, `ALTER SCHEMA `+quote(spare)+` RENAME TO `+quote(dst)); err != nil {
		return err
	}
	return s.copyRows(tx, src, dst)
}

// tablesInOrder lists the tables of schema so that every table comes after
// the tables its foreign keys refer to (a table referring to itself is
// copied in one statement, which checks its keys at the end).
func tablesInOrder(tx *tx, schema string) ([]string, error) {
	rows, err := tx.query(`SELECT c.relname::text, coalesce(array_agg(DISTINCT r.relname::text) FILTER (WHERE r.relname IS NOT NULL AND r.oid <> c.oid), '{}')
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'f'
		LEFT JOIN pg_class r ON r.oid = k.confrelid
		WHERE n.nspname = ? AND c.relkind IN ('r', 'p')
		GROUP BY c.relname ORDER BY c.relname`, schema)
	if err != nil {
		return nil, err
	}
	deps := map[string][]string{}
	var names []string
	for rows.Next() {
		var name string
		var refs []string
		if err := rows.Scan(&name, &refs); err != nil {
			rows.Close()
			return nil, err
		}
		deps[name] = refs
		names = append(names, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("foreign keys of schema %s form a cycle through table %s", schema, n)
		case 2:
			return nil
		}
		state[n] = 1
		for _, d := range deps[n] {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[n] = 2
		order = append(order, n)
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return order, nil
}
