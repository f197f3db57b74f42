package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ionbox/ionbox/internal/auth"
	"github.com/ionbox/ionbox/internal/httpapi"
	"github.com/ionbox/ionbox/internal/sandbox"
	"github.com/ionbox/ionbox/internal/seed"
	"github.com/ionbox/ionbox/ion"
)

// sandboxCacheTTL bounds how long a replica serves a sandbox's cached state
// (e.g. still "active" after another replica expired it).
const sandboxCacheTTL = time.Second

// sandboxRouter resolves sandbox names to what the HTTP layer serves them
// with: the environment, its canonical base URL and its issuer.
type sandboxRouter struct {
	control       ion.ControlStore
	auth          *auth.Service
	publicURL     *url.URL
	sandboxDomain string
	now           func() time.Time

	mu    sync.Mutex
	cache map[string]cachedSandbox
	// reads makes concurrent resolves of one sandbox share one read of
	// the control store (a new sandbox's warm-up and its first token).
	reads singleflight.Group
}

type cachedSandbox struct {
	env httpapi.Environment
	sb  ion.Sandbox
	at  time.Time
}

var _ httpapi.SandboxResolver = (*sandboxRouter)(nil)

func newSandboxRouter(control ion.ControlStore, authSvc *auth.Service, publicURL, sandboxDomain string) (*sandboxRouter, error) {
	u, err := url.Parse(publicURL)
	if err != nil {
		return nil, fmt.Errorf("public URL %q: %w", publicURL, err)
	}
	return &sandboxRouter{
		control: control, auth: authSvc, publicURL: u, sandboxDomain: sandboxDomain,
		now: time.Now, cache: map[string]cachedSandbox{},
	}, nil
}

// SandboxBaseURL is NAME.<sandbox-domain> (with the public URL's scheme and
// port) when a sandbox domain is set, because that is the form unmodified
// ION clients can use; else the path-based URL. Both forms serve the
// sandbox; this one is what its tokens name as issuer and audience.
func (r *sandboxRouter) SandboxBaseURL(name string) string {
	if r.sandboxDomain == "" {
		return r.publicURL.String() + "/sandboxes/" + name
	}
	host := name + "." + r.sandboxDomain
	if port := r.publicURL.Port(); port != "" {
		host = net.JoinHostPort(host, port)
	}
	return r.publicURL.Scheme + "://" + host
}

func (r *sandboxRouter) ResolveSandbox(ctx context.Context, name string) (httpapi.Environment, ion.Sandbox, error) {
	r.mu.Lock()
	c, ok := r.cache[name]
	r.mu.Unlock()
	if ok && r.now().Sub(c.at) < sandboxCacheTTL {
		return c.env, c.sb, nil
	}
	if ion.ValidateSandboxName(name) != nil {
		return httpapi.Environment{}, ion.Sandbox{}, ion.Errorf(ion.ESANDBOXNOTFOUND, "no sandbox %q", name)
	}
	// The read is shared, so it is not cut short by one caller going away.
	ch := r.reads.DoChan(name, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resolveTimeout)
		defer cancel()
		return r.read(ctx, name)
	})
	select {
	case <-ctx.Done():
		return httpapi.Environment{}, ion.Sandbox{}, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return httpapi.Environment{}, ion.Sandbox{}, res.Err
		}
		c := res.Val.(cachedSandbox)
		return c.env, c.sb, nil
	}
}

// resolveTimeout bounds one shared read of a sandbox.
const resolveTimeout = 10 * time.Second

// read reads sandbox name, its environment, issuer and tier from the
// control store and caches them.
func (r *sandboxRouter) read(ctx context.Context, name string) (cachedSandbox, error) {
	now := r.now()
	sb, err := r.control.Sandbox(ctx, name)
	if err != nil {
		return cachedSandbox{}, err
	}
	env, err := r.control.Environment(ctx, name)
	if err != nil {
		return cachedSandbox{}, fmt.Errorf("environment of sandbox %q: %w", name, err)
	}
	base := r.SandboxBaseURL(name)
	iss, err := r.auth.Issuer(ctx, env, base)
	if err != nil {
		return cachedSandbox{}, fmt.Errorf("issuer of sandbox %q: %w", name, err)
	}
	// The organization's tier decides the sandbox's feature flags with its
	// preview flags; a sandbox still being provisioned has none yet.
	tier := ""
	if sb.OrganizationID != 0 {
		org, err := r.control.Organization(ctx, sb.OrganizationID)
		if err != nil && ion.ErrorCode(err) != ion.ENOTFOUND {
			return cachedSandbox{}, fmt.Errorf("organization of sandbox %q: %w", name, err)
		}
		tier = org.Tier
	}
	c := cachedSandbox{env: httpapi.Environment{Env: env, BaseURL: base, Issuer: iss, Tier: tier}, sb: sb, at: now}
	r.mu.Lock()
	if len(r.cache) > 4096 {
		// Drop stale entries so that touching many sandboxes once does not
		// keep them all in memory.
		for k, v := range r.cache {
			if now.Sub(v.at) >= sandboxCacheTTL {
				delete(r.cache, k)
			}
		}
	}
	r.cache[name] = c
	r.mu.Unlock()
	return c, nil
}

// cached returns sandbox name as ResolveSandbox last read it, if it is
// still cached.
func (r *sandboxRouter) cached(name string) (ion.Sandbox, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.cache[name]
	return c.sb, ok
}

func (r *sandboxRouter) ForgetSandbox(name string) {
	r.reads.Forget(name)
	r.mu.Lock()
	delete(r.cache, name)
	r.mu.Unlock()
	r.auth.Forget(name)
}

// defaultSweepEvery is how often a server applies dormancy and expiry.
const defaultSweepEvery = time.Minute

// touchEvery bounds how often one sandbox's activity is written: a busy
// sandbox costs one control-store write a minute, not one per request.
const touchEvery = time.Minute

// sandboxLifecycle is what the sandbox lifecycle runs beside requests:
// recording activity, which renews a sandbox, and the background sweeper
// that makes idle sandboxes dormant and then expires them.
type sandboxLifecycle struct {
	now   func() time.Time // the clock of dormancy and expiry
	every time.Duration    // how often to sweep
	log   *slog.Logger

	// Set by assemble.
	svc     *sandbox.Service
	control ion.ControlStore
	// cached returns a sandbox as the router last read it (see touch).
	cached func(name string) (ion.Sandbox, bool)
	// warmUp reads what a new sandbox's first requests need (see
	// provisioned).
	warmUp func(ctx context.Context, sb ion.Sandbox)

	mu      sync.Mutex
	touched map[string]time.Time // sandbox → when its activity was last written
	done    chan struct{}        // closed when the sweeper has stopped

	// ctx ends when the server stops; background counts the seed data
	// builds started for GraphQL requests (see graphqlSandboxes).
	ctx        context.Context
	background sync.WaitGroup
	building   map[string]bool // seed sizes being built in the background
}

func newSandboxLifecycle(now func() time.Time, every time.Duration, log *slog.Logger) *sandboxLifecycle {
	if now == nil {
		now = time.Now
	}
	if every <= 0 {
		every = defaultSweepEvery
	}
	return &sandboxLifecycle{now: now, every: every, log: log, touched: map[string]time.Time{}}
}

// renewing records, for a request that authenticated as a sandbox's user,
// activity in that sandbox before next serves it.
func (l *sandboxLifecycle) renewing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := ion.ActorFrom(r.Context()); ok && a.Environment != ion.ProductionEnvironment {
			l.touch(r.Context(), a.Environment)
		}
		next.ServeHTTP(w, r)
	})
}

// touch writes sandbox name's activity unless it was written less than
// touchEvery ago by this process.
func (l *sandboxLifecycle) touch(ctx context.Context, name string) {
	now := l.now()
	l.mu.Lock()
	last, ok := l.touched[name]
	if !ok && l.cached != nil {
		// A sandbox the router has just read active with fresh activity
		// (a new one, at its first query) needs no write yet.
		if sb, found := l.cached(name); found && sb.State == ion.SandboxActive {
			last, ok = sb.LastActivityAt, true
			l.touched[name] = last
		}
	}
	if ok && now.Sub(last) < touchEvery && !now.Before(last) {
		l.mu.Unlock()
		return
	}
	if len(l.touched) > 4096 {
		for k, v := range l.touched {
			if now.Sub(v) >= touchEvery {
				delete(l.touched, k)
			}
		}
	}
	l.touched[name] = now
	l.mu.Unlock()
	if err := l.control.TouchSandbox(context.WithoutCancel(ctx), name, now); err != nil && ion.ErrorCode(err) != ion.ENOTFOUND {
		l.log.Warn("recording sandbox activity", "sandbox", name, "err", err)
	}
}

// start builds the small seed template if it is missing (so that the
// first seeded sandbox is as quick as the rest) and runs the sweeper until
// ctx ends; wait waits for both to stop.
func (l *sandboxLifecycle) start(ctx context.Context) {
	l.mu.Lock()
	l.ctx = ctx
	l.mu.Unlock()
	l.done = make(chan struct{})
	// The template is built beside the sweeper, not before it: building it
	// takes seconds on a loaded machine, and dormancy and expiry must not
	// wait for it after a restart.
	l.background.Add(1)
	go func() {
		defer l.background.Done()
		if err := l.svc.PrepareTemplates(ctx, seed.SizeSmall); err != nil && ctx.Err() == nil {
			l.log.Warn("preparing the seed data of seeded sandboxes; the first seeded request builds it instead", "err", err)
		}
	}()
	go func() {
		defer close(l.done)
		tick := time.NewTicker(l.every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				l.sweep(ctx)
			}
		}
	}()
}

func (l *sandboxLifecycle) wait() {
	if l.done != nil {
		<-l.done
	}
	l.background.Wait()
}

// warmUpTimeout bounds the warm-up of one new sandbox.
const warmUpTimeout = 10 * time.Second

// provisioned warms up, in the background, what sandbox sb's first
// requests need (its router entry, issuer and tenant store) while the
// answer that provisioned it is on its way to the client, whose first
// token request then finds them ready: measured on PostgreSQL, about 2 ms
// of a blank sandbox's first token and query.
func (l *sandboxLifecycle) provisioned(sb ion.Sandbox) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ctx == nil || l.ctx.Err() != nil || l.warmUp == nil {
		return
	}
	l.background.Add(1)
	go func() {
		defer l.background.Done()
		ctx, cancel := context.WithTimeout(l.ctx, warmUpTimeout)
		defer cancel()
		l.warmUp(ctx, sb)
	}()
}

// buildSeedData builds the seed data of size in the background, once at a
// time, until the server stops.
func (l *sandboxLifecycle) buildSeedData(size string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ctx == nil || l.ctx.Err() != nil || l.building[size] {
		return
	}
	if l.building == nil {
		l.building = map[string]bool{}
	}
	l.building[size] = true
	l.background.Add(1)
	go func() {
		defer l.background.Done()
		if err := l.svc.PrepareTemplates(l.ctx, size); err != nil && l.ctx.Err() == nil {
			l.log.Warn("building seed data", "size", size, "err", err)
		}
		l.mu.Lock()
		delete(l.building, size)
		l.mu.Unlock()
	}()
}

func (l *sandboxLifecycle) sweep(ctx context.Context) {
	rep, err := l.svc.Sweep(ctx, l.now())
	if rep.Dormant > 0 || rep.Expired > 0 {
		l.log.Info("sandbox sweep", "dormant", rep.Dormant, "expired", rep.Expired)
	}
	if err != nil && ctx.Err() == nil {
		l.log.Warn("sandbox sweep", "err", err)
	}
}
