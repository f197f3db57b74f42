// Package webhook delivers the webhook outbox that the stores fill in the
// same transaction as every change: it renders and signs each delivery
// (x-ion-signature and the Standard Webhooks headers), sends LIVE ones
// through an HTTP client that refuses private and internal addresses at
// connect time, retries with backoff for about three days, disables
// receivers that answer 410 or keep failing, and streams a sandbox's SINK
// deliveries as Server-Sent Events for `ionbox listen`. Attempts of one
// tenant that finish close together are recorded in one transaction
// (finish.go). Body renders the one body a delivery has: the dispatcher,
// the sink stream and GraphQL's delivery log all use it.
//
// It imports ion and the standard library (plus the Standard Webhooks
// library) only; it never imports a store package: the server hands it the
// ion.WebhookStore of a tenant.
package webhook
