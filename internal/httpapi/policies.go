package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ionbox/ionbox/internal/limit"
	"github.com/ionbox/ionbox/ion"
)

// featuresHeader lists, comma-separated, the feature flags on for the
// request: the caller's once authenticated, else the environment's.
const featuresHeader = "ION-Features"

// environmentFeatures are the flags on in env for a caller not yet known:
// in a sandbox its organization's tier flags and its preview flags; in
// production the standard tier's (an enterprise organization's requests
// carry its own once authenticated).
func environmentFeatures(env Environment) ion.FeatureSet {
	fs := ion.FeatureSet{Environment: env.Env.Name, Sandbox: env.Env.Kind == ion.EnvSandbox, Tier: ion.TierStandard}
	var chosen []string
	if env.Sandbox != nil {
		chosen = env.Sandbox.Features
		if env.Tier != "" {
			fs.Tier = env.Tier
		}
	}
	fs.On = ion.EnabledFeatures(fs.Tier, chosen)
	return fs
}

// actorFeatures are the flags on for an authenticated actor in env.
func actorFeatures(env Environment, a ion.Actor) ion.FeatureSet {
	fs := environmentFeatures(env)
	if a.Organization.Tier != "" {
		fs.Tier = a.Organization.Tier
	}
	var chosen []string
	if env.Sandbox != nil {
		chosen = env.Sandbox.Features
	}
	fs.On = ion.EnabledFeatures(fs.Tier, chosen)
	return fs
}

func setFeaturesHeader(h http.Header, fs ion.FeatureSet) {
	h.Set(featuresHeader, strings.Join(fs.On, ","))
}

// setDefaultLimitHeaders gives a response that no credential's budget was
// charged for (401s, unknown or expired sandboxes, discovery documents)
// the RateLimit-* headers of env's per-credential policy with nothing
// spent; a later limit check overwrites them.
func (s *Server) setDefaultLimitHeaders(h http.Header, env ion.Environment) {
	// Assigned directly (the names are already canonical): this runs for
	// every answer, including each request of a flood that is turned away.
	burst := []string{strconv.Itoa(s.cfg.Limiter.CredentialPolicy(env).Burst)}
	h["Ratelimit-Limit"] = burst
	h["Ratelimit-Remaining"] = burst
	h["Ratelimit-Reset"] = zeroHeader
}

var zeroHeader = []string{"0"}

// withPolicies sets every response's default RateLimit-* and ION-Features
// headers. (The feature set goes into the context only once the caller is
// authenticated, see authenticated: nothing before needs it, and a copy of
// the request per answer would make turning a flood away dearer.)
func (s *Server) withPolicies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env := environmentFrom(r.Context())
		s.setDefaultLimitHeaders(w.Header(), env.Env)
		setFeaturesHeader(w.Header(), environmentFeatures(env))
		next.ServeHTTP(w, r)
	})
}

// productionCacheTTL bounds how long a replica serves production's cached
// environment record (its rate-limit policy) after another replica changed
// it.
const productionCacheTTL = time.Second

// productionEnv is production's serving environment with its record
// re-read from the control store at most every productionCacheTTL.
type productionEnv struct {
	control ion.ControlStore
	mu      sync.Mutex
	env     Environment
	at      time.Time
}

func (p *productionEnv) current(ctx context.Context) Environment {
	now := time.Now()
	p.mu.Lock()
	env, fresh := p.env, now.Sub(p.at) < productionCacheTTL
	p.mu.Unlock()
	if fresh {
		return env
	}
	// On a store error the last record keeps serving: the policy is
	// secondary to answering.
	if rec, err := p.control.Environment(ctx, env.Env.Name); err == nil {
		env.Env = rec
	}
	p.mu.Lock()
	p.env, p.at = env, now
	p.mu.Unlock()
	return env
}

func (p *productionEnv) forget() {
	p.mu.Lock()
	p.at = time.Time{}
	p.mu.Unlock()
}

// shedHeaders are the RateLimit-* headers of a shed request: the
// aggregate sandbox budget's size, nothing left until Retry-After.
func (s *Server) shedHeaders(h http.Header) {
	cfg := s.cfg.Limiter.Config()
	h["Ratelimit-Limit"] = []string{strconv.Itoa(cfg.SandboxAggregate.Burst)}
	h["Ratelimit-Remaining"] = zeroHeader
	h["Ratelimit-Reset"] = []string{strconv.Itoa(limit.RetryAfterSeconds(s.cfg.Gate.RetryAfter()))}
}
