package webhook

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// maxRetryAfter caps a receiver's Retry-After, so that one answer cannot
// park a delivery past its three days.
const maxRetryAfter = 24 * time.Hour

// RetryPolicy decides what follows an attempt. The zero value is the
// documented schedule: the n-th retry waits First·2^(n-1), capped at Max,
// each wait jittered by ±Jitter, until GiveUpAfter has passed since the
// event; a Retry-After from the receiver replaces the computed wait.
//
// With the defaults the waits are 10 s, 20 s, 40 s, 80 s, 160 s, 5.3 min,
// 10.7 min, 21 min, 43 min, 85 min, 2.8 h, 5.7 h, then 6 h each: 23
// attempts in the first 72 hours.
type RetryPolicy struct {
	// First is the wait before the first retry; default 10 s.
	First time.Duration
	// Max caps a wait; default 6 h.
	Max time.Duration
	// GiveUpAfter ends a delivery's retries (it becomes FAILED); default
	// 72 h after the event was recorded.
	GiveUpAfter time.Duration
	// DisableAfter disables a receiver whose attempts have all failed for
	// this long; default 72 h.
	DisableAfter time.Duration
	// Jitter spreads each wait by up to this fraction either way, so that
	// deliveries that failed together do not retry together; default 0.2.
	Jitter float64
	// Rand returns a float in [0,1); default math/rand/v2.
	Rand func() float64
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.First <= 0 {
		p.First = 10 * time.Second
	}
	if p.Max <= 0 {
		p.Max = 6 * time.Hour
	}
	if p.GiveUpAfter <= 0 {
		p.GiveUpAfter = 72 * time.Hour
	}
	if p.DisableAfter <= 0 {
		p.DisableAfter = 72 * time.Hour
	}
	if p.Jitter <= 0 {
		p.Jitter = 0.2
	}
	if p.Rand == nil {
		p.Rand = rand.Float64
	}
	return p
}

// Backoff is the nominal wait after the attempt-th failed attempt (1-based).
func (p RetryPolicy) Backoff(attempt int) time.Duration {
	p = p.withDefaults()
	d := p.First
	for i := 1; i < attempt && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// Decide turns attempt result res of delivery d to receiver rcv, made at
// now, into the outcome the store records.
func (p RetryPolicy) Decide(d ion.WebhookDelivery, rcv ion.WebhookReceiver, res Result, now time.Time) ion.DeliveryOutcome {
	p = p.withDefaults()
	out := ion.DeliveryOutcome{DeliveryID: d.ID, AttemptedAt: now, StatusCode: res.StatusCode}
	expected := rcv.ExpectedResponseCode
	if expected == 0 {
		expected = 200
	}
	if res.Err == "" && (res.StatusCode == expected || (res.StatusCode >= 200 && res.StatusCode < 300)) {
		out.Delivered = true
		return out
	}
	if res.Err != "" {
		out.Error = res.Err
	} else {
		out.Error = statusText(res.StatusCode, expected)
	}
	if res.StatusCode == 410 {
		out.DisableReceiver = true
		return out
	}
	failingSince := now
	if rcv.FailingSince != nil && rcv.FailingSince.Before(now) {
		failingSince = *rcv.FailingSince
	}
	if now.Sub(failingSince) >= p.DisableAfter {
		out.DisableReceiver = true
		out.Error = fmt.Sprintf("disabled: every delivery attempt has failed since %s (more than %s); last attempt: %s. Fix the receiver, then set its status to ACTIVE",
			failingSince.UTC().Format(time.RFC3339), p.DisableAfter, out.Error)
		return out
	}
	wait := res.RetryAfter
	if wait <= 0 {
		nominal := p.Backoff(d.Attempts + 1)
		wait = time.Duration(float64(nominal) * (1 + p.Jitter*(2*p.Rand()-1)))
	}
	next := now.Add(wait)
	created := d.CreatedAt
	if created.IsZero() || created.After(now) {
		created = now
	}
	if next.Sub(created) > p.GiveUpAfter {
		out.Error = fmt.Sprintf("%s; gave up after %d attempts over %s", out.Error, d.Attempts+1, p.GiveUpAfter)
		return out
	}
	out.NextAttemptAt = &next
	return out
}
