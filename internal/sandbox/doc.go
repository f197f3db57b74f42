// Package sandbox owns the lifecycle of sandbox environments: sandbox
// requests and their approval or rejection, provisioning a requested
// sandbox (its environment, its own organization and tenant store, its
// members and service accounts, and one API key per service account), adding
// credentials later, and deleting a sandbox with everything it holds.
//
// It also resets a sandbox's data to its baseline (saved when it is
// provisioned) or to a named checkpoint (Reset, CreateCheckpoint), extends
// or pins it, keeps the lifecycle log, and applies dormancy and expiry as
// of a given time (Sweep), which internal/server runs every minute.
//
// In this version only the blank shape can be provisioned; seeded and
// snapshot requests are refused with a VALIDATION_ERROR on shape until seed
// data and scrubbed snapshots arrive here.
//
// Provisioning never leaves a half-made sandbox: each step is undone if a
// later one fails, and the request then stays pending so that it can be
// approved again.
//
// It works only through the interfaces of package ion (ion.ControlStore,
// ion.Stores, ion.APIKeyService). It must not import a store package
// (internal/sqlite, internal/postgres), the auth implementation
// (internal/auth) or a transport (internal/graphql, internal/httpapi); those
// are wired together in internal/server.
package sandbox
