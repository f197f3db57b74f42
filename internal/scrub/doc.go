// Package scrub owns the scrub policy of snapshot sandboxes and its keyed,
// deterministic transformers.
//
// policy.v1.yaml (embedded; a server may be given another file) says for
// every text column of the tenant schema what a snapshot holds instead of
// the production value: kept, placeholder text, a person's name, an email,
// a company, removed, or scrubbed by kind (custom attribute lists, run step
// field values by field type), and whether costs are kept. Its comments
// document each decision.
//
// A Plan is the policy under one random key: it implements ion.ScrubPlan,
// which the stores apply while they copy. Pseudonyms are HMAC-SHA256 of the
// source value under that key, so equal values stay equal within one
// snapshot (relationships and distinctness hold) and nobody without the
// key, which is never stored, can test a guess of the original. Each rule
// also has a Check that recognises its own output, which the stores run on
// every scrubbed value of a copy before it becomes reachable.
//
// It imports only package ion and the YAML parser: no store, no transport.
package scrub
