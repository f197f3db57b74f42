// Package httpapi is ionbox's HTTP surface: it resolves which environment a
// request is for (production, or a sandbox by path or host), authenticates
// it against that environment's issuer, and hands it to the GraphQL handler;
// it applies the node's load shedding and rate limits (internal/limit) to
// GraphQL and the token endpoints, answering 429/503 with Retry-After and
// RateLimit-* headers; it also serves each environment's discovery
// documents, the operator's admin API (/admin/v1), and /healthz and
// /readyz.
//
// It gets stores, issuers and the GraphQL handler as interfaces or plain
// http.Handlers and never imports a store package.
package httpapi
