package client

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Clock is the SDK's view of time, so tests can drive backoff, ramp, breaker
// and token expiry without sleeping.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx is done (then it returns ctx.Err()).
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// FakeClock is a Clock for tests: Sleep advances Now at once and records
// each wait.
type FakeClock struct {
	mu     sync.Mutex
	now    time.Time
	Sleeps []time.Duration
}

// NewFakeClock starts at t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{now: t} }

// Now is the fake time.
func (f *FakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the fake time forward.
func (f *FakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// Sleep records d and advances the fake time by it.
func (f *FakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	f.Sleeps = append(f.Sleeps, d)
	f.now = f.now.Add(d)
	f.mu.Unlock()
	return nil
}

// SleepLog returns a copy of the recorded sleeps.
func (f *FakeClock) SleepLog() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.Sleeps...)
}

// backoff is base·2^attempt capped at max, with "equal jitter": half fixed,
// half random, so retries spread out but never collapse to zero.
func backoff(attempt int, base, max time.Duration, _ Clock) time.Duration {
	d := base
	for i := 0; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// retryAfter reads Retry-After as seconds or an HTTP date; 0 if absent.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// Ramp paces writes: the allowed rate grows linearly from Start to Target
// writes per second over Duration from the first write, then stays at Target.
type Ramp struct {
	start, target float64
	duration      time.Duration

	mu      sync.Mutex
	clock   Clock
	began   time.Time
	nextAt  time.Time
	started bool
}

// NewRamp returns a ramp from start to target writes per second over
// duration. clock may be nil (the client's clock is used).
func NewRamp(start, target float64, duration time.Duration, clock Clock) *Ramp {
	if start <= 0 {
		start = 0.1
	}
	if target < start {
		target = start
	}
	return &Ramp{start: start, target: target, duration: duration, clock: clock}
}

// RateAt is the allowed writes per second at elapsed time since the first write.
func (r *Ramp) RateAt(elapsed time.Duration) float64 {
	if r.duration <= 0 || elapsed >= r.duration {
		return r.target
	}
	if elapsed < 0 {
		elapsed = 0
	}
	return r.start + (r.target-r.start)*float64(elapsed)/float64(r.duration)
}

// Reserve books the next write slot and returns how long to wait for it.
func (r *Ramp) Reserve() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	if !r.started {
		r.started, r.began, r.nextAt = true, now, now
	}
	at := r.nextAt
	if at.Before(now) {
		at = now
	}
	interval := time.Duration(float64(time.Second) / r.RateAt(at.Sub(r.began)))
	r.nextAt = at.Add(interval)
	return at.Sub(now)
}

// BreakerState is closed (writes flow), open (writes paused) or half-open
// (a probe write decides).
type BreakerState string

const (
	BreakerClosed   BreakerState = "closed"
	BreakerOpen     BreakerState = "open"
	BreakerHalfOpen BreakerState = "half-open"
)

// BreakerConfig configures a Breaker; zero fields take the defaults noted.
type BreakerConfig struct {
	// Threshold is the failure share that opens the breaker (default 0.5).
	Threshold float64
	// MinRequests in the window before the share counts (default 10).
	MinRequests int
	// Window is how far back outcomes count (default 30 s).
	Window time.Duration
	// Cooldown is how long writes pause once open (default 30 s).
	Cooldown time.Duration
	// OnOpen is called when writes pause, with the failure share that tripped it.
	OnOpen func(failureShare float64)
	// OnClose is called when writes resume after a successful probe.
	OnClose func()
	// Clock defaults to the client's clock.
	Clock Clock
}

type outcome struct {
	at     time.Time
	failed bool
}

// Breaker pauses writes while the recent share of failed writes (HTTP
// 4xx/5xx or GraphQL errors) is at or above a threshold.
type Breaker struct {
	cfg      BreakerConfig
	mu       sync.Mutex
	state    BreakerState
	openedAt time.Time
	recent   []outcome
}

// NewBreaker returns a closed breaker.
func NewBreaker(cfg BreakerConfig) *Breaker {
	if cfg.Threshold <= 0 {
		cfg.Threshold = 0.5
	}
	if cfg.MinRequests <= 0 {
		cfg.MinRequests = 10
	}
	if cfg.Window <= 0 {
		cfg.Window = 30 * time.Second
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = 30 * time.Second
	}
	return &Breaker{cfg: cfg, state: BreakerClosed}
}

// State is the current state (an open breaker past its cooldown reads half-open).
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen && !b.cfg.Clock.Now().Before(b.openedAt.Add(b.cfg.Cooldown)) {
		b.state = BreakerHalfOpen
	}
	return b.state
}

// Allow returns 0 when a write may go now, else how long to wait.
func (b *Breaker) Allow() time.Duration {
	if b.State() != BreakerOpen {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.openedAt.Add(b.cfg.Cooldown).Sub(b.cfg.Clock.Now())
}

// Record notes one write's outcome.
func (b *Breaker) Record(failed bool) {
	state := b.State()
	b.mu.Lock()
	now := b.cfg.Clock.Now()
	var call func()
	switch state {
	case BreakerHalfOpen:
		if failed {
			b.state, b.openedAt = BreakerOpen, now
			if f := b.cfg.OnOpen; f != nil {
				call = func() { f(1) }
			}
		} else {
			b.state, b.recent = BreakerClosed, nil
			call = b.cfg.OnClose
		}
	case BreakerClosed:
		b.recent = append(b.recent, outcome{now, failed})
		cut := 0
		for cut < len(b.recent) && b.recent[cut].at.Before(now.Add(-b.cfg.Window)) {
			cut++
		}
		b.recent = b.recent[cut:]
		fails := 0
		for _, o := range b.recent {
			if o.failed {
				fails++
			}
		}
		share := float64(fails) / float64(len(b.recent))
		if len(b.recent) >= b.cfg.MinRequests && share >= b.cfg.Threshold {
			b.state, b.openedAt, b.recent = BreakerOpen, now, nil
			if f := b.cfg.OnOpen; f != nil {
				call = func() { f(share) }
			}
		}
	}
	b.mu.Unlock()
	if call != nil {
		call()
	}
}

// waitToWrite holds a mutation until the breaker and the ramp let it go.
func (c *Client) waitToWrite(ctx context.Context) error {
	if b := c.cfg.Breaker; b != nil {
		for {
			w := b.Allow()
			if w <= 0 {
				break
			}
			if err := c.cfg.Clock.Sleep(ctx, w); err != nil {
				return err
			}
		}
	}
	if r := c.cfg.Ramp; r != nil {
		if err := c.cfg.Clock.Sleep(ctx, r.Reserve()); err != nil {
			return err
		}
	}
	return nil
}
