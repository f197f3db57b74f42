package server

import (
	"os"
	"runtime/debug"
)

// TuneRuntime sets the garbage collector for a request-serving process:
// GraphQL execution allocates about a megabyte of short-lived garbage per
// list query, and at Go's default (GOGC=100) the collector takes a quarter
// of the CPU; at 400 it runs a quarter as often while the live heap stays
// small (tens of MiB even with ten thousand sandboxes). An explicit GOGC in
// the environment wins. `ionbox serve` calls it; so do the benchmarks, so
// that they measure what the binary does.
func TuneRuntime() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}
