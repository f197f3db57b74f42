package auth

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/ionbox/ionbox/ion"
)

// Service manages API keys for every environment and keeps one Issuer per
// environment. It is safe for concurrent use.
type Service struct {
	cfg Config

	mu       sync.RWMutex
	byEnv    map[string]*Issuer // environment name → issuer
	byIssuer map[string]*Issuer // issuer URL → issuer

	// createMu serializes the slow path of Issuer, so that two requests
	// for a new environment do not both create its first signing key.
	createMu sync.Mutex
}

var _ ion.APIKeyService = (*Service)(nil)

// New returns a Service. See Config for defaults.
func New(cfg Config) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Service{
		cfg:      cfg,
		byEnv:    make(map[string]*Issuer),
		byIssuer: make(map[string]*Issuer),
	}, nil
}

// Issuer returns the OAuth issuer of env, whose API is served at baseURL
// (absolute, e.g. "http://127.0.0.1:8080" or
// "http://127.0.0.1:8080/sandboxes/acme-erp-dev"). Its issuer URL is
// baseURL + "/realms/api-keys" and its tokens' audience is baseURL. On first
// use it loads the environment's signing keys from the control store,
// creating one if there is none; later calls return the same *Issuer. It is
// an error to ask for the same environment at another base URL while the
// first is registered (Forget it first).
func (s *Service) Issuer(ctx context.Context, env ion.Environment, baseURL string) (*Issuer, error) {
	if env.Name == "" {
		return nil, fmt.Errorf("auth: Issuer: environment has no Name")
	}
	if env.Kind != ion.EnvProduction && env.Kind != ion.EnvSandbox {
		return nil, fmt.Errorf("auth: Issuer: environment %q has Kind %q; want %q or %q", env.Name, env.Kind, ion.EnvProduction, ion.EnvSandbox)
	}
	base, err := normalizeBaseURL(baseURL)
	if err != nil {
		return nil, fmt.Errorf(msgIssuerBaseURL, baseURL, envLabel(env))
	}
	if iss, ok, err := s.registered(env, base); ok || err != nil {
		return iss, err
	}

	s.createMu.Lock()
	defer s.createMu.Unlock()
	if iss, ok, err := s.registered(env, base); ok || err != nil {
		return iss, err
	}
	if other, ok := s.issuerByURL(base + realmPath); ok {
		return nil, fmt.Errorf("auth: issuer URL %q is already used by %s", other.issuerURL, envLabel(other.env))
	}
	// Signing keys belong to an environment row; make sure it exists, and
	// that the caller and the store agree on what kind it is.
	// Read first: ensuring is a write, which waits for the control
	// store's writer.
	stored, err := s.cfg.Control.Environment(ctx, env.Name)
	if ion.ErrorCode(err) == ion.ENOTFOUND {
		stored, err = s.cfg.Control.EnsureEnvironment(ctx, env)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: ensuring %s: %w", envLabel(env), err)
	}
	if stored.Kind != env.Kind {
		return nil, fmt.Errorf("auth: environment %q is stored with Kind %q, not %q", env.Name, stored.Kind, env.Kind)
	}
	iss := newIssuer(s, stored, base)
	if err := iss.reloadKeys(ctx, true); err != nil {
		return nil, fmt.Errorf("auth: loading signing keys of %s: %w", envLabel(env), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if other, ok := s.byIssuer[iss.issuerURL]; ok {
		return nil, fmt.Errorf("auth: issuer URL %q is already used by %s", iss.issuerURL, envLabel(other.env))
	}
	s.byEnv[env.Name] = iss
	s.byIssuer[iss.issuerURL] = iss
	return iss, nil
}

// registered returns the issuer already registered for env, if any.
func (s *Service) registered(env ion.Environment, base string) (*Issuer, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	iss, ok := s.byEnv[env.Name]
	if !ok {
		return nil, false, nil
	}
	if iss.env.Kind != env.Kind {
		return nil, false, fmt.Errorf("auth: environment %q is registered with Kind %q, not %q", env.Name, iss.env.Kind, env.Kind)
	}
	if iss.baseURL != base {
		return nil, false, fmt.Errorf(msgIssuerBaseURLChanged, envLabel(env), iss.baseURL, base)
	}
	return iss, true, nil
}

// Lookup returns the registered issuer of the named environment without
// creating one.
func (s *Service) Lookup(envName string) (*Issuer, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	iss, ok := s.byEnv[envName]
	return iss, ok
}

// Forget drops the issuer of the named environment (when a sandbox is
// deleted). Signing keys stay in the store: while the environment itself is
// still in the store, other issuers keep telling its tokens apart as another
// environment's (ENVIRONMENT_MISMATCH); once it is gone, they are
// INVALID_TOKEN everywhere.
func (s *Service) Forget(envName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if iss, ok := s.byEnv[envName]; ok {
		delete(s.byIssuer, iss.issuerURL)
		delete(s.byEnv, envName)
	}
}

// issuerByURL returns the registered issuer whose issuer URL is u.
func (s *Service) issuerByURL(u string) (*Issuer, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	iss, ok := s.byIssuer[u]
	return iss, ok
}

// environment returns the named environment: from the registry, else from
// the control store.
func (s *Service) environment(ctx context.Context, name string) (ion.Environment, error) {
	if iss, ok := s.Lookup(name); ok {
		return iss.env, nil
	}
	return s.cfg.Control.Environment(ctx, name)
}

// labelOf names the environment name for a message (see envLabel), also
// when it can no longer be looked up.
func (s *Service) labelOf(ctx context.Context, name string) string {
	if e, err := s.environment(ctx, name); err == nil {
		return envLabel(e)
	}
	if name == ion.ProductionEnvironment {
		return envLabel(ion.Environment{Name: name, Kind: ion.EnvProduction})
	}
	return envLabel(ion.Environment{Name: name, Kind: ion.EnvSandbox})
}

// normalizeBaseURL checks that u is an absolute http(s) URL without query
// or fragment and drops a trailing slash.
func normalizeBaseURL(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	if (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.RawQuery != "" || p.Fragment != "" || p.User != nil {
		return "", fmt.Errorf("not an absolute http(s) URL")
	}
	return strings.TrimRight(u, "/"), nil
}
