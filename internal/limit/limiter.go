package limit

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// Scope names which limit a Decision is about; it appears in 429 messages.
type Scope string

const (
	ScopeCredential       Scope = "the per-credential limit"
	ScopeSandboxAggregate Scope = "the aggregate limit shared by all sandboxes on this node"
	ScopeTokenClient      Scope = "the token endpoint's per-client limit"
	ScopeTokenAddress     Scope = "the token endpoint's per-address limit"
)

// Decision is the outcome of one rate-limit check.
type Decision struct {
	Allowed bool
	// Scope and Policy are the limit the rest describes: the one that
	// refused, or, when allowed, the one with the fewest tokens left.
	Scope  Scope
	Policy Policy
	// Remaining is the whole requests left in that limit's bucket.
	Remaining int
	// Reset is how long the bucket takes to refill to its burst.
	Reset time.Duration
	// RetryAfter, when refused, is how long until one request is allowed.
	RetryAfter time.Duration
}

// Limiter applies the node's policies to requests. It is safe for
// concurrent use.
type Limiter struct {
	cfg     Config
	backend Backend
	now     func() time.Time
	log     *slog.Logger
	warn    failOpen
	// down, while in the future (unix ns), skips the backend after a
	// failure so that an outage costs requests no latency.
	down atomic.Int64

	mu       sync.Mutex
	policies map[string]policyEntry // RateLimitPolicy document → parsed
}

type policyEntry struct {
	p   envPolicies
	err error
}

// Options are the Limiter's collaborators; every field is optional.
type Options struct {
	// Backend keeps the buckets; default NewLocal(cfg.MaxBuckets).
	Backend Backend
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger gets fail-open warnings and bad policy documents; default
	// slog.Default().
	Logger *slog.Logger
}

// New returns a Limiter over cfg (zero fields take their defaults).
func New(cfg Config, o Options) (*Limiter, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	if o.Backend == nil {
		o.Backend = NewLocal(cfg.MaxBuckets)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Limiter{cfg: cfg, backend: o.Backend, now: o.Now, log: o.Logger,
		warn: failOpen{log: o.Logger, interval: 10 * time.Second}, policies: map[string]policyEntry{}}, nil
}

// Config is the effective configuration (defaults filled in).
func (l *Limiter) Config() Config { return l.cfg }

// CredentialPolicy is env's per-credential request policy. A
// RateLimitPolicy document that does not parse keeps the kind's default,
// with a warning logged once per document.
func (l *Limiter) CredentialPolicy(env ion.Environment) Policy { return l.policiesOf(env).requests }

// CostPolicy is env's per-credential GraphQL cost budget.
func (l *Limiter) CostPolicy(env ion.Environment) Policy { return l.policiesOf(env).cost }

func (l *Limiter) policiesOf(env ion.Environment) envPolicies {
	if env.RateLimitPolicy == "" {
		p, _ := l.cfg.envPolicies(env)
		return p
	}
	key := env.Kind + "\x00" + env.RateLimitPolicy
	l.mu.Lock()
	e, ok := l.policies[key]
	l.mu.Unlock()
	if ok {
		return e.p
	}
	p, err := l.cfg.envPolicies(env)
	if err != nil {
		l.log.Warn("ignoring the environment's rate-limit policy; using its kind's defaults", "environment", env.Name, "err", err)
		env.RateLimitPolicy = ""
		p, _ = l.cfg.envPolicies(env)
	}
	l.mu.Lock()
	if len(l.policies) >= 1024 {
		clear(l.policies) // documents are few; this only bounds a pathological case
	}
	l.policies[key] = policyEntry{p: p, err: err}
	l.mu.Unlock()
	return p
}

// Effective is env's policy as /.well-known/ion-environment reports it.
func (l *Limiter) Effective(env ion.Environment) Effective {
	p := l.policiesOf(env)
	e := Effective{RequestsPerSecond: p.requests.RequestsPerSecond, Burst: p.requests.Burst,
		CostPerSecond: p.cost.RequestsPerSecond, CostBurst: p.cost.Burst}
	if env.Kind == ion.EnvSandbox {
		agg := l.cfg.SandboxAggregate.RequestsPerSecond
		e.AggregateSandboxRequestsPerSecond = &agg
	}
	return e
}

const aggregateKey = "agg/sandboxes"

// PreCheck is the cheap check made before authentication: it refuses a
// sandbox request while the aggregate sandbox budget is empty, without
// spending anything, so that a flood is turned away before the work of
// authenticating it. Production always passes.
func (l *Limiter) PreCheck(ctx context.Context, env ion.Environment) Decision {
	if env.Kind != ion.EnvSandbox {
		return Decision{Allowed: true}
	}
	now := l.now()
	if l.skipping(now) {
		return Decision{Allowed: true}
	}
	agg := Bucket{Key: aggregateKey, Policy: l.cfg.SandboxAggregate}
	ok, err := l.backend.Peek(ctx, now, agg)
	if err != nil {
		l.failed(now, err)
		return Decision{Allowed: true}
	}
	if ok {
		return Decision{Allowed: true}
	}
	p := l.cfg.SandboxAggregate
	return Decision{Scope: ScopeSandboxAggregate, Policy: p,
		RetryAfter: time.Duration(float64(time.Second) / p.RequestsPerSecond),
		Reset:      time.Duration(float64(p.Burst) / p.RequestsPerSecond * float64(time.Second))}
}

// PeekRequest reports, without spending anything, whether credential
// has a request left in env. The HTTP layer uses it before authentication
// for a token it has already seen refused, so that a client that keeps
// sending over its limit is turned away before the work of authenticating
// it; only the credential itself could have emptied its bucket.
func (l *Limiter) PeekRequest(ctx context.Context, env ion.Environment, credential string) Decision {
	now := l.now()
	p := l.CredentialPolicy(env)
	if l.skipping(now) {
		return Decision{Allowed: true, Scope: ScopeCredential, Policy: p, Remaining: p.Burst}
	}
	ok, err := l.backend.Peek(ctx, now, Bucket{Key: requestKey(env, credential), Policy: p})
	if err != nil {
		l.failed(now, err)
		return Decision{Allowed: true, Scope: ScopeCredential, Policy: p, Remaining: p.Burst}
	}
	if ok {
		return Decision{Allowed: true, Scope: ScopeCredential, Policy: p}
	}
	return Decision{Scope: ScopeCredential, Policy: p,
		RetryAfter: time.Duration(float64(time.Second) / p.RequestsPerSecond),
		Reset:      time.Duration(float64(p.Burst) / p.RequestsPerSecond * float64(time.Second))}
}

func requestKey(env ion.Environment, credential string) string {
	return "req/" + env.Name + "/" + credential
}

// AllowRequest spends one request of credential (an authenticated actor's
// API key client id, or user) in env: its per-credential bucket and, in a
// sandbox, the aggregate sandbox budget, all or nothing.
func (l *Limiter) AllowRequest(ctx context.Context, env ion.Environment, credential string) Decision {
	p := l.CredentialPolicy(env)
	var buf [2]Bucket
	buckets := buf[:1]
	buckets[0] = Bucket{Key: requestKey(env, credential), Policy: p}
	scopes := [2]Scope{ScopeCredential, ScopeSandboxAggregate}
	if env.Kind == ion.EnvSandbox {
		buckets = append(buckets, Bucket{Key: aggregateKey, Policy: l.cfg.SandboxAggregate})
	}
	return l.take(ctx, buckets, scopes[:])
}

// AllowToken spends one token request of clientID ("" when the request
// names none) from source address addr in env.
func (l *Limiter) AllowToken(ctx context.Context, env ion.Environment, clientID, addr string) Decision {
	var buf [2]Bucket
	buckets := buf[:1]
	scopes := [2]Scope{ScopeTokenAddress, ScopeTokenClient}
	buckets[0] = Bucket{Key: "tok/" + env.Name + "/addr/" + addr, Policy: l.cfg.Token}
	if clientID != "" {
		buckets = append(buckets, Bucket{Key: "tok/" + env.Name + "/client/" + clientID, Policy: l.cfg.Token})
	}
	return l.take(ctx, buckets, scopes[:])
}

func (l *Limiter) take(ctx context.Context, buckets []Bucket, scopes []Scope) Decision {
	now := l.now()
	if l.skipping(now) {
		return l.openDecision(buckets[0], scopes[0])
	}
	res, err := l.backend.Take(ctx, now, buckets)
	if err != nil {
		l.failed(now, err)
		return l.openDecision(buckets[0], scopes[0])
	}
	i := min(max(res.Index, 0), len(buckets)-1)
	return Decision{
		Allowed: res.Allowed, Scope: scopes[i], Policy: buckets[i].Policy,
		Remaining: min(res.Remaining, buckets[i].Policy.Burst), Reset: res.Reset, RetryAfter: res.RetryAfter,
	}
}

// openDecision is the answer while the backend is down: allowed, reporting
// the policy with its full burst.
func (l *Limiter) openDecision(b Bucket, s Scope) Decision {
	return Decision{Allowed: true, Scope: s, Policy: b.Policy, Remaining: b.Policy.Burst}
}

// backendRetry is how long the Limiter fails open without trying the
// backend again after a failure.
const backendRetry = time.Second

func (l *Limiter) skipping(now time.Time) bool {
	d := l.down.Load()
	return d != 0 && now.UnixNano() < d
}

func (l *Limiter) failed(now time.Time, err error) {
	l.down.Store(now.Add(backendRetry).UnixNano())
	l.warn.report(now, err)
}

// RetryAfterSeconds rounds d up to whole seconds, at least 1, as
// Retry-After and RateLimit-Reset carry them.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
