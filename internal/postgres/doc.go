// Package postgres stores ionbox's data in PostgreSQL through pgx, so that
// several `ionbox serve` replicas can share one database: it implements
// ion.Stores, ion.ControlStore (with ion.SandboxStore) and ion.TenantStore
// with the same behaviour as the SQLite store, case for case.
//
// Layout of a database (Options.Schema is the prefix, "ion_" by default):
//
//	ion_control              environments, organizations, users, API keys (hashes only),
//	                         signing keys, sandbox requests, sandboxes, spare_schemas
//	ion_t_<tenant id>        one organization's ION data, with its own identity sequences,
//	                         so ids run 1, 2, 3… per tenant as in SQLite
//	ion_spare_<random>       migrated, empty tenant schemas kept ready (see spareSchemas), for
//	                         new tenants and restores of an empty state (ion.EmptyTenantState)
//	ion_s_<hash>_<hash>      a saved state of a tenant (a sandbox's baseline, a checkpoint):
//	                         a spare filled with INSERT … SELECT, sequences set; or, for
//	                         an empty tenant or a template loaded at a time, an empty
//	                         schema whose comment says so (no copy)
//	ion_r_<hash>_<hash>      a ready copy of it, which a restore renames over the tenant's
//	                         schema under the tenant's exclusive lifetime lock (see states.go)
//	ion_tpl_<hash>           a template (the seed data of seeded sandboxes)
//	ion_c_<hash>_<random>    a ready copy of a small template, its times moved to when it
//	                         was made (its comment), for loads within TemplateCopyAge
//
// Migrations are embedded goose SQL files, one set for the control schema
// (applied by Open, under a session advisory lock so that replicas starting
// together take turns) and one for tenant schemas (applied on first use to
// a tenant schema an older version left behind; a spare is made by running
// their Up sections and goose's version rows as one script in one
// transaction, spare_script.go, which is what goose would make). Goose runs
// on a connection whose search_path is the schema, so the migration files
// hold unqualified names and each schema carries its own goose_db_version
// table. Creating a tenant renames a spare schema
// inside the transaction that needs it (CreateOrganization also inserts the
// organization there), so that neither exists without the other.
//
// Every call is one transaction, except inside ControlStore.Atomically,
// which runs the control calls made with its context in one transaction
// (each write in a savepoint; database.atomically in db.go) so that a
// sandbox's provisioning commits once. Round trips are what a provisioning
// costs, so a write in a batch sends its SAVEPOINT with its first
// statement and never releases it, and the control writes a provisioning
// makes send their checks' reads and the write in one pgx pipeline
// (tx.pipeline), looking at what the checks found afterwards. Every
// transaction is a lazyTx (db.go): its BEGIN, search_path and advisory
// locks go with its first statement once the connection has prepared that
// statement (pgx prepares a batch's new statements before BEGIN runs, when
// a tenant's tables are not on the search_path). A control write made with
// an ion.Deferrable context inside Atomically (database.write) is queued
// to go with the transaction's next statement, or with its COMMIT when it
// checks nothing; its failure fails the whole batch. The control pool uses
// generic plans (plan_cache_mode), since its statements are key lookups;
// ControlStore.Principal reads a token's key, user and organization in one
// pipeline.
//
// Any schema DDL (a spare made, a spare renamed into place) makes every
// backend of the database drop all its cached plans, and catch up on the
// catalog invalidations at its next transaction; each statement a backend
// runs next is planned again. Background work is therefore kept away from
// users' requests: spares are refilled once the store has been quiet for a
// moment (spareSchemas.kick, waitQuiet), and the maker then runs one small
// query on every idle connection, which takes the catch-up off the next
// request's path. A tenant placed in a spare this process made (ownSpares)
// is known to be at the latest migration, so its first use checks nothing
// more than that it exists. Tenant calls set search_path locally to
// the tenant's schema and hold the tenant's lifetime advisory lock shared;
// Stores.DeleteTenant takes it exclusively and drops the schema, so it waits
// for running calls, and later calls answer NOT_FOUND. Writes also take the
// tenant's (or the control schema's) write advisory lock: one writer per
// tenant across every replica, which is what the SQLite store's single
// writer gives, so every check-then-write (unique serial numbers, installs
// against a requirement's remaining quantity, a unit installed once, free
// sandbox names) holds at commit without a row lock per rule. Reads take no
// write lock and see one snapshot (REPEATABLE READ). Each write fixes now
// (microseconds, UTC), recomputes derived statuses in the same transaction
// and is durable once acknowledged under PostgreSQL's default
// synchronous_commit. Deadlocks and serialization failures retry the whole
// transaction.
//
// A snapshot (SnapshotTenant, snapshot.go) streams each table of the
// source with COPY through the scrub plan into a claimed spare schema, on a
// second connection, in one transaction that also verifies the copy and
// renames it over the target tenant's schema.
//
// Templates (ion.TenantTemplates, the seed data of seeded sandboxes) are
// schemas <prefix>tpl_<hash>, copied as saved states are; loading one copies
// it into a spare with its times moved as the rows are copied, and renames
// the copy over the tenant's schema. LoadTenantTemplateAsState (a seeded
// sandbox's provisioning) saves the baseline as the template and the time
// instead of a copy; its ready copy is made from the template, and
// replacing or deleting the template first turns such states into copies.
// A small template loaded as a state may instead come from one of its
// ready copies (<prefix>c_…, Options.TemplateCopies, templatecopies.go),
// retimed when it was made, a rename while the caller waits.
// A replica of an older version would take such a state for an empty copy,
// so replicas are upgraded together.
//
// Schema DDL is the expensive part (≈ 0.1 s of PostgreSQL CPU per tenant
// schema; rows of a small tenant copy in milliseconds), so copies are
// made into existing schemas (copies.go), without the per-row foreign-key
// checks where the role may set session_replication_role (Stores.trusted:
// the rows came from a schema that enforced them): the layout of a tenant schema
// (tables in order, columns, sequences) is read from the catalog once per
// process, and a copy's statements go as one multi-statement query. A
// replaced tenant schema (restore, load) is renamed to <prefix>trash_…
// under the tenant's lock, then emptied (rows deleted and sequences reset,
// or truncated when large) and registered as a spare in the background,
// instead of being dropped while a new spare is made; one that cannot be
// reused is dropped. Open drops the trash_ schemas a stopped process left.
// After a restore, the next ready copy is made in a spare while the
// replaced schema is emptied, so a restore soon after waits only for the
// copy.
//
// Times are stored as Unix microseconds (bigint), text as COLLATE "C" (byte
// order, as the suite requires), and ilike folds case with the ICU root
// collation ("und-x-icu"), which the server must provide (Debian's and the
// official images' builds do).
//
// Webhooks (webhooks.go): a tenant's receivers, subscriptions, events and
// deliveries live in its own schema. Every write records the business objects
// it touches (track, trackCreated, trackWhere) and, before it commits,
// one event per changed object and one delivery per matching subscription
// (internal/capture builds the event data), all in the same transaction;
// new write paths must track the objects they change. A restore carries
// the webhook tables over from the current data, so a reset keeps them.
//
// This package imports ion and database libraries only. It must not import
// transports (internal/graphql, internal/httpapi) or other stores; its
// behaviour is specified by the conformance suite in internal/storetest.
// Column encodings shared with the other SQL store live in internal/sqlcol,
// and the field checks in ion (CheckEtag, CheckEnum, …).
//
// bulk.go, idempotency.go, issues.go, locations.go, policies.go and
// webhooks.go are generated copies of the SQLite store's files of the same
// names (see copies_test.go): edit those, then run
// go test ./internal/postgres -run TestStoreCopies -update-copies.
package postgres
