package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ionbox/ionbox/internal/limit"
	"github.com/ionbox/ionbox/internal/server"
	"github.com/ionbox/ionbox/internal/sqlite"
	"github.com/ionbox/ionbox/ion"
)

// finishModes are the two ways the dispatcher records attempts, measured
// side by side in one run: one transaction per attempt, and attempts that
// finish close together in one transaction (the default).
var finishModes = []struct {
	name  string
	batch int
}{{"finish=each", 1}, {"finish=batched", 0}}

// newHookFixture is a server that may deliver webhooks to loopback
// receivers (--allow-private-webhooks), with one organization and a token;
// finishBatch is its WebhookFinishBatch (0: the default).
func newHookFixture(b *testing.B, finishBatch int) *fixture {
	b.Helper()
	server.TuneRuntime()
	cfg := server.Config{Addr: "127.0.0.1:0", DataDir: b.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Limits: limit.Config{Production: unlimited, Sandbox: unlimited, SandboxAggregate: unlimited,
			ProductionCost: unlimited, SandboxCost: unlimited},
		AllowPrivateWebhooks: true, WebhookFinishBatch: finishBatch}
	r, err := server.Start(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Stop() })
	f := &fixture{url: r.URL, dataDir: cfg.DataDir}
	f.token, f.orgID = newCredential(b, r, "Hooks", "hooks.example", "H", "h@hooks.example")
	return f
}

// benchReceiver records when each part's delivery first arrived.
type benchReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	first map[int64]time.Time // part id → first attempt's arrival
	total atomic.Int64
}

func newBenchReceiver(b *testing.B, delay time.Duration) *benchReceiver {
	r := &benchReceiver{first: map[int64]time.Time{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		at := time.Now()
		var p struct {
			ID int64 `json:"id"`
		}
		_ = json.NewDecoder(req.Body).Decode(&p)
		r.mu.Lock()
		if _, ok := r.first[p.ID]; !ok {
			r.first[p.ID] = at
		}
		r.mu.Unlock()
		r.total.Add(1)
		if delay > 0 {
			time.Sleep(delay)
		}
		w.WriteHeader(200)
	}))
	b.Cleanup(r.srv.Close)
	return r
}

func (r *benchReceiver) arrivals() map[int64]time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.first)
}

// hook subscribes a new receiver at url to PART CREATE.
func (f *fixture) hook(b *testing.B, url string) {
	d := f.mustPost(b, `mutation($input: CreateWebhookReceiverInput!) { createWebhookReceiver(input: $input) { webhookReceiver { id } } }`,
		map[string]any{"input": map[string]any{"name": "bench", "url": url, "sharedSecret": "bench-secret"}})
	f.mustPost(b, `mutation($input: CreateWebhookSubscriptionInput!) { createWebhookSubscription(input: $input) { webhookSubscription { id } } }`,
		map[string]any{"input": map[string]any{"receiverId": dig(d, "createWebhookReceiver", "webhookReceiver", "id"), "resource": "PART", "action": "CREATE"}})
}

// createParts creates n parts with clients concurrent loops and returns
// when each part's request was sent, by part id, and each mutation's
// latency.
func (f *fixture) createParts(b *testing.B, prefix string, n, clients int, pace time.Duration) (map[int64]time.Time, []time.Duration) {
	var mu sync.Mutex
	sent := map[int64]time.Time{}
	var took []time.Duration
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				t0 := time.Now()
				d := f.mustPost(b, `mutation($input: CreatePartInput!) { createPart(input: $input) { part { id } } }`,
					map[string]any{"input": map[string]any{"partNumber": fmt.Sprintf("%s-%05d", prefix, i)}})
				id, _ := dig(d, "createPart", "part", "id").(float64)
				mu.Lock()
				sent[int64(id)] = t0
				took = append(took, time.Since(t0))
				mu.Unlock()
				if pace > 0 {
					time.Sleep(pace)
				}
			}
		}()
	}
	wg.Wait()
	slices.Sort(took)
	return sent, took
}

// waitArrivals polls until r has seen every part in sent.
func waitArrivals(b *testing.B, r *benchReceiver, sent map[int64]time.Time, timeout time.Duration) map[int64]time.Time {
	deadline := time.Now().Add(timeout)
	for {
		got := r.arrivals()
		missing := 0
		for id := range sent {
			if _, ok := got[id]; !ok {
				missing++
			}
		}
		if missing == 0 {
			return got
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d deliveries did not arrive within %v", missing, len(sent), timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// latencies is, per part, the time from sending the mutation (an upper
// bound on its commit: it includes the mutation's own latency, reported
// as mutation-p50-ms) to the first delivery attempt's arrival.
func latencies(sent, arrived map[int64]time.Time) []time.Duration {
	out := make([]time.Duration, 0, len(sent))
	for id, t0 := range sent {
		out = append(out, arrived[id].Sub(t0))
	}
	slices.Sort(out)
	return out
}

func pct(l []time.Duration, p int) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[min(len(l)-1, len(l)*p/100)]
}

// BenchmarkWebhookCommitToDelivery: one receiver, 4 clients creating parts
// at a moderate pace; time from each mutation to its delivery's first
// attempt at the receiver. Goal: p99 under 1 s. Run with -benchtime 1x.
func BenchmarkWebhookCommitToDelivery(b *testing.B) {
	for _, m := range finishModes {
		b.Run(m.name, func(b *testing.B) { benchCommitToDelivery(b, m.batch) })
	}
}

func benchCommitToDelivery(b *testing.B, finishBatch int) {
	f := newHookFixture(b, finishBatch)
	rcv := newBenchReceiver(b, 0)
	f.hook(b, rcv.srv.URL)
	b.ResetTimer()
	for range b.N {
		sent, took := f.createParts(b, fmt.Sprintf("LAT%d", time.Now().UnixNano()), 1000, 4, 10*time.Millisecond)
		got := waitArrivals(b, rcv, sent, time.Minute)
		l := latencies(sent, got)
		b.ReportMetric(float64(pct(l, 50).Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(pct(l, 99).Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(l[len(l)-1].Microseconds())/1000, "max-ms")
		b.ReportMetric(float64(pct(took, 50).Microseconds())/1000, "mutation-p50-ms")
	}
}

// BenchmarkWebhookSlowReceivers measures the dispatcher's throughput
// against 16 receivers that take 200 ms to answer, and whether a fast
// receiver starves meanwhile. 250 parts make 4,000 deliveries to the slow
// receivers, all subscribed to PART CREATE; their handlers hold every
// request until all parts are created, then answer each after 200 ms, so
// the measured window is the dispatcher draining a backlog (sending and
// recording each attempt), not the clients creating it. During the drain
// a fast receiver subscribed to LOCATION CREATE gets 100 paced changes;
// its commit-to-delivery latency shows it is not starved. Goal: at least
// 1,000 slow deliveries/s. Run with -benchtime 1x.
func BenchmarkWebhookSlowReceivers(b *testing.B) {
	for _, m := range finishModes {
		b.Run(m.name, func(b *testing.B) { benchSlowReceivers(b, m.batch) })
	}
}

func benchSlowReceivers(b *testing.B, finishBatch int) {
	const slowReceivers, parts = 16, 250
	f := newHookFixture(b, finishBatch)
	gate := make(chan struct{})
	// Only the first iteration holds the requests (run with -benchtime 1x).
	openGate := sync.OnceFunc(func() { close(gate) })
	b.Cleanup(openGate)
	var done atomic.Int64
	var mu sync.Mutex
	var lastDone time.Time
	for range slowReceivers {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			_, _ = io.Copy(io.Discard, req.Body)
			<-gate
			time.Sleep(200 * time.Millisecond)
			w.WriteHeader(200)
			done.Add(1)
			mu.Lock()
			lastDone = time.Now()
			mu.Unlock()
		}))
		b.Cleanup(srv.Close)
		f.hook(b, srv.URL)
	}
	fast := newBenchReceiver(b, 0)
	d := f.mustPost(b, `mutation($input: CreateWebhookReceiverInput!) { createWebhookReceiver(input: $input) { webhookReceiver { id } } }`,
		map[string]any{"input": map[string]any{"name": "fast", "url": fast.srv.URL, "sharedSecret": "bench-secret"}})
	f.mustPost(b, `mutation($input: CreateWebhookSubscriptionInput!) { createWebhookSubscription(input: $input) { webhookSubscription { id } } }`,
		map[string]any{"input": map[string]any{"receiverId": dig(d, "createWebhookReceiver", "webhookReceiver", "id"), "resource": "LOCATION", "action": "CREATE"}})
	b.ResetTimer()
	for range b.N {
		created := time.Now()
		_, took := f.createParts(b, fmt.Sprintf("SLOW%d", time.Now().UnixNano()), parts, 8, 0)
		// Held requests time out after 15 s: the backlog must be in place
		// well before that.
		if since := time.Since(created); since > 10*time.Second {
			b.Fatalf("creating %d parts took %v; the machine is too busy for this benchmark", parts, since)
		}
		start := time.Now()
		openGate()
		var fastSent sync.Map
		var fastIDs []int64
		for i := range 100 {
			t0 := time.Now()
			d := f.mustPost(b, `mutation($input: CreateLocationInput!) { createLocation(input: $input) { location { id } } }`,
				map[string]any{"input": map[string]any{"name": fmt.Sprintf("FAST-%d", i)}})
			id, _ := dig(d, "createLocation", "location", "id").(float64)
			fastSent.Store(int64(id), t0)
			fastIDs = append(fastIDs, int64(id))
			time.Sleep(20 * time.Millisecond)
		}
		deadline := time.Now().Add(5 * time.Minute)
		want := int64(slowReceivers * parts)
		for done.Load() < want {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d slow deliveries done after 5 min", done.Load(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
		sent := map[int64]time.Time{}
		for _, id := range fastIDs {
			t0, _ := fastSent.Load(id)
			sent[id] = t0.(time.Time)
		}
		l := latencies(sent, waitArrivals(b, fast, sent, time.Minute))
		mu.Lock()
		elapsed := lastDone.Sub(start)
		mu.Unlock()
		done.Store(0)
		b.ReportMetric(float64(slowReceivers*parts)/elapsed.Seconds(), "slow-deliveries/s")
		b.ReportMetric(float64(pct(l, 50).Microseconds())/1000, "fast-p50-ms")
		b.ReportMetric(float64(pct(l, 99).Microseconds())/1000, "fast-p99-ms")
		b.ReportMetric(float64(pct(took, 50).Microseconds())/1000, "create-mutation-p50-ms")
	}
}

// BenchmarkWebhookFinishOnSQLite records 1,000 delivery attempts of one
// tenant in its SQLite store as 8 dispatcher workers would: one
// transaction per attempt, or FinishWebhookDeliveries batches of 64. It
// isolates what the dispatcher's batching saves on the single writer.
// Run with -benchtime 1x.
func BenchmarkWebhookFinishOnSQLite(b *testing.B) {
	const attempts, workers, batch = 1000, 8, 64
	for _, batched := range []bool{false, true} {
		name := map[bool]string{false: "finish=each", true: "finish=batched"}[batched]
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			stores, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = stores.Close() })
			control := stores.Control()
			if _, err := control.EnsureEnvironment(ctx, ion.Environment{Name: ion.ProductionEnvironment, Kind: ion.EnvProduction, State: "active"}); err != nil {
				b.Fatal(err)
			}
			org, err := control.CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Hooks", Domain: "hooks.example", Tier: ion.TierStandard})
			if err != nil {
				b.Fatal(err)
			}
			ts, err := stores.Tenant(ctx, org.TenantID())
			if err != nil {
				b.Fatal(err)
			}
			rcv, err := ts.CreateWebhookReceiver(ctx, ion.WebhookReceiver{Name: "r", URL: "https://hooks.example/", DeliveryMode: ion.DeliveryLive})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ts.CreateWebhookSubscription(ctx, ion.WebhookSubscription{ReceiverID: rcv.ID, Resource: ion.ResourcePart, Action: ion.ActionCreate}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				for i := range attempts {
					if _, err := ts.CreatePart(ctx, ion.Part{PartNumber: fmt.Sprintf("F%d-%d", time.Now().UnixNano(), i)}); err != nil {
						b.Fatal(err)
					}
				}
				claimed, err := ts.ClaimWebhookDeliveries(ctx, time.Now().Add(time.Second), time.Minute, attempts)
				if err != nil || len(claimed) != attempts {
					b.Fatalf("claimed %d deliveries (%v), want %d", len(claimed), err, attempts)
				}
				work := make(chan []ion.DeliveryOutcome, attempts)
				size := 1
				if batched {
					size = batch
				}
				for i := 0; i < attempts; i += size {
					var outs []ion.DeliveryOutcome
					for _, d := range claimed[i:min(i+size, attempts)] {
						outs = append(outs, ion.DeliveryOutcome{DeliveryID: d.ID, AttemptedAt: time.Now(), StatusCode: 200, Delivered: true})
					}
					work <- outs
				}
				close(work)
				b.StartTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for outs := range work {
							var err error
							if batched {
								_, err = ts.FinishWebhookDeliveries(ctx, outs)
							} else {
								err = ts.FinishWebhookDelivery(ctx, outs[0])
							}
							if err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(attempts/time.Since(start).Seconds(), "attempts/s")
			}
		})
	}
}
