package webhook

import (
	"context"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// Recording attempts in batches. Each attempt's outcome must be committed
// before its lane moves on (so that a retry or a restart sees it), and on
// SQLite every commit goes through the tenant's one writer: recorded one
// transaction per attempt, commits and not receivers bound how many
// attempts a second a tenant can finish, and attempts to a fast receiver
// queue behind the writer. So outcomes of one tenant that finish close
// together are recorded in one FinishWebhookDeliveries transaction (group
// commit): the first outcome starts a batch and waits FinishWindow for
// others, and outcomes arriving while a batch is being written go into the
// next one, at most FinishBatch per transaction.

// finishing is one attempt's outcome waiting to be recorded.
type finishing struct {
	store ion.WebhookStore
	out   ion.DeliveryOutcome
	done  chan error
}

// outcomeBatch is one tenant's outcomes waiting to be recorded; it exists
// while a flush goroutine writes them.
type outcomeBatch struct {
	queue []finishing
}

// record commits the outcome of attempt j and returns the store's answer
// for it.
func (d *Dispatcher) record(j job, out ion.DeliveryOutcome) error {
	ctx := context.WithoutCancel(d.ctx)
	if d.cfg.FinishBatch == 1 {
		return j.store.FinishWebhookDelivery(ctx, out)
	}
	f := finishing{store: j.store, out: out, done: make(chan error, 1)}
	d.finishMu.Lock()
	b := d.finishing[j.tenant]
	lead := b == nil
	if lead {
		b = &outcomeBatch{}
		d.finishing[j.tenant] = b
	}
	b.queue = append(b.queue, f)
	d.finishMu.Unlock()
	if lead {
		// The caller's lane holds d.wg, so Wait cannot have passed zero.
		d.wg.Add(1)
		go d.flush(ctx, j.tenant, b)
	}
	return <-f.done
}

// flush writes tenant's queued outcomes, FinishBatch at a time, until none
// is left.
func (d *Dispatcher) flush(ctx context.Context, tenant string, b *outcomeBatch) {
	defer d.wg.Done()
	if w := d.cfg.FinishWindow; w > 0 {
		// Let the attempts finishing at about the same time join.
		time.Sleep(w)
	}
	for {
		d.finishMu.Lock()
		n := min(len(b.queue), d.cfg.FinishBatch)
		if n == 0 {
			delete(d.finishing, tenant)
			d.finishMu.Unlock()
			return
		}
		batch := b.queue[:n:n]
		b.queue = append([]finishing(nil), b.queue[n:]...)
		d.finishMu.Unlock()
		outs := make([]ion.DeliveryOutcome, n)
		for i, f := range batch {
			outs[i] = f.out
		}
		errs, err := batch[0].store.FinishWebhookDeliveries(ctx, outs)
		for i, f := range batch {
			if err != nil {
				f.done <- err
			} else {
				f.done <- errs[i]
			}
		}
	}
}
