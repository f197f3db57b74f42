// Package sqlite stores ionbox's data in SQLite files through
// modernc.org/sqlite (pure Go): it implements ion.Stores, ion.ControlStore
// and ion.TenantStore.
//
// Layout of a data directory:
//
//	control.db              environments, organizations, users, API keys (hashes only),
//	                        signing keys, sandbox requests and sandboxes
//	tenants/<tenant>.db     one organization's ION data, self-contained, so that it can be copied
//	templates/tenant.db     an empty, migrated tenant file in WAL mode; new tenants start as a copy
//	templates/.spare.tmp-*  synced copies of it kept ready, so that creating a tenant, or
//	                        restoring ion.EmptyTenantState, is a rename
//	states/<tenant>/<n>.db  saved state n of a tenant (a sandbox's baseline, its checkpoints),
//	                        made with VACUUM INTO, or as a file copy while the tenant is closed
//	states/<tenant>/<n>.next  a ready copy of it: restoring renames it over the tenant's file
//	                        (after holding back new calls and waiting for running ones), and
//	                        the next copy is made in the background; the replaced file is
//	                        removed in the background too (freeing a large file is slow)
//	templates/t-<name>.db   template name (ion.TenantTemplates, e.g. the seed data of seeded
//	                        sandboxes), made with VACUUM INTO; loading one copies it to
//	                        states/<tenant>/, retimes the copy and swaps it in as a restore does
//
// Every file runs in WAL mode with foreign keys on and synchronous=NORMAL,
// which keeps every acknowledged write across a process crash. Each has one
// writer connection (transactions BEGIN IMMEDIATE) and a small query-only
// read pool; a tenant file's writer opens on its first write.
// ControlStore.Atomically holds the control writer for one transaction
// that the calls made with its context join, reads included (each write
// in a savepoint; database.atomically in db.go). Migrations
// are embedded goose SQL files, one set for the control database and one
// for tenants, applied on open. Tenant files open on first use and close
// when idle or beyond Options.MaxOpenTenants, so dormant tenants cost disk
// only; Stores.DeleteTenant waits for the calls using a tenant, then removes
// its files, and later calls answer NOT_FOUND.
//
// A snapshot (SnapshotTenant, snapshot.go) builds a scrubbed copy of a
// tenant in a new spare file with the source attached, computing scrubbed
// columns with a Go SQL function, so that no source value of a scrubbed
// column is written to the copy's file; it verifies the copy and renames it
// over the target tenant's file.
//
// The store enforces the domain rules itself, inside the transaction of
// each write, using the rule functions of package ion: derived inventory and
// run status are stored columns recomputed whenever their inputs change, so
// that lists filter and sort on them in SQL.
//
// Webhooks (webhooks.go): a tenant's receivers, subscriptions, events and
// deliveries live in its own file. Every write records the business objects
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
package sqlite
