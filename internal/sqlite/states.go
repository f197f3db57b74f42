package sqlite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ionbox/ionbox/ion"
)

// Saved tenant states live in states/<tenant id>/ (the file system of
// tenants/, so that a rename moves a file between them atomically):
// <name>.db is the state, a consistent copy made with VACUUM INTO, and
// <name>.next a ready copy of it that the next restore renames over the
// tenant's file, so that a restore costs a rename while the caller waits
// and the next copy is made in the background afterwards.
//
// ion.EmptyTenantState has no files here: restoring it renames one of the
// spare copies of the tenant template over the tenant's file, as
// CreateTenant places one, and the spare pool makes the next copy in the
// background.

func (s *Stores) statesDir(id string) string { return filepath.Join(s.dir, "states", id) }

func (s *Stores) statePath(id, name string) string {
	return filepath.Join(s.statesDir(id), name+".db")
}

func (s *Stores) nextStatePath(id, name string) string {
	return filepath.Join(s.statesDir(id), name+".next")
}

// lockStates takes tenant id's state lock, which serializes saving,
// restoring and deleting its states and deleting the tenant, and returns
// the function that releases it.
func (s *Stores) lockStates(ctx context.Context, id string) (func(), error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errClosed
	}
	lk := s.stateLocks[id]
	if lk == nil {
		lk = make(chan struct{}, 1)
		s.stateLocks[id] = lk
	}
	s.mu.Unlock()
	select {
	case lk <- struct{}{}:
		return func() { <-lk }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
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

// SaveTenantState copies tenant id's data to state name with VACUUM INTO
// on the writer, so that the copy is one consistent point between writes,
// and starts preparing the copy the first restore will use.
func (s *Stores) SaveTenantState(ctx context.Context, id, name string) error {
	if err := checkSavedStateArgs(id, name); err != nil {
		return err
	}
	unlock, err := s.lockStates(ctx, id)
	if err != nil {
		return fmt.Errorf("sqlite: save state %s of tenant %s: %w", name, id, err)
	}
	defer unlock()
	if err := s.saveState(ctx, id, name); err != nil {
		return wrapErr(fmt.Sprintf("save state %s of tenant %s", name, id), err)
	}
	s.prepareInBackground(id, name)
	return nil
}

func (s *Stores) saveState(ctx context.Context, id, name string) error {
	dir := s.statesDir(id)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tmp := tempName(dir, name)
	defer os.Remove(tmp) // left only if it was not placed
	copied, err := s.copyClosedTenant(id, tmp)
	if err != nil {
		return err
	}
	if !copied {
		db, release, err := s.acquire(ctx, id)
		if err != nil {
			return err
		}
		_, err = db.write.ExecContext(ctx, `VACUUM INTO ?`, tmp)
		release()
		if err != nil {
			return err
		}
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	// The ready copy of an older state of this name must not be restored.
	if err := os.Remove(s.nextStatePath(id, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(tmp, s.statePath(id, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// copyClosedTenant copies tenant id's file to dst if no connection has it
// open and it has no WAL (so that the file alone is the whole, consistent
// database), holding back calls that would open it meanwhile: a new
// sandbox's baseline costs a file copy, not an open and a VACUUM. It
// reports false, having done nothing, if the tenant is open or has a WAL.
func (s *Stores) copyClosedTenant(id, dst string) (bool, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false, errClosed
	}
	h := s.tenants[id]
	if h != nil && (h.db != nil || h.inflight > 0 || h.deleting || h.restoring) {
		s.mu.Unlock()
		return false, nil
	}
	if h == nil {
		h = &tenantHandle{}
		s.tenants[id] = h
	}
	h.restoring, h.restored = true, make(chan struct{})
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		h.restoring = false
		close(h.restored)
		if h.db == nil && h.inflight == 0 && !h.deleting && s.tenants[id] == h {
			delete(s.tenants, id)
		}
		s.mu.Unlock()
	}()
	path := s.tenantPath(id)
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		return false, nil
	}
	src, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, errTenantDeleted(id)
	}
	if err != nil {
		return false, err
	}
	defer src.Close()
	if err := copyToNewFile(src, dst); err != nil {
		return false, err
	}
	return true, nil
}

// RestoreTenantState swaps a ready copy of state name in as tenant id's
// file: it holds back new calls, waits for those running, closes the file,
// renames the copy over it and lets the held calls go on to the new file.
// Then it prepares the next copy in the background. For
// ion.EmptyTenantState the copy is a spare copy of the tenant template.
func (s *Stores) RestoreTenantState(ctx context.Context, id, name string) error {
	if err := checkStateArgs(id, name); err != nil {
		return err
	}
	op := fmt.Sprintf("restore state %s of tenant %s", name, id)
	unlock, err := s.lockStates(ctx, id)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	defer unlock()
	if _, err := os.Stat(s.tenantPath(id)); errors.Is(err, fs.ErrNotExist) {
		return errTenantDeleted(id)
	}
	if name == ion.EmptyTenantState {
		// A synced copy of the template on the tenants' file system, as
		// CreateTenant's; taking it starts making the next one.
		spare, err := s.spares.take()
		if err != nil {
			return fmt.Errorf("sqlite: %s: %w", op, err)
		}
		defer os.Remove(spare) // left only if it was not swapped in
		if err := s.swapTenantFile(ctx, id, spare); err != nil {
			return wrapErr(op, err)
		}
		return nil
	}
	if _, err := os.Stat(s.statePath(id, name)); errors.Is(err, fs.ErrNotExist) {
		return ion.Errorf(ion.ENOTFOUND, "tenant %q has no saved state %q.", id, name)
	}
	// Normally made in the background after the last save or restore.
	if err := s.prepareNext(id, name); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if err := s.swapTenantFile(ctx, id, s.nextStatePath(id, name)); err != nil {
		return wrapErr(op, err)
	}
	s.prepareInBackground(id, name)
	return nil
}

// swapTenantFile replaces tenant id's file with the file at from while no
// call uses the tenant. The caller holds the tenant's state lock.
func (s *Stores) swapTenantFile(ctx context.Context, id, from string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	h := s.tenants[id]
	if h == nil {
		h = &tenantHandle{}
		s.tenants[id] = h
	}
	h.restoring, h.restored = true, make(chan struct{})
	var drained chan struct{}
	if h.inflight > 0 {
		h.drained = make(chan struct{})
		drained = h.drained
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		h.restoring, h.drained = false, nil
		close(h.restored)
		s.mu.Unlock()
	}()
	if drained != nil {
		select {
		case <-drained:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// Nobody uses the file now and nobody can start to: close it.
	h.openMu.Lock()
	s.mu.Lock()
	db := h.db
	h.db = nil
	s.mu.Unlock()
	h.openMu.Unlock()
	carry := true
	if db != nil {
		carry = hadWebhooks(ctx, db.read)
		// Closing the last connection checkpoints the WAL into the file;
		// it is replaced anyway, so an error loses nothing anyone keeps.
		_ = db.close()
	}
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	path := s.tenantPath(id)
	if carry {
		if err := carryWebhookTables(ctx, path, from); err != nil {
			return fmt.Errorf("keep webhook configuration: %w", err)
		}
	}
	// The old file's journal must not be applied to the new one.
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	// Renaming over a file frees its blocks in the rename, which for a
	// large tenant (hundreds of MB) costs a tenth of a second while
	// callers wait: the old file keeps a second name meanwhile and is
	// removed in the background (or, after a crash, by the next Open,
	// which removes temporary names in states/).
	if err := os.MkdirAll(s.statesDir(id), 0o750); err != nil {
		return err
	}
	old := tempName(s.statesDir(id), "replaced")
	kept := os.Link(path, old) == nil
	if err := os.Rename(from, path); err != nil {
		if kept {
			_ = os.Remove(old)
		}
		return err
	}
	if kept {
		s.removeInBackground(old)
	}
	return syncDir(filepath.Dir(path))
}

// removeInBackground removes file name in a goroutine that Close waits
// for.
func (s *Stores) removeInBackground(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = os.Remove(name)
		return
	}
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		_ = os.Remove(name)
	}()
}

// DeleteTenantState removes state name of tenant id.
func (s *Stores) DeleteTenantState(ctx context.Context, id, name string) error {
	if err := checkSavedStateArgs(id, name); err != nil {
		return err
	}
	unlock, err := s.lockStates(ctx, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete state %s of tenant %s: %w", name, id, err)
	}
	defer unlock()
	err = os.Remove(s.statePath(id, name))
	if errors.Is(err, fs.ErrNotExist) {
		return ion.Errorf(ion.ENOTFOUND, "tenant %q has no saved state %q.", id, name)
	}
	if err == nil {
		err = os.Remove(s.nextStatePath(id, name))
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("sqlite: delete state %s of tenant %s: %w", name, id, err)
	}
	return nil
}

// prepareInBackground makes the ready copy of state name that the next
// restore will rename into place, unless Close has begun.
func (s *Stores) prepareInBackground(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		unlock, err := s.lockStates(context.Background(), id)
		if err != nil {
			return // closed: the next restore copies it itself
		}
		defer unlock()
		if _, err := os.Stat(s.statePath(id, name)); err != nil {
			return // deleted meanwhile
		}
		_ = s.prepareNext(id, name) // else the next restore copies it itself
	}()
}

// prepareNext makes <name>.next a synced copy of <name>.db if it is not
// there. The caller holds the tenant's state lock.
func (s *Stores) prepareNext(id, name string) error {
	next := s.nextStatePath(id, name)
	if _, err := os.Stat(next); err == nil {
		return nil
	}
	src, err := os.Open(s.statePath(id, name))
	if err != nil {
		return err
	}
	defer src.Close()
	tmp := tempName(s.statesDir(id), name)
	defer os.Remove(tmp) // left only if it was not placed
	if err := copyToNewFile(src, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, next)
}

// copyToNewFile writes what src holds to a new file dst, synced.
func copyToNewFile(src io.Reader, dst string) error {
	return copyToFile(src, dst, true)
}

// copyToFile writes what src holds to a new file dst, synced if sync (a
// caller that changes the copy further syncs once, at the end).
func copyToFile(src io.Reader, dst string, sync bool) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, src)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// tempName is a new temporary file name in dir.
func tempName(dir, prefix string) string {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	return filepath.Join(dir, "."+prefix+".tmp-"+hex.EncodeToString(rnd[:]))
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
