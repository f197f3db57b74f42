// Package limit owns ionbox's rate limits and load shedding: the policy of
// each environment kind (production fair use per credential; sandboxes more
// relaxed per credential plus one aggregate budget shared by every sandbox
// on the node), per-environment overrides read from an environment's
// RateLimitPolicy JSON, token buckets kept in process (golang.org/x/time/rate,
// bounded memory) or shared by replicas through Redis (a GCRA Lua script),
// the token endpoint's stricter budget per client and per source address,
// the GraphQL cost budget per credential (a bucket of cost points that the
// GraphQL layer charges through a CostAccount in the request context),
// and the gate that runs production first: it sheds sandbox requests before
// production ones under overload, lets a sandbox request execute only while
// no production request does (Gate.Turn), and has executing sandbox
// requests step aside for production at yield points (Yield).
//
// It decides; it does not answer HTTP. internal/httpapi turns a Decision
// into 429/503 answers and RateLimit-* headers. It imports nothing of ours
// but ion.
package limit
