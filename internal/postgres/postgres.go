package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/ionbox/ionbox/ion"
)

//go:embed migrations/control/*.sql migrations/tenant/*.sql
var migrationFiles embed.FS

// Migration sets, one for the control schema and one for tenant schemas.
var (
	controlMigrations = mustSub(migrationFiles, "migrations/control")
	tenantMigrations  = mustSub(migrationFiles, "migrations/tenant")
)

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // the embedded tree is fixed at compile time
	}
	return sub
}

// Options configures Open. The zero value is ready to use: every field's
// comment states its default.
type Options struct {
	// Now returns the current time. Every row one transaction writes
	// carries the same timestamp from one call. Default: time.Now.
	Now func() time.Time
	// Schema prefixes every schema the store makes: the control schema is
	// <Schema>control, tenant schemas <Schema>t_<tenant id>, spare schemas
	// <Schema>spare_<random>. Tests use a unique prefix to isolate
	// themselves in one database. Lowercase letters, digits and '_', at
	// most 24 characters, starting with a letter. Default: "ion_".
	Schema string
	// MaxConns is the size of the pool that tenant stores use. Default: 10.
	MaxConns int
	// ControlConns is the size of the control schema's pool. Default: 4.
	ControlConns int
	// SpareSchemas is how many migrated, empty tenant schemas are kept ready
	// so that creating a tenant (or loading a template, saving a state,
	// preparing a reset's ready copy) is a rename, not a migration. Making
	// one is ≈ 0.2 s of PostgreSQL CPU (its DDL), so a burst longer than
	// the pool waits for the refill; each spare is ≈ 120 catalog relations
	// (tables, indexes, sequences) besides their TOAST tables.
	// 0 means the default; a negative value keeps none (every creation
	// migrates while the caller waits). Default: 8.
	SpareSchemas int
	// TemplateCopies is how many ready copies of each small template (the
	// seed data of seeded sandboxes) are kept, with their times moved to
	// when the copy was made, so that loading the template as a state (a
	// seeded sandbox's provisioning) renames one into place instead of
	// copying rows while the caller waits. A load uses a copy made at most
	// TemplateCopyAge before or after its time, and saves the state with
	// the copy's time: the seed data is then dated relative to up to that
	// much before provisioning. Each copy is a tenant schema. 0 means the
	// default; a negative value keeps none. Default: 2.
	TemplateCopies int
}

// TemplateCopyAge is how far from a load's time a ready template copy's
// time may be (see Options.TemplateCopies); older copies are replaced.
const TemplateCopyAge = 10 * time.Minute

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Schema == "" {
		o.Schema = "ion_"
	}
	if o.MaxConns == 0 {
		o.MaxConns = 10
	}
	if o.ControlConns == 0 {
		o.ControlConns = 4
	}
	if o.SpareSchemas == 0 {
		o.SpareSchemas = 8
	}
	if o.SpareSchemas < 0 {
		o.SpareSchemas = 0
	}
	if o.TemplateCopies == 0 {
		o.TemplateCopies = 2
	}
	if o.TemplateCopies < 0 {
		o.TemplateCopies = 0
	}
	return o
}

var schemaPrefixPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,23}$`)

func (o Options) validate() error {
	switch {
	case o.Schema != "" && !schemaPrefixPattern.MatchString(o.Schema):
		return fmt.Errorf("postgres: Options.Schema %q must be 1 to 24 lowercase letters, digits or '_', starting with a letter; leave it empty for the default \"ion_\"", o.Schema)
	case o.MaxConns < 0:
		return fmt.Errorf("postgres: Options.MaxConns must not be negative (got %d); leave it 0 for the default of 10", o.MaxConns)
	case o.ControlConns < 0:
		return fmt.Errorf("postgres: Options.ControlConns must not be negative (got %d); leave it 0 for the default of 4", o.ControlConns)
	}
	return nil
}

// Stores is the PostgreSQL implementation of ion.Stores: one control schema
// and one schema per tenant in one database, shared by any number of
// processes.
type Stores struct {
	webhooks    webhookNotifier // OnWebhookQueued's functions
	opts        Options
	config      *pgxpool.Config // the parsed URL, for migration connections
	pool        *pgxpool.Pool   // tenant schemas; search_path set per transaction
	controlPool *pgxpool.Pool   // the control schema; search_path set at connect
	control     *ControlStore
	tenantDB    *database
	latest      int64 // the tenant migration version
	// skipChecks: the role may set session_replication_role, so that
	// copies of rows that already met every constraint skip the per-row
	// foreign-key checks (see trusted).
	skipChecks bool
	spares     *spareSchemas

	migrated sync.Map // tenant schema → struct{}: known to be at latest
	// ownSpares are the spare schemas this process made or recycled, and
	// so knows to be at the latest migration: a tenant placed in one
	// needs no version check on its first use.
	ownSpares      sync.Map // spare schema → struct{}
	largeTemplates sync.Map // template schema → bool (see templateIsLarge)
	// refillingCopies: template schemas whose ready copies this process
	// is refilling (see refillCopiesInBackground).
	refillingCopies sync.Map

	layoutMu     sync.Mutex
	tenantLayout *tenantLayout // see layout

	// background counts the goroutines preparing copies of saved states,
	// which backgroundCtx stops; Close waits for them.
	background     sync.WaitGroup
	backgroundCtx  context.Context
	stopBackground context.CancelFunc

	mu     sync.Mutex
	closed bool
}

var _ ion.Stores = (*Stores)(nil)

var errClosed = errors.New("postgres: stores are closed")

// Open connects to the database at url (a PostgreSQL URL or DSN), creates
// and migrates the control schema, and starts keeping spare tenant schemas
// ready. Close releases everything.
func Open(ctx context.Context, url string, opts Options) (*Stores, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	config, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Stores{opts: opts, config: config}
	s.backgroundCtx, s.stopBackground = context.WithCancel(context.Background())
	if s.latest, err = latestVersion(tenantMigrations); err != nil {
		return nil, fmt.Errorf("postgres: tenant migrations: %w", err)
	}

	tenantConfig := config.Copy()
	tenantConfig.MaxConns = int32(opts.MaxConns)
	if s.pool, err = pgxpool.NewWithConfig(ctx, tenantConfig); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := migrate(ctx, config, s.controlSchema(), controlMigrations, true, true); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("postgres: control schema: %w", err)
	}
	controlConfig := config.Copy()
	controlConfig.MaxConns = int32(opts.ControlConns)
	controlConfig.ConnConfig.RuntimeParams["search_path"] = quote(s.controlSchema())
	if _, set := controlConfig.ConnConfig.RuntimeParams["plan_cache_mode"]; !set && genericPlans(ctx, s.pool) {
		// Control statements are lookups by key and small lists, whose
		// plan does not depend on the values: planned once per
		// connection instead of for each of its first five runs and
		// again after every schema change, which is most of what a
		// provisioning's control statements cost PostgreSQL (measured,
		// blank provisioning's median 16.6-21.7 → 14.4-16.5 ms).
		controlConfig.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	}
	if s.controlPool, err = pgxpool.NewWithConfig(ctx, controlConfig); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	controlWriteLock := lockKey(s.controlSchema(), "write")
	s.control = &ControlStore{stores: s, db: &database{
		pool: s.controlPool,
		read: pgq{s.controlPool},
		now:  opts.Now,
		begin: func(b *pgx.Batch, write bool) {
			if write {
				// Control writes check and then insert (a free name, a
				// unique email), as the SQLite store's single writer
				// allows: one writer at a time across every process.
				b.Queue(`SELECT pg_advisory_xact_lock($1)`, controlWriteLock)
			}
		},
	}}
	s.tenantDB = &database{pool: s.pool, now: opts.Now}
	s.skipChecks = maySkipChecks(ctx, s.pool)
	s.spares = startSpareSchemas(s, opts.SpareSchemas)
	s.dropRetiredSchemas()
	return s, nil
}

// genericPlans reports whether the server has plan_cache_mode (PostgreSQL
// 12 and later).
func genericPlans(ctx context.Context, pool *pgxpool.Pool) bool {
	var version int
	err := pool.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version)
	return err == nil && version >= 120000
}

// maySkipChecks reports whether the pool's role may set
// session_replication_role: a superuser may, and from PostgreSQL 15 a
// role granted SET on it (GRANT SET ON PARAMETER session_replication_role
// TO …). Without it, copies run every foreign-key check.
func maySkipChecks(ctx context.Context, pool *pgxpool.Pool) bool {
	var ok bool
	if err := pool.QueryRow(ctx, `SELECT current_setting('is_superuser') = 'on'`).Scan(&ok); err == nil && ok {
		return true
	}
	// The function is missing before PostgreSQL 15: then not.
	err := pool.QueryRow(ctx, `SELECT has_parameter_privilege('session_replication_role', 'SET')`).Scan(&ok)
	return err == nil && ok
}

// Control returns the control store.
func (s *Stores) Control() ion.ControlStore { return s.control }

// Tenant returns the store of tenant id. NOT_FOUND if the tenant was never
// created (or was deleted). A tenant schema made by an older version is
// migrated on first use.
func (s *Stores) Tenant(ctx context.Context, id string) (ion.TenantStore, error) {
	if err := validateTenantID(id); err != nil {
		return nil, err
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	schema := s.tenantSchema(id)
	if _, ok := s.migrated.Load(schema); ok {
		var exists bool
		if err := s.pool.QueryRow(ctx, schemaExistsSQL, schema).Scan(&exists); err != nil {
			return nil, fmt.Errorf("postgres: tenant %s: %w", id, err)
		}
		if !exists {
			return nil, errTenantNotFound(id)
		}
		return newTenantStore(s, id, schema), nil
	}
	// First use in this process: bring the schema up to date. The version
	// query names the schema, so it runs unprepared rather than adding one
	// prepared statement per tenant to every connection.
	versions := pgx.Identifier{schema, "goose_db_version"}.Sanitize()
	var exists, versioned bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1), to_regclass($2) IS NOT NULL`,
		schema, versions).Scan(&exists, &versioned); err != nil {
		return nil, fmt.Errorf("postgres: tenant %s: %w", id, err)
	}
	if !exists {
		return nil, errTenantNotFound(id)
	}
	var version *int64
	if versioned {
		err := s.pool.QueryRow(ctx, `SELECT max(version_id) FROM `+versions+` WHERE is_applied`, pgx.QueryExecModeSimpleProtocol).Scan(&version)
		if pgCode(err) == codeUndefinedTable || pgCode(err) == codeInvalidSchemaName {
			return nil, errTenantNotFound(id) // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("postgres: tenant %s: %w", id, err)
		}
	}
	if version == nil || *version < s.latest {
		// Not created if missing: a tenant deleted meanwhile stays deleted.
		err := migrate(ctx, s.config, schema, tenantMigrations, true, false)
		if errors.Is(err, errNoSchema) {
			return nil, errTenantNotFound(id)
		}
		if err != nil {
			return nil, fmt.Errorf("postgres: tenant %s: %w", id, err)
		}
	}
	s.migrated.Store(schema, struct{}{})
	return newTenantStore(s, id, schema), nil
}

// CreateTenant makes tenant id's schema by renaming a spare one. CONFLICT
// if it already exists.
func (s *Stores) CreateTenant(ctx context.Context, id string) error {
	if err := validateTenantID(id); err != nil {
		return err
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	return s.withSpare(ctx, func() error {
		return s.control.db.update(ctx, "create tenant", func(tx *tx) error {
			return s.placeTenant(tx, id, false)
		})
	})
}

// withSpare runs create, a transaction that places a spare schema, makes a
// spare while the caller waits when none was ready, and asks for a refill
// once the claim committed (a refill counting before would miss it). The
// caller makes its own spare rather than wait for a background maker's:
// measured, that keeps more spares coming during a burst (p50 of 200
// blank sandboxes back to back 53 ms, against 101 ms when waiting).
func (s *Stores) withSpare(ctx context.Context, create func() error) error {
	for attempt := 0; ; attempt++ {
		err := create()
		if err == nil || errors.Is(err, errNoSpare) {
			// A claim inside a control batch counts once the batch commits.
			s.control.db.afterCommit(ctx, s.spares.kick)
		}
		if !errors.Is(err, errNoSpare) || attempt == 3 {
			return err
		}
		if err := s.spares.make(ctx); err != nil {
			return fmt.Errorf("postgres: spare tenant schema: %w", err)
		}
	}
}

// schemaExistsSQL reports whether schema $1 exists.
const schemaExistsSQL = `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`

var errNoSpare = errors.New("no spare tenant schema is ready")

// placeTenant claims a spare schema and renames it to tenant id's, inside
// tx (of the control pool), so that the rename commits or rolls back with
// whatever else tx does. Without replace it answers CONFLICT if the schema
// exists; with replace it drops it first (CreateOrganization: the id is
// new, so a schema of that name is a leftover of CreateTenant).
func (s *Stores) placeTenant(tx *tx, id string, replace bool) error {
	schema := s.tenantSchema(id)
	// The lock, the check and the claim go in one round trip; a failed
	// check rolls the claim back with tx.
	b := &pgx.Batch{}
	// No call may run on the tenant while its schema changes.
	queue(b, `SELECT pg_advisory_xact_lock(?)`, lockKey(schema, "lifetime"))
	var exists bool
	queue(b, schemaExistsSQL, schema).QueryRow(func(r pgx.Row) error { return r.Scan(&exists) })
	var spare string
	claimErr := pgx.ErrNoRows
	b.Queue(`DELETE FROM spare_schemas WHERE name = (
		SELECT name FROM spare_schemas WHERE ready ORDER BY created_at, name LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING name`).
		QueryRow(func(r pgx.Row) error { claimErr = r.Scan(&spare); return nil })
	if err := tx.pipeline(b); err != nil {
		return err
	}
	switch {
	case exists && !replace:
		return ion.Errorf(ion.ECONFLICT, "tenant %q already exists.", id)
	case errors.Is(claimErr, pgx.ErrNoRows):
		return errNoSpare
	case claimErr != nil:
		return claimErr
	case exists:
		// Rare, so not in the pipeline: the statement names the schema,
		// and a batch prepares each statement it has not seen.
		if _, err := tx.exec(`DROP SCHEMA IF EXISTS ` + quote(schema) + ` CASCADE`); err != nil {
			return err
		}
	}
	if err := rawExec(tx, `ALTER SCHEMA `+quote(spare)+` RENAME TO `+quote(schema)); err != nil {
		if pgCode(err) == codeDuplicateSchema {
			return ion.Errorf(ion.ECONFLICT, "tenant %q already exists.", id)
		}
		return err
	}
	if _, own := s.ownSpares.LoadAndDelete(spare); own {
		tx.onCommit(func() { s.migrated.Store(schema, struct{}{}) })
	}
	return nil
}

// DeleteTenant drops tenant id's schema. It waits for the calls running on
// the tenant (they hold its lifetime lock shared); calls made from then on,
// through new or old handles, answer NOT_FOUND. Deleting a tenant that does
// not exist is not an error.
func (s *Stores) DeleteTenant(ctx context.Context, id string) error {
	if err := validateTenantID(id); err != nil {
		return err
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	schema := s.tenantSchema(id)
	err := s.tenantDB.run(ctx, "delete tenant", true, func(tx *tx) error {
		if err := s.dropStates(tx, id); err != nil {
			return err
		}
		if _, err := tx.exec(`SELECT pg_advisory_xact_lock(?)`, lockKey(schema, "lifetime")); err != nil {
			return err
		}
		_, err := tx.exec(`DROP SCHEMA IF EXISTS ` + quote(schema) + ` CASCADE`)
		return err
	})
	s.migrated.Delete(schema)
	if err != nil {
		return fmt.Errorf("postgres: delete tenant %s: %w", id, err)
	}
	// A deleted tenant has no receivers for a dispatcher to poll.
	return s.control.SetWebhookTenant(ctx, id, false)
}

// Close stops the spare refiller and closes the pools. Stores and the
// TenantStores it returned must not be used afterwards.
func (s *Stores) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.stopBackground()
	s.background.Wait()
	s.spares.close()
	s.controlPool.Close()
	s.pool.Close()
	return nil
}

func (s *Stores) checkOpen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	return nil
}

func (s *Stores) controlSchema() string { return s.opts.Schema + "control" }

// tenantSchema is tenant id's schema: <prefix>t_<id>, quoted wherever it is
// used, since ids hold '-' and capitals. An id too long for PostgreSQL's
// 63-byte names is cut and given a hash of the whole id, so that distinct
// ids keep distinct schemas.
func (s *Stores) tenantSchema(id string) string {
	name := s.opts.Schema + "t_" + id
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(id))
	return name[:63-9] + "_" + hex.EncodeToString(sum[:4])
}

func (s *Stores) spareSchemaName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return s.opts.Schema + "spare_" + hex.EncodeToString(b[:])
}

// quote quotes a schema name for SQL text.
func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

// lockKey is the advisory lock key of one use (lifetime, write) of a
// schema. Advisory locks are per database, so the schema name, which
// includes the prefix, keeps deployments and tests apart.
func lockKey(schema, use string) int64 {
	h := fnv.New64a()
	h.Write([]byte(schema))
	h.Write([]byte{0})
	h.Write([]byte(use))
	return int64(h.Sum64())
}

var errNoSchema = errors.New("schema does not exist")

// migrate applies the migrations in fsys that schema lacks, through goose
// on a connection whose search_path is the schema (goose's version table
// lives in the schema, so it moves with a renamed spare). With create it
// creates the schema if needed, else answers errNoSchema for a missing one.
// With locked, a session advisory lock on the schema keeps other processes
// from migrating it at the same time.
func migrate(ctx context.Context, config *pgxpool.Config, schema string, fsys fs.FS, locked, create bool) error {
	cc := config.ConnConfig.Copy()
	cc.RuntimeParams["search_path"] = quote(schema)
	db := stdlib.OpenDB(*cc)
	defer db.Close()
	db.SetMaxOpenConns(1)
	if create {
		// Two processes creating the control schema at once may collide
		// in the catalog; the loser's schema exists all the same.
		if _, err := db.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+quote(schema)); err != nil &&
			pgCode(err) != codeUniqueViolation && pgCode(err) != codeDuplicateSchema {
			return fmt.Errorf("create schema %s: %w", schema, err)
		}
	} else {
		var exists bool
		if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return errNoSchema
		}
	}
	var popts []goose.ProviderOption
	if locked {
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockKey(schema, "migrate")), lock.WithLockTimeout(1, 600))
		if err != nil {
			return err
		}
		popts = append(popts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, popts...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", schema, err)
	}
	return nil
}

// latestVersion is the highest migration version in fsys.
func latestVersion(fsys fs.FS) (int64, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, e := range entries {
		n, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("migration file %s has no version prefix", e.Name())
		}
		latest = max(latest, v)
	}
	return latest, nil
}

// Tenant ids become schema names, so they are limited to a safe alphabet
// (the same as the SQLite store's, whose ids become file names), and
// quoted in SQL.
var tenantIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

func validateTenantID(id string) error {
	if !tenantIDPattern.MatchString(id) {
		return ion.Invalid("tenantId", "%q is not a valid tenant id; use 1 to 128 letters, digits, '-' or '_', starting with a letter or digit (e.g. \"production-org-12\").", id)
	}
	return nil
}

func errTenantNotFound(id string) error {
	return ion.Errorf(ion.ENOTFOUND, "tenant %q not found.", id)
}
