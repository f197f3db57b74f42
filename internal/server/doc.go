// Package server assembles a running ionbox from its parts: it prepares the
// data directory (admin token, hash key), opens the store, builds each
// environment's issuer, the GraphQL handler and the HTTP surface, and serves
// until its context ends. It is the only package that knows every concrete
// implementation; cmd/ionbox calls Run and nothing else.
package server
