package webhook

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/ionbox/ionbox/ion"
)

// fakeClock is a settable clock for due times and retries.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type dispatchBundle struct {
	store *memStore
	clock *fakeClock
	d     *Dispatcher
}

func setupDispatcher(t *testing.T, perReceiver int, tune ...func(*Config)) *dispatchBundle {
	t.Helper()
	st := newMemStore()
	clock := &fakeClock{t: time.Now()}
	cfg := Config{
		Tenants:     func(context.Context, string) (ion.WebhookStore, error) { return st, nil },
		Registry:    st,
		Sender:      NewSender(SenderConfig{Guard: Guard{AllowPrivate: true}, Timeout: 5 * time.Second}),
		Policy:      RetryPolicy{Rand: func() float64 { return 0.5 }},
		Now:         clock.now,
		PollEvery:   20 * time.Millisecond,
		PerReceiver: perReceiver,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, f := range tune {
		f(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.Start(ctx)
	t.Cleanup(func() { cancel(); d.Wait() })
	return &dispatchBundle{store: st, clock: clock, d: d}
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDispatcherDeliversAndRetries(t *testing.T) {
	t.Parallel()
	b := setupDispatcher(t, 4)
	var mu sync.Mutex
	var ids []string
	var calls atomic.Int32
	const secret = "rcv-secret"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		wh, _ := standardwebhooks.NewWebhookRaw([]byte(secret))
		if err := wh.Verify(body, r.Header); err != nil || r.Header.Get(HeaderSignature) != SignatureHex([]byte(secret), body) {
			w.WriteHeader(401)
			return
		}
		mu.Lock()
		ids = append(ids, r.Header.Get("webhook-id"))
		mu.Unlock()
		if calls.Add(1) == 1 {
			w.WriteHeader(500) // the first attempt fails
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	rcv := b.store.addReceiver(ion.WebhookReceiver{URL: srv.URL, SharedSecret: secret})
	dl := b.store.queue(rcv.ID, 1, b.clock.now())
	b.d.Wake("production-org-1")

	waitFor(t, "the first attempt", func() bool { return b.store.delivery(dl.ID).Attempts == 1 })
	got := b.store.delivery(dl.ID)
	if got.Status != ion.DeliveryPending || got.LastStatusCode != 500 || !got.NextAttemptAt.After(b.clock.now()) {
		t.Fatalf("after a 500: %+v", got)
	}
	// Not due yet: polling must not retry before the backoff.
	time.Sleep(100 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Fatalf("retried before the backoff ended: %d calls", n)
	}
	b.clock.advance(11 * time.Second)
	waitFor(t, "the retry", func() bool { return b.store.delivery(dl.ID).Status == ion.DeliveryDelivered })
	got = b.store.delivery(dl.ID)
	mu.Lock()
	defer mu.Unlock()
	if got.Attempts != 2 || len(ids) != 2 || ids[0] != ids[1] || ids[0] == "" {
		t.Fatalf("attempts %d, webhook-ids %v: want 2 attempts with one stable id", got.Attempts, ids)
	}
	if r := b.store.receiver(rcv.ID); r.FailingSince != nil {
		t.Errorf("receiver still failing since %v after a success", r.FailingSince)
	}
}

func TestDispatcherDisablesOn410(t *testing.T) {
	t.Parallel()
	b := setupDispatcher(t, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(410) }))
	defer srv.Close()
	rcv := b.store.addReceiver(ion.WebhookReceiver{URL: srv.URL, SharedSecret: "k"})
	dl := b.store.queue(rcv.ID, 1, b.clock.now())
	b.d.Wake("production-org-1")
	waitFor(t, "the 410", func() bool { return b.store.delivery(dl.ID).Status == ion.DeliveryFailed })
	if r := b.store.receiver(rcv.ID); r.Status != ion.ReceiverDisabled || r.LastError == "" {
		t.Fatalf("receiver after 410: %+v", r)
	}
}

// TestSlowReceiverDoesNotStarveOthers holds a slow receiver's requests
// open; another receiver's delivery still goes out, and the slow one never
// gets more than PerReceiver attempts at once.
func TestSlowReceiverDoesNotStarveOthers(t *testing.T) {
	t.Parallel()
	const perReceiver = 3
	b := setupDispatcher(t, perReceiver)
	release := make(chan struct{})
	var inFlight, maxInFlight atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		inFlight.Add(-1)
	}))
	defer slow.Close()
	var fastHits atomic.Int32
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fastHits.Add(1) }))
	defer fast.Close()
	slowRcv := b.store.addReceiver(ion.WebhookReceiver{URL: slow.URL, SharedSecret: "k"})
	fastRcv := b.store.addReceiver(ion.WebhookReceiver{URL: fast.URL, SharedSecret: "k"})
	var slowIDs []ion.ID
	for i := range 300 {
		slowIDs = append(slowIDs, b.store.queue(slowRcv.ID, ion.ID(i), b.clock.now()).ID)
	}
	fastD := b.store.queue(fastRcv.ID, 1, b.clock.now())
	b.d.Wake("production-org-1")
	waitFor(t, "the fast receiver's delivery", func() bool { return b.store.delivery(fastD.ID).Status == ion.DeliveryDelivered })
	waitFor(t, "the slow receiver to be busy", func() bool { return inFlight.Load() == perReceiver })
	close(release)
	waitFor(t, "every slow delivery", func() bool {
		for _, id := range slowIDs {
			if b.store.delivery(id).Status != ion.DeliveryDelivered {
				return false
			}
		}
		return true
	})
	if m := maxInFlight.Load(); m != perReceiver {
		t.Fatalf("slow receiver had up to %d attempts at once, cap %d", m, perReceiver)
	}
}

// TestFullLaneLeavesDeliveriesLeased fills a receiver's lane: what does not
// fit stays leased, is not attempted meanwhile, and goes out once the lease
// ends.
func TestFullLaneLeavesDeliveriesLeased(t *testing.T) {
	t.Parallel()
	b := setupDispatcher(t, 1, func(c *Config) { c.QueuePerReceiver = 2; c.Lease = time.Minute })
	release := make(chan struct{})
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		<-release
	}))
	defer srv.Close()
	rcv := b.store.addReceiver(ion.WebhookReceiver{URL: srv.URL, SharedSecret: "k"})
	var ids []ion.ID
	for i := range 10 {
		ids = append(ids, b.store.queue(rcv.ID, ion.ID(i), b.clock.now()).ID)
	}
	b.d.Wake("production-org-1")
	waitFor(t, "the first attempt", func() bool { return hits.Load() == 1 })
	close(release)
	// One running and two queued fit; the other seven wait for the lease.
	waitFor(t, "the lane to drain", func() bool { return hits.Load() == 3 })
	time.Sleep(100 * time.Millisecond)
	if n := hits.Load(); n != 3 {
		t.Fatalf("%d attempts before the lease ended, want 3", n)
	}
	b.clock.advance(time.Minute + time.Second)
	waitFor(t, "every delivery after the lease", func() bool {
		for _, id := range ids {
			if b.store.delivery(id).Status != ion.DeliveryDelivered {
				b.clock.advance(time.Minute + time.Second)
				return false
			}
		}
		return true
	})
	// The test's clock jumps a whole lease at a time, so an attempt in
	// flight during a jump may be claimed again: at least once.
	if n := hits.Load(); n < 10 {
		t.Fatalf("%d attempts for 10 deliveries", n)
	}
}

// TestBusyReceiversLeaveWorkersForOthers fills every shared worker with
// slow receivers' attempts; a receiver with nothing in flight still gets a
// worker from the reserve at once.
func TestBusyReceiversLeaveWorkersForOthers(t *testing.T) {
	t.Parallel()
	// 8 workers: 7 shared, 1 reserved; two slow receivers of 4 each would
	// want all 8.
	b := setupDispatcher(t, 4, func(c *Config) { c.Workers = 8 })
	release := make(chan struct{})
	var servers []*httptest.Server
	defer func() {
		close(release) // first: Close waits for the handlers
		for _, s := range servers {
			s.Close()
		}
	}()
	var slowInFlight atomic.Int32
	var slowIDs []ion.ID
	for range 2 {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			slowInFlight.Add(1)
			<-release
		}))
		servers = append(servers, srv)
		rcv := b.store.addReceiver(ion.WebhookReceiver{URL: srv.URL, SharedSecret: "k"})
		for i := range 20 {
			slowIDs = append(slowIDs, b.store.queue(rcv.ID, ion.ID(i), b.clock.now()).ID)
		}
	}
	b.d.Wake("production-org-1")
	waitFor(t, "the shared workers to fill", func() bool { return slowInFlight.Load() == 7 })
	time.Sleep(50 * time.Millisecond)
	if n := slowInFlight.Load(); n != 7 {
		t.Fatalf("slow receivers hold %d workers, want the 7 shared ones", n)
	}
	var fastHits atomic.Int32
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fastHits.Add(1) }))
	defer fast.Close()
	rcv := b.store.addReceiver(ion.WebhookReceiver{URL: fast.URL, SharedSecret: "k"})
	var fastIDs []ion.ID
	for i := range 3 {
		fastIDs = append(fastIDs, b.store.queue(rcv.ID, ion.ID(i), b.clock.now()).ID)
	}
	b.d.Wake("production-org-1")
	waitFor(t, "the idle receiver's deliveries", func() bool {
		for _, id := range fastIDs {
			if b.store.delivery(id).Status != ion.DeliveryDelivered {
				return false
			}
		}
		return true
	})
}
