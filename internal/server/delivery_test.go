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
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/ionbox/ionbox/client"
	"github.com/ionbox/ionbox/internal/limit"
)

// hookReceiver is a real webhook consumer on loopback: it verifies both
// signatures of every request with the receiver's secret and records what
// arrived; respond decides each answer (n counts requests from 1).
type hookReceiver struct {
	t       *testing.T
	srv     *httptest.Server
	secret  string
	respond func(n int, w http.ResponseWriter)

	mu  sync.Mutex
	got []delivered
}

// delivered is one request a hookReceiver got.
type delivered struct {
	header   http.Header
	body     []byte
	payload  map[string]any
	verified bool // webhook-signature (standard-webhooks Verify) and x-ion-signature both check out
}

func newHookReceiver(t *testing.T, secret string, respond func(n int, w http.ResponseWriter)) *hookReceiver {
	t.Helper()
	h := &hookReceiver{t: t, secret: secret, respond: respond}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		wh, _ := standardwebhooks.NewWebhookRaw([]byte(secret))
		d := delivered{header: r.Header.Clone(), body: body,
			verified: wh.Verify(body, r.Header) == nil && client.VerifyWebhook([]byte(secret), body, r.Header.Get(client.WebhookSignatureHeader))}
		_ = json.Unmarshal(body, &d.payload)
		h.mu.Lock()
		h.got = append(h.got, d)
		n := len(h.got)
		h.mu.Unlock()
		if h.respond != nil {
			h.respond(n, w)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) deliveries() []delivered {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]delivered(nil), h.got...)
}

// waitDeliveries polls until the receiver got at least n requests.
func (h *hookReceiver) waitDeliveries(n int) []delivered {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := h.deliveries()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("receiver got %d deliveries, want %d", len(got), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settle gives the dispatcher a moment (several poll intervals) to do
// something it must not do, then returns what the receiver got.
func (h *hookReceiver) settle() []delivered {
	time.Sleep(300 * time.Millisecond)
	return h.deliveries()
}

// hookClock is the server's clock moved ahead of the wall clock by a
// test: deliveries are stamped with real time, so the clock must keep
// running to find them due.
type hookClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *hookClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *hookClock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// setupHooks starts a server that may deliver to loopback receivers, with
// clock as its clock and a fast poll.
func setupHooks(t *testing.T, clock *hookClock) *bundle {
	t.Helper()
	// No rate limits: these tests poll the delivery log every 10 ms while
	// they wait, which on a loaded machine outlasts production's burst.
	unlimited := limit.Policy{RequestsPerSecond: 1e6, Burst: 1e6}
	cfg := Config{AllowPrivateWebhooks: true, WebhookPollEvery: 20 * time.Millisecond,
		Limits: limit.Config{Production: unlimited, Sandbox: unlimited, SandboxAggregate: unlimited}}
	if clock != nil {
		cfg.Now = clock.now
	}
	return setupWith(t, cfg)
}

// createReceiver makes a receiver through GraphQL and returns its id.
func (b *bundle) createReceiver(token, url, secret string, extra map[string]any) int64 {
	b.t.Helper()
	input := map[string]any{"name": "hook", "url": url, "sharedSecret": secret}
	for k, v := range extra {
		input[k] = v
	}
	d := b.mustGQL(token, `mutation($input: CreateWebhookReceiverInput!) { createWebhookReceiver(input: $input) { webhookReceiver { id } } }`,
		map[string]any{"input": input})
	return id(dig(d, "createWebhookReceiver", "webhookReceiver", "id"))
}

// subscribe binds (resource, action) to a receiver.
func (b *bundle) subscribe(token string, receiver int64, resource, action string) {
	b.t.Helper()
	b.mustGQL(token, `mutation($input: CreateWebhookSubscriptionInput!) { createWebhookSubscription(input: $input) { webhookSubscription { id } } }`,
		map[string]any{"input": map[string]any{"receiverId": receiver, "resource": resource, "action": action}})
}

// receiverState reads a receiver's status and lastError.
func (b *bundle) receiverState(token string, receiver int64) (status, lastError, etag string) {
	b.t.Helper()
	d := b.mustGQL(token, `{ webhookReceivers { edges { node { id status lastError deliveryMode _etag } } } }`, nil)
	edges, _ := dig(d, "webhookReceivers", "edges").([]any)
	for _, e := range edges {
		if id(dig(e, "node", "id")) == receiver {
			s, _ := dig(e, "node", "status").(string)
			le, _ := dig(e, "node", "lastError").(string)
			et, _ := dig(e, "node", "_etag").(string)
			return s, le, et
		}
	}
	b.t.Fatalf("receiver %d not listed: %v", receiver, d)
	return "", "", ""
}

func (b *bundle) createPart(token, partNumber string) int64 {
	b.t.Helper()
	return id(dig(b.mustGQL(token, `mutation($input: CreatePartInput!) { createPart(input: $input) { part { id } } }`,
		map[string]any{"input": map[string]any{"partNumber": partNumber}}), "createPart", "part", "id"))
}

// TestWebhookDeliveredSignedAndShaped: a production change reaches a live
// receiver once, with the documented body and both signatures.
func TestWebhookDeliveredSignedAndShaped(t *testing.T) {
	t.Parallel()
	b := setupHooks(t, nil)
	c := b.newCredential("Hooked")
	tok := "Bearer " + c.token
	rcv := newHookReceiver(t, "prod-secret-1", nil)
	rid := b.createReceiver(tok, rcv.srv.URL+"/hook", "prod-secret-1",
		map[string]any{"headers": []map[string]string{{"key": "X-Consumer-Token", "value": "abc"}}})
	b.subscribe(tok, rid, "PART", "CREATE")
	b.subscribe(tok, rid, "PARTS", "UPDATE") // plural spelling, as published clients send it

	part := b.createPart(tok, "HOOK-1")
	got := rcv.waitDeliveries(1)[0]
	if !got.verified {
		t.Fatalf("signatures do not verify; headers %v", got.header)
	}
	p := got.payload
	for k, want := range map[string]any{"resource": "PART", "action": "CREATE", "id": float64(part), "receiver_id": float64(rid), "environment": "production"} {
		if p[k] != want {
			t.Errorf("payload %s = %v, want %v (body %s)", k, p[k], want, got.body)
		}
	}
	if dig(p, "data", "new", "partNumber") != "HOOK-1" {
		t.Errorf("data.new = %v", dig(p, "data", "new"))
	}
	for _, k := range []string{"event_id", "subscription_id", "timestamp"} {
		if p[k] == nil {
			t.Errorf("payload lacks %s: %s", k, got.body)
		}
	}
	if got.header.Get("X-Consumer-Token") != "abc" || got.header.Get("X-Test-Run") != "" || got.header.Get("ION-Environment") != "" {
		t.Errorf("headers %v", got.header)
	}
	if !strings.HasPrefix(got.header.Get("webhook-id"), "msg_") {
		t.Errorf("webhook-id %q", got.header.Get("webhook-id"))
	}
	if n := len(rcv.settle()); n != 1 {
		t.Fatalf("%d deliveries for one change", n)
	}
	if status, lastErr, _ := b.receiverState(tok, rid); status != "ACTIVE" || lastErr != "" {
		t.Errorf("receiver after success: %s %q", status, lastErr)
	}
	// The delivery log shows the body exactly as it was sent, and the
	// webhook-id header it was sent with.
	d := b.mustGQL(tok, `{ webhookEvents { edges { node { payload webhookMessageId webhookId status attempts lastStatusCode } } } }`, nil)
	ev := dig(d, "webhookEvents", "edges", 0, "node")
	if dig(ev, "payload") != string(got.body) {
		t.Errorf("webhookEvents payload\n%v\ndiffers from the body sent\n%s", dig(ev, "payload"), got.body)
	}
	if dig(ev, "webhookMessageId") != got.header.Get("webhook-id") || id(dig(ev, "webhookId")) != rid {
		t.Errorf("webhookMessageId %v, webhookId %v; want the webhook-id header %q and the receiver %d",
			dig(ev, "webhookMessageId"), dig(ev, "webhookId"), got.header.Get("webhook-id"), rid)
	}
	deadline := time.Now().Add(10 * time.Second)
	for dig(ev, "status") != "DELIVERED" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		d = b.mustGQL(tok, `{ webhookEvents { edges { node { payload status attempts lastStatusCode } } } }`, nil)
		ev = dig(d, "webhookEvents", "edges", 0, "node")
	}
	if dig(ev, "status") != "DELIVERED" || dig(ev, "attempts") != float64(1) || dig(ev, "lastStatusCode") != float64(200) {
		t.Errorf("delivery log entry %v", ev)
	}
}

// TestWebhookRetriesOnTheServerClock: a 500 is retried after the backoff,
// a 429 after its Retry-After, both with the same webhook-id, and only when
// the (moved) clock says they are due.
func TestWebhookRetriesOnTheServerClock(t *testing.T) {
	t.Parallel()
	clock := &hookClock{}
	b := setupHooks(t, clock)
	c := b.newCredential("Retry")
	tok := "Bearer " + c.token
	rcv := newHookReceiver(t, "k", func(n int, w http.ResponseWriter) {
		switch n {
		case 1:
			w.WriteHeader(500)
		case 2:
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(429)
		default:
			w.WriteHeader(200)
		}
	})
	rid := b.createReceiver(tok, rcv.srv.URL, "k", nil)
	b.subscribe(tok, rid, "PART", "CREATE")
	b.createPart(tok, "RETRY-1")
	rcv.waitDeliveries(1)
	// The retry is scheduled from the clock when the attempt is recorded:
	// move the clock only after that.
	b.waitRecordedAttempts(tok, 1)
	if n := len(rcv.settle()); n != 1 {
		t.Fatalf("retried before the backoff: %d requests", n)
	}
	clock.advance(13 * time.Second) // first backoff: 10 s ± 20 %
	rcv.waitDeliveries(2)
	b.waitRecordedAttempts(tok, 2)
	clock.advance(90 * time.Second)
	if n := len(rcv.settle()); n != 2 {
		t.Fatalf("retried before Retry-After: %d requests", n)
	}
	clock.advance(31 * time.Second)
	got := rcv.waitDeliveries(3)
	if got[0].header.Get("webhook-id") != got[1].header.Get("webhook-id") || got[1].header.Get("webhook-id") != got[2].header.Get("webhook-id") {
		t.Fatalf("webhook-id changed across retries: %q %q %q", got[0].header.Get("webhook-id"), got[1].header.Get("webhook-id"), got[2].header.Get("webhook-id"))
	}
	for i, d := range got {
		if !d.verified {
			t.Errorf("attempt %d not verified", i+1)
		}
	}
	if n := len(rcv.settle()); n != 3 {
		t.Fatalf("%d requests after success", n)
	}
}

// TestWebhook410DisablesTheReceiver: 410 Gone disables at once and says so.
func TestWebhook410DisablesTheReceiver(t *testing.T) {
	t.Parallel()
	b := setupHooks(t, nil)
	c := b.newCredential("Gone")
	tok := "Bearer " + c.token
	rcv := newHookReceiver(t, "k", func(n int, w http.ResponseWriter) { w.WriteHeader(410) })
	rid := b.createReceiver(tok, rcv.srv.URL, "k", nil)
	b.subscribe(tok, rid, "PART", "CREATE")
	b.createPart(tok, "GONE-1")
	rcv.waitDeliveries(1)
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, lastErr, _ := b.receiverState(tok, rid)
		if status == "DISABLED" {
			if !strings.Contains(lastErr, "410") {
				t.Fatalf("lastError %q does not say 410", lastErr)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("receiver still %s after 410", status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.createPart(tok, "GONE-2")
	if n := len(rcv.settle()); n != 1 {
		t.Fatalf("a disabled receiver got %d requests", n)
	}
}

// TestWebhookReceiverDisabledAfterDaysOfFailure moves the clock through
// three days of failed attempts, with a new change every few hours, until
// the receiver is disabled and tells the organization why.
func TestWebhookReceiverDisabledAfterDaysOfFailure(t *testing.T) {
	t.Parallel()
	clock := &hookClock{}
	b := setupHooks(t, clock)
	c := b.newCredential("Failing")
	tok := "Bearer " + c.token
	rcv := newHookReceiver(t, "k", func(n int, w http.ResponseWriter) { w.WriteHeader(503) })
	rid := b.createReceiver(tok, rcv.srv.URL, "k", nil)
	b.subscribe(tok, rid, "PART", "CREATE")
	for step := 0; ; step++ {
		if step > 40 {
			t.Fatal("receiver never disabled")
		}
		before := len(rcv.deliveries())
		b.createPart(tok, fmt.Sprintf("FAIL-%d", step))
		rcv.waitDeliveries(before + 1)
		// The receiver has answered; wait until the store has recorded
		// every answered attempt, so that its status is current.
		b.waitRecordedAttempts(tok, len(rcv.deliveries()))
		status, lastErr, _ := b.receiverState(tok, rid)
		if status == "DISABLED" {
			if !strings.Contains(lastErr, "every delivery attempt has failed since") || !strings.Contains(lastErr, "503") {
				t.Fatalf("lastError %q", lastErr)
			}
			if step < 9 { // 9 steps × 8 h = 72 h
				t.Fatalf("disabled after %d steps of 8 h", step)
			}
			break
		}
		clock.advance(8 * time.Hour)
	}
}

// waitRecordedAttempts polls the delivery log until it counts at least n
// attempts.
func (b *bundle) waitRecordedAttempts(token string, n int) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		d := b.mustGQL(token, `{ webhookEvents(first: 1000) { edges { node { attempts } } } }`, nil)
		got := 0
		edges, _ := dig(d, "webhookEvents", "edges").([]any)
		for _, e := range edges {
			got += int(dig(e, "node", "attempts").(float64))
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the log records %d attempts, the receiver answered %d", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWebhookRefusesLoopbackWithoutTheFlag: without
// --allow-private-webhooks a loopback receiver is never contacted and its
// lastError says why.
func TestWebhookRefusesLoopbackWithoutTheFlag(t *testing.T) {
	t.Parallel()
	b := setupWith(t, Config{WebhookPollEvery: 20 * time.Millisecond})
	c := b.newCredential("Guarded")
	tok := "Bearer " + c.token
	rcv := newHookReceiver(t, "k", nil)
	rid := b.createReceiver(tok, rcv.srv.URL, "k", nil)
	b.subscribe(tok, rid, "PART", "CREATE")
	b.createPart(tok, "SSRF-1")
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, lastErr, _ := b.receiverState(tok, rid)
		if strings.Contains(lastErr, "refused") && strings.Contains(lastErr, "loopback") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lastError %q", lastErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(rcv.deliveries()); n != 0 {
		t.Fatalf("the loopback receiver was contacted %d times", n)
	}
}

// sinkEvent is one event read from the sink stream.
type sinkEvent struct {
	ID   string
	Data struct {
		DeliveryID int64             `json:"deliveryId"`
		WebhookID  string            `json:"webhookId"`
		Headers    map[string]string `json:"headers"`
		Body       string            `json:"body"`
	}
}

// readSink opens the sink stream and returns its first n events.
func readSink(t *testing.T, baseURL, token, query, lastEventID string, n int) []sinkEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", baseURL+"/webhooks/stream"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		raw, _ := io.ReadAll(resp.Body)
		t.Fatalf("sink stream: HTTP %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	var out []sinkEvent
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	var cur sinkEvent
	for len(out) < n && sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			cur.ID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &cur.Data); err != nil {
				t.Fatalf("sink event data: %v", err)
			}
		case line == "" && cur.ID != "":
			out = append(out, cur)
			cur = sinkEvent{}
		}
	}
	if len(out) < n {
		t.Fatalf("sink stream ended after %d events, want %d: %v", len(out), n, sc.Err())
	}
	return out
}

// TestSandboxSinkThenLive: a sandbox receiver records to the sink (never
// contacted; the stream shows the delivery signed as it would be sent);
// switched to LIVE it is contacted, with the test-run headers.
func TestSandboxSinkThenLive(t *testing.T) {
	t.Parallel()
	b := setupHooks(t, nil)
	c := b.newCredential("Sinky")
	sb := b.newSandbox(c.orgID, "sinky-dev")
	sbx := b.at(sb.baseURL)
	tok := "Bearer " + sb.token
	rcv := newHookReceiver(t, "sbx-secret", nil)
	rid := sbx.createReceiver(tok, rcv.srv.URL, "sbx-secret", nil)
	sbx.subscribe(tok, rid, "PART", "CREATE")
	part := sbx.createPart(tok, "SINK-1")

	evs := readSink(t, sb.baseURL, sb.token, "", "0", 1)
	ev := evs[0].Data
	h := http.Header{}
	for k, v := range ev.Headers {
		h.Set(k, v)
	}
	wh, _ := standardwebhooks.NewWebhookRaw([]byte("sbx-secret"))
	if err := wh.Verify([]byte(ev.Body), h); err != nil || !client.VerifyWebhook([]byte("sbx-secret"), []byte(ev.Body), h.Get("x-ion-signature")) {
		t.Fatalf("sink event does not verify (%v): %+v", err, ev)
	}
	var body map[string]any
	_ = json.Unmarshal([]byte(ev.Body), &body)
	if body["environment"] != "sandbox/sinky-dev" || body["id"] != float64(part) || h.Get("X-Test-Run") != "1" || h.Get("ION-Environment") != "sandbox/sinky-dev" {
		t.Fatalf("sink event %+v", ev)
	}
	if ev.WebhookID != h.Get("webhook-id") || evs[0].ID == "" {
		t.Fatalf("event id %q, webhookId %q, header %q", evs[0].ID, ev.WebhookID, h.Get("webhook-id"))
	}
	// The sandbox's delivery log renders the same body and webhook-id.
	logged := dig(sbx.mustGQL(tok, `{ webhookEvents { edges { node { payload webhookMessageId } } } }`, nil), "webhookEvents", "edges", 0, "node")
	if dig(logged, "payload") != ev.Body || dig(logged, "webhookMessageId") != h.Get("webhook-id") {
		t.Fatalf("delivery log %v\nwant body %s and webhook-id %s", logged, ev.Body, h.Get("webhook-id"))
	}
	if n := len(rcv.settle()); n != 0 {
		t.Fatalf("a SINK receiver was contacted %d times", n)
	}
	// Last-Event-ID resumes after the event already seen.
	sbx.createPart(tok, "SINK-2")
	next := readSink(t, sb.baseURL, sb.token, "", evs[0].ID, 1)
	if next[0].Data.DeliveryID <= ev.DeliveryID {
		t.Fatalf("resumed at delivery %d after %d", next[0].Data.DeliveryID, ev.DeliveryID)
	}

	_, _, etag := sbx.receiverState(tok, rid)
	sbx.mustGQL(tok, `mutation($input: UpdateWebhookReceiverInput!) { updateWebhookReceiver(input: $input) { webhookReceiver { id deliveryMode } } }`,
		map[string]any{"input": map[string]any{"id": rid, "etag": etag, "deliveryMode": "LIVE"}})
	live := sbx.createPart(tok, "LIVE-1")
	got := rcv.waitDeliveries(1)[0]
	if !got.verified || got.header.Get("X-Test-Run") != "1" || got.header.Get("ION-Environment") != "sandbox/sinky-dev" {
		t.Fatalf("live sandbox delivery: verified=%v headers %v", got.verified, got.header)
	}
	if got.payload["id"] != float64(live) || got.payload["environment"] != "sandbox/sinky-dev" {
		t.Fatalf("live sandbox payload %s", got.body)
	}

	// Production has no sink.
	resp, err := http.Get(b.url + "/webhooks/stream")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("unauthenticated stream: HTTP %d", resp.StatusCode)
	}
}

// TestTwoReplicasDeliverEachChangeOnce runs two servers on one PostgreSQL
// database behind one public URL, both dispatching: changes made through
// either reach the receiver, each exactly once (claims are leased with
// FOR UPDATE SKIP LOCKED, so no delivery is attempted by both).
func TestTwoReplicasDeliverEachChangeOnce(t *testing.T) {
	t.Parallel()
	pg := postgresURL(t)
	prefix := schemaPrefix(t, pg)
	const publicURL = "http://ionbox.test"
	adminToken, hashKey := randomHex(32), randomHex(32)
	start := func() *bundle {
		r, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Store: pg, StoreSchema: prefix,
			PublicURL: publicURL, AdminToken: adminToken, HashKey: hashKey, AllowPrivateWebhooks: true,
			WebhookPollEvery: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Stop() })
		dialer := &net.Dialer{}
		client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, r.Addr)
		}}}
		return &bundle{t: t, url: publicURL, adminToken: adminToken, client: client}
	}
	b1, b2 := start(), start()
	c := b1.newCredential("Replicated")
	tok := "Bearer " + c.token
	rcv := newHookReceiver(t, "k", nil)
	rid := b1.createReceiver(tok, rcv.srv.URL, "k", nil)
	b1.subscribe(tok, rid, "PART", "CREATE")
	const n = 40
	want := map[float64]bool{}
	for i := range n {
		via := b1
		if i%2 == 1 {
			via = b2
		}
		want[float64(via.createPart(tok, fmt.Sprintf("REP-%d", i)))] = true
	}
	got := rcv.waitDeliveries(n)
	got = rcv.settle()
	seen := map[float64]int{}
	for _, d := range got {
		seen[d.payload["id"].(float64)]++
	}
	for part := range want {
		if seen[part] != 1 {
			t.Errorf("part %v delivered %d times", part, seen[part])
		}
	}
	if len(got) != n {
		t.Fatalf("%d requests for %d changes", len(got), n)
	}
}
