package bench

import (
	"os"
	"testing"
)

// TestMain runs the tests and benchmarks, or, when started by
// BenchmarkNoisyNeighbour as its flood process, only the flood.
func TestMain(m *testing.M) {
	if spec := os.Getenv(floodChildEnv); spec != "" {
		os.Exit(runFloodChild(spec))
	}
	os.Exit(m.Run())
}
