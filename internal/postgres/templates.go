package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ionbox/ionbox/ion"
)

// Templates (ion.TenantTemplates) are schemas <prefix>tpl_<name hash>,
// copies of a tenant made as saved states are (copySchema), shared by
// every replica. Loading one copies its rows into a spare schema and
// retimes them, in a transaction that then renames the copy over the
// tenant's schema under the tenant's exclusive lifetime lock, so that calls
// on the tenant wait only for the catalog update, as in
// RestoreTenantState. The replaced tenant schema is recycled (see
// recycleInBackground), not dropped.
//
// LoadTenantTemplateAsState keeps the state it saves as the template's
// name and the time (templateStateComment) instead of a copy: a seeded
// sandbox's baseline costs a catalog row, and its ready copy is made from
// the template. Replacing or deleting a template first turns the states
// that name it into copies (materializeTemplateStates), under the
// template's exclusive lock; loading and copying take it shared.

var _ ion.TenantTemplates = (*Stores)(nil)

func (s *Stores) templateSchema(name string) string {
	sum := sha256.Sum256([]byte(name))
	return s.opts.Schema + "tpl_" + hex.EncodeToString(sum[:8])
}

// lockExistingTemplate takes template name's lock (schema tpl; shared or
// exclusive as lockTemplate does) and answers NOT_FOUND if it does not
// exist.
func lockExistingTemplate(tx *tx, tpl, name string, shared bool) error {
	if err := lockTemplate(tx, tpl, shared); err != nil {
		return err
	}
	if ok, err := schemaExists(tx, tpl); err != nil || !ok {
		return errors.Join(err, ion.Errorf(ion.ENOTFOUND, "there is no template %q.", name))
	}
	return nil
}

// lockTemplate takes template schema's lock for the transaction: shared
// to read it (load it, copy it), exclusive to replace or delete it.
func lockTemplate(tx *tx, schema string, shared bool) error {
	fn := "pg_advisory_xact_lock"
	if shared {
		fn = "pg_advisory_xact_lock_shared"
	}
	_, err := tx.exec(`SELECT `+fn+`(?)`, lockKey(schema, "template"))
	return err
}

// SaveTenantTemplate copies tenant id's schema to template name in one
// transaction that holds the tenant's write lock.
func (s *Stores) SaveTenantTemplate(ctx context.Context, id, name string) error {
	if err := checkStateArgs(id, name); err != nil {
		return err
	}
	if _, err := s.Tenant(ctx, id); err != nil {
		return err
	}
	tenant, tpl := s.tenantSchema(id), s.templateSchema(name)
	defer s.largeTemplates.Delete(tpl)
	err := s.withSpare(ctx, func() error {
		return s.tenantDB.run(ctx, "save tenant template", true, func(tx *tx) error {
			if err := lockTemplate(tx, tpl, false); err != nil {
				return err
			}
			if _, err := tx.exec(`SELECT pg_advisory_xact_lock_shared(?), pg_advisory_xact_lock(?)`,
				lockKey(tenant, "lifetime"), lockKey(tenant, "write")); err != nil {
				return err
			}
			if ok, err := schemaExists(tx, tenant); err != nil || !ok {
				return errors.Join(err, errTenantNotFound(id))
			}
			if err := s.releaseTemplate(tx, tpl); err != nil {
				return err
			}
			if _, err := tx.exec(`DROP SCHEMA IF EXISTS ` + quote(tpl) + ` CASCADE`); err != nil {
				return err
			}
			return s.copySchema(tx, tenant, tpl)
		})
	})
	if err != nil {
		return fmt.Errorf("postgres: save template %s from tenant %s: %w", name, id, err)
	}
	return nil
}

// TenantTemplateExists reports whether template name's schema exists.
func (s *Stores) TenantTemplateExists(ctx context.Context, name string) (bool, error) {
	if err := ion.ValidateStateName(name); err != nil {
		return false, err
	}
	if err := s.checkOpen(); err != nil {
		return false, err
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, s.templateSchema(name)).Scan(&exists); err != nil {
		return false, fmt.Errorf("postgres: template %s: %w", name, err)
	}
	return exists, nil
}

// DeleteTenantTemplate drops template name's schema.
func (s *Stores) DeleteTenantTemplate(ctx context.Context, name string) error {
	if err := ion.ValidateStateName(name); err != nil {
		return err
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	tpl := s.templateSchema(name)
	defer s.largeTemplates.Delete(tpl)
	err := s.withSpare(ctx, func() error {
		return s.tenantDB.run(ctx, "delete tenant template", true, func(tx *tx) error {
			if err := lockExistingTemplate(tx, tpl, name, false); err != nil {
				return err
			}
			if err := s.releaseTemplate(tx, tpl); err != nil {
				return err
			}
			_, err := tx.exec(`DROP SCHEMA ` + quote(tpl) + ` CASCADE`)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("postgres: delete template %s: %w", name, err)
	}
	return nil
}

// releaseTemplate readies template tpl to be replaced or deleted: the
// states kept as it and a time become copies, and its ready copies are
// dropped. The caller holds the template's exclusive lock.
func (s *Stores) releaseTemplate(tx *tx, tpl string) error {
	if err := s.materializeTemplateStates(tx, tpl); err != nil {
		return err
	}
	return s.dropTemplateCopies(tx, tpl)
}

// materializeTemplateStates turns every saved state kept as template tpl
// and a time into a copy (the template's rows retimed), before the
// template is replaced or deleted, so that restoring such a state still
// gives the data as loaded. The caller holds the template's exclusive
// lock, which every use of such a state takes shared, and not the states'
// locks (taking them after the template's could deadlock with a restore);
// a restore that read the mark before this commits checks it again once
// it has the template's lock.
func (s *Stores) materializeTemplateStates(tx *tx, tpl string) error {
	rows, err := tx.query(`SELECT nspname::text, obj_description(oid, 'pg_namespace') FROM pg_namespace
		WHERE starts_with(nspname::text, ?) AND starts_with(obj_description(oid, 'pg_namespace'), ?)`,
		s.opts.Schema+"s_", templateStateComment+tpl+" ")
	if err != nil {
		return err
	}
	marks, err := pgx.CollectRows(rows.Rows, pgx.RowToStructByPos[struct{ Name, Comment string }])
	if err != nil {
		return err
	}
	for _, m := range marks {
		info, err := stateKind(tx, m.Name)
		if err != nil {
			return err
		}
		if info.template != tpl {
			continue
		}
		spare, err := s.claimSpare(tx)
		if err != nil {
			return err
		}
		if err := s.copyRetimed(tx, tpl, spare, info.at); err != nil {
			return err
		}
		if err := rawExec(tx, `DROP SCHEMA `+quote(m.Name)+`;
ALTER SCHEMA `+quote(spare)+` RENAME TO `+quote(m.Name)); err != nil {
			return err
		}
	}
	return nil
}

// LoadTenantTemplate copies template name, retimed, into tenant id's
// schema if the tenant has had no writes, or into a spare schema renamed
// over the tenant's, in one transaction.
func (s *Stores) LoadTenantTemplate(ctx context.Context, id, name string, at time.Time) error {
	return s.loadTemplate(ctx, id, name, at, "")
}

// LoadTenantTemplateAsState loads template name as LoadTenantTemplate does
// and, in the same transaction, saves state as the template and `at`
// (templateStateComment), not as a copy. The replaced tenant schema
// becomes the state's ready copy.
func (s *Stores) LoadTenantTemplateAsState(ctx context.Context, id, name string, at time.Time, state string) error {
	if err := ion.ValidateSavedStateName(state); err != nil {
		return err
	}
	return s.loadTemplate(ctx, id, name, at, state)
}

// templateIsLarge reports whether template schema tpl, at the latest
// migration, holds more than truncateAbove bytes: whether a state loaded
// from it gets its ready copy at once. The answer is kept per template
// schema until the template is saved again or deleted in this process (a
// template replaced by another replica may be judged by its old size for
// a while, which only moves when a ready copy is made); reading the sizes
// costs milliseconds, a seeded sandbox's provisioning budget.
func (s *Stores) templateIsLarge(tx *tx, tpl string) (bool, error) {
	if v, ok := s.largeTemplates.Load(tpl); ok {
		return v.(bool), nil
	}
	large := false
	if v, err := schemaVersion(tx, tpl); err != nil {
		return false, err
	} else if v == s.latest {
		bytes, err := s.schemaBytes(tx, tpl)
		if err != nil {
			return false, err
		}
		large = bytes > truncateAbove
	}
	s.largeTemplates.Store(tpl, large)
	return large, nil
}

func (s *Stores) loadTemplate(ctx context.Context, id, name string, at time.Time, state string) error {
	if err := checkStateArgs(id, name); err != nil {
		return err
	}
	// Brings the tenant's schema up to date; NOT_FOUND for an unknown
	// tenant.
	if _, err := s.Tenant(ctx, id); err != nil {
		return err
	}
	tenant, tpl := s.tenantSchema(id), s.templateSchema(name)
	var retired string
	// The state's ready copy is made now only for a large template, whose
	// copy would keep the first restore waiting for seconds; for a small
	// one the first restore copies the template (milliseconds), so that a
	// sandbox never reset costs one schema, not two.
	eager := false
	// markState saves the state's mark: the template and `at`.
	markState := func(tx *tx, at time.Time) error {
		if err := rawExec(tx, `DROP SCHEMA IF EXISTS `+quote(s.stateSchema(id, state, false))+` CASCADE;
DROP SCHEMA IF EXISTS `+quote(s.stateSchema(id, state, true))+` CASCADE`); err != nil {
			return err
		}
		return markTemplateState(tx, s.stateSchema(id, state, false), tpl, at)
	}
	// lock takes the template's and the tenant's states locks and, for a
	// state, finds whether the template is large.
	lock := func(tx *tx) error {
		if err := lockExistingTemplate(tx, tpl, name, true); err != nil {
			return err
		}
		if err := s.lockStates(tx, id); err != nil {
			return err
		}
		if state == "" {
			return nil
		}
		var err error
		eager, err = s.templateIsLarge(tx, tpl)
		return err
	}
	// begin takes the locks and saves the state's mark.
	begin := func(tx *tx) error {
		if err := lock(tx); err != nil || state == "" {
			return err
		}
		return markState(tx, at)
	}
	// A small template loaded as a state may come from a ready copy:
	// renamed into place, the state saved with the copy's time.
	if state != "" && s.opts.TemplateCopies > 0 {
		err := s.tenantDB.run(ctx, "load tenant template", true, func(tx *tx) error {
			retired = ""
			if err := lock(tx); err != nil || eager {
				return err
			}
			copyAt, old, ok, err := s.loadFromCopy(tx, tpl, id, at)
			if err != nil || !ok {
				return err
			}
			retired = old
			return markState(tx, copyAt)
		})
		if err != nil {
			return fmt.Errorf("postgres: load template %s into tenant %s: %w", name, id, err)
		}
		if retired != "" {
			s.recycleInBackground(retired)
			s.refillCopiesInBackground(tpl)
			return nil
		}
	}
	// A tenant with no writes since it was made (a sandbox being
	// provisioned) is filled where it is, under its write lock: writes
	// wait, reads see it empty until the commit and loaded after, and no
	// spare is claimed and no schema replaced.
	errNotEmpty := errors.New("the tenant is not empty")
	err := s.tenantDB.run(ctx, "load tenant template", true, func(tx *tx) error {
		if err := begin(tx); err != nil {
			return err
		}
		if _, err := tx.exec(`SELECT pg_advisory_xact_lock_shared(?), pg_advisory_xact_lock(?)`,
			lockKey(tenant, "lifetime"), lockKey(tenant, "write")); err != nil {
			return err
		}
		if ok, err := schemaExists(tx, tenant); err != nil || !ok {
			return errors.Join(err, errTenantNotFound(id))
		}
		if empty, err := s.tenantIsEmpty(tx, tenant); err != nil {
			return err
		} else if !empty {
			return errNotEmpty
		}
		return s.copyRetimed(tx, tpl, tenant, at)
	})
	if errors.Is(err, errNotEmpty) {
		// Copied into a spare, which replaces the tenant's schema under
		// its exclusive lifetime lock: calls wait only for the rename.
		err = s.withSpare(ctx, func() error {
			return s.tenantDB.run(ctx, "load tenant template", true, func(tx *tx) error {
				if err := begin(tx); err != nil {
					return err
				}
				scratch, err := s.claimSpare(tx)
				if err != nil {
					return err
				}
				if err := s.copyRetimed(tx, tpl, scratch, at); err != nil {
					return err
				}
				if _, err := tx.exec(`SELECT pg_advisory_xact_lock(?)`, lockKey(tenant, "lifetime")); err != nil {
					return err
				}
				if ok, err := schemaExists(tx, tenant); err != nil || !ok {
					return errors.Join(err, errTenantNotFound(id))
				}
				if retired, err = s.retireSchema(tx, tenant); err != nil {
					return err
				}
				return rawExec(tx, `ALTER SCHEMA `+quote(scratch)+` RENAME TO `+quote(tenant))
			})
		})
	}
	if err != nil {
		return fmt.Errorf("postgres: load template %s into tenant %s: %w", name, id, err)
	}
	if eager {
		s.prepareInBackground(id, state)
	} else if state != "" {
		s.refillCopiesInBackground(tpl)
	}
	s.recycleInBackground(retired)
	return nil
}
