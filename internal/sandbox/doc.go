// Package sandbox owns the lifecycle of sandbox environments: sandbox
// requests and their approval or rejection, provisioning a requested
// sandbox (its environment, its own organization and tenant store, its
// members and service accounts, and one API key per service account), adding
// credentials later, and deleting a sandbox with everything it holds.
//
// It also resets a sandbox's data to its baseline (saved when it is
// provisioned; a blank sandbox's is ion.EmptyTenantState, which needs no
// save) or to a named checkpoint (Reset, CreateCheckpoint), extends
// or pins it, keeps the lifecycle log, and applies dormancy and expiry as
// of a given time (Sweep), which internal/server runs every minute.
//
// Three shapes can be provisioned. blank: an empty organization. seeded
// (seeded.go): the demo factory of internal/seed in a size (small, the
// default, or large), loaded from a template of the seed data that the
// stores keep (built once per seed version and size, one build at a time;
// PrepareTemplates builds the small one ahead) with its times moved to the
// provisioning time, so that a seeded sandbox costs a copy of ready data.
// snapshot (snapshot.go): a copy of the production organization's data as
// of one point in time, scrubbed by the scrub policy (internal/scrub,
// Config.ScrubPolicy) under a key made for that snapshot alone. Blank and
// seeded requests are approved on arrival unless Config.AutoApprove says
// otherwise; snapshot requests wait for an operator's approval, because a
// copy of production data may need compliance review. The sandbox stays in
// state provisioning, which the router answers with 503, until its data is
// in place (a snapshot: copied, scrubbed and verified); Progress reports
// how far a provisioning has come while it runs.
//
// A provisioning that a crash interrupted leaves a sandbox in state
// provisioning (its tenant's half-made copy is only ever in a temporary
// file or an uncommitted transaction); RemoveInterrupted removes it and
// its request stays pending. The server calls it on start (SQLite) and
// Sweep after an hour (replicas on PostgreSQL).
//
// A reset swaps a ready copy of the saved state in (the stores keep one
// prepared in the background), so that it costs a rename or a catalog
// update while the caller waits, whatever the sandbox's size.
//
// Provisioning never leaves a half-made sandbox: each step is undone if a
// later one fails, and the request then stays pending so that it can be
// approved again. Its control records are made in one transaction
// (ion.ControlStore.Atomically), which for an automatically approved
// request also stores the request, and for a blank sandbox activates it:
// a blank sandbox is one commit, made active from the start. The writes it
// needs nothing back from (its signing key, its organization link, its
// lifecycle events) are made with an ion.Deferrable context, so that a
// store may send them with its next statement; the service accounts' keys
// are made from the records just created (CreateAPIKeyFor, if
// Config.APIKeys has it) rather than read again. Config.OnProvisioned then
// tells the server, which warms up what the sandbox's first requests need
// while the answer is on its way.
//
// It works only through the interfaces of package ion (ion.ControlStore,
// ion.Stores, ion.APIKeyService) and internal/scrub's policy. It must not
// import a store package (internal/sqlite, internal/postgres), the auth
// implementation (internal/auth) or a transport (internal/graphql,
// internal/httpapi); those are wired together in internal/server.
package sandbox
