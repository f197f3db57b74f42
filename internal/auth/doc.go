// Package auth is the OAuth side of ionbox: one client-credentials
// authorization server per environment (production and every sandbox),
// shaped like the Keycloak realm "api-keys" that ION's clients talk to.
//
// It owns:
//   - API keys: client ids, secrets (generated here, returned once, stored
//     only as an HMAC-SHA256 under the server's hash key) and the
//     ion.APIKeyService that creates, updates and deletes them;
//   - per-environment issuers: ES256 signing keys (created on first use,
//     rotated with RotateSigningKey), the token endpoint, discovery and JWKS;
//   - request authentication: verifying access tokens (RFC 9068 profile),
//     telling another ionbox environment's token or secret
//     (ENVIRONMENT_MISMATCH) from a forged or unknown one (INVALID_TOKEN),
//     and resolving the ion.Actor a token acts as.
//
// It talks to storage only through ion.ControlStore. It must not import a
// store package (internal/sqlite, internal/postgres), the GraphQL layer
// (internal/graphql) or the HTTP router (internal/httpapi); those depend on
// it, never the other way round. Every user-facing message it produces is
// in messages.go.
package auth
