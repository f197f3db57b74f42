package limit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// Policy is one token bucket's shape: it refills at RequestsPerSecond and
// holds at most Burst tokens; a request takes one.
type Policy struct {
	RequestsPerSecond float64 `json:"requestsPerSecond"`
	Burst             int     `json:"burst"`
}

func (p Policy) valid() bool {
	return p.RequestsPerSecond > 0 && !math.IsInf(p.RequestsPerSecond, 0) && p.Burst >= 1
}

// Override is the JSON shape of an environment's RateLimitPolicy slot
// (ion.Environment.RateLimitPolicy); "" means the defaults of the
// environment's kind. Every field is optional; an absent or zero field
// keeps the default:
//
//	{"requestsPerSecond": 20, "burst": 40, "costPerSecond": 1000, "costBurst": 20000}
//
// It changes the per-credential limits of that one environment: requests,
// and the GraphQL cost budget (points restored per second, and the most
// points the bucket holds, which is also the largest query cost allowed).
// The aggregate sandbox budget is the node's and cannot be raised by one
// sandbox's policy. Unknown fields are an error, so that a typo does not
// silently keep the default.
type Override struct {
	RequestsPerSecond float64 `json:"requestsPerSecond,omitempty"`
	Burst             int     `json:"burst,omitempty"`
	CostPerSecond     float64 `json:"costPerSecond,omitempty"`
	CostBurst         int     `json:"costBurst,omitempty"`
}

// ParseOverrideDoc parses and checks a RateLimitPolicy document.
func ParseOverrideDoc(doc string) (Override, error) {
	var o Override
	if doc == "" {
		return o, nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(doc)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return o, fmt.Errorf("rate-limit policy %q: %w (want {\"requestsPerSecond\": N, \"burst\": B, \"costPerSecond\": C, \"costBurst\": D})", doc, err)
	}
	bad := func(f float64) bool { return f < 0 || math.IsNaN(f) || math.IsInf(f, 0) }
	if bad(o.RequestsPerSecond) || bad(o.CostPerSecond) || o.Burst < 0 || o.CostBurst < 0 {
		return o, fmt.Errorf("rate-limit policy %q: requestsPerSecond, burst, costPerSecond and costBurst must be positive", doc)
	}
	return o, nil
}

// ParseOverride parses a RateLimitPolicy document and applies its request
// fields to base.
func ParseOverride(doc string, base Policy) (Policy, error) {
	o, err := ParseOverrideDoc(doc)
	if err != nil {
		return base, err
	}
	return o.apply(base, o.RequestsPerSecond, o.Burst), nil
}

func (o Override) apply(base Policy, rate float64, burst int) Policy {
	if rate > 0 {
		base.RequestsPerSecond = rate
	}
	if burst > 0 {
		base.Burst = burst
	}
	return base
}

// Config sets the node's policies. Every zero field takes the default its
// comment states.
type Config struct {
	// Production is the per-credential limit in production: fair use.
	// Default 50 requests per second, burst 100.
	Production Policy
	// Sandbox is the per-credential limit in a sandbox, more relaxed than
	// production. Default 100 requests per second, burst 200.
	Sandbox Policy
	// SandboxAggregate is one budget shared by every sandbox on the node,
	// so that a load test in one sandbox is throttled before it can take
	// the capacity production needs. Default 300 requests per second,
	// burst 600.
	SandboxAggregate Policy
	// ProductionCost is the GraphQL cost budget per credential in
	// production: RequestsPerSecond is the points restored per second,
	// Burst the most the bucket holds (and so the largest query cost).
	// Default 5,000 points per second, 50,000 at most.
	ProductionCost Policy
	// SandboxCost is the cost budget per credential in a sandbox, more
	// relaxed. Default 10,000 points per second, 100,000 at most.
	SandboxCost Policy
	// Token limits the token endpoint per client id and, separately, per
	// source address, in each environment: stricter, since a client needs
	// a token only every few minutes. Default 10 per second, burst 20.
	Token Policy
	// MaxBuckets caps the in-process buckets (credentials, clients and
	// addresses being tracked). Default 100000 (a few MiB).
	MaxBuckets int
	// Capacity is the node's in-flight GraphQL capacity: at or above it,
	// sandbox requests are shed (503 SANDBOX_THROTTLED). Default
	// 32×GOMAXPROCS.
	Capacity int
	// SandboxCapacity caps in-flight sandbox requests even below Capacity,
	// so that sandboxes never occupy the slots production needs. Default
	// Capacity/4 (at least 1).
	SandboxCapacity int
	// SandboxSlots is how many admitted sandbox requests execute at once,
	// and only while no production request is in flight (see Gate.Turn).
	// Default GOMAXPROCS-1 (at least 1): production always has a core.
	SandboxSlots int
	// SandboxWait is the longest an admitted sandbox request waits for its
	// turn before it is shed with 503 SANDBOX_THROTTLED. Default 2s.
	SandboxWait time.Duration
	// SandboxPause is the longest a sandbox request already executing
	// waits for production at each yield point (see Yield). Default 100ms.
	SandboxPause time.Duration
	// ShedRetryAfter is the Retry-After of a shed request. Default 1s.
	ShedRetryAfter time.Duration
	// SandboxTarpit is the longest a sandbox request refused for a rate
	// limit waits before its 429 is sent (never beyond its Retry-After): a
	// runaway loop that retries at once is slowed to the limit instead of
	// spinning on cheap refusals and taking CPU from production. Default
	// 1s; negative turns it off (every 429 at once, as in production).
	SandboxTarpit time.Duration
	// TarpitSlots caps the refused requests held at once on the node;
	// beyond it they are answered at once. Default 1024.
	TarpitSlots int
}

// Defaults.
var (
	DefaultProduction       = Policy{RequestsPerSecond: 50, Burst: 100}
	DefaultSandbox          = Policy{RequestsPerSecond: 100, Burst: 200}
	DefaultSandboxAggregate = Policy{RequestsPerSecond: 300, Burst: 600}
	DefaultToken            = Policy{RequestsPerSecond: 10, Burst: 20}
	DefaultProductionCost   = Policy{RequestsPerSecond: 5_000, Burst: 50_000}
	DefaultSandboxCost      = Policy{RequestsPerSecond: 10_000, Burst: 100_000}
)

const defaultMaxBuckets = 100_000

// WithDefaults returns c with every zero field set to its default, or an
// error naming an invalid field.
func (c Config) WithDefaults() (Config, error) {
	for _, f := range []struct {
		name string
		p    *Policy
		def  Policy
	}{
		{"Production", &c.Production, DefaultProduction},
		{"Sandbox", &c.Sandbox, DefaultSandbox},
		{"SandboxAggregate", &c.SandboxAggregate, DefaultSandboxAggregate},
		{"Token", &c.Token, DefaultToken},
		{"ProductionCost", &c.ProductionCost, DefaultProductionCost},
		{"SandboxCost", &c.SandboxCost, DefaultSandboxCost},
	} {
		if *f.p == (Policy{}) {
			*f.p = f.def
		}
		if !f.p.valid() {
			return c, fmt.Errorf("limit: Config.%s: requestsPerSecond must be > 0 and burst >= 1, got %+v", f.name, *f.p)
		}
	}
	if c.MaxBuckets == 0 {
		c.MaxBuckets = defaultMaxBuckets
	}
	if c.Capacity == 0 {
		c.Capacity = 32 * runtime.GOMAXPROCS(0)
	}
	if c.SandboxCapacity == 0 {
		c.SandboxCapacity = max(1, c.Capacity/4)
	}
	if c.SandboxSlots == 0 {
		c.SandboxSlots = max(1, runtime.GOMAXPROCS(0)-1)
	}
	if c.SandboxWait == 0 {
		c.SandboxWait = 2 * time.Second
	}
	if c.SandboxPause == 0 {
		c.SandboxPause = 100 * time.Millisecond
	}
	if c.ShedRetryAfter == 0 {
		c.ShedRetryAfter = time.Second
	}
	if c.SandboxTarpit == 0 {
		c.SandboxTarpit = time.Second
	}
	if c.TarpitSlots == 0 {
		c.TarpitSlots = 1024
	}
	switch {
	case c.MaxBuckets < 0:
		return c, fmt.Errorf("limit: Config.MaxBuckets must be positive, got %d", c.MaxBuckets)
	case c.Capacity < 0:
		return c, fmt.Errorf("limit: Config.Capacity must be positive, got %d", c.Capacity)
	case c.SandboxCapacity < 0:
		return c, fmt.Errorf("limit: Config.SandboxCapacity must be positive, got %d", c.SandboxCapacity)
	case c.SandboxSlots < 0:
		return c, fmt.Errorf("limit: Config.SandboxSlots must be positive, got %d", c.SandboxSlots)
	case c.SandboxPause < 0:
		return c, fmt.Errorf("limit: Config.SandboxPause must be positive, got %v", c.SandboxPause)
	case c.SandboxWait < 0:
		return c, fmt.Errorf("limit: Config.SandboxWait must be positive, got %v", c.SandboxWait)
	}
	return c, nil
}

// Effective is an environment's effective policy, as
// /.well-known/ion-environment reports it.
type Effective struct {
	RequestsPerSecond                 float64  `json:"requestsPerSecond"`
	Burst                             int      `json:"burst"`
	CostPerSecond                     float64  `json:"costPerSecond"`
	CostBurst                         int      `json:"costBurst"`
	AggregateSandboxRequestsPerSecond *float64 `json:"aggregateSandboxRequestsPerSecond"`
}

// envPolicies are env's per-credential policies: its kind's defaults with
// its RateLimitPolicy override applied.
type envPolicies struct {
	requests, cost Policy
}

func (c Config) envPolicies(env ion.Environment) (envPolicies, error) {
	out := envPolicies{requests: c.Production, cost: c.ProductionCost}
	if env.Kind == ion.EnvSandbox {
		out = envPolicies{requests: c.Sandbox, cost: c.SandboxCost}
	}
	o, err := ParseOverrideDoc(env.RateLimitPolicy)
	if err != nil {
		return out, err
	}
	out.requests = o.apply(out.requests, o.RequestsPerSecond, o.Burst)
	out.cost = o.apply(out.cost, o.CostPerSecond, o.CostBurst)
	return out, nil
}
