package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/ionbox/ionbox/internal/sqlcol"
	"github.com/ionbox/ionbox/ion"
)

// Templates (ion.TenantTemplates) are schemas <prefix>tpl_<name hash>,
// copies of a tenant made as saved states are (copySchema), shared by
// every replica. Loading one copies it into a spare schema and retimes the
// copy, in a transaction that then renames it over the tenant's schema
// under the tenant's exclusive lifetime lock, so that calls on the tenant
// wait only for the catalog update, as in RestoreTenantState.

var _ ion.TenantTemplates = (*Stores)(nil)

func (s *Stores) templateSchema(name string) string {
	sum := sha256.Sum256([]byte(name))
	return s.opts.Schema + "tpl_" + hex.EncodeToString(sum[:8])
}

// lockTemplate serializes saving, loading and deleting template schema
// across replicas for the transaction.
func lockTemplate(tx *tx, schema string) error {
	_, err := tx.exec(`SELECT pg_advisory_xact_lock(?)`, lockKey(schema, "template"))
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
	err := s.withSpare(ctx, func() error {
		return s.tenantDB.run(ctx, "save tenant template", true, func(tx *tx) error {
			if err := lockTemplate(tx, tpl); err != nil {
				return err
			}
			if _, err := tx.exec(`SELECT pg_advisory_xact_lock_shared(?), pg_advisory_xact_lock(?)`,
				lockKey(tenant, "lifetime"), lockKey(tenant, "write")); err != nil {
				return err
			}
			if ok, err := schemaExists(tx, tenant); err != nil || !ok {
				return errors.Join(err, errTenantNotFound(id))
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
	err := s.tenantDB.run(ctx, "delete tenant template", true, func(tx *tx) error {
		if err := lockTemplate(tx, tpl); err != nil {
			return err
		}
		if ok, err := schemaExists(tx, tpl); err != nil || !ok {
			return errors.Join(err, ion.Errorf(ion.ENOTFOUND, "there is no template %q.", name))
		}
		_, err := tx.exec(`DROP SCHEMA ` + quote(tpl) + ` CASCADE`)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: delete template %s: %w", name, err)
	}
	return nil
}

// LoadTenantTemplate copies template name into a spare schema, retimes it
// and renames it over tenant id's schema, in one transaction.
func (s *Stores) LoadTenantTemplate(ctx context.Context, id, name string, at time.Time) error {
	if err := checkStateArgs(id, name); err != nil {
		return err
	}
	// Brings the tenant's schema up to date; NOT_FOUND for an unknown
	// tenant.
	if _, err := s.Tenant(ctx, id); err != nil {
		return err
	}
	tenant, tpl := s.tenantSchema(id), s.templateSchema(name)
	scratch := s.spareSchemaName()
	var retired string
	err := s.withSpare(ctx, func() error {
		return s.tenantDB.run(ctx, "load tenant template", true, func(tx *tx) error {
			if err := lockTemplate(tx, tpl); err != nil {
				return err
			}
			if ok, err := schemaExists(tx, tpl); err != nil || !ok {
				return errors.Join(err, ion.Errorf(ion.ENOTFOUND, "there is no template %q.", name))
			}
			if err := s.lockStates(tx, id); err != nil {
				return err
			}
			if err := s.copySchema(tx, tpl, scratch); err != nil {
				return err
			}
			for _, t := range sqlcol.RetimedTables {
				table := quote(scratch) + "." + quote(t.Name)
				var maxID *int64
				if err := tx.queryRow(`SELECT max(id) FROM ` + table).Scan(&maxID); err != nil {
					return fmt.Errorf("retime table %s: %w", t.Name, err)
				}
				if maxID == nil {
					continue
				}
				if q := sqlcol.RetimeStatement(t, table, *maxID, at); q != "" {
					if _, err := tx.exec(q); err != nil {
						return fmt.Errorf("retime table %s: %w", t.Name, err)
					}
				}
			}
			if _, err := tx.exec(`SELECT pg_advisory_xact_lock(?)`, lockKey(tenant, "lifetime")); err != nil {
				return err
			}
			if ok, err := schemaExists(tx, tenant); err != nil || !ok {
				return errors.Join(err, errTenantNotFound(id))
			}
			var err error
			if retired, err = s.retireSchema(tx, tenant); err != nil {
				return err
			}
			_, err = tx.exec(`ALTER SCHEMA ` + quote(scratch) + ` RENAME TO ` + quote(tenant))
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("postgres: load template %s into tenant %s: %w", name, id, err)
	}
	s.dropInBackground(retired)
	return nil
}
