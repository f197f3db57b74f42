package limit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// fakeClock is the injected clock: tests move it, nothing sleeps.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var (
	prod = ion.Environment{Name: ion.ProductionEnvironment, Kind: ion.EnvProduction}
	sbA  = ion.Environment{Name: "alpha", Kind: ion.EnvSandbox}
	sbB  = ion.Environment{Name: "beta", Kind: ion.EnvSandbox}
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// backends returns the backends every behaviour is checked on: in process
// always, Redis when ION_TEST_REDIS_URL is set.
func backends(t *testing.T) map[string]func(t *testing.T) Backend {
	m := map[string]func(t *testing.T) Backend{
		"local": func(*testing.T) Backend { return NewLocal(0) },
	}
	if os.Getenv("ION_TEST_REDIS_URL") != "" {
		m["redis"] = func(t *testing.T) Backend { return newTestRedis(t, uniquePrefix(t)) }
	}
	return m
}

var prefixSeq struct {
	sync.Mutex
	n int
}

func uniquePrefix(t *testing.T) string {
	prefixSeq.Lock()
	prefixSeq.n++
	n := prefixSeq.n
	prefixSeq.Unlock()
	return fmt.Sprintf("ionbox-test:%d:%d:%s:", os.Getpid(), n, strings.ReplaceAll(t.Name(), "/", "."))
}

func newTestRedis(t *testing.T, prefix string) *Redis {
	t.Helper()
	u := os.Getenv("ION_TEST_REDIS_URL")
	if u == "" {
		t.Skip("ION_TEST_REDIS_URL is unset; set it (e.g. redis://127.0.0.1:6379/0) to test the Redis limiter")
	}
	r, err := NewRedis(u, RedisOptions{Prefix: prefix, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := r.client.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			r.client.Del(ctx, keys...)
		}
		_ = r.Close()
	})
	return r
}

// setup is a Limiter over backend with a fake clock and small policies.
func setup(t *testing.T, b Backend, cfg Config) (*Limiter, *fakeClock) {
	t.Helper()
	clock := newClock()
	l, err := New(cfg, Options{Backend: b, Now: clock.Now, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return l, clock
}

// allowedRun counts how many of n immediate requests are allowed.
func allowedRun(l *Limiter, env ion.Environment, cred string, n int) int {
	ok := 0
	for range n {
		if l.AllowRequest(context.Background(), env, cred).Allowed {
			ok++
		}
	}
	return ok
}

func TestRateBurstAndRefill(t *testing.T) {
	t.Parallel()
	for name, mk := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cases := []struct {
				name        string
				env         ion.Environment
				cfg         Config
				wantBurst   int
				advance     time.Duration
				wantRefill  int
				wantRetry   time.Duration
				wantMessage Scope
			}{
				{"production default", prod, Config{}, 100, time.Second, 50, 20 * time.Millisecond, ScopeCredential},
				{"sandbox default", sbA, Config{}, 200, time.Second, 100, 10 * time.Millisecond, ScopeCredential},
				{"small policy", prod, Config{Production: Policy{RequestsPerSecond: 2, Burst: 3}}, 3, 1500 * time.Millisecond, 3, 500 * time.Millisecond, ScopeCredential},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					l, clock := setup(t, mk(t), c.cfg)
					if got := allowedRun(l, c.env, "client-1", c.wantBurst+10); got != c.wantBurst {
						t.Fatalf("burst: allowed %d, want %d", got, c.wantBurst)
					}
					d := l.AllowRequest(context.Background(), c.env, "client-1")
					if d.Allowed || d.Scope != c.wantMessage || d.Remaining != 0 {
						t.Fatalf("over the burst: %+v", d)
					}
					if diff := d.RetryAfter - c.wantRetry; diff < -time.Millisecond || diff > time.Millisecond {
						t.Errorf("RetryAfter %v, want %v", d.RetryAfter, c.wantRetry)
					}
					clock.Advance(c.advance)
					if got := allowedRun(l, c.env, "client-1", c.wantBurst); got != c.wantRefill {
						t.Errorf("after %v: allowed %d, want %d", c.advance, got, c.wantRefill)
					}
				})
			}
		})
	}
}

func TestRemainingAndReset(t *testing.T) {
	t.Parallel()
	for name, mk := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, _ := setup(t, mk(t), Config{Production: Policy{RequestsPerSecond: 10, Burst: 5}})
			for i := range 5 {
				d := l.AllowRequest(context.Background(), prod, "c")
				if !d.Allowed || d.Remaining != 4-i || d.Policy.Burst != 5 {
					t.Fatalf("request %d: %+v", i, d)
				}
				if want := time.Duration(i+1) * 100 * time.Millisecond; d.Reset < want-time.Millisecond || d.Reset > want+time.Millisecond {
					t.Errorf("request %d: Reset %v, want %v", i, d.Reset, want)
				}
			}
		})
	}
}

func TestCredentialsAndEnvironmentsAreIsolated(t *testing.T) {
	t.Parallel()
	for name, mk := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, _ := setup(t, mk(t), Config{
				Production: Policy{RequestsPerSecond: 1, Burst: 3},
				Sandbox:    Policy{RequestsPerSecond: 1, Burst: 3},
			})
			allowedRun(l, prod, "noisy", 10)
			for _, c := range []struct {
				env  ion.Environment
				cred string
			}{{prod, "quiet"}, {sbA, "noisy"}, {sbB, "noisy"}} {
				if got := allowedRun(l, c.env, c.cred, 3); got != 3 {
					t.Errorf("%s/%s after another's flood: allowed %d of 3", c.env.Name, c.cred, got)
				}
			}
		})
	}
}

func TestAggregateSandboxBudget(t *testing.T) {
	t.Parallel()
	for name, mk := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, clock := setup(t, mk(t), Config{
				Sandbox:          Policy{RequestsPerSecond: 10, Burst: 4},
				SandboxAggregate: Policy{RequestsPerSecond: 5, Burst: 6},
			})
			ctx := context.Background()
			// Two sandboxes, each within its per-credential limit, share
			// one aggregate budget of 6.
			a := allowedRun(l, sbA, "c", 4)
			b := allowedRun(l, sbB, "c", 4)
			if a != 4 || b != 2 {
				t.Fatalf("allowed %d in alpha and %d in beta, want 4 and 2 (aggregate burst 6)", a, b)
			}
			d := l.AllowRequest(ctx, sbB, "other")
			if d.Allowed || d.Scope != ScopeSandboxAggregate || d.Policy.RequestsPerSecond != 5 {
				t.Fatalf("third credential: %+v, want refused by the aggregate", d)
			}
			if pd := l.PreCheck(ctx, sbB); pd.Allowed || pd.Scope != ScopeSandboxAggregate {
				t.Errorf("PreCheck with an empty aggregate: %+v", pd)
			}
			// Production does not share the sandboxes' budget.
			if got := allowedRun(l, prod, "c", 5); got != 5 {
				t.Errorf("production while sandboxes are throttled: allowed %d of 5", got)
			}
			if !l.PreCheck(ctx, prod).Allowed {
				t.Error("PreCheck refused production")
			}
			// A refusal by the aggregate did not spend the credential's
			// tokens: beta's "other" still has its full burst once the
			// aggregate refills.
			clock.Advance(1200 * time.Millisecond) // aggregate +6, per credential +12
			if got := allowedRun(l, sbB, "other", 10); got != 4 {
				t.Errorf("after refill: allowed %d, want 4 (the credential's burst)", got)
			}
		})
	}
}

func TestSandboxOverrideFromPolicyJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, doc string
		want      Policy
	}{
		{"empty keeps defaults", "", DefaultSandbox},
		{"both fields", `{"requestsPerSecond": 5, "burst": 7}`, Policy{5, 7}},
		{"rate only", `{"requestsPerSecond": 1000}`, Policy{1000, DefaultSandbox.Burst}},
		{"burst only", `{"burst": 3}`, Policy{DefaultSandbox.RequestsPerSecond, 3}},
		{"unknown field keeps defaults", `{"rps": 50}`, DefaultSandbox},
		{"negative keeps defaults", `{"burst": -1}`, DefaultSandbox},
		{"not JSON keeps defaults", `fast please`, DefaultSandbox},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l, _ := setup(t, NewLocal(0), Config{})
			env := ion.Environment{Name: "tuned", Kind: ion.EnvSandbox, RateLimitPolicy: c.doc}
			if got := l.CredentialPolicy(env); got != c.want {
				t.Fatalf("policy %+v, want %+v", got, c.want)
			}
			e := l.Effective(env)
			if e.RequestsPerSecond != c.want.RequestsPerSecond || e.Burst != c.want.Burst || e.AggregateSandboxRequestsPerSecond == nil || *e.AggregateSandboxRequestsPerSecond != 300 {
				t.Errorf("Effective %+v", e)
			}
			if got := allowedRun(l, env, "c", c.want.Burst+5); got != min(c.want.Burst, DefaultSandboxAggregate.Burst) {
				t.Errorf("allowed %d, want the override's burst %d", got, c.want.Burst)
			}
		})
	}
	if _, err := ParseOverride(`{"rps": 50}`, DefaultProduction); err == nil {
		t.Error("ParseOverride accepted an unknown field")
	}
}

func TestPeekRequestSpendsNothing(t *testing.T) {
	t.Parallel()
	for name, mk := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, clock := setup(t, mk(t), Config{Production: Policy{RequestsPerSecond: 1, Burst: 2}})
			ctx := context.Background()
			for range 5 {
				if !l.PeekRequest(ctx, prod, "c").Allowed {
					t.Fatal("PeekRequest refused a fresh credential")
				}
			}
			if got := allowedRun(l, prod, "c", 5); got != 2 {
				t.Fatalf("after peeking: allowed %d, want the full burst of 2", got)
			}
			d := l.PeekRequest(ctx, prod, "c")
			if d.Allowed || d.Scope != ScopeCredential || d.Policy.Burst != 2 || d.RetryAfter != time.Second {
				t.Errorf("PeekRequest on an empty bucket: %+v", d)
			}
			clock.Advance(time.Second)
			if !l.PeekRequest(ctx, prod, "c").Allowed {
				t.Error("PeekRequest after a refill: refused")
			}
		})
	}
}

func TestOverrideChangeKeepsSpentTokens(t *testing.T) {
	t.Parallel()
	l, _ := setup(t, NewLocal(0), Config{})
	env := ion.Environment{Name: "tuned", Kind: ion.EnvSandbox, RateLimitPolicy: `{"requestsPerSecond": 1, "burst": 5}`}
	allowedRun(l, env, "c", 5)
	env.RateLimitPolicy = `{"requestsPerSecond": 1, "burst": 10}`
	// Raising the burst does not hand out a fresh bucket.
	if got := allowedRun(l, env, "c", 10); got != 0 {
		t.Errorf("after raising the burst: allowed %d, want 0 until refill", got)
	}
}

func TestTokenEndpointPerClientAndAddress(t *testing.T) {
	t.Parallel()
	for name, mk := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, clock := setup(t, mk(t), Config{Token: Policy{RequestsPerSecond: 1, Burst: 2}})
			ctx := context.Background()
			steps := []struct {
				client, addr string
				want         bool
				scope        Scope
			}{
				{"c1", "10.0.0.1", true, ""},
				{"c1", "10.0.0.2", true, ""},
				{"c1", "10.0.0.3", false, ScopeTokenClient},  // c1 has spent its 2
				{"c2", "10.0.0.1", true, ""},                 // address 1 has one left
				{"c3", "10.0.0.1", false, ScopeTokenAddress}, // address 1 spent
				{"", "10.0.0.1", false, ScopeTokenAddress},   // no client id: address only
				{"c3", "10.0.0.4", true, ""},                 // c3 was not charged above
			}
			for i, s := range steps {
				d := l.AllowToken(ctx, prod, s.client, s.addr)
				if d.Allowed != s.want || (!s.want && d.Scope != s.scope) {
					t.Fatalf("step %d %+v: got %+v", i, s, d)
				}
			}
			clock.Advance(time.Second)
			if !l.AllowToken(ctx, prod, "c1", "10.0.0.9").Allowed {
				t.Error("c1 after a second's refill: refused")
			}
		})
	}
}

func TestLocalBoundsMemory(t *testing.T) {
	t.Parallel()
	b := NewLocal(640) // 10 per shard
	l, clock := setup(t, b, Config{Production: Policy{RequestsPerSecond: 10, Burst: 10}})
	for i := range 10_000 {
		l.AllowRequest(context.Background(), prod, fmt.Sprintf("client-%d", i))
	}
	if n := b.Len(); n > 640 {
		t.Fatalf("%d buckets after 10000 credentials, want at most 640", n)
	}
	// Buckets that have refilled are idle: each shard drops them when it
	// next sweeps.
	big := NewLocal(100_000)
	l, clock = setup(t, big, Config{Production: Policy{RequestsPerSecond: 10, Burst: 10}})
	for i := range 10_000 {
		l.AllowRequest(context.Background(), prod, fmt.Sprintf("client-%d", i))
	}
	if n := big.Len(); n != 10_000 {
		t.Fatalf("%d buckets, want 10000", n)
	}
	clock.Advance(sweepEvery + time.Second)
	for i := range 1000 {
		l.AllowRequest(context.Background(), prod, fmt.Sprintf("late-%d", i))
	}
	if n := big.Len(); n > 1000 {
		t.Errorf("%d buckets after the idle ones were swept, want at most the 1000 new ones", n)
	}
}

// flakyBackend fails every call while down.
type flakyBackend struct {
	Backend
	mu   sync.Mutex
	down bool
	errs int
}

func (f *flakyBackend) setDown(v bool) { f.mu.Lock(); f.down = v; f.mu.Unlock() }

func (f *flakyBackend) Take(ctx context.Context, now time.Time, b []Bucket) (Result, error) {
	f.mu.Lock()
	down := f.down
	if down {
		f.errs++
	}
	f.mu.Unlock()
	if down {
		return Result{}, fmt.Errorf("connection refused")
	}
	return f.Backend.Take(ctx, now, b)
}

func TestFailOpenWhenBackendIsDown(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	var logMu sync.Mutex
	clock := newClock()
	fb := &flakyBackend{Backend: NewLocal(0)}
	l, err := New(Config{Production: Policy{RequestsPerSecond: 1, Burst: 1}}, Options{Backend: fb, Now: clock.Now,
		Logger: slog.New(slog.NewTextHandler(lockedWriter{&logs, &logMu}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	allowedRun(l, prod, "c", 1)
	fb.setDown(true)
	if got := allowedRun(l, prod, "c", 20); got != 20 {
		t.Fatalf("with the backend down: allowed %d of 20, want all (fail open)", got)
	}
	if fb.errs != 1 {
		t.Errorf("backend tried %d times during one second of outage, want 1 (then skipped)", fb.errs)
	}
	logMu.Lock()
	if strings.Count(logs.String(), "fail open") != 1 {
		t.Errorf("log: %q, want one warning", logs.String())
	}
	logMu.Unlock()
	fb.setDown(false)
	clock.Advance(backendRetry)
	if d := l.AllowRequest(ctx, prod, "c"); !d.Allowed {
		t.Errorf("after recovery and a second's refill: %+v", d)
	}
	if d := l.AllowRequest(ctx, prod, "c"); d.Allowed {
		t.Error("after recovery: limits are not enforced again")
	}
}

func TestRedisUnreachableFailsOpen(t *testing.T) {
	t.Parallel()
	// Nothing listens on port 1.
	rb, err := NewRedis("redis://127.0.0.1:1/0", RedisOptions{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	l, _ := setup(t, rb, Config{Production: Policy{RequestsPerSecond: 1, Burst: 1}})
	if got := allowedRun(l, prod, "c", 5); got != 5 {
		t.Errorf("allowed %d of 5 with Redis unreachable, want all", got)
	}
	if !l.PreCheck(context.Background(), sbA).Allowed {
		t.Error("PreCheck refused with Redis unreachable")
	}
}

// TestRedisReplicasShareOneBudget is two replicas: two Limiters, each with
// its own Redis client, over one Redis.
func TestRedisReplicasShareOneBudget(t *testing.T) {
	t.Parallel()
	prefix := uniquePrefix(t)
	r1, r2 := newTestRedis(t, prefix), newTestRedis(t, prefix)
	clock := newClock()
	cfg := Config{Production: Policy{RequestsPerSecond: 2, Burst: 10}}
	l1, _ := New(cfg, Options{Backend: r1, Now: clock.Now, Logger: quiet()})
	l2, _ := New(cfg, Options{Backend: r2, Now: clock.Now, Logger: quiet()})
	got := allowedRun(l1, prod, "shared", 6) + allowedRun(l2, prod, "shared", 6)
	if got != 10 {
		t.Fatalf("two replicas allowed %d, want the one burst of 10", got)
	}
	clock.Advance(time.Second)
	got = allowedRun(l2, prod, "shared", 5) + allowedRun(l1, prod, "shared", 5)
	if got != 2 {
		t.Errorf("after one second: replicas allowed %d, want 2 (the shared rate)", got)
	}
	// The in-process backend, by contrast, gives each replica its own.
	a, b := NewLocal(0), NewLocal(0)
	la, _ := New(cfg, Options{Backend: a, Now: clock.Now, Logger: quiet()})
	lb, _ := New(cfg, Options{Backend: b, Now: clock.Now, Logger: quiet()})
	if got := allowedRun(la, prod, "shared", 10) + allowedRun(lb, prod, "shared", 10); got != 20 {
		t.Errorf("in-process replicas allowed %d, want 10 each", got)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func TestGateShedsSandboxFirst(t *testing.T) {
	t.Parallel()
	g, err := NewGate(Config{Capacity: 3, SandboxCapacity: 2})
	if err != nil {
		t.Fatal(err)
	}
	var dones []func()
	enter := func(sandbox bool) bool {
		done, ok := g.Enter(sandbox)
		if ok {
			dones = append(dones, done)
		}
		return ok
	}
	steps := []struct {
		name    string
		sandbox bool
		want    bool
	}{
		{"sandbox 1", true, true},
		{"sandbox 2", true, true},
		{"sandbox 3 over the sandbox share", true, false},
		{"production 1", false, true},
		{"production 2 over capacity is still admitted", false, true},
		{"production 3", false, true},
	}
	for _, s := range steps {
		if got := enter(s.sandbox); got != s.want {
			t.Fatalf("%s: admitted %v, want %v", s.name, got, s.want)
		}
	}
	for _, d := range dones[:2] { // the two sandbox requests finish
		d()
	}
	if enter(true) {
		t.Error("sandbox admitted while production alone is over capacity")
	}
	for _, d := range dones[2:] {
		d()
	}
	if !enter(true) {
		t.Error("sandbox refused on an idle node")
	}
	if all, sb := g.InFlight(); all != 1 || sb != 1 {
		t.Errorf("in flight %d/%d, want 1/1", all, sb)
	}
	if g.Shed() != 2 {
		t.Errorf("shed %d, want 2", g.Shed())
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"zero burst", Config{Production: Policy{RequestsPerSecond: 1}}, "Config.Production"},
		{"negative rate", Config{Token: Policy{RequestsPerSecond: -1, Burst: 1}}, "Config.Token"},
		{"negative capacity", Config{Capacity: -1}, "Config.Capacity"},
	}
	for _, c := range cases {
		if _, err := c.cfg.WithDefaults(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one naming %s", c.name, err, c.want)
		}
	}
}

func BenchmarkAllow(b *testing.B) {
	l, err := New(Config{Production: Policy{RequestsPerSecond: 1e9, Burst: 1e9}, Sandbox: Policy{RequestsPerSecond: 1e9, Burst: 1e9},
		SandboxAggregate: Policy{RequestsPerSecond: 1e9, Burst: 1e9}}, Options{Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	creds := make([]string, 1024)
	for i := range creds {
		creds[i] = fmt.Sprintf("client-%d", i)
	}
	ctx := context.Background()
	for _, env := range []ion.Environment{prod, sbA} {
		b.Run(env.Kind, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					l.AllowRequest(ctx, env, creds[i&1023])
					i++
				}
			})
		})
	}
}

// TestGateProductionFirst walks the gate's turns: a sandbox request
// executes only while no production request is in flight and a sandbox
// slot is free, waits otherwise, is shed after SandboxWait, and, once
// executing, steps aside at Yield while production is served.
func TestGateProductionFirst(t *testing.T) {
	t.Parallel()
	g, err := NewGate(Config{SandboxSlots: 1, SandboxWait: 50 * time.Millisecond, SandboxPause: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	turn := func() chan func() {
		got := make(chan func(), 1)
		go func() {
			release, ok := g.Turn(ctx)
			if !ok {
				release = nil
			}
			got <- release
		}()
		return got
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}

	// An idle node: the turn is immediate.
	release := <-turn()
	if release == nil {
		t.Fatal("sandbox request refused its turn on an idle node")
	}
	// The only slot is taken: the next one waits, and gets it on release.
	second := turn()
	waitUntil("the second request to wait", func() bool { w, _ := g.Waiting(); return w == 1 })
	release()
	release2 := <-second
	if release2 == nil {
		t.Fatal("the waiting sandbox request was shed although the slot was freed")
	}
	release2()

	// Production in flight: a sandbox request waits, and runs once
	// production leaves.
	leave := g.Production()
	third := turn()
	waitUntil("the sandbox request to wait for production", func() bool { w, _ := g.Waiting(); return w == 1 })
	select {
	case <-third:
		t.Fatal("a sandbox request had its turn while production was in flight")
	default:
	}
	leave()
	release3 := <-third
	if release3 == nil {
		t.Fatal("the sandbox request was shed although production left")
	}

	// Executing, it yields while production is in flight: Yield returns
	// only once production has left (SandboxPause is a minute here).
	leave = g.Production()
	yielded := make(chan struct{})
	go func() {
		Yield(WithTurn(ctx, g))
		close(yielded)
	}()
	waitUntil("the yield to wait for production", func() bool { w, _ := g.Waiting(); return w == 1 })
	select {
	case <-yielded:
		t.Fatal("Yield returned while production was in flight")
	default:
	}
	leave()
	<-yielded
	release3()
	// Outside a turn, Yield never waits.
	leave = g.Production()
	Yield(ctx)

	// Production staying in flight past SandboxWait: the request is shed.
	shedBefore := g.Shed()
	if release := <-turn(); release != nil {
		t.Fatal("a sandbox request had its turn while production was in flight")
	}
	if g.Shed() != shedBefore+1 {
		t.Errorf("shed %d, want %d", g.Shed(), shedBefore+1)
	}
	leave()
	if w, r := g.Waiting(); w != 0 || r != 0 {
		t.Errorf("waiting %d, running %d at the end, want 0 and 0", w, r)
	}
}
