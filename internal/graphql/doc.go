// Package graphql serves the ION GraphQL API of one environment: the schema
// (schema/*.graphqls, gqlgen, schema-first), the resolvers (one file per
// area), the per-request dataloaders and the read-ahead that primes them for
// a connection's page (prefetch.go), the order in which lists are marshaled
// (listorder.go, generated/lists.go), the HTTP transport (POST, GET, JSON
// array batches), the limits checked before any resolver runs (depth,
// aliases, page size, complexity, body size, batch size, timeout), the
// document cache and automatic persisted queries, the error presenter
// that maps ion errors to ION's envelope, and Idempotency-Key on mutations
// (idempotency.go: fingerprint, replay, 409 and 422; the records are the
// tenant store's).
//
// The emulated quirks of ION (numeric ids, enums in any case, Int and ID
// variables used interchangeably, the docs' alias input type names,
// decimal strings, etag or _etag) are each implemented in one place with a
// comment saying why.
//
// It depends only on the ion package's interfaces (ion.Stores,
// ion.TenantStore, ion.ControlStore, ion.APIKeyService), and on
// internal/webhook for the one rendering of a delivery's body and
// webhook-id: it must never import a store package (internal/sqlite,
// internal/postgres) or internal/auth. Regenerate the gqlgen code with
// `go generate ./internal/graphql/...`.
package graphql
