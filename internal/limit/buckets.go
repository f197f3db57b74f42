package limit

import (
	"context"
	"hash/maphash"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Bucket names one token bucket and its shape.
type Bucket struct {
	Key    string
	Policy Policy
	// N is how many tokens a take takes from this bucket: 0 or 1 for a
	// request, a query's cost for a cost budget. It must not exceed
	// Policy.Burst (such a take can never succeed; callers refuse it
	// themselves with a clearer message).
	N int
}

func (b Bucket) n() int { return max(1, b.N) }

// Result is what a Backend reports for one take.
type Result struct {
	// Allowed is true when every bucket had a token (one was taken from
	// each); false when one had none (nothing was taken).
	Allowed bool
	// Index is the bucket the rest describes: the first one that refused,
	// or, when allowed, the one with the fewest tokens left.
	Index int
	// Remaining is the whole tokens left in that bucket.
	Remaining int
	// Reset is how long that bucket takes to refill to its burst.
	Reset time.Duration
	// RetryAfter, when refused, is how long until a token is available.
	RetryAfter time.Duration
}

// Backend keeps token buckets: in process (Local) or in Redis (Redis), with
// one behaviour.
type Backend interface {
	// Take takes N tokens (at least one) from each bucket at now if every
	// bucket has them, else none (all or nothing, so that a request refused by the aggregate
	// budget does not also spend its credential's). It returns an error
	// only when the backend cannot be reached.
	Take(ctx context.Context, now time.Time, buckets []Bucket) (Result, error)
	// Peek reports whether bucket has a token at now without taking it.
	Peek(ctx context.Context, now time.Time, bucket Bucket) (bool, error)
}

var (
	_ Backend = (*Local)(nil)
	_ Backend = (*Redis)(nil)
)

const localShards = 64

// Local is the in-process Backend: rate.Limiter token buckets in a sharded
// map. Memory is bounded: a bucket that has refilled to its burst is
// identical to a new one, so it is dropped when its shard is swept, and a
// shard at its cap evicts its least recently used bucket.
type Local struct {
	seed     maphash.Seed
	shardCap int
	shards   [localShards]localShard
}

type localShard struct {
	mu        sync.Mutex
	buckets   map[string]*localBucket
	lastSweep time.Time
}

type localBucket struct {
	lim      *rate.Limiter
	policy   Policy
	lastUsed time.Time
}

// sweepEvery is how often a shard drops its full (idle) buckets.
const sweepEvery = 30 * time.Second

// NewLocal returns an in-process backend holding at most maxBuckets buckets
// (default 100000 when <= 0).
func NewLocal(maxBuckets int) *Local {
	if maxBuckets <= 0 {
		maxBuckets = defaultMaxBuckets
	}
	l := &Local{seed: maphash.MakeSeed(), shardCap: max(1, (maxBuckets+localShards-1)/localShards)}
	for i := range l.shards {
		l.shards[i].buckets = make(map[string]*localBucket)
	}
	return l
}

// Len is the number of buckets held.
func (l *Local) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.buckets)
		s.mu.Unlock()
	}
	return n
}

func (l *Local) shard(key string) *localShard {
	return &l.shards[maphash.String(l.seed, key)%localShards]
}

// bucket returns key's bucket, creating it; the shard must be locked.
func (s *localShard) bucket(key string, p Policy, now time.Time, shardCap int) *localBucket {
	b, ok := s.buckets[key]
	if ok {
		if b.policy != p {
			// The environment's policy changed: keep the tokens, change
			// the shape.
			b.lim.SetLimitAt(now, rate.Limit(p.RequestsPerSecond))
			b.lim.SetBurstAt(now, p.Burst)
			b.policy = p
		}
		b.lastUsed = now
		return b
	}
	if len(s.buckets) >= shardCap || now.Sub(s.lastSweep) >= sweepEvery {
		s.sweep(now, shardCap)
	}
	b = &localBucket{lim: rate.NewLimiter(rate.Limit(p.RequestsPerSecond), p.Burst), policy: p, lastUsed: now}
	// A new limiter is full as of its first use; anchor it at now so that
	// a fake clock in the past still works.
	b.lim.SetBurstAt(now, p.Burst)
	s.buckets[key] = b
	return b
}

// sweep drops full buckets, then, if the shard is still at its cap, the
// least recently used one.
func (s *localShard) sweep(now time.Time, shardCap int) {
	s.lastSweep = now
	for k, b := range s.buckets {
		if b.lim.TokensAt(now) >= float64(b.policy.Burst) {
			delete(s.buckets, k)
		}
	}
	for len(s.buckets) >= shardCap {
		var oldestKey string
		var oldest time.Time
		for k, b := range s.buckets {
			if oldestKey == "" || b.lastUsed.Before(oldest) {
				oldestKey, oldest = k, b.lastUsed
			}
		}
		delete(s.buckets, oldestKey)
	}
}

// Take implements Backend.
func (l *Local) Take(_ context.Context, now time.Time, buckets []Bucket) (Result, error) {
	switch len(buckets) {
	case 0:
		return Result{Allowed: true, Remaining: math.MaxInt32}, nil
	case 1:
		return l.takeOne(now, buckets[0]), nil
	}
	// All or nothing: reserve in order, cancel the reservations already
	// made when one bucket refuses.
	var reservations [4]*rate.Reservation
	res := Result{Allowed: true, Remaining: math.MaxInt}
	for i, bk := range buckets {
		s := l.shard(bk.Key)
		s.mu.Lock()
		b := s.bucket(bk.Key, bk.Policy, now, l.shardCap)
		r := b.lim.ReserveN(now, bk.n())
		if !r.OK() || r.DelayFrom(now) > 0 {
			r.CancelAt(now)
			tokens := b.lim.TokensAt(now)
			s.mu.Unlock()
			for j := range min(i, len(reservations)) {
				reservations[j].CancelAt(now)
			}
			return refused(i, bk, tokens), nil
		}
		tokens := b.lim.TokensAt(now)
		s.mu.Unlock()
		if i < len(reservations) {
			reservations[i] = r
		}
		if rem := max(0, int(tokens)); rem < res.Remaining {
			res.Index, res.Remaining, res.Reset = i, rem, untilFull(bk.Policy, tokens)
		}
	}
	return res, nil
}

func (l *Local) takeOne(now time.Time, bk Bucket) Result {
	s := l.shard(bk.Key)
	s.mu.Lock()
	b := s.bucket(bk.Key, bk.Policy, now, l.shardCap)
	ok := b.lim.AllowN(now, bk.n())
	tokens := b.lim.TokensAt(now)
	s.mu.Unlock()
	if !ok {
		return refused(0, bk, tokens)
	}
	return Result{Allowed: true, Remaining: max(0, int(tokens)), Reset: untilFull(bk.Policy, tokens)}
}

// Peek implements Backend.
func (l *Local) Peek(_ context.Context, now time.Time, bk Bucket) (bool, error) {
	s := l.shard(bk.Key)
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[bk.Key]
	if !ok {
		return true, nil
	}
	return b.lim.TokensAt(now) >= 1, nil
}

func refused(i int, bk Bucket, tokens float64) Result {
	p := bk.Policy
	return Result{
		Index:      i,
		Remaining:  max(0, int(tokens)),
		Reset:      untilFull(p, tokens),
		RetryAfter: secondsToDuration((float64(bk.n()) - tokens) / p.RequestsPerSecond),
	}
}

func untilFull(p Policy, tokens float64) time.Duration {
	return secondsToDuration((float64(p.Burst) - tokens) / p.RequestsPerSecond)
}

func secondsToDuration(s float64) time.Duration {
	if s <= 0 {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}
