package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// TenantWebhooks opens the webhook store of one tenant.
type TenantWebhooks func(ctx context.Context, tenant string) (ion.WebhookStore, error)

// Config configures a Dispatcher. Every zero field takes the default in
// its comment.
type Config struct {
	// Tenants opens a tenant's webhook store (required).
	Tenants TenantWebhooks
	// Registry lists the tenants that have LIVE receivers (required).
	Registry ion.WebhookRegistry
	// Sender sends deliveries; default NewSender(SenderConfig{}) with the
	// guard refusing private addresses.
	Sender *Sender
	// Policy is the retry policy; default RetryPolicy{} (see its comment).
	Policy RetryPolicy
	// Now is the clock of due times, leases and retries (tests move it);
	// default time.Now. Signatures' webhook-timestamp always uses the wall
	// clock, which consumers check.
	Now func() time.Time
	// PollEvery is how often every webhook tenant is checked for due
	// deliveries (the safety net behind Wake: other replicas' commits,
	// retries coming due, restarts); default 500 ms.
	PollEvery time.Duration
	// Workers caps attempts in flight on this replica; default 512, of
	// which an eighth is kept for receivers with fewer than two attempts
	// in flight.
	Workers int
	// PerReceiver caps attempts in flight to one receiver, so that a slow
	// receiver holds at most this many workers; default 32.
	PerReceiver int
	// QueuePerReceiver caps the claimed deliveries waiting behind one
	// receiver's running attempts; beyond it a claimed delivery is left
	// leased and is claimed again when the lease ends; default 1024.
	QueuePerReceiver int
	// MaxClaimed caps the deliveries this replica holds (running and
	// queued); default 20000.
	MaxClaimed int
	// Lease is how long a claimed delivery is reserved for this replica;
	// default 30 s. A delivery not finished by then is claimed again (by
	// any replica): at least once. It is also how long deliveries claimed
	// by a replica that crashed wait before another takes them. A queued
	// delivery whose lease has less than the sender's timeout left is not
	// attempted (it may be another replica's by the time it is answered).
	Lease time.Duration
	// ClaimBatch is how many deliveries one claim takes; default 200.
	ClaimBatch int
	// FinishBatch caps the attempts of one tenant recorded in one
	// transaction (see finish.go); default 64. 1 records each attempt in
	// its own transaction.
	FinishBatch int
	// FinishWindow is how long the first attempt of a batch waits for
	// others finishing at about the same time before the batch is
	// written; default 1 ms. Attempts finishing while a batch is written
	// join the next one whatever the window.
	FinishWindow time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (c *Config) validate() error {
	if c.Tenants == nil {
		return errors.New("webhook: Config.Tenants is required")
	}
	if c.Registry == nil {
		return errors.New("webhook: Config.Registry is required")
	}
	if c.Sender == nil {
		c.Sender = NewSender(SenderConfig{})
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.PollEvery <= 0 {
		c.PollEvery = 500 * time.Millisecond
	}
	if c.Workers <= 0 {
		c.Workers = 512
	}
	if c.PerReceiver <= 0 {
		c.PerReceiver = 32
	}
	if c.QueuePerReceiver <= 0 {
		c.QueuePerReceiver = 1024
	}
	if c.MaxClaimed <= 0 {
		c.MaxClaimed = 20000
	}
	if c.Lease <= 0 {
		c.Lease = 30 * time.Second
	}
	if c.ClaimBatch <= 0 {
		c.ClaimBatch = 200
	}
	if c.FinishBatch <= 0 {
		c.FinishBatch = 64
	}
	if c.FinishWindow <= 0 {
		c.FinishWindow = time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Dispatcher sends the LIVE deliveries of every webhook tenant.
type Dispatcher struct {
	cfg Config
	// Worker tokens: one per attempt in flight. reserve holds the last
	// Workers/8, which only a receiver's first lightWorkers attempts may
	// take, so that when busy receivers fill the pool a receiver that is
	// not busy still gets a worker at once instead of queueing behind
	// them.
	sem, reserve chan struct{}

	wake chan struct{}

	mu      sync.Mutex
	pending map[string]bool   // tenants to claim from at the next round
	lanes   map[laneKey]*lane // receivers with attempts queued or in flight
	held    int               // deliveries claimed and not yet finished or dropped

	// finishMu guards finishing: per tenant, the outcomes waiting to be
	// recorded in one batch (finish.go).
	finishMu  sync.Mutex
	finishing map[string]*outcomeBatch

	wg   sync.WaitGroup // lane goroutines
	done chan struct{}
	ctx  context.Context // Start's: ends the attempts in flight
}

type laneKey struct {
	tenant   string
	receiver ion.ID
}

// lane is one receiver's queue: at most PerReceiver of its deliveries are
// attempted at once; the rest wait here, not in the worker pool.
type lane struct {
	running int // goroutines serving the lane (at most PerReceiver)
	working int // of those, how many hold a worker token
	queue   []job
}

// lightWorkers is how many attempts of one receiver may use the reserve.
const lightWorkers = 2

// acquire takes a worker token for an attempt of lane l: from the shared
// pool, or from the reserve while l has fewer than lightWorkers attempts
// in flight.
func (d *Dispatcher) acquire(l *lane) chan struct{} {
	d.mu.Lock()
	light := l.working < lightWorkers
	d.mu.Unlock()
	var token chan struct{}
	if light && cap(d.reserve) > 0 {
		// The shared pool first, so that the reserve stays free while
		// the pool has room.
		select {
		case d.sem <- struct{}{}:
			token = d.sem
		default:
			select {
			case d.sem <- struct{}{}:
				token = d.sem
			case d.reserve <- struct{}{}:
				token = d.reserve
			}
		}
	} else {
		d.sem <- struct{}{}
		token = d.sem
	}
	d.mu.Lock()
	l.working++
	d.mu.Unlock()
	return token
}

func (d *Dispatcher) release(l *lane, token chan struct{}) {
	<-token
	d.mu.Lock()
	l.working--
	d.mu.Unlock()
}

type job struct {
	tenant    string
	store     ion.WebhookStore
	d         ion.WebhookDelivery
	rcv       *ion.WebhookReceiver // nil: the receiver was deleted
	leaseEnds time.Time
}

// New returns a dispatcher; Start runs it.
func New(cfg Config) (*Dispatcher, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	reserved := max(cfg.Workers/8, 1)
	if cfg.Workers < 2 {
		reserved = 0
	}
	return &Dispatcher{
		cfg: cfg, sem: make(chan struct{}, cfg.Workers-reserved), reserve: make(chan struct{}, reserved), wake: make(chan struct{}, 1),
		pending: map[string]bool{}, lanes: map[laneKey]*lane{}, finishing: map[string]*outcomeBatch{},
	}, nil
}

// Wake asks for an immediate claim from tenant (a commit just queued
// deliveries there); it never blocks.
func (d *Dispatcher) Wake(tenant string) {
	d.mu.Lock()
	d.pending[tenant] = true
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Start runs the dispatcher until ctx ends; Wait waits for it and for the
// attempts in flight.
func (d *Dispatcher) Start(ctx context.Context) {
	d.done, d.ctx = make(chan struct{}), ctx
	go func() {
		defer close(d.done)
		tick := time.NewTicker(d.cfg.PollEvery)
		defer tick.Stop()
		d.pollAll(ctx)
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				d.pollAll(ctx)
			case <-d.wake:
			}
			d.claimPending(ctx)
		}
	}()
}

// Wait blocks until the loop and every attempt have stopped.
func (d *Dispatcher) Wait() {
	if d.done != nil {
		<-d.done
	}
	d.wg.Wait()
}

// pollAll marks every webhook tenant for a claim.
func (d *Dispatcher) pollAll(ctx context.Context) {
	tenants, err := d.cfg.Registry.WebhookTenants(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.cfg.Logger.Warn("webhook dispatcher: list tenants", "err", err)
		}
		return
	}
	d.mu.Lock()
	for _, t := range tenants {
		d.pending[t] = true
	}
	d.mu.Unlock()
}

// claimPending claims due deliveries from every marked tenant while there
// is room.
func (d *Dispatcher) claimPending(ctx context.Context) {
	d.mu.Lock()
	tenants := make([]string, 0, len(d.pending))
	for t := range d.pending {
		tenants = append(tenants, t)
	}
	clear(d.pending)
	d.mu.Unlock()
	for _, t := range tenants {
		if ctx.Err() != nil {
			return
		}
		if err := d.claimTenant(ctx, t); err != nil && ctx.Err() == nil {
			d.cfg.Logger.Warn("webhook dispatcher: claim deliveries", "tenant", t, "err", err)
		}
	}
}

func (d *Dispatcher) claimTenant(ctx context.Context, tenant string) error {
	store, err := d.cfg.Tenants(ctx, tenant)
	if err != nil {
		if ion.ErrorCode(err) == ion.ENOTFOUND {
			return nil // deleted since it was listed
		}
		return fmt.Errorf("open tenant: %w", err)
	}
	for {
		d.mu.Lock()
		room := d.cfg.MaxClaimed - d.held
		d.mu.Unlock()
		if room <= 0 {
			return nil
		}
		limit := min(room, d.cfg.ClaimBatch)
		now := d.cfg.Now()
		ds, err := store.ClaimWebhookDeliveries(ctx, now, d.cfg.Lease, limit)
		if err != nil {
			return err
		}
		// One read per receiver and claim, not per delivery: a claim is at
		// most a lease old, and a receiver disabled meanwhile only costs
		// attempts the store then refuses to count twice.
		receivers := map[ion.ID]*ion.WebhookReceiver{}
		dropped := false
		for _, dl := range ds {
			rcv, seen := receivers[dl.ReceiverID]
			if !seen {
				r, err := store.WebhookReceiver(ctx, dl.ReceiverID)
				switch {
				case err == nil:
					rcv = &r
				case ion.ErrorCode(err) != ion.ENOTFOUND:
					return fmt.Errorf("read receiver %d: %w", dl.ReceiverID, err)
				}
				receivers[dl.ReceiverID] = rcv
			}
			if !d.enqueue(job{tenant: tenant, store: store, d: dl, rcv: rcv, leaseEnds: now.Add(d.cfg.Lease)}) {
				dropped = true
			}
		}
		// After a drop, claiming on would only lease more of a saturated
		// receiver's backlog; its lane wakes the tenant when it has room.
		if len(ds) < limit || dropped {
			return nil
		}
	}
}

// enqueue starts an attempt of j in its receiver's lane, queues it behind
// the lane's running attempts, or, when the lane's queue is full, drops it:
// it stays leased, so that the next claims take other receivers'
// deliveries, and comes back when the lease ends.
func (d *Dispatcher) enqueue(j job) bool {
	k := laneKey{j.tenant, j.d.ReceiverID}
	d.mu.Lock()
	l := d.lanes[k]
	if l == nil {
		l = &lane{}
		d.lanes[k] = l
	}
	if l.running < d.cfg.PerReceiver {
		l.running++
		d.held++
		d.mu.Unlock()
		d.wg.Add(1)
		go d.runLane(k, l, j)
		return true
	}
	if len(l.queue) >= d.cfg.QueuePerReceiver {
		d.mu.Unlock()
		return false
	}
	l.queue = append(l.queue, j)
	d.held++
	d.mu.Unlock()
	return true
}

// runLane attempts j, then whatever its lane has queued, until the queue
// is empty.
func (d *Dispatcher) runLane(k laneKey, l *lane, j job) {
	defer d.wg.Done()
	for {
		// A queued delivery whose lease has (nearly) run out may already
		// be another replica's: leave it to whoever claims it next.
		if d.cfg.Now().Before(j.leaseEnds.Add(-d.cfg.Sender.cfg.Timeout)) {
			token := d.acquire(l)
			d.attempt(j)
			d.release(l, token)
		}
		d.mu.Lock()
		d.held--
		if len(l.queue) == 0 {
			l.running--
			if l.running == 0 {
				delete(d.lanes, k)
			}
			d.mu.Unlock()
			d.Wake(k.tenant) // room freed: claim more
			return
		}
		j = l.queue[0]
		l.queue = l.queue[1:]
		d.mu.Unlock()
	}
}

// attempt sends one delivery and records its outcome. An attempt cut short
// because the server is stopping is not recorded: the delivery stays
// leased and is attempted again after the lease, as after a crash.
func (d *Dispatcher) attempt(j job) {
	ctx := d.ctx
	if ctx.Err() != nil {
		return
	}
	log := d.cfg.Logger
	var out ion.DeliveryOutcome
	switch {
	case j.rcv == nil:
		out = ion.DeliveryOutcome{DeliveryID: j.d.ID, AttemptedAt: d.cfg.Now(), Error: "the receiver was deleted"}
	case j.rcv.Status == ion.ReceiverDisabled:
		out = ion.DeliveryOutcome{DeliveryID: j.d.ID, AttemptedAt: d.cfg.Now(), Error: "the receiver is disabled"}
	default:
		out = d.send(ctx, j, *j.rcv)
		if ctx.Err() != nil {
			return
		}
	}
	if err := d.record(j, out); err != nil {
		log.Warn("webhook dispatcher: record attempt", "tenant", j.tenant, "delivery", j.d.ID, "err", err)
	}
}

func (d *Dispatcher) send(ctx context.Context, j job, rcv ion.WebhookReceiver) ion.DeliveryOutcome {
	wall := time.Now()
	s, err := Sign(j.tenant, j.d, rcv, wall)
	if err != nil {
		d.cfg.Logger.Error("webhook dispatcher: render delivery", "tenant", j.tenant, "delivery", j.d.ID, "err", err)
		return ion.DeliveryOutcome{DeliveryID: j.d.ID, AttemptedAt: d.cfg.Now(), Error: "ionbox could not render this event (internal error)"}
	}
	res := d.cfg.Sender.Send(ctx, rcv.URL, s, wall)
	return d.cfg.Policy.Decide(j.d, rcv, res, d.cfg.Now())
}
