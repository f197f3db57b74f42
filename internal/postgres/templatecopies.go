package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ionbox/ionbox/internal/sqlcol"
)

// Ready template copies (Options.TemplateCopies) are schemas
// <prefix>c_<template hash>_<random>: tenant schemas holding a small
// template's rows with their times moved to the time in the schema's
// comment (templateCopyComment, then Unix microseconds). Loading the
// template as a state (a seeded sandbox's provisioning) renames the newest
// copy whose time is within TemplateCopyAge of the load's over the
// tenant's schema and saves the state with the copy's time, so that the
// caller waits for catalog updates instead of a copy of thousands of rows
// (43 ms for the small seed data, without foreign-key checks). Copies are
// made in the background after a load (refillCopiesInBackground), one per
// transaction, under the template's shared lock and the copies' lock, so
// that replicas claiming and refilling take turns; replacing or deleting
// the template drops them under its exclusive lock. Large templates get
// no copies: each would be as large as the template.

const templateCopyComment = "ionbox: template copy "

// copyPrefix is the name prefix of template schema tpl's ready copies.
func (s *Stores) copyPrefix(tpl string) string {
	return s.opts.Schema + "c_" + strings.TrimPrefix(tpl, s.opts.Schema+"tpl_") + "_"
}

// templateCopy is one ready copy: its schema and the time its rows were
// moved to.
type templateCopy struct {
	schema string
	at     time.Time
}

// templateCopies lists template tpl's ready copies, newest first. A copy
// whose comment cannot be read (one being made has none until its
// transaction commits, so it is not seen) counts as made at time zero.
func (s *Stores) templateCopies(tx *tx, tpl string) ([]templateCopy, error) {
	rows, err := tx.query(`SELECT nspname::text, coalesce(obj_description(oid, 'pg_namespace'), '') FROM pg_namespace
		WHERE starts_with(nspname::text, ?)`, s.copyPrefix(tpl))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []templateCopy
	for rows.Next() {
		var c templateCopy
		var comment string
		if err := rows.Scan(&c.schema, &comment); err != nil {
			return nil, err
		}
		if us, err := strconv.ParseInt(strings.TrimPrefix(comment, templateCopyComment), 10, 64); err == nil {
			c.at = sqlcol.FromMicros(us)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b templateCopy) int { return b.at.Compare(a.at) })
	return out, nil
}

// lockCopies takes template tpl's copies lock for the transaction.
func lockCopies(tx *tx, tpl string) error {
	_, err := tx.exec(`SELECT pg_advisory_xact_lock(?)`, lockKey(tpl, "copies"))
	return err
}

func within(a, b time.Time, d time.Duration) bool {
	diff := a.Sub(b)
	return diff <= d && diff >= -d
}

// loadFromCopy claims the newest ready copy of template tpl made within
// TemplateCopyAge of at and renames it over tenant id's schema, retiring
// the tenant's (for recycleInBackground once tx commits); it returns the
// copy's time, or ok false if no copy fits. The caller holds the
// template's lock shared and the tenant's states lock.
func (s *Stores) loadFromCopy(tx *tx, tpl, id string, at time.Time) (copyAt time.Time, retired string, ok bool, err error) {
	if err := lockCopies(tx, tpl); err != nil {
		return time.Time{}, "", false, err
	}
	copies, err := s.templateCopies(tx, tpl)
	if err != nil {
		return time.Time{}, "", false, err
	}
	i := slices.IndexFunc(copies, func(c templateCopy) bool { return within(c.at, at, TemplateCopyAge) })
	if i < 0 {
		return time.Time{}, "", false, nil
	}
	tenant := s.tenantSchema(id)
	// Calls on the tenant finish first, and later ones see the copy.
	if _, err := tx.exec(`SELECT pg_advisory_xact_lock(?)`, lockKey(tenant, "lifetime")); err != nil {
		return time.Time{}, "", false, err
	}
	if ok, err := schemaExists(tx, tenant); err != nil || !ok {
		if err == nil {
			err = errTenantNotFound(id)
		}
		return time.Time{}, "", false, err
	}
	if retired, err = s.retireSchema(tx, tenant); err != nil {
		return time.Time{}, "", false, err
	}
	if err := rawExec(tx, `ALTER SCHEMA `+quote(copies[i].schema)+` RENAME TO `+quote(tenant)+`;
COMMENT ON SCHEMA `+quote(tenant)+` IS NULL`); err != nil {
		return time.Time{}, "", false, err
	}
	return copies[i].at, retired, true, nil
}

// refillCopiesInBackground brings template tpl's ready copies up to
// Options.TemplateCopies, replacing those too old to be used soon, unless
// this process is already doing so or Close has begun. It starts once
// the store is quiet, as the spares' refill does, so that the load that
// asked for it and its caller's next requests go first.
func (s *Stores) refillCopiesInBackground(tpl string) {
	if s.opts.TemplateCopies == 0 {
		return
	}
	if _, busy := s.refillingCopies.LoadOrStore(tpl, struct{}{}); busy {
		return
	}
	s.inBackground(func(ctx context.Context) {
		defer s.refillingCopies.Delete(tpl)
		if s.waitQuiet(s.backgroundCtx); s.backgroundCtx.Err() != nil {
			return
		}
		for range s.opts.TemplateCopies {
			more, err := s.makeTemplateCopy(ctx, tpl)
			if err != nil || !more {
				return
			}
		}
	})
}

// makeTemplateCopy retires template tpl's copies that are more than half
// TemplateCopyAge from now (recycled as spares) and, if fewer than
// Options.TemplateCopies are left, makes one in a spare: the template's
// rows moved to now. more reports whether another is wanted. A template
// that is gone or large gets none.
func (s *Stores) makeTemplateCopy(ctx context.Context, tpl string) (more bool, err error) {
	var retired []string
	err = s.withSpare(ctx, func() error {
		more, retired = false, nil
		return s.tenantDB.run(ctx, "make template copy", true, func(tx *tx) error {
			if err := lockTemplate(tx, tpl, true); err != nil {
				return err
			}
			if ok, err := schemaExists(tx, tpl); err != nil || !ok {
				return err
			}
			if large, err := s.templateIsLarge(tx, tpl); err != nil || large {
				return err
			}
			if err := lockCopies(tx, tpl); err != nil {
				return err
			}
			copies, err := s.templateCopies(tx, tpl)
			if err != nil {
				return err
			}
			now := s.opts.Now().UTC().Truncate(time.Microsecond)
			fresh := 0
			for _, c := range copies {
				if within(c.at, now, TemplateCopyAge/2) {
					fresh++
					continue
				}
				r, err := s.retireSchema(tx, c.schema)
				if err != nil {
					return err
				}
				retired = append(retired, r)
			}
			if fresh >= s.opts.TemplateCopies {
				return nil
			}
			spare, err := s.claimSpare(tx)
			if err != nil {
				return err
			}
			var b [6]byte
			_, _ = rand.Read(b[:])
			name := s.copyPrefix(tpl) + hex.EncodeToString(b[:])
			if err := rawExec(tx, `ALTER SCHEMA `+quote(spare)+` RENAME TO `+quote(name)); err != nil {
				return err
			}
			if err := s.copyRetimed(tx, tpl, name, now); err != nil {
				return err
			}
			more = fresh+1 < s.opts.TemplateCopies
			return rawExec(tx, `COMMENT ON SCHEMA `+quote(name)+` IS `+literal(templateCopyComment+strconv.FormatInt(sqlcol.ToMicros(now), 10)))
		})
	})
	for _, r := range retired {
		s.recycleInBackground(r)
	}
	return more, err
}

// dropTemplateCopies drops template tpl's ready copies, inside tx, which
// holds the template's exclusive lock (it is being replaced or deleted).
func (s *Stores) dropTemplateCopies(tx *tx, tpl string) error {
	if err := lockCopies(tx, tpl); err != nil {
		return err
	}
	copies, err := s.templateCopies(tx, tpl)
	if err != nil {
		return err
	}
	for _, c := range copies {
		if _, err := tx.exec(`DROP SCHEMA IF EXISTS ` + quote(c.schema) + ` CASCADE`); err != nil {
			return err
		}
	}
	return nil
}
