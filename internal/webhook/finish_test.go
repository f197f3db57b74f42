package webhook

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// TestAttemptsFinishingTogetherShareATransaction: a receiver holds 20
// requests until all have arrived, then answers them at once; their
// outcomes are recorded in batches of at most FinishBatch, each delivery
// exactly once. With FinishBatch 1 every attempt is its own transaction.
func TestAttemptsFinishingTogetherShareATransaction(t *testing.T) {
	t.Parallel()
	const n = 20
	for _, tc := range []struct {
		name         string
		batch        int
		wantBatches  bool
		maxBatchSize int
	}{
		{"batched", 8, true, 8},
		{"one transaction per attempt", 1, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setupDispatcher(t, n, func(c *Config) {
				c.FinishBatch = tc.batch
				// Wide enough that answers released together land in one
				// window even on a loaded machine.
				c.FinishWindow = 50 * time.Millisecond
			})
			var arrived sync.WaitGroup
			arrived.Add(n)
			all := make(chan struct{})
			go func() { arrived.Wait(); close(all) }()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived.Done()
				<-all
				w.WriteHeader(200)
			}))
			defer srv.Close()
			rcv := b.store.addReceiver(ion.WebhookReceiver{URL: srv.URL, SharedSecret: "k"})
			var ids []ion.ID
			for i := range n {
				ids = append(ids, b.store.queue(rcv.ID, ion.ID(i+1), b.clock.now()).ID)
			}
			b.d.Wake("production-org-1")
			waitFor(t, "every delivery recorded", func() bool {
				for _, id := range ids {
					if b.store.delivery(id).Status != ion.DeliveryDelivered {
						return false
					}
				}
				return true
			})
			b.store.mu.Lock()
			batches, finished := slices.Clone(b.store.batches), len(b.store.finished)
			b.store.mu.Unlock()
			if finished != n {
				t.Fatalf("%d outcomes recorded for %d deliveries, want one each", finished, n)
			}
			if !tc.wantBatches {
				if len(batches) != 0 {
					t.Fatalf("batches %v with FinishBatch 1, want none", batches)
				}
				return
			}
			total := 0
			for _, s := range batches {
				total += s
				if s > tc.maxBatchSize {
					t.Errorf("batch of %d outcomes; FinishBatch is %d", s, tc.maxBatchSize)
				}
			}
			if total != n || len(batches) >= n || len(batches) < n/tc.maxBatchSize {
				t.Fatalf("batch sizes %v for %d outcomes finishing together, want them grouped (at most %d each)", batches, n, tc.maxBatchSize)
			}
		})
	}
}
