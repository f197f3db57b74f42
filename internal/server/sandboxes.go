package server

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/ionbox/ionbox/internal/auth"
	"github.com/ionbox/ionbox/internal/httpapi"
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
	now := r.now()
	r.mu.Lock()
	c, ok := r.cache[name]
	r.mu.Unlock()
	if ok && now.Sub(c.at) < sandboxCacheTTL {
		return c.env, c.sb, nil
	}
	if ion.ValidateSandboxName(name) != nil {
		return httpapi.Environment{}, ion.Sandbox{}, ion.Errorf(ion.ESANDBOXNOTFOUND, "no sandbox %q", name)
	}
	sb, err := r.control.Sandbox(ctx, name)
	if err != nil {
		return httpapi.Environment{}, ion.Sandbox{}, err
	}
	env, err := r.control.Environment(ctx, name)
	if err != nil {
		return httpapi.Environment{}, ion.Sandbox{}, fmt.Errorf("environment of sandbox %q: %w", name, err)
	}
	base := r.SandboxBaseURL(name)
	iss, err := r.auth.Issuer(ctx, env, base)
	if err != nil {
		return httpapi.Environment{}, ion.Sandbox{}, fmt.Errorf("issuer of sandbox %q: %w", name, err)
	}
	c = cachedSandbox{env: httpapi.Environment{Env: env, BaseURL: base, Issuer: iss}, sb: sb, at: now}
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
	return c.env, c.sb, nil
}

func (r *sandboxRouter) ForgetSandbox(name string) {
	r.mu.Lock()
	delete(r.cache, name)
	r.mu.Unlock()
	r.auth.Forget(name)
}
