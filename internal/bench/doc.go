// Package bench holds ionbox's end-to-end benchmarks: real servers over
// real HTTP on loopback, measured side by side in one run. Run them with
// `make bench` (see the README's "Benchmarks" section). It has no non-test
// code.
package bench
