package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ionbox/ionbox/internal/auth"
	"github.com/ionbox/ionbox/internal/graphql"
	"github.com/ionbox/ionbox/internal/httpapi"
	"github.com/ionbox/ionbox/internal/limit"
	"github.com/ionbox/ionbox/internal/postgres"
	"github.com/ionbox/ionbox/internal/sandbox"
	"github.com/ionbox/ionbox/internal/scrub"
	"github.com/ionbox/ionbox/internal/sqlite"
	"github.com/ionbox/ionbox/internal/tlsca"
	"github.com/ionbox/ionbox/ion"
)

// Config is what `ionbox serve` takes. The zero value serves on
// 127.0.0.1:8080 with data in ./ionbox-data.
type Config struct {
	// Addr is the listen address; default "127.0.0.1:8080". Port 0 picks a
	// free port (the URL is logged and returned by Start).
	Addr string
	// DataDir holds the SQLite files, the admin token and the hash key;
	// default "./ionbox-data".
	DataDir string
	// Store is "sqlite" (default: files in DataDir) or a postgres:// URL
	// that several replicas can share.
	Store string
	// StoreSchema prefixes the PostgreSQL schemas (default "ion_"), so that
	// several ionbox deployments or tests can share one database.
	StoreSchema string
	// HashKey is the hex secret that keys the hashes of client secrets
	// (at least 32 bytes); default: generated once into <DataDir>/hash.key.
	// Replicas sharing a PostgreSQL store must share it too.
	HashKey string
	// PublicURL is the production base URL clients use; default
	// "http://<listen address>".
	PublicURL string
	// SandboxDomain, when set, also serves sandbox NAME at NAME.<domain>
	// (by Host header); default none (path-based sandbox URLs only).
	SandboxDomain string
	// TLSCert and TLSKey, both set, serve HTTPS with that certificate.
	TLSCert, TLSKey string
	// TLSSelfSigned serves HTTPS with a certificate for the public host and
	// *.<SandboxDomain> from a local CA kept in <DataDir>/tls (made once);
	// its CA file's path is logged and returned in Running.CAFile.
	TLSSelfSigned bool
	// AdminToken guards the admin API; default: generated once and saved to
	// <DataDir>/admin-token with mode 0600.
	AdminToken string
	// Redis, a redis://host:port/db URL, keeps rate-limit buckets in Redis
	// so that replicas share each credential's budget; default none
	// (in-process buckets). If Redis cannot be reached, requests are let
	// through (fail open) with a warning in the log.
	Redis string
	// Limits are the rate-limit policies and the load-shedding capacity;
	// every zero field takes the default documented in internal/limit
	// (production 50/s burst 100 per credential, sandboxes 100/s burst 200
	// per credential and 300/s shared, token endpoint 10/s burst 20,
	// GraphQL cost budgets per credential of 5,000 points/s (at most
	// 50,000) in production and 10,000/s (at most 100,000) in sandboxes,
	// capacity 32×GOMAXPROCS in-flight requests). Each environment's
	// RateLimitPolicy, set through the admin API, overrides its kind's
	// per-credential limits.
	Limits limit.Config
	// Logger defaults to a text logger on stderr.
	Logger *slog.Logger
	// Now is the clock of sandbox dormancy and expiry, and of
	// Idempotency-Key records' 24 h expiry (tests move it); default time.Now.
	Now func() time.Time
	// ScrubPolicy is a scrub policy file for snapshot sandboxes; default
	// the embedded internal/scrub/policy.v1.yaml.
	ScrubPolicy string
	// SweepEvery is how often the server makes idle sandboxes dormant and
	// expires them; default 1 minute. Replicas may all sweep: each
	// transition is made once.
	SweepEvery time.Duration

	// afterIdempotentRun is graphql.Config.AfterIdempotentRun (tests lose
	// an answer after its commit there, as a crash would).
	afterIdempotentRun func()
	// AllowPrivateWebhooks lets webhook receivers on loopback and private
	// addresses through (--allow-private-webhooks); default off: only
	// public addresses, checked at connect time. Link-local and cloud
	// metadata addresses are refused either way.
	AllowPrivateWebhooks bool
	// WebhookPollEvery is how often the dispatcher checks every tenant with
	// live receivers for due deliveries (commits on this replica wake it at
	// once); default 500 ms.
	WebhookPollEvery time.Duration
	// WebhookFinishBatch caps the delivery attempts of one tenant recorded
	// in one transaction; default 64 (webhook.Config.FinishBatch). 1
	// records each attempt in its own transaction (benchmarks compare).
	WebhookFinishBatch int
}

func (c *Config) setDefaults() error {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = "./ionbox-data"
	}
	if c.Store == "" {
		c.Store = "sqlite"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if c.Store != "sqlite" && !isPostgresURL(c.Store) {
		return fmt.Errorf("--store %q: use \"sqlite\" (the embedded default) or a postgres://user@host:port/db URL", redactURL(c.Store))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together: give both, or neither")
	}
	if c.TLSCert != "" && c.TLSSelfSigned {
		return fmt.Errorf("--tls-self-signed and --tls-cert/--tls-key are alternatives: give one")
	}
	if c.Redis != "" && !strings.HasPrefix(c.Redis, "redis://") && !strings.HasPrefix(c.Redis, "rediss://") {
		return fmt.Errorf("--redis %q: use a redis://host:port/db URL", redactURL(c.Redis))
	}
	if _, err := c.Limits.WithDefaults(); err != nil {
		return err
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		return fmt.Errorf("--public-url %q: must start with http:// or https://", c.PublicURL)
	}
	return nil
}

// Running is a started server.
type Running struct {
	// URL is the production base URL.
	URL string
	// Addr is the address the server listens on (with the port chosen for
	// port 0).
	Addr string
	// AdminTokenFile is where the admin token is kept ("" when it was given).
	AdminTokenFile string
	// AdminToken is the admin API's bearer token.
	AdminToken string
	// CAFile is the local CA clients must trust, with TLSSelfSigned.
	CAFile string

	done      chan error
	cancel    context.CancelFunc
	lifecycle *sandboxLifecycle
}

// Wait blocks until the server has stopped and returns why.
func (r *Running) Wait() error { return <-r.done }

// Stop shuts the server down gracefully and waits for it.
func (r *Running) Stop() error {
	r.cancel()
	return r.Wait()
}

// Run serves until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	r, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	return r.Wait()
}

// Start opens everything, starts serving in the background and returns once
// the server accepts connections.
func Start(ctx context.Context, cfg Config) (*Running, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", cfg.DataDir, err)
	}
	adminToken, tokenFile := cfg.AdminToken, ""
	if adminToken == "" {
		tokenFile = filepath.Join(cfg.DataDir, "admin-token")
		t, err := readOrCreateSecret(tokenFile, 32)
		if err != nil {
			return nil, fmt.Errorf("admin token: %w", err)
		}
		adminToken = t
	}
	hashKey := cfg.HashKey
	if hashKey != "" {
		if b, err := hex.DecodeString(hashKey); err != nil || len(b) < 32 {
			return nil, fmt.Errorf("--hash-key must be at least 64 hexadecimal characters (32 bytes)")
		}
	} else {
		var err error
		if hashKey, err = readOrCreateSecret(filepath.Join(cfg.DataDir, "hash.key"), 32); err != nil {
			return nil, fmt.Errorf("hash key: %w", err)
		}
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (choose another address with --addr)", cfg.Addr, err)
	}
	useTLS := cfg.TLSCert != "" || cfg.TLSSelfSigned
	publicURL := strings.TrimRight(cfg.PublicURL, "/")
	if publicURL == "" {
		scheme := "http://"
		if useTLS {
			scheme = "https://"
		}
		publicURL = scheme + ln.Addr().String()
	}
	sandboxDomain := strings.ToLower(strings.Trim(cfg.SandboxDomain, "."))
	var caFile string
	if useTLS {
		tlsCfg, ca, err := serverTLS(cfg, publicURL, sandboxDomain)
		if err != nil {
			ln.Close()
			return nil, err
		}
		caFile = ca
		ln = tls.NewListener(ln, tlsCfg)
	}

	stores, err := openStores(ctx, cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	limiter, gate, closeLimits, err := newLimits(cfg)
	if err != nil {
		ln.Close()
		stores.Close()
		return nil, err
	}
	lifecycle := newSandboxLifecycle(cfg.Now, cfg.SweepEvery, log)
	scrubPolicy := scrub.DefaultPolicy()
	if cfg.ScrubPolicy != "" {
		if scrubPolicy, err = scrub.LoadPolicy(cfg.ScrubPolicy); err != nil {
			ln.Close()
			stores.Close()
			closeLimits()
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	hooks, err := newWebhookDelivery(cfg, stores, ctx.Done())
	if err != nil {
		cancel()
		ln.Close()
		stores.Close()
		closeLimits()
		return nil, err
	}
	h, err := assemble(ctx, stores, []byte(hashKey), publicURL, sandboxDomain, adminToken, log, limiter, gate, lifecycle, scrubPolicy, cfg.afterIdempotentRun, hooks)
	if err != nil {
		cancel()
		ln.Close()
		stores.Close()
		closeLimits()
		return nil, err
	}
	if !isPostgresURL(cfg.Store) {
		// This process is the only one on its SQLite files: a sandbox
		// still provisioning was being made by one that died.
		if n, err := lifecycle.svc.RemoveInterrupted(ctx, time.Now()); err != nil {
			log.Warn("removing sandboxes whose provisioning was interrupted", "err", err)
		} else if n > 0 {
			log.Info("removed sandboxes whose provisioning was interrupted; their requests are pending again", "count", n)
		}
	}
	// An expiry a crash interrupted left data and keys behind an expired
	// sandbox (it answers 410 meanwhile): finish it. Idempotent, so safe
	// while other replicas run.
	if n, err := lifecycle.svc.FinishExpiries(ctx); err != nil {
		log.Warn("finishing interrupted sandbox expiries", "err", err)
	} else if n > 0 {
		log.Info("finished sandbox expiries a crash interrupted", "count", n)
	}

	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	r := &Running{URL: publicURL, Addr: ln.Addr().String(), AdminTokenFile: tokenFile, AdminToken: adminToken, CAFile: caFile, done: make(chan error, 1), cancel: cancel,
		lifecycle: lifecycle}
	lifecycle.start(ctx)
	hooks.start(ctx)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	go func() {
		var err error
		select {
		case err = <-serveErr:
		case <-ctx.Done():
			shutdownCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
			err = srv.Shutdown(shutdownCtx)
			stop()
			<-serveErr
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		lifecycle.wait()
		hooks.wait()
		if cerr := stores.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
		closeLimits()
		r.done <- err
	}()

	tokenHint := "the --admin-token you gave"
	if tokenFile != "" {
		tokenHint = tokenFile
	}
	if caFile != "" {
		log.Info("HTTPS with a local CA: clients must trust it (SSL_CERT_FILE, REQUESTS_CA_BUNDLE)", "ca_file", caFile)
	}
	log.Info("ionbox serving",
		"production", publicURL,
		"listen", ln.Addr().String(),
		"graphql", publicURL+"/graphql",
		"admin_token_file", tokenHint,
		"data", cfg.DataDir)
	log.Info("first credential: ionbox org create --name Acme --domain acme.example; ionbox user create --org <id> --name Ada --email ada@acme.example; ionbox apikey create --org <id> --user <id> (see README)")
	return r, nil
}

// assemble builds the root handler over opened stores.
func assemble(ctx context.Context, stores ion.Stores, hashKey []byte, publicURL, sandboxDomain, adminToken string, log *slog.Logger, limiter *limit.Limiter, gate *limit.Gate, lifecycle *sandboxLifecycle, scrubPolicy *scrub.Policy, afterIdempotentRun func(), hooks *webhookDelivery) (http.Handler, error) {
	prod, err := stores.Control().EnsureEnvironment(ctx, ion.Environment{
		Name: ion.ProductionEnvironment, Kind: ion.EnvProduction, State: "active",
	})
	if err != nil {
		return nil, fmt.Errorf("production environment: %w", err)
	}
	authSvc, err := auth.New(auth.Config{Control: stores.Control(), HashKey: hashKey})
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	issuer, err := authSvc.Issuer(ctx, prod, publicURL)
	if err != nil {
		return nil, fmt.Errorf("production issuer: %w", err)
	}
	sandboxes, err := sandbox.New(sandbox.Config{Control: stores.Control(), Stores: stores, APIKeys: authSvc, Now: lifecycle.now, ScrubPolicy: scrubPolicy,
		OnLogError:    func(err error) { log.Warn("sandbox lifecycle log", "err", err) },
		OnProvisioned: lifecycle.provisioned})
	if err != nil {
		return nil, fmt.Errorf("sandboxes: %w", err)
	}
	lifecycle.svc, lifecycle.control = sandboxes, stores.Control()
	router, err := newSandboxRouter(stores.Control(), authSvc, publicURL, sandboxDomain)
	if err != nil {
		return nil, err
	}
	lifecycle.cached = router.cached
	lifecycle.warmUp = func(ctx context.Context, sb ion.Sandbox) {
		// Errors are left to the requests that need these.
		if _, _, err := router.ResolveSandbox(ctx, sb.Name); err == nil && sb.OrganizationID != 0 {
			_, _ = stores.Tenant(ctx, ion.TenantIDFor(sb.Name, sb.OrganizationID))
		}
	}
	// Idempotency-Key records expire on the lifecycle's clock, which tests move.
	gql, err := graphql.NewHandler(graphql.Config{Stores: stores, APIKeys: authSvc, Logger: log, Now: lifecycle.now,
		AfterIdempotentRun: afterIdempotentRun,
		Sandboxes:          graphqlSandboxes{svc: sandboxes, router: router, lifecycle: lifecycle}})
	if err != nil {
		return nil, fmt.Errorf("graphql: %w", err)
	}
	return httpapi.New(httpapi.Config{
		PublicURL:     publicURL,
		Production:    httpapi.Environment{Env: prod, BaseURL: publicURL, Issuer: issuer},
		Sandboxes:     router,
		SandboxAdmin:  sandboxes,
		SandboxDomain: sandboxDomain,
		Control:       stores.Control(),
		Stores:        stores,
		APIKeys:       authSvc,
		GraphQL:       lifecycle.renewing(gql),
		SchemaSDL:     graphql.SchemaSDL(),
		AdminToken:    adminToken,
		Logger:        log,
		Limiter:       limiter,
		Gate:          gate,
		WebhookStream: hooks.stream,
	})
}

// newLimits builds the rate limiter (over Redis with --redis, else in
// process) and the load-shedding gate; the returned func closes them.
func newLimits(cfg Config) (*limit.Limiter, *limit.Gate, func(), error) {
	opts := limit.Options{Logger: cfg.Logger}
	closeLimits := func() {}
	if cfg.Redis != "" {
		rb, err := limit.NewRedis(cfg.Redis, limit.RedisOptions{})
		if err != nil {
			return nil, nil, nil, err
		}
		opts.Backend = rb
		closeLimits = func() { _ = rb.Close() }
		cfg.Logger.Info("rate limits shared through Redis", "redis", redactURL(cfg.Redis))
	}
	limiter, err := limit.New(cfg.Limits, opts)
	if err != nil {
		closeLimits()
		return nil, nil, nil, err
	}
	gate, err := limit.NewGate(limiter.Config())
	if err != nil {
		closeLimits()
		return nil, nil, nil, err
	}
	return limiter, gate, closeLimits, nil
}

// openStores opens the configured store.
func openStores(ctx context.Context, cfg Config) (ion.Stores, error) {
	if isPostgresURL(cfg.Store) {
		st, err := postgres.Open(ctx, cfg.Store, postgres.Options{Schema: cfg.StoreSchema})
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL store %s: %w", redactURL(cfg.Store), err)
		}
		return st, nil
	}
	// An open tenant holds about five file descriptors (a writer and a
	// reader connection, each with its database, WAL and shared-memory
	// files); 64 keeps ten thousand sandboxes' worth of touched tenants
	// well under a 500-descriptor budget, while the least recently used
	// ones reopen in about a millisecond.
	st, err := sqlite.Open(ctx, cfg.DataDir, sqlite.Options{MaxOpenTenants: 64})
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", cfg.DataDir, err)
	}
	return st, nil
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// serverTLS builds the HTTPS configuration from --tls-cert/--tls-key or from
// the local CA, and returns the CA file's path in the second case.
func serverTLS(cfg Config, publicURL, sandboxDomain string) (*tls.Config, string, error) {
	if cfg.TLSCert != "" {
		c, err := tlsca.FromFiles(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, "", fmt.Errorf("TLS: %w", err)
		}
		return c, "", nil
	}
	hosts, err := tlsca.HostsFor(publicURL, sandboxDomain)
	if err != nil {
		return nil, "", fmt.Errorf("TLS hosts: %w", err)
	}
	cert, caFile, err := tlsca.SelfSigned(filepath.Join(cfg.DataDir, "tls"), hosts, time.Now())
	if err != nil {
		return nil, "", fmt.Errorf("TLS: %w", err)
	}
	return tlsca.ServerConfig(cert), caFile, nil
}

// readOrCreateSecret returns the secret kept in path, creating it (n random
// bytes, hex) with mode 0600 on first use.
func readOrCreateSecret(path string, n int) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if len(s) < 2*n {
			return "", fmt.Errorf("%s holds %d characters, want at least %d; delete it to generate a new one", path, len(s), 2*n)
		}
		return s, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	s := hex.EncodeToString(buf)
	// O_EXCL so that two processes starting at once never overwrite each
	// other's secret.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return readOrCreateSecret(path, n)
		}
		return "", fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("sync %s: %w", path, err)
	}
	return s, f.Close()
}

// redactURL hides a password in a store URL before it is logged.
func redactURL(s string) string {
	if i := strings.Index(s, "@"); i > 0 {
		if j := strings.Index(s, "://"); j > 0 && j < i {
			return s[:j+3] + "…" + s[i:]
		}
	}
	return s
}
