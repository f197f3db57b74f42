// Package ion is the domain of the ION manufacturing API that ionbox serves:
// its entities (parts, mBOMs, inventory, procedures, runs, installations,
// issues, purchasing), the rules that hold whatever transport or store is in
// use (derived run and inventory status, tracking rules, revision letters,
// field value checks, etags), the single error vocabulary, and the Store
// interfaces that storage adapters implement.
//
// It imports nothing of ours: transports (internal/graphql,
// internal/httpapi) and stores (internal/sqlite, internal/postgres) depend on
// it, never the other way round.
package ion
