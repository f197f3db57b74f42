package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ionbox/ionbox/internal/limit"
)

const cheapQuery = `{ currentUser { id } }`

// rawGQL posts cheapQuery with token to base and returns the response with
// its body read.
func rawGQL(t *testing.T, client *http.Client, base, token string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/graphql", strings.NewReader(`{"query":"`+cheapQuery+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("graphql: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

func TestGraphQLRateLimit(t *testing.T) {
	t.Parallel()
	// 0.01/s: no token comes back while the test runs, so counts and
	// Retry-After are exact without a fake clock.
	b := setupWith(t, Config{Limits: limit.Config{
		Production: limit.Policy{RequestsPerSecond: 0.01, Burst: 2},
		Sandbox:    limit.Policy{RequestsPerSecond: 0.02, Burst: 3},
	}})
	prod := b.newCredential("Acme")
	sb := b.newSandbox(prod.orgID, "acme-limits")
	cases := []struct {
		name, base, token string
		burst             int
		wantMessage       string
		wantRetry         string
	}{
		{"production", b.url, prod.token, 2,
			`Rate limit exceeded: the per-credential limit allows 0.01 requests per second (burst 2) per credential in production. Retry after 100 seconds.`, "100"},
		{"sandbox", sb.baseURL, sb.token, 3,
			`Rate limit exceeded: the per-credential limit allows 0.02 requests per second (burst 3) per credential in sandbox "acme-limits". Retry after 50 seconds.`, "50"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i := range c.burst {
				resp, raw := rawGQL(t, b.client, c.base, c.token)
				h := resp.Header
				if resp.StatusCode != 200 || h.Get("RateLimit-Limit") != strconv.Itoa(c.burst) ||
					h.Get("RateLimit-Remaining") != strconv.Itoa(c.burst-1-i) || h.Get("RateLimit-Reset") == "" || h.Get("RateLimit-Reset") == "0" {
					t.Fatalf("request %d: HTTP %d, RateLimit %q/%q/%q: %s", i, resp.StatusCode,
						h.Get("RateLimit-Limit"), h.Get("RateLimit-Remaining"), h.Get("RateLimit-Reset"), raw)
				}
			}
			resp, raw := rawGQL(t, b.client, c.base, c.token)
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("over the burst: HTTP %d: %s", resp.StatusCode, raw)
			}
			if got := resp.Header.Get("Retry-After"); got != c.wantRetry {
				t.Errorf("Retry-After %q, want %q", got, c.wantRetry)
			}
			if resp.Header.Get("RateLimit-Remaining") != "0" || resp.Header.Get("RateLimit-Limit") != strconv.Itoa(c.burst) {
				t.Errorf("RateLimit headers on 429: %v", resp.Header)
			}
			want := `{"errors":[{"extensions":{"code":"RATE_LIMITED"},"message":` + strconv.Quote(c.wantMessage) + `}]}`
			if strings.TrimSpace(raw) != want {
				t.Errorf("429 body:\n got %s\nwant %s", raw, want)
			}
			// Again with the same token: now refused before authentication
			// (the token is known to be over its limit), with the same answer
			// in production. A sandbox holds it first (the tarpit, default
			// 1 s), so its Retry-After is a second shorter.
			start := time.Now()
			resp, raw = rawGQL(t, b.client, c.base, c.token)
			held := time.Since(start)
			wantRetry, wantAgain := c.wantRetry, want
			if c.base != b.url {
				n, _ := strconv.Atoi(c.wantRetry)
				wantRetry = strconv.Itoa(n - 1)
				wantAgain = strings.Replace(want, "Retry after "+c.wantRetry+" seconds", "Retry after "+wantRetry+" seconds", 1)
				if held < 900*time.Millisecond {
					t.Errorf("a repeated sandbox refusal was answered after %v; want it held about 1s (the tarpit)", held)
				}
			}
			if resp.StatusCode != http.StatusTooManyRequests || strings.TrimSpace(raw) != wantAgain || resp.Header.Get("Retry-After") != wantRetry {
				t.Errorf("second request over the limit: HTTP %d, Retry-After %q (want %s): %s", resp.StatusCode, resp.Header.Get("Retry-After"), wantRetry, raw)
			}
		})
	}
	// Another credential of the same organization has its own budget.
	other := b.newCredential("Other")
	if resp, raw := rawGQL(t, b.client, b.url, other.token); resp.StatusCode != 200 {
		t.Errorf("another credential after the first was limited: HTTP %d: %s", resp.StatusCode, raw)
	}
}

func TestWellKnownReportsRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.newCredential("Acme")
	sb := b.newSandbox(c.orgID, "acme-wk")
	cases := []struct {
		name, base string
		want       string
	}{
		{"production", b.url, `{"aggregateSandboxRequestsPerSecond":null,"burst":100,"costBurst":50000,"costPerSecond":5000,"requestsPerSecond":50}`},
		{"sandbox", sb.baseURL, `{"aggregateSandboxRequestsPerSecond":300,"burst":200,"costBurst":100000,"costPerSecond":10000,"requestsPerSecond":100}`},
	}
	for _, c := range cases {
		resp, err := http.Get(c.base + "/.well-known/ion-environment")
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ RateLimit map[string]any }
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		got, _ := json.Marshal(doc.RateLimit)
		if string(got) != c.want {
			t.Errorf("%s rateLimit: %s, want %s", c.name, got, c.want)
		}
	}
}

// fromAddr is a client whose connections come from local address ip
// (any 127.0.0.0/8 address works on loopback).
func fromAddr(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

func TestTokenEndpointRateLimit(t *testing.T) {
	t.Parallel()
	b := setupWith(t, Config{Limits: limit.Config{Token: limit.Policy{RequestsPerSecond: 0.01, Burst: 3}}})
	c := b.newCredential("Acme") // one token request of c.clientID from 127.0.0.1
	tokenURL := b.url + "/realms/api-keys/protocol/openid-connect/token"
	steps := []struct {
		from, clientID string
		wantStatus     int
		wantScope      string
	}{
		{"127.0.0.2", c.clientID, 200, ""},
		{"127.0.0.3", c.clientID, 200, ""},
		{"127.0.0.4", c.clientID, 429, "per-client"}, // the client's 3 are spent, whatever the address
		{"127.0.0.1", "nobody-1", 401, ""},
		{"127.0.0.1", "nobody-2", 401, ""},
		{"127.0.0.1", "nobody-3", 429, "per-address"}, // 127.0.0.1's 3 are spent
	}
	for i, s := range steps {
		resp, err := fromAddr(s.from).PostForm(tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {s.clientID}, "client_secret": {c.secret}})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != s.wantStatus {
			t.Fatalf("step %d (%s, %s): HTTP %d: %s", i, s.from, s.clientID, resp.StatusCode, raw)
		}
		if s.wantStatus != 429 {
			continue
		}
		var body map[string]string
		_ = json.Unmarshal(raw, &body)
		if body["error"] != "slow_down" || !strings.Contains(body["error_description"], s.wantScope) ||
			!strings.Contains(body["error_description"], "allows 0.01 requests per second (burst 3)") {
			t.Errorf("step %d: body %s", i, raw)
		}
		if resp.Header.Get("Retry-After") != "100" {
			t.Errorf("step %d: Retry-After %q, want 100", i, resp.Header.Get("Retry-After"))
		}
	}
}

// TestSandboxShedFirst fills the node's only sandbox slot with a request
// whose body has not arrived yet, then checks that other sandbox requests
// are shed with 503 SANDBOX_THROTTLED while production still answers.
func TestSandboxShedFirst(t *testing.T) {
	t.Parallel()
	// Rate limits high enough that the polling below cannot spend the
	// budget the slow request needs when it completes: this test is about
	// shedding, not rate limiting.
	unlimited := limit.Policy{RequestsPerSecond: 1e6, Burst: 1e6}
	b := setupWith(t, Config{Limits: limit.Config{Capacity: 1, SandboxCapacity: 1,
		Sandbox: unlimited, SandboxAggregate: unlimited, Production: unlimited}})
	prod := b.newCredential("Acme")
	sb := b.newSandbox(prod.orgID, "acme-shed")

	// A raw connection sends the headers and half the body: the server
	// admits the request and waits for the rest, holding the slot.
	u, _ := url.Parse(sb.baseURL + "/graphql")
	body := `{"query":"` + cheapQuery + `"}`
	half := len(body) / 2
	var conn net.Conn
	hold := func() {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		conn = c
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			u.Path, u.Host, sb.token, len(body), body[:half])
	}
	hold()
	defer func() { conn.Close() }()
	// answered reports whether the server already answered the held
	// request: it arrived while a poll below held the slot and was shed
	// itself, so it must be sent again.
	answered := func() bool {
		_ = conn.SetReadDeadline(time.Now().Add(time.Millisecond))
		defer func() { _ = conn.SetReadDeadline(time.Time{}) }()
		var one [1]byte
		n, _ := conn.Read(one[:])
		return n > 0
	}

	// Poll until the slow request holds the slot: the next sandbox
	// request is shed.
	var shed *http.Response
	var shedBody string
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, raw := rawGQL(t, b.client, sb.baseURL, sb.token)
		if resp.StatusCode == http.StatusServiceUnavailable {
			shed, shedBody = resp, raw
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sandbox request was shed; last HTTP %d: %s", resp.StatusCode, raw)
		}
		if answered() {
			conn.Close()
			hold()
		}
	}
	if shed.Header.Get("Retry-After") != "1" || !strings.Contains(shedBody, `"code":"SANDBOX_THROTTLED"`) ||
		!strings.Contains(shedBody, `Sandbox \"acme-shed\" is throttled`) {
		t.Errorf("shed answer: Retry-After %q: %s", shed.Header.Get("Retry-After"), shedBody)
	}
	// A shed answer has the headers every answer has: nothing left of the
	// sandboxes' shared budget until Retry-After.
	if h := shed.Header; h.Get("RateLimit-Limit") != "1000000" || h.Get("RateLimit-Remaining") != "0" || h.Get("RateLimit-Reset") != "1" || h.Values("ION-Features") == nil {
		t.Errorf("shed answer's headers: %v", h)
	}
	// Production is served while the sandbox is shed, over capacity.
	for range 3 {
		if resp, raw := rawGQL(t, b.client, b.url, prod.token); resp.StatusCode != 200 {
			t.Fatalf("production while sandboxes are shed: HTTP %d: %s", resp.StatusCode, raw)
		}
	}
	if _, err := io.WriteString(conn, body[half:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request that held the slot: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the request that held the slot: HTTP %d", resp.StatusCode)
	}
	// The slot is released once the handler has returned, which may be a
	// moment after the client has read the answer: allow that moment, but
	// the sandbox must be served again.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp, raw := rawGQL(t, b.client, sb.baseURL, sb.token)
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sandbox after the slot was freed: HTTP %d: %s", resp.StatusCode, raw)
		}
	}
}

// TestTwoReplicasShareRateLimitsThroughRedis runs two servers on one
// PostgreSQL database and one Redis: a credential's budget is spent once,
// whichever replica serves it.
func TestTwoReplicasShareRateLimitsThroughRedis(t *testing.T) {
	t.Parallel()
	pg := postgresURL(t)
	redisURL := os.Getenv("ION_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("ION_TEST_REDIS_URL is unset; set it (e.g. redis://127.0.0.1:6379/0) to share rate limits through Redis")
	}
	prefix := schemaPrefix(t, pg)
	const publicURL = "http://ionbox.test"
	adminToken, hashKey := randomHex(32), randomHex(32)
	start := func() *Running {
		r, err := Start(context.Background(), Config{
			Addr: "127.0.0.1:0", DataDir: t.TempDir(), Store: pg, StoreSchema: prefix, PublicURL: publicURL,
			AdminToken: adminToken, HashKey: hashKey, Redis: redisURL,
			Limits: limit.Config{Production: limit.Policy{RequestsPerSecond: 0.01, Burst: 4}},
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
	allowed := 0
	for i := range 8 {
		b := b1
		if i%2 == 1 {
			b = b2
		}
		if resp, _ := rawGQL(t, b.client, publicURL, c.token); resp.StatusCode == 200 {
			allowed++
		} else if resp.StatusCode != 429 {
			t.Fatalf("request %d: HTTP %d", i, resp.StatusCode)
		}
	}
	if allowed != 4 {
		t.Errorf("two replicas allowed %d requests, want the one burst of 4", allowed)
	}
}

// TestSandboxWaitsWhileProductionExecutes holds a production mutation in
// the middle of its execution: a sandbox request waits for its turn and is
// shed with 503 SANDBOX_THROTTLED after SandboxWait, and one that arrives
// while production executes is served once production has finished.
func TestSandboxWaitsWhileProductionExecutes(t *testing.T) {
	t.Parallel()
	executing, finish := make(chan struct{}), make(chan struct{})
	var once sync.Once
	unlimited := limit.Policy{RequestsPerSecond: 1e6, Burst: 1e6}
	b := setupWith(t, Config{
		Limits: limit.Config{SandboxWait: time.Second, Sandbox: unlimited, SandboxAggregate: unlimited, Production: unlimited},
		afterIdempotentRun: func() {
			once.Do(func() {
				close(executing)
				<-finish
			})
		},
	})
	prod := b.newCredential("Acme")
	sb := b.newSandbox(prod.orgID, "acme-second")
	if resp, raw := rawGQL(t, b.client, sb.baseURL, sb.token); resp.StatusCode != 200 {
		t.Fatalf("sandbox on an idle node: HTTP %d: %s", resp.StatusCode, raw)
	}

	prodDone := make(chan keyedAnswer, 1)
	go func() {
		a, err := b.tryKeyed(prod.token, "held", createPartMutation, partInput("FIRST-1"))
		if err != nil {
			t.Error(err)
		}
		prodDone <- a
	}()
	<-executing

	resp, raw := rawGQL(t, b.client, sb.baseURL, sb.token)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" || !strings.Contains(raw, `"code":"SANDBOX_THROTTLED"`) ||
		!strings.Contains(raw, "serves production first") || resp.Header.Get("RateLimit-Limit") == "" {
		t.Fatalf("sandbox while production executes past SandboxWait: HTTP %d %v: %s", resp.StatusCode, resp.Header, raw)
	}
	// Production itself is never held back.
	if resp, raw := rawGQL(t, b.client, b.url, prod.token); resp.StatusCode != 200 {
		t.Fatalf("production beside a held production request: HTTP %d: %s", resp.StatusCode, raw)
	}

	sbDone := make(chan int, 1)
	go func() {
		resp, _ := rawGQL(t, b.client, sb.baseURL, sb.token)
		sbDone <- resp.StatusCode
	}()
	select {
	case status := <-sbDone:
		t.Fatalf("a sandbox request answered HTTP %d while production executed", status)
	case <-time.After(100 * time.Millisecond):
	}
	close(finish)
	if a := <-prodDone; a.status != 200 {
		t.Fatalf("the held production request: %+v", a)
	}
	if status := <-sbDone; status != 200 {
		t.Fatalf("the waiting sandbox request after production finished: HTTP %d", status)
	}
}
