// Package cli holds ionbox's command-line commands (kong structs and their
// Run methods): `serve`, the operator commands that call the admin API over
// HTTP, and the integration developer's commands (`token`, `seed chain`,
// `smoke`, `promote check`), which call an environment only through the Go
// SDK (module github.com/ionbox/ionbox/client, replaced by ./client in
// go.mod), exactly as an integration would. It imports internal/server for
// `serve` and otherwise talks to a running server only through its public
// HTTP API; it must not import the stores or the GraphQL layer.
package cli
