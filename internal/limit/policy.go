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
// environment's kind. Both fields are optional; an absent or zero field
// keeps the default:
//
//	{"requestsPerSecond": 20, "burst": 40}
//
// It changes the per-credential limit of that one environment. The
// aggregate sandbox budget is the node's and cannot be raised by one
// sandbox's policy. Unknown fields are an error, so that a typo does not
// silently keep the default.
type Override struct {
	RequestsPerSecond float64 `json:"requestsPerSecond,omitempty"`
	Burst             int     `json:"burst,omitempty"`
}

// ParseOverride parses a RateLimitPolicy document and applies it to base.
func ParseOverride(doc string, base Policy) (Policy, error) {
	if doc == "" {
		return base, nil
	}
	var o Override
	dec := json.NewDecoder(bytes.NewReader([]byte(doc)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return base, fmt.Errorf("rate-limit policy %q: %w (want {\"requestsPerSecond\": N, \"burst\": B})", doc, err)
	}
	if o.RequestsPerSecond < 0 || math.IsNaN(o.RequestsPerSecond) || math.IsInf(o.RequestsPerSecond, 0) || o.Burst < 0 {
		return base, fmt.Errorf("rate-limit policy %q: requestsPerSecond and burst must be positive", doc)
	}
	if o.RequestsPerSecond > 0 {
		base.RequestsPerSecond = o.RequestsPerSecond
	}
	if o.Burst > 0 {
		base.Burst = o.Burst
	}
	return base, nil
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
	// ShedRetryAfter is the Retry-After of a shed request. Default 1s.
	ShedRetryAfter time.Duration
}

// Defaults.
var (
	DefaultProduction       = Policy{RequestsPerSecond: 50, Burst: 100}
	DefaultSandbox          = Policy{RequestsPerSecond: 100, Burst: 200}
	DefaultSandboxAggregate = Policy{RequestsPerSecond: 300, Burst: 600}
	DefaultToken            = Policy{RequestsPerSecond: 10, Burst: 20}
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
	if c.ShedRetryAfter == 0 {
		c.ShedRetryAfter = time.Second
	}
	switch {
	case c.MaxBuckets < 0:
		return c, fmt.Errorf("limit: Config.MaxBuckets must be positive, got %d", c.MaxBuckets)
	case c.Capacity < 0:
		return c, fmt.Errorf("limit: Config.Capacity must be positive, got %d", c.Capacity)
	case c.SandboxCapacity < 0:
		return c, fmt.Errorf("limit: Config.SandboxCapacity must be positive, got %d", c.SandboxCapacity)
	}
	return c, nil
}

// Effective is an environment's effective policy, as
// /.well-known/ion-environment reports it.
type Effective struct {
	RequestsPerSecond                 float64  `json:"requestsPerSecond"`
	Burst                             int      `json:"burst"`
	AggregateSandboxRequestsPerSecond *float64 `json:"aggregateSandboxRequestsPerSecond"`
}

// credentialPolicy is env's per-credential policy: its kind's default with
// its RateLimitPolicy override applied.
func (c Config) credentialPolicy(env ion.Environment) (Policy, error) {
	base := c.Production
	if env.Kind == ion.EnvSandbox {
		base = c.Sandbox
	}
	return ParseOverride(env.RateLimitPolicy, base)
}
