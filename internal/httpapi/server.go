package httpapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

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
}

// IssuerURL is the environment's OAuth issuer, shaped like a Keycloak realm.
func (e Environment) IssuerURL() string { return e.BaseURL + "/realms/api-keys" }

// TokenURL is the environment's token endpoint.
func (e Environment) TokenURL() string { return e.IssuerURL() + "/protocol/openid-connect/token" }

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
}

// New returns the root handler.
func New(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), admin: http.NewServeMux(), m: newMetrics()}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", s.m.handler())
	s.mux.Handle("/admin/", s.m.instrument("control", "admin", s.requireAdmin(s.admin)))
	s.routeAdmin()
	s.mux.HandleFunc("/sandboxes/{name}/", s.sandbox)
	s.mux.HandleFunc("/sandboxes/{name}", s.sandbox)
	s.mux.Handle("/", s.environment(cfg.Production, ""))
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Ready(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// sandbox answers every sandbox URL. Sandboxes are not provisioned yet, so
// every name is unknown.
func (s *Server) sandbox(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	writeGraphQLError(w, s.log, ion.Errorf(ion.ESANDBOXNOTFOUND,
		"Sandbox %q does not exist. List sandboxes with GET %s/admin/v1/sandboxes, or check the base URL.", name, s.cfg.PublicURL))
}

// environment serves everything under one environment's base URL; prefix is
// the path the base URL adds to the host ("" for production).
func (s *Server) environment(env Environment, prefix string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/graphql", s.m.instrument(env.Env.Kind, "graphql", s.authenticated(env, s.cfg.GraphQL)))
	mux.HandleFunc("GET /schema.graphql", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(s.cfg.SchemaSDL))
	})
	mux.HandleFunc("GET /.well-known/ion-environment", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, describeEnvironment(env))
	})
	mux.Handle("/", s.m.instrument(env.Env.Kind, "auth", env.Issuer.Handler()))
	if prefix == "" {
		return mux
	}
	return http.StripPrefix(prefix, mux)
}

// describeEnvironment is the body of /.well-known/ion-environment.
func describeEnvironment(env Environment) map[string]any {
	webhookMode := "live"
	if env.Env.Kind == ion.EnvSandbox {
		webhookMode = "sink"
	}
	state := env.Env.State
	if state == "" {
		state = "active"
	}
	return map[string]any{
		"kind":        env.Env.Kind,
		"name":        env.Env.Name,
		"baseUrl":     env.BaseURL,
		"graphqlUrl":  env.BaseURL + "/graphql",
		"tokenUrl":    env.TokenURL(),
		"issuer":      env.IssuerURL(),
		"state":       state,
		"features":    []string{},
		"rateLimit":   map[string]any{},
		"webhookMode": webhookMode,
		"expiresAt":   nil,
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
		next.ServeHTTP(w, r.WithContext(ion.WithActor(r.Context(), actor)))
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
