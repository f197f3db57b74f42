package httpapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ionbox/ionbox/internal/limit"
	"github.com/ionbox/ionbox/ion"
)

// Issuer is one environment's OAuth authorization server, as internal/auth
// provides it.
type Issuer interface {
	// Handler serves the token endpoint, discovery and JWKS at paths
	// relative to the environment's base URL.
	Handler() http.Handler
	// Authenticate checks the request's access token and returns who it
	// acts as, or an *ion.Error (UNAUTHENTICATED, TOKEN_EXPIRED,
	// INVALID_TOKEN, ENVIRONMENT_MISMATCH).
	Authenticate(r *http.Request) (ion.Actor, error)
}

// Environment is what the router needs to serve one environment.
type Environment struct {
	Env     ion.Environment
	BaseURL string // absolute, without trailing slash
	Issuer  Issuer
	Sandbox *ion.Sandbox // nil for production
	// Tier is a sandbox's organization's tier, which decides its feature
	// flags with Sandbox.Features ("" in production, where the caller's
	// organization decides).
	Tier string
}

// IssuerURL is the environment's OAuth issuer, shaped like a Keycloak realm.
func (e Environment) IssuerURL() string { return e.BaseURL + "/realms/api-keys" }

// TokenURL is the environment's token endpoint.
func (e Environment) TokenURL() string { return e.IssuerURL() + "/protocol/openid-connect/token" }

// SandboxResolver finds the sandbox a request names.
type SandboxResolver interface {
	// ResolveSandbox returns the serving environment of the named sandbox
	// and its record, or an *ion.Error with code SANDBOX_NOT_FOUND.
	ResolveSandbox(ctx context.Context, name string) (Environment, ion.Sandbox, error)
	// SandboxBaseURL is the canonical base URL of the named sandbox.
	SandboxBaseURL(name string) string
	// ForgetSandbox drops whatever is cached about a deleted sandbox.
	ForgetSandbox(name string)
}

// Config configures the HTTP surface. Every field is required unless its
// comment gives a default.
type Config struct {
	// PublicURL is the production base URL, e.g. "http://127.0.0.1:8080".
	PublicURL string
	// Production is the production environment.
	Production Environment
	// Control holds organizations, users and API keys for the admin API.
	Control ion.ControlStore
	// APIKeys makes API keys for the admin API.
	APIKeys ion.APIKeyService
	// Sandboxes resolves sandbox names; nil serves production only.
	Sandboxes SandboxResolver
	// SandboxAdmin provisions and deletes sandboxes for the admin API; nil
	// leaves the sandbox endpoints out.
	SandboxAdmin SandboxAdmin
	// Stores opens sandboxes' tenant stores for their webhook log (GET
	// /admin/v1/sandboxes/{name}/webhook-events); nil leaves it out.
	Stores ion.Stores
	// SandboxDomain, when set, serves sandbox NAME at host NAME.<domain>
	// as well as at /sandboxes/NAME.
	SandboxDomain string
	// GraphQL serves /graphql for any environment; it finds the actor in
	// the request context.
	GraphQL http.Handler
	// SchemaSDL is served at {base}/schema.graphql.
	SchemaSDL string
	// AdminToken guards /admin/v1.
	AdminToken string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Ready reports whether the stores are open; default: always ready.
	Ready func(context.Context) error
	// MaxAdminBodyBytes bounds admin request bodies; default 1 MiB.
	MaxAdminBodyBytes int64
	// Limiter applies rate limits to /graphql and the token endpoints;
	// default: in-process buckets with limit's default policies.
	Limiter *limit.Limiter
	// Gate sheds sandbox requests under overload; default: a gate over
	// the Limiter's configuration.
	Gate *limit.Gate
	// WebhookStream serves GET {base}/webhooks/stream (a sandbox's webhook
	// sink as Server-Sent Events) for an authenticated actor; nil leaves
	// the path out.
	WebhookStream http.Handler
}

func (c *Config) validate() error {
	switch {
	case c.PublicURL == "":
		return errors.New("httpapi: Config.PublicURL is required")
	case c.Production.Issuer == nil:
		return errors.New("httpapi: Config.Production.Issuer is required")
	case c.Control == nil:
		return errors.New("httpapi: Config.Control is required")
	case c.APIKeys == nil:
		return errors.New("httpapi: Config.APIKeys is required")
	case c.GraphQL == nil:
		return errors.New("httpapi: Config.GraphQL is required")
	case len(c.AdminToken) < 16:
		return errors.New("httpapi: Config.AdminToken must be at least 16 characters")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Ready == nil {
		c.Ready = func(context.Context) error { return nil }
	}
	if c.MaxAdminBodyBytes == 0 {
		c.MaxAdminBodyBytes = 1 << 20
	}
	if c.Limiter == nil {
		l, err := limit.New(limit.Config{}, limit.Options{Logger: c.Logger})
		if err != nil {
			return fmt.Errorf("httpapi: rate limiter: %w", err)
		}
		c.Limiter = l
	}
	if c.Gate == nil {
		g, err := limit.NewGate(c.Limiter.Config())
		if err != nil {
			return fmt.Errorf("httpapi: gate: %w", err)
		}
		c.Gate = g
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return nil
}

// Server is the root http.Handler of ionbox.
type Server struct {
	cfg   Config
	log   *slog.Logger
	mux   *http.ServeMux
	admin *http.ServeMux
	m     *metrics
	// production serves production's base URL; envMux serves any
	// environment's routes for the environment in the request context.
	production *productionEnv
	envMux     http.Handler
	// refused remembers tokens the rate limit refused (see limits.go).
	refused *refusedTokens
	// tarpitSlots bounds the refused sandbox requests held at once (see refuse).
	tarpitSlots chan struct{}
}

// New returns the root handler.
func New(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), admin: http.NewServeMux(), m: newMetrics(), refused: newRefusedTokens(),
		tarpitSlots: make(chan struct{}, max(1, cfg.Limiter.Config().TarpitSlots))}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", s.m.handler())
	s.mux.Handle("/admin/", s.m.instrument("control", "admin", s.requireAdmin(s.admin)))
	s.routeAdmin()
	if cfg.SandboxAdmin != nil && cfg.Sandboxes != nil {
		s.routeSandboxAdmin()
	}
	s.mux.HandleFunc("/sandboxes/{name}/", s.sandboxByPath)
	s.mux.HandleFunc("/sandboxes/{name}", s.sandboxByPath)
	s.routePolicyAdmin()
	s.production = &productionEnv{control: cfg.Control, env: cfg.Production}
	s.mux.Handle("/", s.environment(s.production))
	s.envMux = s.environmentRoutes()
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if name, ok := s.sandboxHost(r.Host); ok {
		s.serveSandbox(w, r, name, "")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// sandboxHost reports whether host (with or without port) is
// NAME.<sandbox-domain>, and returns NAME.
func (s *Server) sandboxHost(host string) (string, bool) {
	if s.cfg.SandboxDomain == "" {
		return "", false
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	name, ok := strings.CutSuffix(strings.ToLower(host), "."+s.cfg.SandboxDomain)
	if !ok || name == "" {
		return "", false
	}
	return name, true
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Ready(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) sandboxByPath(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.serveSandbox(w, r, name, "/sandboxes/"+name)
}

// serveSandbox serves a request under sandbox name's base URL; prefix is the
// path the base URL adds ("" for host-based URLs).
func (s *Server) serveSandbox(w http.ResponseWriter, r *http.Request, name, prefix string) {
	// Answers before the sandbox is known (404, 410, 503) still carry the
	// headers every response has.
	s.setDefaultLimitHeaders(w.Header(), ion.Environment{Kind: ion.EnvSandbox})
	w.Header().Set(featuresHeader, "")
	if s.cfg.Sandboxes == nil {
		writeGraphQLError(w, s.log, s.unknownSandbox(name))
		return
	}
	env, sb, err := s.cfg.Sandboxes.ResolveSandbox(r.Context(), name)
	if err != nil {
		if ion.ErrorCode(err) == ion.ENOTFOUND {
			err = s.unknownSandbox(name)
		}
		writeGraphQLError(w, s.log, err)
		return
	}
	switch sb.State {
	case ion.SandboxExpired:
		writeGraphQLError(w, s.log, ion.Errorf(ion.ESANDBOXEXPIRED,
			"Sandbox %q has expired and its data was deleted. Request a new sandbox.", name))
		return
	case ion.SandboxResetting:
		w.Header().Set("Retry-After", "1")
		writeGraphQLError(w, s.log, ion.Errorf(ion.ESANDBOXBUSY,
			"Sandbox %q is being reset. Retry in a moment.", name))
		return
	case ion.SandboxProvisioning:
		w.Header().Set("Retry-After", "1")
		writeGraphQLError(w, s.log, ion.Errorf(ion.ESANDBOXBUSY,
			"Sandbox %q is still being provisioned. Retry in a moment.", name))
		return
	}
	if prefix != "" {
		rest := strings.TrimPrefix(r.URL.Path, prefix)
		if rest == "" {
			rest = "/"
		}
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path, u.RawPath = rest, ""
		r2.URL = &u
		r = r2
	}
	env.Sandbox = &sb
	s.envMux.ServeHTTP(w, r.WithContext(withEnvironment(r.Context(), env)))
}

func (s *Server) unknownSandbox(name string) error {
	return ion.Errorf(ion.ESANDBOXNOTFOUND,
		"Sandbox %q does not exist. List sandboxes with GET %s/admin/v1/sandboxes, or check the base URL.", name, s.cfg.PublicURL)
}

type envKey struct{}

func withEnvironment(ctx context.Context, env Environment) context.Context {
	return context.WithValue(ctx, envKey{}, env)
}

func environmentFrom(ctx context.Context) Environment {
	env, _ := ctx.Value(envKey{}).(Environment)
	return env
}

// environment serves production's routes.
func (s *Server) environment(prod *productionEnv) http.Handler {
	routes := s.environmentRoutes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		routes.ServeHTTP(w, r.WithContext(withEnvironment(r.Context(), prod.current(r.Context()))))
	})
}

// environmentRoutes serves everything under an environment's base URL, for
// the environment in the request context; paths are relative to the base.
func (s *Server) environmentRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/graphql", func(w http.ResponseWriter, r *http.Request) {
		env := environmentFrom(r.Context())
		s.m.instrument(env.Env.Kind, "graphql", s.shedding(env, s.authenticated(env, s.rateLimited(env, s.productionFirst(env, s.cfg.GraphQL))))).ServeHTTP(w, r)
	})
	if s.cfg.WebhookStream != nil {
		// Authenticated like /graphql; not rate limited per request,
		// because one request is one long-lived stream.
		mux.HandleFunc("GET /webhooks/stream", func(w http.ResponseWriter, r *http.Request) {
			env := environmentFrom(r.Context())
			s.m.instrument(env.Env.Kind, "webhooks", s.authenticated(env, s.cfg.WebhookStream)).ServeHTTP(w, r)
		})
	}
	mux.HandleFunc("GET /schema.graphql", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(s.cfg.SchemaSDL))
	})
	mux.HandleFunc("GET /.well-known/ion-environment", func(w http.ResponseWriter, r *http.Request) {
		env := environmentFrom(r.Context())
		writeJSON(w, http.StatusOK, describeEnvironment(env, s.cfg.Limiter.Effective(env.Env)))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		env := environmentFrom(r.Context())
		s.m.instrument(env.Env.Kind, "auth", s.tokenLimited(env, env.Issuer.Handler())).ServeHTTP(w, r)
	})
	return s.withPolicies(mux)
}

// describeEnvironment is the body of /.well-known/ion-environment.
func describeEnvironment(env Environment, rateLimit limit.Effective) map[string]any {
	webhookMode := env.Env.WebhookMode
	if webhookMode == "" {
		webhookMode = ion.DefaultWebhookMode(env.Env.Kind)
	}
	state := env.Env.State
	if state == "" {
		state = ion.SandboxActive
	}
	features := environmentFeatures(env).On
	var expiresAt any
	if env.Sandbox != nil {
		state = env.Sandbox.State
		if env.Sandbox.ExpiresAt != nil {
			expiresAt = env.Sandbox.ExpiresAt.UTC().Format(time.RFC3339)
		}
	}
	return map[string]any{
		"kind":        env.Env.Kind,
		"name":        env.Env.Name,
		"baseUrl":     env.BaseURL,
		"graphqlUrl":  env.BaseURL + "/graphql",
		"tokenUrl":    env.TokenURL(),
		"issuer":      env.IssuerURL(),
		"state":       state,
		"features":    features,
		"rateLimit":   rateLimit,
		"webhookMode": webhookMode,
		"expiresAt":   expiresAt,
	}
}

// authenticated puts the request's actor in its context, or answers 401
// before the GraphQL layer sees the request.
func (s *Server) authenticated(env Environment, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, err := env.Issuer.Authenticate(r)
		if err != nil {
			writeGraphQLError(w, s.log, err)
			return
		}
		if actor.Environment != env.Env.Name {
			// The issuer must never accept another environment's token;
			// this is a second line of defence.
			writeGraphQLError(w, s.log, fmt.Errorf("issuer of %q returned actor of %q", env.Env.Name, actor.Environment))
			return
		}
		fs := actorFeatures(env, actor)
		setFeaturesHeader(w.Header(), fs)
		ctx := ion.WithFeatures(ion.WithActor(r.Context(), actor), fs)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.AdminToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ionbox-admin"`)
			writeProblem(w, s.log, ion.Errorf(ion.EUNAUTHENTICATED,
				"The admin API needs \"Authorization: Bearer <admin token>\". The token is in the admin-token file of the server's data directory, or set with --admin-token."))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxAdminBodyBytes)
		next.ServeHTTP(w, r)
	})
}
