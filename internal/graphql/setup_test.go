package graphql

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ionbox/ionbox/internal/auth"
	"github.com/ionbox/ionbox/internal/sqlite"
	"github.com/ionbox/ionbox/ion"
)

// bundle is what a test gets from setup: a real HTTP server over the
// handler, backed by a real sqlite store in t.TempDir(), with an actor of a
// fresh organization put in every request's context by a tiny middleware.
type bundle struct {
	t      testing.TB
	h      http.Handler // the handler under test, without the actor middleware
	srv    *httptest.Server
	stores *countingStores
	actor  ion.Actor
	ts     ion.TenantStore // the actor's tenant store, for fixtures and checks
}

type setupOptions struct {
	limits Limits
	// noActor serves requests without an actor in the context.
	noActor bool
	// log receives the handler's log; default: discarded.
	log io.Writer
}

func setup(t testing.TB, opts ...setupOptions) *bundle {
	t.Helper()
	var o setupOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx := t.Context()
	raw, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatalf("open stores: %v", err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	control := raw.Control()
	if _, err := control.EnsureEnvironment(ctx, ion.Environment{Name: ion.ProductionEnvironment, Kind: ion.EnvProduction, State: "active"}); err != nil {
		t.Fatalf("environment: %v", err)
	}
	org, err := control.CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Acme", Domain: "acme.example", Tier: ion.TierStandard})
	if err != nil {
		t.Fatalf("organization: %v", err)
	}
	user, err := control.CreateUser(ctx, ion.User{OrganizationID: org.ID, Name: "Ada Lovelace", Email: "ada@acme.example", Active: true, Roles: []string{"admin"}})
	if err != nil {
		t.Fatalf("user: %v", err)
	}
	keys, err := auth.New(auth.Config{Control: control, HashKey: bytes.Repeat([]byte("k"), 32)})
	if err != nil {
		t.Fatalf("auth: %v", err)
	}
	stores := &countingStores{Stores: raw, counts: map[string]int{}}
	logTo := o.log
	if logTo == nil {
		logTo = io.Discard
	}
	h, err := NewHandler(Config{Stores: stores, APIKeys: keys, Limits: o.limits, Logger: slog.New(slog.NewTextHandler(logTo, nil))})
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	actor := ion.Actor{Environment: ion.ProductionEnvironment, Organization: org, User: user}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !o.noActor {
			r = r.WithContext(ion.WithActor(r.Context(), actor))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ts, err := raw.Tenant(ctx, org.TenantID())
	if err != nil {
		t.Fatalf("tenant: %v", err)
	}
	return &bundle{t: t, h: h, srv: srv, stores: stores, actor: actor, ts: ts}
}

// countingStores counts store use, so that tests can prove that a request
// stopped by a limit never reached a resolver, and that loaders batch. Its
// hook, when set, runs before each counted TenantStore method and may
// block, fail or panic.
type countingStores struct {
	ion.Stores
	mu     sync.Mutex
	counts map[string]int // "Tenant", and the counted TenantStore methods
	hook   func(ctx context.Context, method string) error
	// lists are the options of the Parts and PartInventories calls.
	lists map[string][]ion.ListOptions
}

func (c *countingStores) listed(method string, o ion.ListOptions) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lists == nil {
		c.lists = map[string][]ion.ListOptions{}
	}
	c.lists[method] = append(c.lists[method], o)
}

// listCalls returns the options of the list calls and forgets them.
func (c *countingStores) listCalls() map[string][]ion.ListOptions {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.lists
	c.lists = nil
	return out
}

func (c *countingStores) setHook(h func(ctx context.Context, method string) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hook = h
}

func (c *countingStores) before(ctx context.Context, method string) error {
	c.mu.Lock()
	c.counts[method]++
	hook := c.hook
	c.mu.Unlock()
	if hook != nil && method != "Tenant" {
		return hook(ctx, method)
	}
	return nil
}

func (c *countingStores) Tenant(ctx context.Context, id string) (ion.TenantStore, error) {
	_ = c.before(ctx, "Tenant")
	ts, err := c.Stores.Tenant(ctx, id)
	if err != nil {
		return nil, err
	}
	return &countingTenant{TenantStore: ts, c: c}, nil
}

// calls returns the counts and resets them.
func (c *countingStores) calls() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.counts
	c.counts = map[string]int{}
	return out
}

type countingTenant struct {
	ion.TenantStore
	c *countingStores
}

func (t *countingTenant) Parts(ctx context.Context, o ion.ListOptions) (ion.Page[ion.Part], error) {
	if err := t.c.before(ctx, "Parts"); err != nil {
		return ion.Page[ion.Part]{}, err
	}
	t.c.listed("Parts", o)
	return t.TenantStore.Parts(ctx, o)
}

func (t *countingTenant) PartInventories(ctx context.Context, o ion.ListOptions) (ion.Page[ion.PartInventory], error) {
	if err := t.c.before(ctx, "PartInventories"); err != nil {
		return ion.Page[ion.PartInventory]{}, err
	}
	t.c.listed("PartInventories", o)
	return t.TenantStore.PartInventories(ctx, o)
}

func (t *countingTenant) RunSteps(ctx context.Context, o ion.ListOptions) (ion.Page[ion.RunStep], error) {
	if err := t.c.before(ctx, "RunSteps"); err != nil {
		return ion.Page[ion.RunStep]{}, err
	}
	return t.TenantStore.RunSteps(ctx, o)
}

func (t *countingTenant) CreatePart(ctx context.Context, p ion.Part) (ion.Part, error) {
	if err := t.c.before(ctx, "CreatePart"); err != nil {
		return ion.Part{}, err
	}
	return t.TenantStore.CreatePart(ctx, p)
}

// gqlResponse is a decoded answer.
type gqlResponse struct {
	status int
	header http.Header
	raw    []byte
	Data   any        `json:"data"`
	Errors []gqlError `json:"errors"`
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

func (r *gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// post sends one operation.
func (b *bundle) post(query string, variables any) *gqlResponse {
	b.t.Helper()
	body := map[string]any{"query": query}
	if variables != nil {
		body["variables"] = variables
	}
	data, err := json.Marshal(body)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.postRaw("application/json", data)
}

func (b *bundle) postRaw(contentType string, body []byte) *gqlResponse {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return b.send(req)
}

func (b *bundle) send(req *http.Request) *gqlResponse {
	b.t.Helper()
	resp, err := b.srv.Client().Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	out := &gqlResponse{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(out); err != nil {
			b.t.Fatalf("decode %s: %v", raw, err)
		}
	}
	return out
}

// mustData posts and fails the test on any error; it returns data.
func (b *bundle) mustData(query string, variables any) map[string]any {
	b.t.Helper()
	r := b.post(query, variables)
	if r.status != http.StatusOK || len(r.Errors) > 0 {
		b.t.Fatalf("query failed: status %d, body %s\nquery: %s", r.status, r.raw, query)
	}
	data, _ := r.Data.(map[string]any)
	return data
}

var (
	etagPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
	timePattern = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`)
)

// normalize replaces what differs between runs with placeholders: etags
// become "ETAG" and timestamps "TIME" (when they have the right form, so
// that a malformed one still shows in a diff).
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			s, ok := e.(string)
			switch {
			case ok && (k == "_etag" || k == "Etag") && etagPattern.MatchString(s):
				out[k] = "ETAG"
			case ok && strings.HasSuffix(k, "At") && timePattern.MatchString(s):
				out[k] = "TIME"
			default:
				out[k] = normalize(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

// decodeJSON reads a want value, numbers as json.Number like responses.
func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("bad want JSON %s: %v", s, err)
	}
	return v
}

// scenario is one GraphQL request and what it must answer.
type scenario struct {
	name      string
	query     string
	variables string // JSON, "" for none
	wantCode  string // extensions.code of the first error, "" for none
	wantJSON  string // the data, "" to skip the comparison
	// wantMessage, when set, must appear in the first error's message.
	wantMessage string
}

func (b *bundle) run(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			var vars any
			if sc.variables != "" {
				vars = decodeJSON(t, sc.variables)
			}
			saved := b.t
			b.t = t
			defer func() { b.t = saved }()
			r := b.post(sc.query, vars)
			if r.status != http.StatusOK {
				t.Fatalf("status %d, body %s", r.status, r.raw)
			}
			if got := r.code(); got != sc.wantCode {
				t.Fatalf("code %q, want %q; body %s", got, sc.wantCode, r.raw)
			}
			if sc.wantMessage != "" && !strings.Contains(r.Errors[0].Message, sc.wantMessage) {
				t.Errorf("message %q does not contain %q", r.Errors[0].Message, sc.wantMessage)
			}
			if sc.wantJSON != "" {
				if diff := cmp.Diff(normalize(decodeJSON(t, sc.wantJSON)), normalize(r.Data)); diff != "" {
					t.Errorf("data mismatch (-want +got):\n%s\nbody %s", diff, r.raw)
				}
			}
		})
	}
}

// syncWriter is a log destination that concurrent resolvers may share.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprint(s.w)
}
