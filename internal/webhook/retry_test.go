package webhook

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

func TestBackoffSchedule(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second,
		320 * time.Second, 640 * time.Second, 1280 * time.Second, 2560 * time.Second, 5120 * time.Second,
		10240 * time.Second, 20480 * time.Second, 6 * time.Hour, 6 * time.Hour}
	for i, w := range want {
		if got := p.Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	// The README promises 23 attempts in the first three days: count them
	// with the nominal waits.
	elapsed, attempts := time.Duration(0), 1
	for n := 1; ; n++ {
		elapsed += p.Backoff(n)
		if elapsed > 72*time.Hour {
			break
		}
		attempts++
	}
	if attempts != 23 {
		t.Errorf("%d attempts in 72 h, README says 23", attempts)
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	half := func() float64 { return 0.5 } // no jitter
	p := RetryPolicy{Rand: half}
	since := func(d time.Duration) *time.Time { v := now.Add(-d); return &v }
	d := func(attempts int, age time.Duration) ion.WebhookDelivery {
		return ion.WebhookDelivery{ID: 1, Attempts: attempts, CreatedAt: now.Add(-age)}
	}
	rcv := func(expected int, failingSince *time.Time) ion.WebhookReceiver {
		return ion.WebhookReceiver{ExpectedResponseCode: expected, FailingSince: failingSince, Status: ion.ReceiverActive}
	}
	for _, tc := range []struct {
		name      string
		d         ion.WebhookDelivery
		rcv       ion.WebhookReceiver
		res       Result
		delivered bool
		disable   bool
		retryIn   time.Duration // 0: no retry
		errorHas  string
	}{
		{"200 default", d(0, 0), rcv(0, nil), Result{StatusCode: 200}, true, false, 0, ""},
		{"204 is any 2xx", d(0, 0), rcv(0, nil), Result{StatusCode: 204}, true, false, 0, ""},
		{"expected 202, got 200", d(0, 0), rcv(202, nil), Result{StatusCode: 200}, true, false, 0, ""},
		{"expected code outside 2xx", d(0, 0), rcv(299, nil), Result{StatusCode: 299}, true, false, 0, ""},
		{"500 first failure", d(0, 0), rcv(0, nil), Result{StatusCode: 500}, false, false, 10 * time.Second, "HTTP 500"},
		{"500 fourth failure", d(3, time.Minute), rcv(0, since(time.Minute)), Result{StatusCode: 500}, false, false, 80 * time.Second, "HTTP 500"},
		{"429 with Retry-After", d(0, 0), rcv(0, nil), Result{StatusCode: 429, RetryAfter: 120 * time.Second}, false, false, 120 * time.Second, "HTTP 429"},
		{"503 with Retry-After", d(5, time.Hour), rcv(0, since(time.Hour)), Result{StatusCode: 503, RetryAfter: 3 * time.Second}, false, false, 3 * time.Second, "HTTP 503"},
		{"429 without Retry-After backs off", d(1, 0), rcv(0, nil), Result{StatusCode: 429}, false, false, 20 * time.Second, "HTTP 429"},
		{"network error", d(0, 0), rcv(0, nil), Result{Err: "could not connect to the receiver"}, false, false, 10 * time.Second, "could not connect"},
		{"410 disables", d(0, 0), rcv(0, nil), Result{StatusCode: 410}, false, true, 0, "410"},
		{"302 is a failure", d(0, 0), rcv(0, nil), Result{StatusCode: 302}, false, false, 10 * time.Second, "redirect"},
		{"gives up after 72h", d(22, 71*time.Hour), rcv(0, since(time.Hour)), Result{StatusCode: 500}, false, false, 0, "gave up"},
		{"failing 72h disables", d(3, 80*time.Hour), rcv(0, since(73*time.Hour)), Result{StatusCode: 500}, false, true, 0, "disabled: every delivery attempt has failed since"},
		{"failing 71h keeps retrying", d(3, time.Hour), rcv(0, since(71*time.Hour)), Result{StatusCode: 500}, false, false, 80 * time.Second, "HTTP 500"},
		{"refused by the guard", d(0, 0), rcv(0, nil), Result{Err: "webhook receiver address refused: loopback", Refused: true}, false, false, 10 * time.Second, "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := p.Decide(tc.d, tc.rcv, tc.res, now)
			if out.Delivered != tc.delivered || out.DisableReceiver != tc.disable {
				t.Fatalf("outcome %+v, want delivered=%v disable=%v", out, tc.delivered, tc.disable)
			}
			if tc.delivered && out.Error != "" {
				t.Errorf("delivered with error %q", out.Error)
			}
			switch {
			case tc.retryIn == 0 && out.NextAttemptAt != nil:
				t.Errorf("retry at %v, want none", out.NextAttemptAt)
			case tc.retryIn != 0 && (out.NextAttemptAt == nil || out.NextAttemptAt.Sub(now) != tc.retryIn):
				t.Errorf("retry at %v, want in %v", out.NextAttemptAt, tc.retryIn)
			}
			if !strings.Contains(out.Error, tc.errorHas) {
				t.Errorf("error %q does not mention %q", out.Error, tc.errorHas)
			}
		})
	}
}

func TestJitterStaysWithinBounds(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, r := range []float64{0, 0.25, 0.999999} {
		p := RetryPolicy{Rand: func() float64 { return r }}
		out := p.Decide(ion.WebhookDelivery{Attempts: 2, CreatedAt: now}, ion.WebhookReceiver{}, Result{StatusCode: 500}, now)
		got := out.NextAttemptAt.Sub(now)
		if got < 32*time.Second || got > 48*time.Second {
			t.Errorf("rand %v: wait %v outside 40 s ± 20%%", r, got)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"120", 120 * time.Second},
		{" 5 ", 5 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"999999999", 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"soon", 0},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
