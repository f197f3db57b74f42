package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ionbox/ionbox/internal/sqlcol"
	"github.com/ionbox/ionbox/ion"
)

// Templates (ion.TenantTemplates) are files templates/t-<name>.db beside
// the empty tenant template: a consistent copy of a tenant, made as a
// saved state is. Loading one copies it to a scratch file, retimes the
// copy there (no journal, no syncs until the end: nobody can see it yet),
// syncs it and swaps it in as the tenant's file, as a restore does, so
// that calls on the tenant wait only for the rename.

var _ ion.TenantTemplates = (*Stores)(nil)

func (s *Stores) templatePath(name string) string {
	return filepath.Join(s.dir, "templates", "t-"+name+".db")
}

// SaveTenantTemplate copies tenant id's data to template name.
func (s *Stores) SaveTenantTemplate(ctx context.Context, id, name string) error {
	if err := checkStateArgs(id, name); err != nil {
		return err
	}
	op := fmt.Sprintf("save template %s from tenant %s", name, id)
	unlock, err := s.lockStates(ctx, id)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	defer unlock()
	dir := filepath.Join(s.dir, "templates")
	tmp := tempName(dir, "template")
	defer os.Remove(tmp) // left only if it was not placed
	// VACUUM INTO, even of a closed tenant: a compact template makes every
	// load copy less.
	db, release, err := s.acquire(ctx, id)
	if err != nil {
		return wrapErr(op, err)
	}
	_, err = db.write.ExecContext(ctx, `VACUUM INTO ?`, tmp)
	release()
	if err != nil {
		return wrapErr(op, err)
	}
	if err := syncFile(tmp); err != nil {
		return wrapErr(op, err)
	}
	if err := os.Rename(tmp, s.templatePath(name)); err != nil {
		return wrapErr(op, err)
	}
	return wrapErr(op, syncDir(dir))
}

// TenantTemplateExists reports whether template name's file exists.
func (s *Stores) TenantTemplateExists(ctx context.Context, name string) (bool, error) {
	if err := ion.ValidateStateName(name); err != nil {
		return false, err
	}
	_, err := os.Stat(s.templatePath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: template %s: %w", name, err)
	}
	return true, nil
}

// DeleteTenantTemplate removes template name's file.
func (s *Stores) DeleteTenantTemplate(ctx context.Context, name string) error {
	if err := ion.ValidateStateName(name); err != nil {
		return err
	}
	err := os.Remove(s.templatePath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return ion.Errorf(ion.ENOTFOUND, "there is no template %q.", name)
	}
	if err != nil {
		return fmt.Errorf("sqlite: delete template %s: %w", name, err)
	}
	return nil
}

// LoadTenantTemplate makes tenant id's file a retimed copy of template
// name.
func (s *Stores) LoadTenantTemplate(ctx context.Context, id, name string, at time.Time) error {
	if err := checkStateArgs(id, name); err != nil {
		return err
	}
	op := fmt.Sprintf("load template %s into tenant %s", name, id)
	src, err := os.Open(s.templatePath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return ion.Errorf(ion.ENOTFOUND, "there is no template %q.", name)
	}
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	defer src.Close()
	// The scratch copy lives in states/, the file system of tenants/, so
	// that the swap is a rename.
	dir := s.statesDir(id)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	tmp := tempName(dir, "load")
	defer func() {
		for _, suffix := range []string{"", "-journal"} {
			os.Remove(tmp + suffix) // left only if it was not placed
		}
	}()
	if err := copyToFile(src, tmp, false); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if err := retimeFile(ctx, tmp, at); err != nil {
		return fmt.Errorf("sqlite: %s: retime: %w", op, err)
	}
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	unlock, err := s.lockStates(ctx, id)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	defer unlock()
	if _, err := os.Stat(s.tenantPath(id)); errors.Is(err, fs.ErrNotExist) {
		return errTenantDeleted(id)
	}
	return wrapErr(op, s.swapTenantFile(ctx, id, tmp))
}

// retimeFile rewrites the times of the tenant database at path (see
// sqlcol.RetimeStatement) in one transaction. The file is a private
// scratch copy, so it runs without a journal and without syncs; the
// caller syncs the file.
func retimeFile(ctx context.Context, path string, at time.Time) error {
	db := sql.OpenDB(connector{"file:" + path + "?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)"})
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN`); err != nil {
		return err
	}
	for _, t := range sqlcol.RetimedTables {
		var maxID sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT max(id) FROM `+t.Name).Scan(&maxID); err != nil {
			_, _ = conn.ExecContext(ctx, `ROLLBACK`)
			return fmt.Errorf("table %s: %w", t.Name, err)
		}
		if q := sqlcol.RetimeStatement(t, t.Name, maxID.Int64, at); q != "" {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				_, _ = conn.ExecContext(ctx, `ROLLBACK`)
				return fmt.Errorf("table %s: %w", t.Name, err)
			}
		}
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return err
	}
	if err := conn.Close(); err != nil {
		return err
	}
	return db.Close()
}

// LoadTenantTemplateAsState loads template name, then saves the tenant as
// state: a copy, as any state. The caller (provisioning) has not handed
// the tenant out yet, so nothing writes in between.
func (s *Stores) LoadTenantTemplateAsState(ctx context.Context, id, name string, at time.Time, state string) error {
	if err := ion.ValidateSavedStateName(state); err != nil {
		return err
	}
	if err := s.LoadTenantTemplate(ctx, id, name, at); err != nil {
		return err
	}
	return s.SaveTenantState(ctx, id, state)
}
