package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ionbox/ionbox/internal/sqlite"
	"github.com/ionbox/ionbox/ion"
)

const sandboxName = "acme-erp-dev"

// fakeClock is the injected clock: tests move time instead of sleeping.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// bundle is one test's world: a real SQLite control store in a temp dir,
// a Service, and production plus sandbox "acme-erp-dev" served by one
// httptest.Server the way the router mounts them.
type bundle struct {
	ctx     context.Context
	dir     string
	control ion.ControlStore
	clock   *fakeClock
	hashKey []byte
	svc     *Service
	srv     *httptest.Server
	prod    *Issuer
	sbx     *Issuer
	prodEnv ion.Environment
	sbxEnv  ion.Environment
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	b := &bundle{
		ctx:     ctx,
		dir:     dir,
		control: st.Control(),
		clock:   &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)},
		hashKey: []byte("0123456789abcdef0123456789abcdef-test-hash-key"),
		prodEnv: ion.Environment{Name: ion.ProductionEnvironment, Kind: ion.EnvProduction, State: "active"},
		sbxEnv:  ion.Environment{Name: sandboxName, Kind: ion.EnvSandbox, State: "active"},
	}
	b.svc = b.newService(t)
	mux := http.NewServeMux()
	b.srv = httptest.NewServer(mux)
	t.Cleanup(b.srv.Close)
	b.prod, b.sbx = b.issuers(t, b.svc)
	mux.Handle("/sandboxes/"+sandboxName+"/", http.StripPrefix("/sandboxes/"+sandboxName, b.sbx.Handler()))
	mux.Handle("/", b.prod.Handler())
	return b
}

// newService is another Service on the same store and clock: a replica,
// or the same server after a restart.
func (b *bundle) newService(t *testing.T) *Service {
	t.Helper()
	svc, err := New(Config{Control: b.control, HashKey: b.hashKey, Now: b.clock.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return svc
}

func (b *bundle) prodBase() string { return b.srv.URL }
func (b *bundle) sbxBase() string  { return b.srv.URL + "/sandboxes/" + sandboxName }

// issuers registers production and the sandbox with svc.
func (b *bundle) issuers(t *testing.T, svc *Service) (prod, sbx *Issuer) {
	t.Helper()
	prod, err := svc.Issuer(b.ctx, b.prodEnv, b.prodBase())
	if err != nil {
		t.Fatalf("Issuer(production): %v", err)
	}
	sbx, err = svc.Issuer(b.ctx, b.sbxEnv, b.sbxBase())
	if err != nil {
		t.Fatalf("Issuer(sandbox): %v", err)
	}
	return prod, sbx
}

// account is a user of a fresh organization, with one API key.
type account struct {
	org    ion.Organization
	user   ion.User
	key    ion.APIKey
	secret string
}

// newAccount makes an organization, an active user and an API key in env.
func (b *bundle) newAccount(t *testing.T, env string) account {
	t.Helper()
	suffix := strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	org, err := b.control.CreateOrganization(b.ctx, ion.Organization{
		Environment: env, Name: "Org " + suffix, Domain: suffix + ".example.com", Tier: ion.TierStandard,
	})
	if err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	user, err := b.control.CreateUser(b.ctx, ion.User{
		OrganizationID: org.ID, Name: "User " + suffix, Email: "u-" + suffix + "@example.com", Active: true, Roles: []string{"admin"},
	})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	key, secret, err := b.svc.CreateAPIKey(b.ctx, env, org.ID, user.ID)
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	return account{org: org, user: user, key: key, secret: secret}
}

// token gets an access token for a from iss, without HTTP.
func (b *bundle) token(t *testing.T, iss *Issuer, a account) string {
	t.Helper()
	tok, err := iss.ClientCredentialsToken(b.ctx, a.key.ClientID, a.secret)
	if err != nil {
		t.Fatalf("ClientCredentialsToken: %v", err)
	}
	return tok.AccessToken
}

// httpResult is an HTTP answer read in full.
type httpResult struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, req *http.Request) httpResult {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return httpResult{status: res.StatusCode, header: res.Header, body: string(body)}
}

func newRequest(t *testing.T, method, u, contentType, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

// formBody encodes pairs in order: "k1", "v1", "k2", "v2", ...
func formBody(pairs ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		v.Add(pairs[i], pairs[i+1])
	}
	return v.Encode()
}

func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func getJSON(t *testing.T, u string, dest any) httpResult {
	t.Helper()
	res := do(t, newRequest(t, http.MethodGet, u, "", ""))
	if res.status != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %s", u, res.status, res.body)
	}
	if err := json.Unmarshal([]byte(res.body), dest); err != nil {
		t.Fatalf("GET %s: %v in %s", u, err, res.body)
	}
	return res
}

// authRequest is a GraphQL request carrying an Authorization header.
func authRequest(authorization string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ me { id } }"}`))
	if authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	return r
}

// Hand-crafted tokens for the negative suite.

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64JSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64(b)
}

// signES256 signs header.payload with k and returns the compact token.
func signES256(t *testing.T, k *ecdsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	input := b64JSON(t, header) + "." + b64JSON(t, claims)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig)
}

// signHS256 signs header.payload with an HMAC key.
func signHS256(t *testing.T, key []byte, header, claims map[string]any) string {
	t.Helper()
	input := b64JSON(t, header) + "." + b64JSON(t, claims)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(input))
	return input + "." + b64(m.Sum(nil))
}

// currentKey is the issuer's signing key, for tokens that are correctly
// signed but wrong in some other way.
func currentKey(t *testing.T, iss *Issuer) signingKey {
	t.Helper()
	k, err := iss.currentSigningKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// goodClaims are the claims ionbox would issue for a at iss.
func goodClaims(iss *Issuer, a account, now time.Time) map[string]any {
	return map[string]any{
		"iss":       iss.IssuerURL(),
		"aud":       iss.BaseURL(),
		"sub":       strconv.FormatInt(a.user.ID, 10),
		"client_id": a.key.ClientID,
		"org_id":    a.org.ID,
		"env":       iss.Environment().Name,
		"exp":       now.Add(time.Hour).Unix(),
		"iat":       now.Unix(),
		"nbf":       now.Unix(),
		"jti":       uuid.NewString(),
		"scope":     "openid",
	}
}

func goodHeader(kid string) map[string]any {
	return map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": kid}
}

// with returns a copy of m with the given changes; a nil value deletes.
func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
		} else {
			out[k] = kv[i+1]
		}
	}
	return out
}

// wantError checks that err is an *ion.Error with code (and message, when
// not empty).
func wantError(t *testing.T, err error, code, message string) {
	t.Helper()
	if got := ion.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
	if message != "" && ion.ErrorMessage(err) != message {
		t.Fatalf("error message =\n  %s\nwant\n  %s", ion.ErrorMessage(err), message)
	}
}
