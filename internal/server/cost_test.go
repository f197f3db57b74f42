package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bigPage costs 1 + 1000 nodes = 1001 points, whatever the data.
const bigPage = `{ parts(first: 1000) { edges { node { id } } } }`

// TestCostBudgetOverHTTP sets a sandbox's cost budget through the admin API
// (taking effect on the running server) and spends it: extensions.cost on
// every answer, 429 naming the budget with Retry-After and RateLimit-*
// once it is spent, QUERY_TOO_COMPLEX for a query over its maximum. The
// budget restores 0.01 points per second, so no point comes back while the
// test runs and the numbers are exact without a fake clock.
func TestCostBudgetOverHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	prod := b.newCredential("Acme")
	sb := b.newSandbox(prod.orgID, "acme-cost")

	r := b.post(sb.baseURL, sb.token, bigPage, nil)
	if cost := dig(r.Extensions, "cost"); dig(cost, "requestedQueryCost") != 1001.0 || dig(cost, "actualQueryCost") != 1.0 ||
		dig(cost, "throttleStatus", "maximumAvailable") != 100000.0 {
		t.Fatalf("default sandbox budget: extensions %v", r.Extensions)
	}

	var got struct {
		Override  map[string]any
		Effective map[string]any
	}
	b.admin("PUT", "/admin/v1/environments/acme-cost/rate-limit", map[string]any{"costPerSecond": 0.01, "costBurst": 1500}, &got)
	if got.Effective["costBurst"] != 1500.0 || got.Override["costPerSecond"] != 0.01 {
		t.Fatalf("PUT rate-limit answered %+v", got)
	}

	r = b.post(sb.baseURL, sb.token, bigPage, nil)
	if r.Status != 200 || dig(r.Extensions, "cost", "throttleStatus", "currentlyAvailable") != 499.0 ||
		dig(r.Extensions, "cost", "throttleStatus", "restoreRate") != 0.01 {
		t.Fatalf("first query on the small budget: HTTP %d %s", r.Status, r.Raw)
	}
	r = b.post(sb.baseURL, sb.token, bigPage, nil)
	wantMsg := "Rate limit exceeded: this query costs 1001 points and the per-credential GraphQL cost budget has 499 left (at most 1500, restored at 0.01 points per second). Retry after 50200 second(s), or ask for smaller pages."
	if r.Status != http.StatusTooManyRequests || r.code() != "RATE_LIMITED" || r.Errors[0].Message != wantMsg {
		t.Fatalf("over the budget: HTTP %d %s", r.Status, r.Raw)
	}
	for h, want := range map[string]string{"Retry-After": "50200", "RateLimit-Limit": "1500", "RateLimit-Remaining": "499", "RateLimit-Reset": "100100"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("429 %s = %q, want %q", h, got, want)
		}
	}
	if dig(r.Extensions, "cost", "requestedQueryCost") != 1001.0 {
		t.Errorf("429 extensions %v", r.Extensions)
	}
	// A cheap query still fits.
	if r := b.post(sb.baseURL, sb.token, cheapQuery, nil); r.Status != 200 || dig(r.Extensions, "cost", "requestedQueryCost") != 1.0 {
		t.Fatalf("cheap query: HTTP %d %s", r.Status, r.Raw)
	}
	// Over the maximum: no wait helps.
	b.admin("PUT", "/admin/v1/environments/acme-cost/rate-limit", map[string]any{"costPerSecond": 0.01, "costBurst": 500}, &got)
	r = b.post(sb.baseURL, sb.token, bigPage, nil)
	if r.Status != 200 || r.code() != "QUERY_TOO_COMPLEX" || !strings.Contains(r.Errors[0].Message, "holds at most 500") {
		t.Fatalf("over the maximum: HTTP %d %s", r.Status, r.Raw)
	}
	// Production's budget is separate and its default.
	if r := b.post(b.url, prod.token, bigPage, nil); r.Status != 200 || dig(r.Extensions, "cost", "throttleStatus", "maximumAvailable") != 50000.0 {
		t.Fatalf("production: HTTP %d %s", r.Status, r.Raw)
	}
	// {} restores the defaults; a negative number is refused.
	b.admin("PUT", "/admin/v1/environments/acme-cost/rate-limit", map[string]any{}, &got)
	if got.Override != nil || got.Effective["costBurst"] != 100000.0 {
		t.Errorf("after {}: %+v", got)
	}
	if code := b.admin("PUT", "/admin/v1/environments/acme-cost/rate-limit", map[string]any{"burst": -1}, nil); code != http.StatusUnprocessableEntity {
		t.Errorf("negative burst: HTTP %d", code)
	}
	if code := b.admin("PUT", "/admin/v1/environments/nope/rate-limit", map[string]any{}, nil); code != http.StatusNotFound {
		t.Errorf("unknown environment: HTTP %d", code)
	}
}

// TestRequestRateLimitFromAdminAndRequest: a sandbox requested with a
// rateLimit gets it; production's policy changes on the running server.
func TestRequestRateLimitFromAdminAndRequest(t *testing.T) {
	t.Parallel()
	b := setup(t)
	prod := b.newCredential("Acme")
	sb := b.newSandboxWith(prod.orgID, "acme-tuned", map[string]any{"rateLimit": map[string]any{"requestsPerSecond": 0.01, "burst": 2}})
	for i, want := range []int{200, 200, 429} {
		resp, raw := rawGQL(t, b.client, sb.baseURL, sb.token)
		if resp.StatusCode != want {
			t.Fatalf("sandbox request %d: HTTP %d %s, want %d", i, resp.StatusCode, raw, want)
		}
		if resp.Header.Get("RateLimit-Limit") != "2" {
			t.Errorf("sandbox request %d: RateLimit-Limit %q, want 2", i, resp.Header.Get("RateLimit-Limit"))
		}
	}
	b.admin("PUT", "/admin/v1/environments/production/rate-limit", map[string]any{"requestsPerSecond": 0.01, "burst": 1}, &struct{}{})
	for i, want := range []int{200, 429} {
		if resp, raw := rawGQL(t, b.client, b.url, prod.token); resp.StatusCode != want {
			t.Fatalf("production request %d after PUT: HTTP %d %s, want %d", i, resp.StatusCode, raw, want)
		}
	}
}

// TestRateLimitHeadersOnEveryResponse: answers that charge no credential
// (401, unknown sandbox, discovery, schema) carry RateLimit-* and
// ION-Features too.
func TestRateLimitHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	b := setup(t)
	prod := b.newCredential("Acme")
	sb := b.newSandbox(prod.orgID, "acme-headers")
	cases := []struct {
		name, method, url, auth string
		wantStatus              int
		wantLimit               string
	}{
		{"production 401", "POST", b.url + "/graphql", "", 401, "100"},
		{"production bad token", "POST", b.url + "/graphql", "Bearer nope", 401, "100"},
		{"sandbox 401", "POST", sb.baseURL + "/graphql", "", 401, "200"},
		{"unknown sandbox", "POST", b.url + "/sandboxes/nope/graphql", "", 404, "200"},
		{"production well-known", "GET", b.url + "/.well-known/ion-environment", "", 200, "100"},
		{"sandbox schema", "GET", sb.baseURL + "/schema.graphql", "", 200, "200"},
		{"production 200", "POST", b.url + "/graphql", "Bearer " + prod.token, 200, "100"},
		{"sandbox token endpoint", "POST", sb.tokenURL, "", 400, "20"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, c.url, strings.NewReader(`{"query":"`+cheapQuery+`"}`))
		req.Header.Set("Content-Type", "application/json")
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != c.wantStatus || h.Get("RateLimit-Limit") != c.wantLimit || h.Get("RateLimit-Remaining") == "" ||
			h.Get("RateLimit-Reset") == "" || h.Values("ION-Features") == nil {
			t.Errorf("%s: HTTP %d, headers %v; want HTTP %d, RateLimit-Limit %s and ION-Features", c.name, resp.StatusCode, h, c.wantStatus, c.wantLimit)
		}
		if n, err := strconv.Atoi(h.Get("RateLimit-Remaining")); err != nil || n < 0 {
			t.Errorf("%s: RateLimit-Remaining %q", c.name, h.Get("RateLimit-Remaining"))
		}
	}
}

// TestTwoReplicasShareCostBudgetAndFlags runs two servers on one
// PostgreSQL database and one Redis: a sandbox's cost budget is spent once
// whichever replica serves it, and a flag turned on through one replica's
// admin API takes effect on the other without a restart.
func TestTwoReplicasShareCostBudgetAndFlags(t *testing.T) {
	t.Parallel()
	pg := postgresURL(t)
	redisURL := os.Getenv("ION_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("ION_TEST_REDIS_URL is unset; set it (e.g. redis://127.0.0.1:6379/0) to share cost budgets through Redis")
	}
	prefix := schemaPrefix(t, pg)
	const publicURL = "http://ionbox.test"
	adminToken, hashKey := randomHex(32), randomHex(32)
	start := func() *Running {
		r, err := Start(context.Background(), Config{
			Addr: "127.0.0.1:0", DataDir: t.TempDir(), Store: pg, StoreSchema: prefix, PublicURL: publicURL,
			AdminToken: adminToken, HashKey: hashKey, Redis: redisURL,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Stop() })
		return r
	}
	r1, r2 := start(), start()
	via := func(r *Running) *bundle {
		dialer := &net.Dialer{}
		client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, r.Addr)
		}}}
		return &bundle{t: t, url: publicURL, adminToken: adminToken, client: client}
	}
	b1, b2 := via(r1), via(r2)
	c := b1.newCredential("Acme")
	sb := b1.newSandboxWith(c.orgID, "acme-replicas", map[string]any{"rateLimit": map[string]any{"costPerSecond": 0.01, "costBurst": 1500}})

	if r := b1.post(sb.baseURL, sb.token, bigPage, nil); r.Status != 200 {
		t.Fatalf("first query through replica 1: HTTP %d %s", r.Status, r.Raw)
	}
	r := b2.post(sb.baseURL, sb.token, bigPage, nil)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("RateLimit-Remaining") != "499" {
		t.Fatalf("second query through replica 2: HTTP %d %v %s, want 429 with 499 points left", r.Status, r.Header, r.Raw)
	}

	var out struct{ Features []string }
	b1.admin("PUT", "/admin/v1/sandboxes/acme-replicas/features", map[string]any{"features": []string{"bulk-operations"}}, &out)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := b2.post(sb.baseURL, sb.token, `{ features }`, nil)
		if r.Header.Get("ION-Features") == "bulk-operations" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica 2 never saw the flag turned on through replica 1: %s %v", r.Raw, r.Header)
		}
		time.Sleep(50 * time.Millisecond) // poll interval; replicas cache a sandbox for at most a second
	}
}
