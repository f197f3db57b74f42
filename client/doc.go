// Package client is the Go SDK for the ION GraphQL API as ionbox serves it
// (production and sandbox environments alike).
//
// It owns: configuration from the environment (FromEnv, with the ION_ENV
// convention), the credential-kind guard (a sandbox secret is never sent to
// production and vice versa), OAuth2 client-credentials tokens, retries with
// backoff that honour Retry-After, Idempotency-Key on every mutation, the
// production guard for destructive bulk operations, a write ramp and a
// circuit breaker, typed errors, and typed helpers for common operations.
//
// It is its own Go module and imports only the standard library and
// golang.org/x/oauth2; it must never import ionbox's internal packages, so
// that integrations can depend on it alone.
package client
