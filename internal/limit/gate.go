package limit

import (
	"sync/atomic"
	"time"
)

// Gate is the node's concurrency gate in front of GraphQL. Production
// requests are always admitted and never queued: they only count toward
// the load. A sandbox request is admitted only while the node's in-flight
// requests are under Capacity and the sandboxes' own are under
// SandboxCapacity; otherwise it is shed at once (503 SANDBOX_THROTTLED),
// so that sandbox work never occupies the slots production needs and
// production never waits behind it. Production's own volume is bounded by
// its per-credential rate limits, not by the gate.
type Gate struct {
	capacity, sandboxCapacity int64
	retryAfter                time.Duration
	inflight, sandboxInflight atomic.Int64
	shed                      atomic.Int64
}

// NewGate returns the gate of cfg (zero fields take their defaults).
func NewGate(cfg Config) (*Gate, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	return &Gate{capacity: int64(cfg.Capacity), sandboxCapacity: int64(cfg.SandboxCapacity), retryAfter: cfg.ShedRetryAfter}, nil
}

// Enter admits a request or sheds it. When ok, the caller must call done
// once the request has been served. RetryAfter is what a shed answer
// carries.
func (g *Gate) Enter(sandbox bool) (done func(), ok bool) {
	if !sandbox {
		g.inflight.Add(1)
		return g.leaveProduction, true
	}
	if n := g.sandboxInflight.Add(1); n > g.sandboxCapacity {
		g.sandboxInflight.Add(-1)
		g.shed.Add(1)
		return nil, false
	}
	if n := g.inflight.Add(1); n > g.capacity {
		g.inflight.Add(-1)
		g.sandboxInflight.Add(-1)
		g.shed.Add(1)
		return nil, false
	}
	return g.leaveSandbox, true
}

func (g *Gate) leaveProduction() { g.inflight.Add(-1) }

func (g *Gate) leaveSandbox() {
	g.inflight.Add(-1)
	g.sandboxInflight.Add(-1)
}

// RetryAfter is the Retry-After of a shed request.
func (g *Gate) RetryAfter() time.Duration { return g.retryAfter }

// InFlight reports the admitted requests being served: all, and sandbox.
func (g *Gate) InFlight() (all, sandbox int64) { return g.inflight.Load(), g.sandboxInflight.Load() }

// Shed is how many sandbox requests the gate has shed.
func (g *Gate) Shed() int64 { return g.shed.Load() }
