package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// Options configures Open. The zero value is ready to use: every field's
// comment states its default.
type Options struct {
	// Now returns the current time. Every row one transaction writes
	// carries the same timestamp from one call. It also drives idle-tenant
	// closing. Default: time.Now.
	Now func() time.Time
	// IdleTimeout is how long a tenant file stays open without being used
	// before the background janitor closes it. Default: 2 minutes.
	IdleTimeout time.Duration
	// MaxOpenTenants is a soft cap on open tenant files: opening one more
	// closes the least recently used idle ones. Tenants in use are never
	// closed, so the cap may be exceeded under load. An open tenant holds 3
	// file descriptors while only read and 5 once written (the file, its
	// WAL and shared memory, per connection), so the default keeps a server
	// with ten thousand sandboxes well under 500 descriptors; reopening a
	// closed tenant costs about a millisecond. Default: 64.
	MaxOpenTenants int
	// ReadConns is the size of each database's read pool. Default: 4.
	ReadConns int
	// BusyTimeout is how long a statement waits for a lock held by another
	// connection before failing. Default: 5 seconds.
	BusyTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 2 * time.Minute
	}
	if o.MaxOpenTenants == 0 {
		o.MaxOpenTenants = 64
	}
	if o.ReadConns == 0 {
		o.ReadConns = 4
	}
	if o.BusyTimeout == 0 {
		o.BusyTimeout = 5 * time.Second
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.IdleTimeout < 0:
		return fmt.Errorf("sqlite: Options.IdleTimeout must not be negative (got %v); leave it 0 for the default of 2 minutes", o.IdleTimeout)
	case o.MaxOpenTenants < 0:
		return fmt.Errorf("sqlite: Options.MaxOpenTenants must not be negative (got %d); leave it 0 for the default of 64", o.MaxOpenTenants)
	case o.ReadConns < 0:
		return fmt.Errorf("sqlite: Options.ReadConns must not be negative (got %d); leave it 0 for the default of 4", o.ReadConns)
	case o.BusyTimeout < 0:
		return fmt.Errorf("sqlite: Options.BusyTimeout must not be negative (got %v); leave it 0 for the default of 5 seconds", o.BusyTimeout)
	case o.BusyTimeout > 0 && o.BusyTimeout < time.Millisecond:
		return fmt.Errorf("sqlite: Options.BusyTimeout must be at least 1ms (got %v)", o.BusyTimeout)
	}
	return nil
}

// Stores is the SQLite implementation of ion.Stores: control.db for what
// spans tenants and one file per tenant under tenants/, opened on first use
// and closed when idle.
type Stores struct {
	webhooks webhookNotifier // OnWebhookQueued's functions
	dir      string
	opts     Options
	control  *ControlStore
	template []byte // a migrated, empty tenant file; new tenants start as a copy
	latest   int64  // the tenant schema version the template is at
	spares   *spareFiles

	mu      sync.Mutex
	tenants map[string]*tenantHandle // open or opening tenant files
	closed  bool

	// fileMu serializes creating and removing tenant files, so that
	// clearing a stale journal can never race another creation of the
	// same file.
	fileMu sync.Mutex

	// stateLocks serializes, per tenant, the work on its saved states and
	// the swaps and removals of its file (see lockStates).
	stateLocks map[string]chan struct{}
	// background counts the goroutines preparing copies of saved states;
	// Close waits for them.
	background sync.WaitGroup

	stopJanitor chan struct{}
	janitorDone chan struct{}
}

var _ ion.Stores = (*Stores)(nil)

// tenantHandle is one tenant file in the cache. inflight, lastUsed,
// deleting, drained and db are guarded by Stores.mu (db is also written only
// under openMu); opening serializes on openMu so that concurrent first uses
// open the file once.
type tenantHandle struct {
	openMu   sync.Mutex
	db       *database
	inflight int
	lastUsed time.Time
	// deleting marks a tenant that DeleteTenant is removing: new calls
	// answer NOT_FOUND, and the janitor leaves the handle alone so that
	// nobody reopens the file before it is gone. deleted is closed when
	// that DeleteTenant returns. drained, when not nil, is closed once the
	// last call in flight has released the handle.
	deleting bool
	deleted  chan struct{}
	drained  chan struct{}
	// restoring marks a tenant whose file RestoreTenantState is swapping:
	// new calls wait for restored to close and then use the new file.
	restoring bool
	restored  chan struct{}
}

// unpin ends one call's use of h. Stores.mu must be held.
func (h *tenantHandle) unpin() {
	h.inflight--
	if h.inflight == 0 && h.drained != nil {
		close(h.drained)
		h.drained = nil
	}
}

var errClosed = errors.New("sqlite: stores are closed")

// Open opens (creating if needed) the data directory dir: it migrates
// control.db, builds the tenant template file and starts the janitor that
// closes idle tenant files. Close releases everything.
func Open(ctx context.Context, dir string, opts Options) (*Stores, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if dir == "" {
		return nil, errors.New("sqlite: the data directory must not be empty")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sqlite: data directory: %w", err)
	}
	for _, d := range []string{abs, filepath.Join(abs, "tenants"), filepath.Join(abs, "templates"), filepath.Join(abs, "states")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		removeTempFiles(d)
	}
	s := &Stores{
		dir:         abs,
		opts:        opts,
		tenants:     map[string]*tenantHandle{},
		stateLocks:  map[string]chan struct{}{},
		stopJanitor: make(chan struct{}),
		janitorDone: make(chan struct{}),
	}
	// Copies of saved states a previous process left half-written.
	if dirs, err := filepath.Glob(filepath.Join(abs, "states", "*")); err == nil {
		for _, d := range dirs {
			removeTempFiles(d)
		}
	}
	if s.latest, err = latestVersion(tenantMigrations); err != nil {
		return nil, fmt.Errorf("sqlite: tenant migrations: %w", err)
	}
	if s.template, err = buildTenantTemplate(ctx, filepath.Join(abs, "templates", "tenant.db"), opts); err != nil {
		return nil, fmt.Errorf("sqlite: tenant template: %w", err)
	}
	cdb, err := openDatabase(filepath.Join(abs, "control.db"), opts)
	if err != nil {
		return nil, fmt.Errorf("sqlite: control database: %w", err)
	}
	if err := migrate(ctx, cdb.write, controlMigrations); err != nil {
		cdb.close()
		return nil, fmt.Errorf("sqlite: control database: %w", err)
	}
	s.control = &ControlStore{db: cdb, stores: s}
	s.spares = startSpareFiles(filepath.Join(abs, "templates"), s.template)
	go s.janitor()
	return s, nil
}

// Control returns the control store.
func (s *Stores) Control() ion.ControlStore { return s.control }

// Tenant returns the store of tenant id, opening its file if needed.
// NOT_FOUND if the tenant was never created.
func (s *Stores) Tenant(ctx context.Context, id string) (ion.TenantStore, error) {
	if err := validateTenantID(id); err != nil {
		return nil, err
	}
	// Open it now so that a missing tenant is reported here, not on first
	// use, and the first request does not pay for the open.
	_, release, err := s.acquire(ctx, id)
	if err != nil {
		return nil, err
	}
	release()
	return &TenantStore{stores: s, id: id}, nil
}

// CreateTenant makes tenant id's file as a copy of the migrated template.
// CONFLICT if it already exists.
func (s *Stores) CreateTenant(ctx context.Context, id string) error {
	if err := validateTenantID(id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.writeTenantFile(id, false)
}

// DeleteTenant closes tenant id's file and removes it with its journal
// files. Calls already using the tenant finish first (DeleteTenant waits for
// them, or returns ctx's error having deleted nothing); calls made from then
// on, through new or old handles, answer NOT_FOUND. Deleting a tenant that
// does not exist is not an error.
func (s *Stores) DeleteTenant(ctx context.Context, id string) error {
	if err := validateTenantID(id); err != nil {
		return err
	}
	// Not while a state of the tenant is saved or restored.
	unlock, err := s.lockStates(ctx, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete tenant %s: %w", id, err)
	}
	defer unlock()
	if err := s.deleteTenant(ctx, id); err != nil {
		return err
	}
	if err := os.RemoveAll(s.statesDir(id)); err != nil {
		return fmt.Errorf("sqlite: delete tenant %s: its saved states: %w", id, err)
	}
	// A deleted tenant has no receivers for a dispatcher to poll.
	return s.control.SetWebhookTenant(ctx, id, false)
}

// deleteTenant is DeleteTenant; the caller holds the tenant's state lock.
func (s *Stores) deleteTenant(ctx context.Context, id string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	h := s.tenants[id]
	if h == nil {
		// A handle with no file open, so that nobody opens the file while
		// it is being removed.
		h = &tenantHandle{}
		s.tenants[id] = h
	}
	if h.deleting {
		// Another DeleteTenant is at it: wait for it, then make sure (it
		// may have given up on its context).
		done := h.deleted
		s.mu.Unlock()
		select {
		case <-done:
			return s.deleteTenant(ctx, id)
		case <-ctx.Done():
			return fmt.Errorf("sqlite: delete tenant %s: %w", id, ctx.Err())
		}
	}
	h.deleting, h.deleted = true, make(chan struct{})
	defer close(h.deleted)
	var drained chan struct{}
	if h.inflight > 0 {
		h.drained = make(chan struct{})
		drained = h.drained
	}
	s.mu.Unlock()

	if drained != nil {
		select {
		case <-drained:
		case <-ctx.Done():
			s.mu.Lock()
			h.deleting, h.drained = false, nil
			if h.db == nil && h.inflight == 0 && s.tenants[id] == h {
				delete(s.tenants, id)
			}
			s.mu.Unlock()
			return fmt.Errorf("sqlite: delete tenant %s: %w", id, ctx.Err())
		}
	}

	// Nobody uses the file now and nobody can start to: close it.
	h.openMu.Lock()
	s.mu.Lock()
	db := h.db
	h.db = nil
	s.mu.Unlock()
	h.openMu.Unlock()
	var errs []error
	if db != nil {
		errs = append(errs, db.close())
	}

	s.fileMu.Lock()
	path := s.tenantPath(id)
	for _, suffix := range []string{"-wal", "-shm", "-journal", ""} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, syncDir(filepath.Dir(path)))
	s.fileMu.Unlock()

	s.mu.Lock()
	if s.tenants[id] == h {
		delete(s.tenants, id)
	}
	s.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: delete tenant %s: %w", id, err)
	}
	return nil
}

// Close stops the janitor and closes every open file. Stores and the
// TenantStores it returned must not be used afterwards.
func (s *Stores) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	handles := s.tenants
	s.tenants = nil
	s.mu.Unlock()
	close(s.stopJanitor)
	<-s.janitorDone
	s.background.Wait()
	errs := []error{s.spares.close()}
	for _, h := range handles {
		h.openMu.Lock() // wait for an open in progress
		if h.db != nil {
			errs = append(errs, h.db.close())
		}
		h.openMu.Unlock()
	}
	errs = append(errs, s.control.db.close())
	return errors.Join(errs...)
}

// OpenTenants is the number of tenant files open right now.
func (s *Stores) OpenTenants() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, h := range s.tenants {
		if h.db != nil {
			n++
		}
	}
	return n
}

// CloseIdleTenants closes the tenant files that no call is using and that
// nobody has used for at least idleFor (as Options.Now tells time), and
// returns how many it closed. The janitor calls it with IdleTimeout; a
// closed tenant reopens on its next use.
func (s *Stores) CloseIdleTenants(idleFor time.Duration) int {
	now := s.opts.Now()
	s.mu.Lock()
	var idle []*database
	for id, h := range s.tenants {
		if h.db != nil && h.inflight == 0 && !h.deleting && !h.restoring && now.Sub(h.lastUsed) >= idleFor {
			idle = append(idle, h.db)
			delete(s.tenants, id)
		}
	}
	s.mu.Unlock()
	for _, db := range idle {
		_ = db.close() // nothing is in flight on it; a close error loses nothing
	}
	return len(idle)
}

func (s *Stores) janitor() {
	defer close(s.janitorDone)
	every := min(max(s.opts.IdleTimeout/2, 10*time.Millisecond), 30*time.Second)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-s.stopJanitor:
			return
		case <-tick.C:
			s.CloseIdleTenants(s.opts.IdleTimeout)
		}
	}
}

// acquire returns tenant id's open database and pins it until release is
// called, so that the janitor never closes a file under a running call.
func (s *Stores) acquire(ctx context.Context, id string) (*database, func(), error) {
	s.mu.Lock()
	var h *tenantHandle
	for {
		if s.closed {
			s.mu.Unlock()
			return nil, nil, errClosed
		}
		h = s.tenants[id]
		if h == nil {
			h = &tenantHandle{}
			s.tenants[id] = h
		}
		if h.deleting {
			s.mu.Unlock()
			return nil, nil, errTenantDeleted(id)
		}
		if !h.restoring {
			break
		}
		// A restore is swapping the file: wait, then use the new one.
		restored := h.restored
		s.mu.Unlock()
		select {
		case <-restored:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		s.mu.Lock()
	}
	h.inflight++
	db := h.db
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		h.unpin()
		h.lastUsed = s.opts.Now()
		s.mu.Unlock()
	}
	if db != nil {
		return db, release, nil
	}

	h.openMu.Lock()
	defer h.openMu.Unlock()
	s.mu.Lock()
	db, closed := h.db, s.closed
	s.mu.Unlock()
	if closed {
		release()
		return nil, nil, errClosed
	}
	if db != nil {
		return db, release, nil
	}
	db, err := s.openTenantFile(ctx, id)
	if err != nil {
		s.mu.Lock()
		h.unpin()
		if h.inflight == 0 && h.db == nil && !h.deleting && s.tenants[id] == h {
			delete(s.tenants, id)
		}
		s.mu.Unlock()
		return nil, nil, err
	}
	s.mu.Lock()
	h.db = db
	h.lastUsed = s.opts.Now()
	s.mu.Unlock()
	s.closeOverCap()
	return db, release, nil
}

// closeOverCap closes the least recently used idle tenants beyond
// MaxOpenTenants.
func (s *Stores) closeOverCap() {
	s.mu.Lock()
	type entry struct {
		id string
		h  *tenantHandle
	}
	var open, idle []entry
	for id, h := range s.tenants {
		if h.db != nil {
			open = append(open, entry{id, h})
			if h.inflight == 0 && !h.deleting && !h.restoring {
				idle = append(idle, entry{id, h})
			}
		}
	}
	excess := len(open) - s.opts.MaxOpenTenants
	if excess <= 0 {
		s.mu.Unlock()
		return
	}
	slices.SortFunc(idle, func(a, b entry) int { return a.h.lastUsed.Compare(b.h.lastUsed) })
	var dbs []*database
	for _, e := range idle[:min(excess, len(idle))] {
		dbs = append(dbs, e.h.db)
		delete(s.tenants, e.id)
	}
	s.mu.Unlock()
	for _, db := range dbs {
		_ = db.close()
	}
}

// openTenantFile opens an existing tenant file and brings its schema up to
// date.
func (s *Stores) openTenantFile(ctx context.Context, id string) (*database, error) {
	path := s.tenantPath(id)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, ion.Errorf(ion.ENOTFOUND, "tenant %q not found.", id)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: tenant %s: %w", id, err)
	}
	db, err := openDatabase(path, s.opts)
	if err != nil {
		return nil, fmt.Errorf("sqlite: tenant %s: %w", id, err)
	}
	// The read pool answers this, so that a tenant only read never opens
	// its writer (see openDatabase).
	v, err := schemaVersion(ctx, db.read)
	if err == nil && v < s.latest {
		err = migrate(ctx, db.write, tenantMigrations)
	}
	if err != nil {
		db.close()
		return nil, fmt.Errorf("sqlite: tenant %s: %w", id, err)
	}
	return db, nil
}

func (s *Stores) tenantPath(id string) string {
	return filepath.Join(s.dir, "tenants", id+".db")
}

// writeTenantFile creates tenant id's file from the template. Without
// replace it fails with CONFLICT if the file exists; with replace it
// overwrites it.
func (s *Stores) writeTenantFile(id string, replace bool) error {
	tmp, err := s.spares.take()
	if err != nil {
		return fmt.Errorf("sqlite: create tenant %s: %w", id, err)
	}
	defer os.Remove(tmp) // left only if it was not placed
	if err := s.placeTenantFile(id, tmp, replace); err != nil {
		return err
	}
	return syncDir(filepath.Dir(s.tenantPath(id)))
}

// placeTenantFile makes tmp, a synced copy of the template on the same file
// system (see spareFiles), tenant id's file. Without replace it fails with CONFLICT if the
// file exists; with replace it overwrites it (CreateOrganization uses that
// for a file that a crash left behind without its organization row). The
// caller syncs the directory, which makes the new name durable.
func (s *Stores) placeTenantFile(id, tmp string, replace bool) error {
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	path := s.tenantPath(id)
	if replace {
		s.forgetTenant(id)
	} else if _, err := os.Stat(path); err == nil {
		return ion.Errorf(ion.ECONFLICT, "tenant %q already exists.", id)
	}
	// A journal left by an earlier file of the same name must not be
	// applied to the new one.
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sqlite: create tenant %s: %w", id, err)
		}
	}
	var err error
	if replace {
		err = os.Rename(tmp, path)
	} else {
		// A hard link fails if path exists: an atomic create-if-absent.
		err = os.Link(tmp, path)
		if errors.Is(err, fs.ErrExist) {
			return ion.Errorf(ion.ECONFLICT, "tenant %q already exists.", id)
		}
	}
	if err != nil {
		return fmt.Errorf("sqlite: create tenant %s: %w", id, err)
	}
	return nil
}

// forgetTenant closes tenant id's file if it is open.
func (s *Stores) forgetTenant(id string) {
	s.mu.Lock()
	h := s.tenants[id]
	delete(s.tenants, id)
	s.mu.Unlock()
	if h != nil {
		h.openMu.Lock()
		if h.db != nil {
			_ = h.db.close()
		}
		h.openMu.Unlock()
	}
}

// removeTenantFile deletes tenant id's file (used to undo a creation whose
// organization row did not commit).
func (s *Stores) removeTenantFile(id string) {
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	s.forgetTenant(id)
	path := s.tenantPath(id)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(path + suffix)
	}
}

// removeTempFiles deletes what writeTemp left in dir when a process died
// before renaming or removing it.
func removeTempFiles(dir string) {
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	for _, name := range leftovers {
		_ = os.Remove(name)
	}
}

// writeTemp writes data to a new file in dir, synced to disk.
func writeTemp(dir, prefix string, data []byte) (string, error) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	name := filepath.Join(dir, "."+prefix+".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sqlite: sync %s: %w", dir, err)
	}
	return nil
}

// buildTenantTemplate migrates a fresh tenant database at path and returns
// its bytes. It is rebuilt on every Open, so it always matches the embedded
// migrations. It is made in WAL mode, which the file header records, so that
// a copy opens in WAL mode without the switch (a write that every new
// tenant would otherwise pay on first use); closing its only connection
// checkpoints and removes the -wal file, so that the one file holds
// everything.
func buildTenantTemplate(ctx context.Context, path string, opts Options) ([]byte, error) {
	dir := filepath.Dir(path)
	tmp, err := writeTemp(dir, "tenant", nil)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(tmp + suffix)
		}
	}()
	// busy_timeout although nothing else opens this file: without it any
	// transient SQLITE_BUSY (seen once in CI, under load, in the middle of
	// a migration) fails the whole Open at once.
	db := sql.OpenDB(connector{"file:" + tmp + "?_pragma=busy_timeout(" + strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10) + ")&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)"})
	db.SetMaxOpenConns(1)
	err = migrate(ctx, db, tenantMigrations)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(tmp + "-wal"); err == nil {
		return nil, fmt.Errorf("the template's WAL was not checkpointed into it on close")
	}
	data, err := os.ReadFile(tmp)
	if err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return data, nil
}

// Tenant ids become file names, so they are limited to a safe alphabet.
var tenantIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

func validateTenantID(id string) error {
	if !tenantIDPattern.MatchString(id) {
		return ion.Invalid("tenantId", "%q is not a valid tenant id; use 1 to 128 letters, digits, '-' or '_', starting with a letter or digit (e.g. \"production-org-12\").", id)
	}
	return nil
}
