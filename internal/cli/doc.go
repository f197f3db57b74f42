// Package cli holds ionbox's command-line commands (kong structs and their
// Run methods): `serve`, and the operator commands that call the admin API
// over HTTP. It imports internal/server for `serve` and otherwise talks to a
// running server only through its public HTTP API.
package cli
