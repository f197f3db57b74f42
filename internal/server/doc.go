// Package server assembles a running ionbox from its parts: it prepares the
// data directory (admin token, hash key), opens the store, builds each
// environment's issuer, the GraphQL handler and the HTTP surface, and serves
// until its context ends. It is the only package that knows every concrete
// implementation; cmd/ionbox calls Run and nothing else.
//
// Sandboxes are routed by name (sandboxRouter: the sandbox, its
// environment, issuer and tier, cached for a second; concurrent reads of
// one sandbox are shared). A new sandbox is read into that cache, and its
// tenant store opened, in the background as soon as it is provisioned
// (sandboxLifecycle.provisioned), so that its first token and query find
// them ready.
package server
