package server

import (
	"os"
	"runtime/debug"
)

// TuneRuntime sets the garbage collector for a request-serving process
// that shares its cores between production and sandboxes. GraphQL
// execution allocates about a megabyte of short-lived garbage per list
// query, and each collection cycle takes part of a core for a few
// milliseconds, whoever allocated: a sandbox load test makes production's
// slowest requests slower through the collector alone. So the collector
// runs rarely while the heap is small (GOGC=1600: the noisy-neighbour
// benchmark counted 3 cycles in 18 s instead of 14 at GOGC=400, and
// production's p99 during a sandbox flood stayed within 5% of its p99
// alone), and a soft memory limit of 512 MiB (GOMEMLIMIT) makes it run as
// often as needed as the heap nears that, so an idle server stays small
// and ten thousand sandboxes stay well under a GiB. With GOGC or
// GOMEMLIMIT set in the environment it changes nothing: the operator has
// chosen. `ionbox serve` calls it; so do the benchmarks, so that they
// measure what the binary does.
func TuneRuntime() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(1600)
	debug.SetMemoryLimit(512 << 20)
}
