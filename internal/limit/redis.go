package limit

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraScript takes one token from each of the buckets KEYS, all or
// nothing, with the generic cell rate algorithm: each key holds its
// bucket's theoretical arrival time (TAT) in microseconds. ARGV[1] is now
// (µs); then, per key, its emission interval (µs per token), its burst and
// how many tokens to take.
// It answers {allowed, index, remaining, reset µs, retry-after µs} for the
// bucket that refused, or for the one with the fewest tokens left.
//
// GCRA keeps one number per key and needs no refill loop, so the script is
// O(keys); keys expire when their bucket is full again, which keeps Redis
// memory bounded the same way the in-process backend does.
var gcraScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local n = #KEYS
local tats = {}
local best = -1
local bestRemaining, bestReset = 0, 0
for i = 1, n do
  local t = tonumber(ARGV[3*i-1])
  local burst = tonumber(ARGV[3*i])
  local take = tonumber(ARGV[3*i+1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  local newTat = tat + t * take
  if newTat - now > burst * t then
    local left = math.floor(burst - (tat - now) / t + 1e-9)
    if left < 0 then left = 0 end
    return {0, i-1, left, string.format('%.0f', tat - now), string.format('%.0f', newTat - now - burst * t)}
  end
  tats[i] = newTat
  local remaining = math.floor(burst - (newTat - now) / t + 1e-9)
  if best < 0 or remaining < bestRemaining then
    best, bestRemaining, bestReset = i-1, remaining, newTat - now
  end
end
for i = 1, n do
  local ttl = math.ceil((tats[i] - now) / 1000) + 1
  redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX', ttl)
end
return {1, best, bestRemaining, string.format('%.0f', bestReset), '0'}
`)

// peekScript reports whether KEYS[1]'s bucket has a token at ARGV[1] (µs),
// ARGV[2] being its emission interval and ARGV[3] its burst.
var peekScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat + tonumber(ARGV[2]) - now > tonumber(ARGV[3]) * tonumber(ARGV[2]) then return 0 end
return 1
`)

// Redis is the Backend shared by replicas: every replica pointed at one
// Redis spends the same budgets. Time comes from the caller (the replicas'
// clocks, which should be NTP-synchronised: a skew of d shifts a budget by
// d×rate tokens at most), so that tests can drive it with a fake clock.
//
// When Redis cannot be reached, the Limiter fails open (see Limiter): a
// rate limit is a fairness measure, and refusing every request of every
// replica because the limit store is down would turn a Redis outage into an
// API outage. The failure is logged as a warning at most every 10 seconds.
type Redis struct {
	client *redis.Client
	prefix string
}

// RedisOptions configure NewRedis.
type RedisOptions struct {
	// Prefix namespaces the keys; default "ionbox:rl:".
	Prefix string
	// Timeout bounds each round trip (dial, read, write); default 100ms, so
	// that a hung Redis costs a request little before it fails open.
	Timeout time.Duration
}

// NewRedis connects to the Redis at url (redis://[user:pass@]host:port/db).
// It does not dial until the first request.
func NewRedis(url string, o RedisOptions) (*Redis, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("--redis: %w (want redis://host:port/db)", err)
	}
	if o.Timeout == 0 {
		o.Timeout = 100 * time.Millisecond
	}
	if o.Prefix == "" {
		o.Prefix = "ionbox:rl:"
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = o.Timeout, o.Timeout, o.Timeout
	opts.MaxRetries = -1 // no retries: a failure fails open at once
	opts.DialerRetries = 1
	return &Redis{client: redis.NewClient(opts), prefix: o.Prefix}, nil
}

// Close closes the connection pool.
func (r *Redis) Close() error { return r.client.Close() }

func micros(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

func emission(p Policy) string {
	return strconv.FormatFloat(1e6/p.RequestsPerSecond, 'f', 3, 64)
}

// Take implements Backend.
func (r *Redis) Take(ctx context.Context, now time.Time, buckets []Bucket) (Result, error) {
	if len(buckets) == 0 {
		return Result{Allowed: true}, nil
	}
	keys := make([]string, len(buckets))
	args := make([]any, 0, 1+3*len(buckets))
	args = append(args, micros(now))
	for i, b := range buckets {
		keys[i] = r.prefix + b.Key
		args = append(args, emission(b.Policy), b.Policy.Burst, b.n())
	}
	v, err := gcraScript.Run(ctx, r.client, keys, args...).Slice()
	if err != nil {
		return Result{}, fmt.Errorf("redis rate limit: %w", err)
	}
	if len(v) != 5 {
		return Result{}, fmt.Errorf("redis rate limit: unexpected answer %v", v)
	}
	num := func(x any) int64 {
		switch x := x.(type) {
		case int64:
			return x
		case string:
			n, _ := strconv.ParseInt(x, 10, 64)
			return n
		}
		return 0
	}
	return Result{
		Allowed:    num(v[0]) == 1,
		Index:      int(num(v[1])),
		Remaining:  int(num(v[2])),
		Reset:      time.Duration(num(v[3])) * time.Microsecond,
		RetryAfter: time.Duration(num(v[4])) * time.Microsecond,
	}, nil
}

// Peek implements Backend.
func (r *Redis) Peek(ctx context.Context, now time.Time, b Bucket) (bool, error) {
	n, err := peekScript.Run(ctx, r.client, []string{r.prefix + b.Key}, micros(now), emission(b.Policy), b.Policy.Burst).Int()
	if err != nil {
		return true, fmt.Errorf("redis rate limit: %w", err)
	}
	return n == 1, nil
}

// failOpen logs backend failures at most once per interval.
type failOpen struct {
	log      *slog.Logger
	interval time.Duration
	mu       sync.Mutex
	last     time.Time
}

func (f *failOpen) report(now time.Time, err error) {
	f.mu.Lock()
	due := f.last.IsZero() || now.Sub(f.last) >= f.interval
	if due {
		f.last = now
	}
	f.mu.Unlock()
	if due {
		f.log.Warn("rate limits are not enforced: their store cannot be reached; allowing requests (fail open)", "err", err)
	}
}
