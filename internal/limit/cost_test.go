package limit

import (
	"context"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

func TestCostBudget(t *testing.T) {
	t.Parallel()
	for name, mk := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, clock := setup(t, mk(t), Config{ProductionCost: Policy{RequestsPerSecond: 100, Burst: 1000}})
			ctx := context.Background()
			steps := []struct {
				name          string
				advance       time.Duration
				cost          int
				wantAllowed   bool
				wantRemaining int
				wantRetry     time.Duration
			}{
				{"first query", 0, 600, true, 400, 0},
				{"second fits", 0, 400, true, 0, 0},
				{"third over budget", 0, 250, false, 0, 2500 * time.Millisecond},
				{"after a second 100 points are back", time.Second, 250, false, 100, 1500 * time.Millisecond},
				{"after the wait it fits", 1500 * time.Millisecond, 250, true, 0, 0},
				{"zero costs one point", 10 * time.Millisecond, 0, true, 0, 0},
			}
			for _, s := range steps {
				clock.Advance(s.advance)
				d := l.ChargeCost(ctx, prod, "c", s.cost)
				if d.Allowed != s.wantAllowed || d.Remaining != s.wantRemaining || d.Policy.Burst != 1000 {
					t.Fatalf("%s: %+v, want allowed %v, remaining %d", s.name, d, s.wantAllowed, s.wantRemaining)
				}
				if diff := d.RetryAfter - s.wantRetry; diff < -time.Millisecond || diff > time.Millisecond {
					t.Fatalf("%s: RetryAfter %v, want %v", s.name, d.RetryAfter, s.wantRetry)
				}
			}
			// Another credential has its own budget; a query over the
			// maximum is refused outright and spends nothing.
			d := l.ChargeCost(ctx, prod, "other", 1001)
			if d.Allowed || !d.TooCostly() || d.RetryAfter != 0 {
				t.Fatalf("cost over the maximum: %+v", d)
			}
			if d := l.ChargeCost(ctx, prod, "other", 1000); !d.Allowed {
				t.Fatalf("other credential's full budget: %+v", d)
			}
		})
	}
}

func TestCostPolicyOverride(t *testing.T) {
	t.Parallel()
	l, _ := setup(t, NewLocal(0), Config{})
	cases := []struct {
		doc  string
		env  ion.Environment
		want Policy
	}{
		{"", prod, DefaultProductionCost},
		{"", sbA, DefaultSandboxCost},
		{`{"costPerSecond": 7, "costBurst": 70}`, sbA, Policy{7, 70}},
		{`{"costBurst": 70}`, prod, Policy{DefaultProductionCost.RequestsPerSecond, 70}},
		{`{"requestsPerSecond": 3}`, sbA, DefaultSandboxCost},
		{`{"costBurst": -1}`, sbA, DefaultSandboxCost},
	}
	for _, c := range cases {
		env := c.env
		env.RateLimitPolicy = c.doc
		if got := l.CostPolicy(env); got != c.want {
			t.Errorf("%s %q: cost policy %+v, want %+v", env.Kind, c.doc, got, c.want)
		}
		e := l.Effective(env)
		if e.CostPerSecond != c.want.RequestsPerSecond || e.CostBurst != c.want.Burst {
			t.Errorf("%s %q: Effective %+v", env.Kind, c.doc, e)
		}
	}
}
