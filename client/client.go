package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Secret prefixes by environment kind (ION-API.md §2).
const (
	SandboxSecretPrefix    = "ion_sbx_"
	ProductionSecretPrefix = "ion_prod_"
)

// Environment kinds reported by /.well-known/ion-environment.
const (
	KindProduction = "production"
	KindSandbox    = "sandbox"
)

// Config configures a Client. Exactly one credential is needed: ClientID +
// ClientSecret, or Token.
type Config struct {
	// BaseURL is the environment's base URL, e.g. http://127.0.0.1:8080 or
	// http://127.0.0.1:8080/sandboxes/acme-erp-dev. Required.
	BaseURL string
	// ClientID and ClientSecret are an API key (client credentials).
	ClientID, ClientSecret string
	// Token is a ready access token, used as is (no refresh).
	Token string
	// TokenURL defaults to <BaseURL>/realms/api-keys/protocol/openid-connect/token.
	TokenURL string
	// HTTPClient defaults to a client with a 60 s timeout.
	HTTPClient *http.Client
	// MaxRetries is how many times a retryable request is retried (default 4;
	// negative: never).
	MaxRetries int
	// BaseBackoff is the first backoff (default 250 ms), doubled per attempt
	// up to MaxBackoff (default 10 s), with full jitter.
	BaseBackoff, MaxBackoff time.Duration
	// RefreshBefore: a cached token is replaced this long before it expires
	// (default 60 s).
	RefreshBefore time.Duration
	// AllowProductionWrites lets destructive bulk operations run against an
	// environment of kind production (default false: refused).
	AllowProductionWrites bool
	// DisableIdempotencyKeys stops the SDK from setting Idempotency-Key on
	// mutations; mutations are then never retried (default false).
	DisableIdempotencyKeys bool
	// Clock drives backoff, ramp, breaker and token expiry (default: real time).
	Clock Clock
	// Ramp, when set, paces mutations.
	Ramp *Ramp
	// Breaker, when set, pauses mutations while recent writes fail too often.
	Breaker *Breaker
	// WriteGuards run before every mutation, after the production guard;
	// an error refuses the call before anything is sent.
	WriteGuards []func(ctx context.Context, op Operation) error
	// UserAgent is sent on every request (default "ionbox-go-client").
	UserAgent string
}

// Option changes a Config.
type Option func(*Config)

// WithHTTPClient sets the HTTP client.
func WithHTTPClient(h *http.Client) Option { return func(c *Config) { c.HTTPClient = h } }

// AllowProductionWrites opts in to destructive bulk operations against production.
func AllowProductionWrites() Option { return func(c *Config) { c.AllowProductionWrites = true } }

// WithClock sets the clock (tests).
func WithClock(clk Clock) Option { return func(c *Config) { c.Clock = clk } }

// WithRamp paces mutations.
func WithRamp(r *Ramp) Option { return func(c *Config) { c.Ramp = r } }

// WithBreaker pauses mutations when recent writes fail too often.
func WithBreaker(b *Breaker) Option { return func(c *Config) { c.Breaker = b } }

// WithRetries sets MaxRetries and the backoff bounds.
func WithRetries(max int, base, maxBackoff time.Duration) Option {
	return func(c *Config) { c.MaxRetries, c.BaseBackoff, c.MaxBackoff = max, base, maxBackoff }
}

// WithWriteGuard adds a hook that may refuse a mutation before it is sent.
func WithWriteGuard(g func(ctx context.Context, op Operation) error) Option {
	return func(c *Config) { c.WriteGuards = append(c.WriteGuards, g) }
}

// WithRefreshBefore sets how long before expiry a cached token is replaced.
func WithRefreshBefore(d time.Duration) Option { return func(c *Config) { c.RefreshBefore = d } }

func (c *Config) validate() error {
	if c.BaseURL == "" {
		return errors.New("client: Config.BaseURL is required (ION_BASE_URL)")
	}
	if !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		return fmt.Errorf("client: Config.BaseURL %q must start with http:// or https://", c.BaseURL)
	}
	if c.Token == "" && (c.ClientID == "" || c.ClientSecret == "") {
		if c.ClientID != "" {
			return errors.New("client: Config.ClientSecret is required with ClientID")
		}
		if c.ClientSecret != "" {
			return errors.New("client: Config.ClientID is required with ClientSecret")
		}
		return errors.New("client: a credential is required: ClientID and ClientSecret, or Token")
	}
	return nil
}

// Environment is the answer of GET {base}/.well-known/ion-environment.
type Environment struct {
	Kind        string         `json:"kind"`
	Name        string         `json:"name"`
	BaseURL     string         `json:"baseUrl"`
	GraphQLURL  string         `json:"graphqlUrl"`
	TokenURL    string         `json:"tokenUrl"`
	Issuer      string         `json:"issuer"`
	State       string         `json:"state"`
	Features    []string       `json:"features"`
	RateLimit   map[string]any `json:"rateLimit"`
	WebhookMode string         `json:"webhookMode"`
	ExpiresAt   *string        `json:"expiresAt"`
}

// Describe names the environment as ionbox's messages do: `environment
// "production"` or `sandbox "acme-erp-dev"`.
func (e *Environment) Describe() string {
	if e.Kind == KindSandbox {
		return fmt.Sprintf("sandbox %q", e.Name)
	}
	return fmt.Sprintf("environment %q", e.Name)
}

// Client talks to one ION environment. It is safe for concurrent use.
type Client struct {
	cfg  Config
	http *http.Client
	cc   *clientcredentials.Config

	mu       sync.Mutex
	env      *Environment
	token    *oauth2.Token
	tokenErr error
}

// New returns a Client for cfg with opts applied. It sends nothing: the
// environment is discovered, and the credential checked against it, on the
// first call.
func New(cfg Config, opts ...Option) (*Client, error) {
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.TokenURL == "" {
		cfg.TokenURL = cfg.BaseURL + "/realms/api-keys/protocol/openid-connect/token"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 4
	}
	if cfg.BaseBackoff == 0 {
		cfg.BaseBackoff = 250 * time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	if cfg.RefreshBefore == 0 {
		cfg.RefreshBefore = 60 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "ionbox-go-client"
	}
	if cfg.Ramp != nil && cfg.Ramp.clock == nil {
		cfg.Ramp.clock = cfg.Clock
	}
	if cfg.Breaker != nil && cfg.Breaker.cfg.Clock == nil {
		cfg.Breaker.cfg.Clock = cfg.Clock
	}
	c := &Client{cfg: cfg, http: cfg.HTTPClient}
	if cfg.Token == "" {
		c.cc = &clientcredentials.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: cfg.TokenURL,
			// ION's clients send the credentials in the form body.
			AuthStyle: oauth2.AuthStyleInParams,
		}
	}
	return c, nil
}

// BaseURL is the environment's base URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.cfg.BaseURL }

// Environment discovers (once) which environment the base URL is, and checks
// the credential's kind against it. Returns an *Error matching
// ErrEnvironmentMismatch when the credential belongs to another kind.
func (c *Client) Environment(ctx context.Context) (*Environment, error) {
	c.mu.Lock()
	env := c.env
	c.mu.Unlock()
	if env != nil {
		return env, nil
	}
	env, err := c.discover(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkCredentialKind(c.cfg, env); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.env = env
	c.mu.Unlock()
	return env, nil
}

// Discover reads GET {baseURL}/.well-known/ion-environment (no credential
// needed). h may be nil (http.DefaultClient).
func Discover(ctx context.Context, h *http.Client, baseURL string) (*Environment, error) {
	if h == nil {
		h = http.DefaultClient
	}
	c := &Client{cfg: Config{BaseURL: strings.TrimRight(baseURL, "/"), Clock: realClock{}, UserAgent: "ionbox-go-client", MaxRetries: 2, BaseBackoff: 250 * time.Millisecond, MaxBackoff: 2 * time.Second}, http: h}
	return c.discover(ctx)
}

func (c *Client) discover(ctx context.Context) (*Environment, error) {
	env := new(Environment)
	err := c.send(ctx, true, func() (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.BaseURL+"/.well-known/ion-environment", nil)
	}, func(status int, raw []byte) error {
		if status != http.StatusOK {
			return httpError(status, raw)
		}
		if err := json.Unmarshal(raw, env); err != nil || env.Kind == "" {
			return fmt.Errorf("client: %s/.well-known/ion-environment did not describe an ION environment (is it an ionbox base URL?)", c.cfg.BaseURL)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("discover environment at %s: %w", c.cfg.BaseURL, err)
	}
	return env, nil
}

// checkCredentialKind refuses a secret whose prefix names another kind, and
// a JWT whose issuer is another environment's.
func checkCredentialKind(cfg Config, env *Environment) error {
	secretKind := ""
	switch {
	case strings.HasPrefix(cfg.ClientSecret, SandboxSecretPrefix):
		secretKind = KindSandbox
	case strings.HasPrefix(cfg.ClientSecret, ProductionSecretPrefix):
		secretKind = KindProduction
	}
	if cfg.Token == "" && secretKind != "" && secretKind != env.Kind {
		fix := "Use production credentials."
		if env.Kind == KindSandbox {
			fix = "Use this sandbox's credentials."
		}
		return &Error{Code: "ENVIRONMENT_MISMATCH", Message: fmt.Sprintf(
			"This client secret is a %s secret (%s…); %s is %s. %s",
			secretKind, prefixFor(secretKind), cfg.BaseURL, env.Describe(), fix)}
	}
	if cfg.Token != "" && env.Issuer != "" {
		if iss := jwtIssuer(cfg.Token); iss != "" && iss != env.Issuer {
			return &Error{Code: "ENVIRONMENT_MISMATCH", Message: fmt.Sprintf(
				"This token was issued by %s; %s is %s. Use a token from this environment.", iss, cfg.BaseURL, env.Describe())}
		}
	}
	return nil
}

func prefixFor(kind string) string {
	if kind == KindSandbox {
		return SandboxSecretPrefix
	}
	return ProductionSecretPrefix
}

// jwtIssuer reads the iss claim of a JWT without verifying it (the server
// verifies; this only catches a token pasted into the wrong environment).
func jwtIssuer(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		Iss string `json:"iss"`
	}
	_ = json.Unmarshal(raw, &claims)
	return claims.Iss
}

// AccessToken returns a valid access token: the configured Token, or a cached
// client-credentials token, fetched again shortly before it expires.
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	if _, err := c.Environment(ctx); err != nil {
		return "", err
	}
	return c.accessToken(ctx)
}

func (c *Client) accessToken(ctx context.Context) (string, error) {
	if c.cc == nil {
		return c.cfg.Token, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Clock.Now()
	if c.token != nil && (c.token.Expiry.IsZero() || now.Add(c.cfg.RefreshBefore).Before(c.token.Expiry)) {
		return c.token.AccessToken, nil
	}
	tctx := context.WithValue(ctx, oauth2.HTTPClient, c.http)
	tok, err := c.cc.Token(tctx)
	if err != nil {
		return "", tokenError(err)
	}
	// oauth2 stamps Expiry with the real clock; re-stamp with ours so a fake
	// clock controls refresh.
	switch {
	case tok.ExpiresIn > 0:
		tok.Expiry = now.Add(time.Duration(tok.ExpiresIn) * time.Second)
	case !tok.Expiry.IsZero():
		tok.Expiry = now.Add(time.Until(tok.Expiry))
	}
	c.token = tok
	return tok.AccessToken, nil
}

// invalidateToken drops the cached token so the next call fetches a new one.
func (c *Client) invalidateToken() {
	c.mu.Lock()
	c.token = nil
	c.mu.Unlock()
}

// tokenError turns the token endpoint's refusal into an *Error.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code, msg := re.ErrorCode, re.ErrorDescription
		if msg == "" {
			msg = strings.TrimSpace(string(re.Body))
		}
		if strings.Contains(msg, "was issued by") {
			code = "ENVIRONMENT_MISMATCH"
		}
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return &Error{Code: code, Message: msg, Status: status}
	}
	return fmt.Errorf("client credentials exchange: %w", err)
}

// Operation describes a GraphQL call for write guards.
type Operation struct {
	// Query is the GraphQL document.
	Query string
	// Mutation is true when the document's operation is a mutation.
	Mutation bool
	// Fields are the top-level field names the document selects.
	Fields []string
	// Environment is where the call would go.
	Environment *Environment
}

// DestructiveBulkOperations are refused against production unless the
// client was built with AllowProductionWrites.
var DestructiveBulkOperations = []string{"adjustPartInventories", "cancelRuns"}

// productionGuard is the built-in write guard.
func (c *Client) productionGuard(op Operation) error {
	if c.cfg.AllowProductionWrites || op.Environment == nil || op.Environment.Kind != KindProduction {
		return nil
	}
	for _, f := range op.Fields {
		for _, d := range DestructiveBulkOperations {
			if f == d {
				return &Error{Code: "PRODUCTION_WRITE_REFUSED", Message: fmt.Sprintf(
					"%s is a destructive bulk operation and %s is production; build the client with client.AllowProductionWrites() to run it", f, c.cfg.BaseURL)}
			}
		}
	}
	return nil
}

var (
	commentRE  = regexp.MustCompile(`#[^\n]*`)
	stringRE   = regexp.MustCompile(`"""(?s:.*?)"""|"(?:[^"\\]|\\.)*"`)
	opStartRE  = regexp.MustCompile(`^\s*(query|mutation|subscription|fragment)\b`)
	topFieldRE = regexp.MustCompile(`^\s*(?:[A-Za-z_]\w*\s*:\s*)?([A-Za-z_]\w*)`)
)

// parseOperation reports whether a document holds a mutation and which
// top-level fields its operations select (fragments are skipped). It errs
// on the side of "mutation": any mutation operation in the document makes
// it one, so it is never retried without an Idempotency-Key nor let past the
// guard under another operation's name.
func parseOperation(query string) (mutation bool, fields []string) {
	q := stringRE.ReplaceAllString(commentRE.ReplaceAllString(query, ""), `""`)
	i := 0
	for i < len(q) {
		m := opStartRE.FindStringSubmatchIndex(q[i:])
		word := ""
		if m != nil {
			word = q[i+m[2] : i+m[3]]
		}
		open := strings.IndexByte(q[i:], '{')
		if open < 0 {
			break
		}
		open += i
		if word == "mutation" {
			mutation = true
		}
		var top []string
		end := selectionSet(q, open, &top)
		if word != "fragment" {
			fields = append(fields, top...)
		}
		i = end + 1
	}
	return mutation, fields
}

// selectionSet reads the selection set opening at q[open] ('{'), appends
// its top-level field names to top, and returns the index of its '}'.
func selectionSet(q string, open int, top *[]string) int {
	depth, parens := 0, 0
	for i := open; i < len(q); i++ {
		switch q[i] {
		case '{':
			depth++
			if depth == 1 {
				if m := topFieldRE.FindStringSubmatch(q[i+1:]); m != nil {
					*top = append(*top, m[1])
				}
			}
		case '}':
			depth--
			if depth == 0 {
				return i
			}
			if depth == 1 && parens == 0 {
				if m := topFieldRE.FindStringSubmatch(q[i+1:]); m != nil {
					*top = append(*top, m[1])
				}
			}
		case '(':
			parens++
		case ')':
			parens--
		}
	}
	return len(q)
}

type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// Do runs one GraphQL operation and decodes its data into out (which may be
// nil). Queries are retried on 429, 503 and network errors; mutations carry
// an Idempotency-Key (one per Do, reused by its retries) and are retried only
// with it. Execution errors come back as *Error (the first one), with out
// still filled from partial data.
func (c *Client) Do(ctx context.Context, query string, vars map[string]any, out any) error {
	env, err := c.Environment(ctx)
	if err != nil {
		return err
	}
	mutation, fields := parseOperation(query)
	key := ""
	if mutation {
		op := Operation{Query: query, Mutation: true, Fields: fields, Environment: env}
		if err := c.productionGuard(op); err != nil {
			return err
		}
		for _, g := range c.cfg.WriteGuards {
			if err := g(ctx, op); err != nil {
				return err
			}
		}
		if !c.cfg.DisableIdempotencyKeys {
			key = newIdempotencyKey()
		}
		if err := c.waitToWrite(ctx); err != nil {
			return err
		}
	}
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return fmt.Errorf("encode variables: %w", err)
	}
	refreshed := false
	for {
		tok, err := c.accessToken(ctx)
		if err != nil {
			return err
		}
		var resp gqlResponse
		status := 0
		err = c.send(ctx, !mutation || key != "", func() (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+"/graphql", bytes.NewReader(body))
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
			if key != "" {
				req.Header.Set("Idempotency-Key", key)
			}
			return req, nil
		}, func(st int, raw []byte) error {
			status = st
			if st != http.StatusOK {
				return httpError(st, raw)
			}
			if err := json.Unmarshal(raw, &resp); err != nil {
				return fmt.Errorf("client: answer is not GraphQL JSON (HTTP %d): %.200s", st, raw)
			}
			return nil
		})
		if mutation && c.cfg.Breaker != nil {
			c.cfg.Breaker.Record(status >= 400 || status == 0 || len(resp.Errors) > 0)
		}
		// A token that expired between the cache check and the server's
		// check is refreshed once; the request never ran.
		if err != nil && errors.Is(err, ErrTokenExpired) && c.cc != nil && !refreshed {
			refreshed = true
			c.invalidateToken()
			continue
		}
		if err != nil {
			return err
		}
		if out != nil && len(resp.Data) > 0 && string(resp.Data) != "null" {
			if err := json.Unmarshal(resp.Data, out); err != nil {
				return fmt.Errorf("decode data: %w", err)
			}
		}
		if len(resp.Errors) > 0 {
			e := resp.Errors[0]
			code, _ := e.Extensions["code"].(string)
			return &Error{Code: code, Message: e.Message, Status: status, Path: e.Path}
		}
		return nil
	}
}

// httpError turns a non-200 answer into an *Error, reading a GraphQL-shaped
// or problem+json body when there is one.
func httpError(status int, raw []byte) error {
	var g gqlResponse
	if json.Unmarshal(raw, &g) == nil && len(g.Errors) > 0 {
		code, _ := g.Errors[0].Extensions["code"].(string)
		return &Error{Code: code, Message: g.Errors[0].Message, Status: status}
	}
	var p struct{ Detail, Code, Title string }
	if json.Unmarshal(raw, &p) == nil && (p.Detail != "" || p.Code != "") {
		return &Error{Code: p.Code, Message: p.Detail, Status: status}
	}
	return &Error{Message: fmt.Sprintf("HTTP %d: %.200s", status, bytes.TrimSpace(raw)), Status: status}
}

// newIdempotencyKey is 128 random bits, hex.
func newIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// send runs one logical request with retries: on network errors, 429 and
// 503 when retryable, waiting Retry-After or an exponential backoff with
// full jitter. handle decodes the answer; its error ends the call unless
// the status was retryable.
func (c *Client) send(ctx context.Context, retryable bool, build func() (*http.Request, error), handle func(status int, raw []byte) error) error {
	for attempt := 0; ; attempt++ {
		req, err := build()
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", c.cfg.UserAgent)
		resp, err := c.http.Do(req)
		var wait time.Duration
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !retryable || attempt >= c.cfg.MaxRetries {
				return fmt.Errorf("client: %s %s: %w", req.Method, req.URL, err)
			}
		} else {
			raw, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			resp.Body.Close()
			if rerr != nil && (!retryable || attempt >= c.cfg.MaxRetries) {
				return fmt.Errorf("client: read answer: %w", rerr)
			}
			if rerr == nil {
				herr := handle(resp.StatusCode, raw)
				isRetryStatus := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable
				if !isRetryStatus || !retryable || attempt >= c.cfg.MaxRetries {
					return herr
				}
				wait = retryAfter(resp.Header.Get("Retry-After"), c.cfg.Clock.Now())
			}
		}
		if wait <= 0 {
			wait = backoff(attempt, c.cfg.BaseBackoff, c.cfg.MaxBackoff, c.cfg.Clock)
		}
		if err := c.cfg.Clock.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}
