package limit

import (
	"context"
	"sync"
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
//
// An admitted sandbox request then takes its turn (Turn) before it
// executes: production goes first. It runs only while no production
// request is in flight and fewer than SandboxSlots sandbox requests are
// executing (by default one core fewer than the node has), and otherwise
// waits, at most SandboxWait, after which it is shed. So production always
// finds a core that no sandbox work occupies, and a sandbox load test
// uses the time production leaves idle.
type Gate struct {
	capacity, sandboxCapacity int64
	retryAfter                time.Duration
	inflight, sandboxInflight atomic.Int64
	shed                      atomic.Int64

	slots   int64
	wait    time.Duration
	prod    atomic.Int64 // production requests in flight
	running atomic.Int64 // sandbox requests that have their turn
	waiting atomic.Int64 // sandbox requests waiting for their turn
	mu      sync.Mutex
	wake    chan struct{} // closed (and replaced) when a waiter may go
	pause   time.Duration
}

// NewGate returns the gate of cfg (zero fields take their defaults).
func NewGate(cfg Config) (*Gate, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	return &Gate{capacity: int64(cfg.Capacity), sandboxCapacity: int64(cfg.SandboxCapacity), retryAfter: cfg.ShedRetryAfter,
		slots: int64(cfg.SandboxSlots), wait: cfg.SandboxWait, pause: cfg.SandboxPause, wake: make(chan struct{})}, nil
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

// Production marks a production request as executing until done is
// called: meanwhile sandbox requests wait for their turn (Turn) and step
// aside at yield points (Yield). It is called once the request's body has
// been read, so that a slow upload does not hold sandboxes back.
func (g *Gate) Production() (done func()) {
	g.prod.Add(1)
	return g.productionDone
}

func (g *Gate) productionDone() {
	// Sequentially consistent with Turn's waiting.Add before its check of
	// prod: either the waiter sees production gone or this sees the waiter.
	if g.prod.Add(-1) == 0 && g.waiting.Load() > 0 {
		g.signal()
	}
}

// Turn waits until an admitted sandbox request may execute: no production
// request in flight and a free sandbox slot. It returns ok=false when it
// waited SandboxWait (or ctx ended) without getting one: the caller sheds
// the request. When ok, the caller must call release once the request has
// executed.
func (g *Gate) Turn(ctx context.Context) (release func(), ok bool) {
	if g.tryTurn() {
		return g.releaseTurn, true
	}
	timer := time.NewTimer(g.wait)
	defer timer.Stop()
	if g.await(ctx, timer.C, g.tryTurn) {
		return g.releaseTurn, true
	}
	if ctx.Err() == nil {
		g.shed.Add(1)
	}
	return nil, false
}

type turnKey struct{}

// WithTurn marks ctx as that of a sandbox request executing on its turn of
// g, so that Yield can pause it.
func WithTurn(ctx context.Context, g *Gate) context.Context {
	return context.WithValue(ctx, turnKey{}, g)
}

// Yield is a point where a sandbox request on its turn (WithTurn) steps
// aside for production: while production requests are in flight it
// waits, at most SandboxPause at each point, keeping its slot. Other
// requests pass at once. GraphQL calls it before each root field and each
// batch of a dataloader, so that production arriving in the middle of a
// long sandbox query gets the cores back within one store call.
func Yield(ctx context.Context) {
	g, ok := ctx.Value(turnKey{}).(*Gate)
	if !ok || g.prod.Load() == 0 {
		return
	}
	timer := time.NewTimer(g.pause)
	defer timer.Stop()
	g.await(ctx, timer.C, g.productionIdle)
}

func (g *Gate) productionIdle() bool { return g.prod.Load() == 0 }

// await waits until cond holds, checking it again at each signal and once
// more when timeout fires; it reports whether cond held (false also when
// ctx ended). The waiter counts itself in waiting before it checks cond,
// and productionDone and releaseTurn decrement before they read waiting,
// so a change that makes cond hold is either seen here or signalled.
func (g *Gate) await(ctx context.Context, timeout <-chan time.Time, cond func() bool) bool {
	for {
		g.mu.Lock()
		wake := g.wake
		g.mu.Unlock()
		g.waiting.Add(1)
		if cond() {
			g.waiting.Add(-1)
			return true
		}
		select {
		case <-wake:
			g.waiting.Add(-1)
		case <-timeout:
			g.waiting.Add(-1)
			return cond()
		case <-ctx.Done():
			g.waiting.Add(-1)
			return false
		}
	}
}

// tryTurn takes a sandbox slot if production is idle and one is free.
func (g *Gate) tryTurn() bool {
	if g.prod.Load() > 0 {
		return false
	}
	if g.running.Add(1) > g.slots {
		g.running.Add(-1)
		return false
	}
	// Production may have arrived meanwhile; it then has the other cores,
	// and this request, already past the check, runs beside it.
	return true
}

func (g *Gate) releaseTurn() {
	if g.running.Add(-1) < g.slots && g.waiting.Load() > 0 {
		g.signal()
	}
}

// signal wakes every waiter; each checks again, and those that do not get
// a turn wait for the next signal.
func (g *Gate) signal() {
	g.mu.Lock()
	close(g.wake)
	g.wake = make(chan struct{})
	g.mu.Unlock()
}

func (g *Gate) leaveSandbox() {
	g.inflight.Add(-1)
	g.sandboxInflight.Add(-1)
}

// RetryAfter is the Retry-After of a shed request.
func (g *Gate) RetryAfter() time.Duration { return g.retryAfter }

// InFlight reports the admitted requests being served: all, and sandbox.
func (g *Gate) InFlight() (all, sandbox int64) { return g.inflight.Load(), g.sandboxInflight.Load() }

// Waiting reports the sandbox requests waiting for their turn and those
// executing.
func (g *Gate) Waiting() (waiting, running int64) { return g.waiting.Load(), g.running.Load() }

// Shed is how many sandbox requests the gate has shed (at the door or
// after waiting for their turn).
func (g *Gate) Shed() int64 { return g.shed.Load() }
