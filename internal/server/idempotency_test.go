package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// keyedAnswer is the raw answer to a request with an Idempotency-Key.
type keyedAnswer struct {
	status   int
	replayed string // the Idempotent-Replayed header
	retry    string // the Retry-After header
	body     string
}

// code is the first error's extensions.code, or "".
func (a keyedAnswer) code() string {
	var r gqlResult
	_ = json.Unmarshal([]byte(a.body), &r)
	return r.code()
}

// keyed posts one operation with an Idempotency-Key (none when key is "").
func (b *bundle) keyed(token, key, query string, vars map[string]any) keyedAnswer {
	b.t.Helper()
	a, err := b.tryKeyed(token, key, query, vars)
	if err != nil {
		b.t.Fatalf("graphql: %v", err)
	}
	return a
}

func (b *bundle) tryKeyed(token, key, query string, vars map[string]any) (keyedAnswer, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest("POST", b.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", token)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return keyedAnswer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return keyedAnswer{status: resp.StatusCode, replayed: resp.Header.Get("Idempotent-Replayed"), retry: resp.Header.Get("Retry-After"), body: string(raw)}, err
}

const createPartMutation = `mutation CreatePart($input: CreatePartInput!) { createPart(input: $input) { part { id partNumber _etag } } }`

func partInput(pn string) map[string]any {
	return map[string]any{"input": map[string]any{"partNumber": pn, "description": "idempotent"}}
}

// countParts is how many parts the token's tenant has.
func (b *bundle) countParts(token string) int {
	b.t.Helper()
	d := b.mustGQL(token, `{ parts(first: 1) { totalCount } }`, nil)
	return int(dig(d, "parts", "totalCount").(float64))
}

func TestIdempotencyKeyReplaysTheFirstAnswer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.newCredential("Acme")

	first := b.keyed(c.token, "key-1", createPartMutation, partInput("IDEM-1"))
	if first.status != 200 || first.replayed != "" || !strings.Contains(first.body, `"partNumber":"IDEM-1"`) {
		t.Fatalf("first answer: %+v", first)
	}
	for _, tc := range []struct {
		name  string
		query string
		vars  map[string]any
	}{
		{"same request", createPartMutation, partInput("IDEM-1")},
		{"other whitespace and a comment", "mutation CreatePart($input: CreatePartInput!) {\n  # retried\n  createPart(input: $input) {\n    part { id partNumber _etag }\n  }\n}", partInput("IDEM-1")},
		{"variables in another order", createPartMutation, map[string]any{"input": map[string]any{"description": "idempotent", "partNumber": "IDEM-1"}}},
	} {
		again := b.keyed(c.token, "key-1", tc.query, tc.vars)
		if again.status != first.status || again.body != first.body || again.replayed != "true" {
			t.Fatalf("%s: got %+v\nwant the first answer %q replayed", tc.name, again, first.body)
		}
	}
	if n := b.countParts(c.token); n != 1 {
		t.Fatalf("%d parts after three retries, want 1", n)
	}
	// A failed mutation records nothing: the same key runs again.
	bad := b.keyed(c.token, "key-2", createPartMutation, partInput(" "))
	if bad.status != 200 || bad.code() != "VALIDATION_ERROR" {
		t.Fatalf("invalid part: %+v", bad)
	}
	if again := b.keyed(c.token, "key-2", createPartMutation, partInput(" ")); again.replayed != "" || again.code() != "VALIDATION_ERROR" {
		t.Fatalf("retried invalid part: %+v", again)
	}
	// Queries ignore the key, even one a mutation used, and even a bad one.
	for _, key := range []string{"key-1", "not a valid key"} {
		q := b.keyed(c.token, key, `{ parts(first: 5) { totalCount } }`, nil)
		if q.status != 200 || q.replayed != "" || !strings.Contains(q.body, `"totalCount":1`) {
			t.Fatalf("query with key %q: %+v", key, q)
		}
	}
}

func TestIdempotencyKeyRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.newCredential("Acme")
	if a := b.keyed(c.token, "key-1", createPartMutation, partInput("IDEM-1")); a.status != 200 {
		t.Fatalf("first: %+v", a)
	}
	reused := `Idempotency-Key "key-1" was already used by this credential for a different request (another operation, variables or operation name). Send a new key for a new request.`
	for _, tc := range []struct {
		name       string
		key, query string
		vars       map[string]any
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"other variables", "key-1", createPartMutation, partInput("IDEM-2"), 422, "IDEMPOTENCY_KEY_REUSED", reused},
		{"other operation", "key-1", `mutation { createLocation(input: {name: "bin"}) { location { id } } }`, nil, 422, "IDEMPOTENCY_KEY_REUSED", reused},
		{"key with a space", "key 1", createPartMutation, partInput("IDEM-3"), 400, "BAD_REQUEST",
			"Idempotency-Key must be visible ASCII characters without spaces (e.g. a UUID); character 4 is not."},
		{"key too long", strings.Repeat("k", 256), createPartMutation, partInput("IDEM-3"), 400, "BAD_REQUEST",
			"Idempotency-Key is 256 characters long; the limit is 255. Use a UUID."},
	} {
		a := b.keyed(c.token, tc.key, tc.query, tc.vars)
		var r gqlResult
		if err := json.Unmarshal([]byte(a.body), &r); err != nil || len(r.Errors) != 1 {
			t.Fatalf("%s: answer %+v is not an ION error envelope", tc.name, a)
		}
		if a.status != tc.wantStatus || r.code() != tc.wantCode || r.Errors[0].Message != tc.wantMsg {
			t.Fatalf("%s: HTTP %d %s %q\nwant HTTP %d %s %q", tc.name, a.status, r.code(), r.Errors[0].Message, tc.wantStatus, tc.wantCode, tc.wantMsg)
		}
	}
	if n := b.countParts(c.token); n != 1 {
		t.Fatalf("%d parts, want 1: a refused request must not write", n)
	}
}

func TestIdempotencyKeyConcurrentDuplicateAnswers409(t *testing.T) {
	t.Parallel()
	committed, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	b := setupWith(t, Config{afterIdempotentRun: func() {
		// Hold the first request after its commit, before its answer.
		once.Do(func() {
			close(committed)
			<-release
		})
	}})
	c := b.newCredential("Acme")
	firstDone := make(chan keyedAnswer, 1)
	go func() {
		a, err := b.tryKeyed(c.token, "key-1", createPartMutation, partInput("IDEM-1"))
		if err != nil {
			t.Error(err)
		}
		firstDone <- a
	}()
	<-committed
	dup := b.keyed(c.token, "key-1", createPartMutation, partInput("IDEM-1"))
	const want = `A request with Idempotency-Key "key-1" is still running; retry after it has answered to get its result.`
	var r gqlResult
	_ = json.Unmarshal([]byte(dup.body), &r)
	if dup.status != 409 || dup.code() != "IDEMPOTENCY_KEY_IN_USE" || len(r.Errors) != 1 || r.Errors[0].Message != want || dup.retry != "1" {
		t.Fatalf("duplicate while running: %+v\nwant 409 IDEMPOTENCY_KEY_IN_USE %q with Retry-After: 1", dup, want)
	}
	close(release)
	first := <-firstDone
	if first.status != 200 || first.replayed != "" {
		t.Fatalf("first: %+v", first)
	}
	if again := b.keyed(c.token, "key-1", createPartMutation, partInput("IDEM-1")); again.body != first.body || again.replayed != "true" {
		t.Fatalf("after the first answered: %+v, want its answer replayed", again)
	}
	if n := b.countParts(c.token); n != 1 {
		t.Fatalf("%d parts, want 1", n)
	}
}

func TestIdempotencyKeyScope(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.newCredential("Acme")
	// A second API key of the same organization, so the same tenant.
	var key struct{ ClientID, ClientSecret, TokenURL string }
	b.admin("POST", fmt.Sprintf("/admin/v1/organizations/%d/api-keys", c.orgID), map[string]any{"userId": c.userID}, &key)
	other := b.exchange(key.TokenURL, key.ClientID, key.ClientSecret)
	sb := b.newSandbox(c.orgID, "acme-idem")
	s := b.at(sb.baseURL)

	first := b.keyed(c.token, "shared-key", createPartMutation, partInput("IDEM-1"))
	if first.status != 200 {
		t.Fatalf("first: %+v", first)
	}
	for _, tc := range []struct {
		name  string
		env   *bundle
		token string
		part  string
	}{
		// A different request under the same key is no reuse there.
		{"another API key, same organization", b, other, "IDEM-2"},
		// The same request runs afresh.
		{"a sandbox of the organization", s, sb.token, "IDEM-1"},
	} {
		a := tc.env.keyed(tc.token, "shared-key", createPartMutation, partInput(tc.part))
		if a.status != 200 || a.replayed != "" || a.body == first.body || a.code() != "" {
			t.Fatalf("%s: %+v, want a new execution", tc.name, a)
		}
		if a := tc.env.keyed(tc.token, "shared-key", createPartMutation, partInput(tc.part)); a.replayed != "true" {
			t.Fatalf("%s: retry in its own scope: %+v, want replayed", tc.name, a)
		}
	}
	if n := b.countParts(c.token); n != 2 {
		t.Fatalf("production organization has %d parts, want 2 (one per API key)", n)
	}
	if n := s.countParts(sb.token); n != 1 {
		t.Fatalf("sandbox has %d parts, want 1", n)
	}
}

func TestIdempotencyKeyExpiresAfter24Hours(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Now()}
	b := setupWith(t, Config{Now: clock.Now})
	c := b.newCredential("Acme")
	first := b.keyed(c.token, "key-1", createPartMutation, partInput("IDEM-1"))
	clock.advance(24*time.Hour - time.Minute)
	if a := b.keyed(c.token, "key-1", createPartMutation, partInput("IDEM-1")); a.replayed != "true" || a.body != first.body {
		t.Fatalf("23h59m later: %+v, want the first answer replayed", a)
	}
	clock.advance(2 * time.Minute)
	// Past 24 hours the key is new again: the request runs (part numbers
	// are unique, so the same part number is now a validation error).
	a := b.keyed(c.token, "key-1", createPartMutation, partInput("IDEM-1"))
	if a.replayed != "" || a.code() != "VALIDATION_ERROR" {
		t.Fatalf("24h01m later: %+v, want a new execution", a)
	}
	// And a different request with the expired key is no reuse (no 422).
	a = b.keyed(c.token, "key-1", createPartMutation, partInput("IDEM-2"))
	if a.status != 200 || a.replayed != "" || !strings.Contains(a.body, `"partNumber":"IDEM-2"`) {
		t.Fatalf("expired key, new request: %+v", a)
	}
	if a := b.keyed(c.token, "key-1", createPartMutation, partInput("IDEM-2")); a.replayed != "true" {
		t.Fatalf("the new use of the key: %+v, want replayed", a)
	}
}

// TestIdempotencyKeyCrashBetweenCommitAndAnswer loses the answer right
// after the commit (the handler aborts the connection, as a crash would),
// restarts the server over the same data, and retries: the committed
// mutations are answered from their records, never run again.
func TestIdempotencyKeyCrashBetweenCommitAndAnswer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var crashed sync.Once
	r, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: dir, Logger: logger, afterIdempotentRun: func() {
		crashed.Do(func() { panic(http.ErrAbortHandler) })
	}})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = r.Stop()
		}
	})
	// A fresh connection: Go's transport itself retries a request with an
	// Idempotency-Key that fails on a reused connection, which would hide
	// the lost answer from this test.
	b := &bundle{t: t, url: r.URL, adminToken: r.AdminToken, dataDir: dir, running: r,
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
	c := b.newCredential("Acme")
	const two = `mutation Two($a: CreatePartInput!, $b: CreatePartInput!) {
		a: createPart(input: $a) { part { id partNumber _etag } }
		b: createPart(input: $b) { part { id partNumber _etag } }
	}`
	vars := map[string]any{"a": map[string]any{"partNumber": "CRASH-A"}, "b": map[string]any{"partNumber": "CRASH-B"}}
	if a, err := b.tryKeyed(c.token, "crash-key", two, vars); err == nil {
		t.Fatalf("the first answer arrived (%+v); the hook should have lost it", a)
	}
	if n := b.countParts(c.token); n != 2 {
		t.Fatalf("%d parts after the lost answer, want 2 (the writes committed)", n)
	}
	stopped = true
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}

	r, err = Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: dir, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop() })
	b = &bundle{t: t, url: r.URL, adminToken: r.AdminToken, dataDir: dir, running: r, client: http.DefaultClient}
	// The server listens on a new port, so its issuer changed: exchange
	// the same API key again.
	token := b.exchange(r.URL+"/realms/api-keys/protocol/openid-connect/token", c.clientID, c.secret)

	retry := b.keyed(token, "crash-key", two, vars)
	var got struct {
		Data map[string]struct {
			Part struct {
				ID         int64
				PartNumber string
				Etag       string `json:"_etag"`
			}
		}
	}
	if err := json.Unmarshal([]byte(retry.body), &got); err != nil || retry.status != 200 || retry.replayed != "true" {
		t.Fatalf("retry after the crash: %+v", retry)
	}
	parts := b.mustGQL(token, `{ parts(first: 10) { edges { node { id partNumber _etag } } } }`, nil)
	edges := dig(parts, "parts", "edges").([]any)
	if len(edges) != 2 {
		t.Fatalf("%d parts after the retry, want 2: the retry must not write again", len(edges))
	}
	for i, alias := range []string{"a", "b"} {
		p := got.Data[alias].Part
		node := dig(edges[i], "node")
		if p.ID != id(dig(node, "id")) || p.PartNumber != dig(node, "partNumber") || p.Etag != dig(node, "_etag") {
			t.Fatalf("replayed %s = %+v, want the committed part %v", alias, p, node)
		}
	}
	// The answer is now stored: the next retry gets the same bytes.
	if again := b.keyed(token, "crash-key", two, vars); again.body != retry.body || again.replayed != "true" {
		t.Fatalf("second retry: %+v\nwant %s", again, retry.body)
	}
}

// TestIdempotencyKeyAcrossReplicas runs two replicas on one PostgreSQL
// database: a key used through one is the same key through the other,
// including while the first replica has committed but not yet answered.
func TestIdempotencyKeyAcrossReplicas(t *testing.T) {
	t.Parallel()
	pg := postgresURL(t)
	prefix := schemaPrefix(t, pg)
	const publicURL = "http://ionbox.test"
	shared := Config{Store: pg, StoreSchema: prefix, PublicURL: publicURL, AdminToken: randomHex(32), HashKey: randomHex(32)}
	committed, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	cfg1 := shared
	cfg1.afterIdempotentRun = func() {
		once.Do(func() {
			close(committed)
			<-release
		})
	}
	r1, r2 := setupWith(t, cfg1), setupWith(t, shared)
	via := func(r *bundle) *bundle {
		dialer := &net.Dialer{}
		addr := r.running.Addr
		c := *r
		c.url = publicURL
		c.client = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		}}}
		return &c
	}
	b1, b2 := via(r1), via(r2)
	c := b1.newCredential("Acme")
	sb := b1.newSandbox(c.orgID, "acme-replicas")
	s1, s2 := b1.at(sb.baseURL), b2.at(sb.baseURL)

	// Replica 1 commits and holds its answer; the duplicate reaches
	// replica 2 meanwhile: it must not write again.
	firstDone := make(chan keyedAnswer, 1)
	go func() {
		a, err := s1.tryKeyed(sb.token, "rep-key", createPartMutation, partInput("REP-1"))
		if err != nil {
			t.Error(err)
		}
		firstDone <- a
	}()
	<-committed
	dup := s2.keyed(sb.token, "rep-key", createPartMutation, partInput("REP-1"))
	if dup.status != 200 || dup.replayed != "true" || !strings.Contains(dup.body, `"partNumber":"REP-1"`) {
		t.Fatalf("duplicate through replica 2 while replica 1 holds its answer: %+v, want the committed part replayed", dup)
	}
	close(release)
	first := <-firstDone
	if first.status != 200 || !strings.Contains(first.body, `"partNumber":"REP-1"`) {
		t.Fatalf("first through replica 1: %+v", first)
	}
	// From now on both replicas answer the one stored answer.
	stored := s2.keyed(sb.token, "rep-key", createPartMutation, partInput("REP-1"))
	if again := s1.keyed(sb.token, "rep-key", createPartMutation, partInput("REP-1")); again.body != stored.body || again.replayed != "true" || stored.replayed != "true" {
		t.Fatalf("replicas answer differently: %+v vs %+v", again, stored)
	}
	if a := s2.keyed(sb.token, "rep-key", createPartMutation, partInput("REP-2")); a.status != 422 || a.code() != "IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("reuse through replica 2: %+v", a)
	}
	if n := s1.countParts(sb.token); n != 1 {
		t.Fatalf("%d parts in the sandbox, want 1", n)
	}
}
