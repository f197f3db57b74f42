package limit

import (
	"context"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// ScopeCost is the GraphQL cost budget per credential.
const ScopeCost Scope = "the per-credential GraphQL cost budget"

// CostDecision is the outcome of charging a query's cost.
type CostDecision struct {
	Allowed bool
	// Cost is what was charged (or refused).
	Cost int
	// Policy is the budget: Burst points at most, restored at
	// RequestsPerSecond points per second.
	Policy Policy
	// Remaining is the points left after the charge (before it, when
	// refused).
	Remaining int
	// Reset is how long the budget takes to be full again.
	Reset time.Duration
	// RetryAfter, when refused, is how long until the cost fits; zero when
	// it never can (Cost > Policy.Burst).
	RetryAfter time.Duration
}

// TooCostly reports a refusal that no wait can fix: the query costs more
// than the budget ever holds.
func (d CostDecision) TooCostly() bool { return !d.Allowed && d.Cost > d.Policy.Burst }

// ChargeCost charges cost points (at least 1) to credential's GraphQL cost
// budget in env. A cost over the budget's maximum is refused without
// touching the bucket. While the backend is unreachable it fails open, as
// request limits do.
func (l *Limiter) ChargeCost(ctx context.Context, env ion.Environment, credential string, cost int) CostDecision {
	p := l.CostPolicy(env)
	cost = max(1, cost)
	if cost > p.Burst {
		return CostDecision{Cost: cost, Policy: p, Remaining: p.Burst}
	}
	now := l.now()
	if l.skipping(now) {
		return CostDecision{Allowed: true, Cost: cost, Policy: p, Remaining: p.Burst}
	}
	res, err := l.backend.Take(ctx, now, []Bucket{{Key: "cost/" + env.Name + "/" + credential, Policy: p, N: cost}})
	if err != nil {
		l.failed(now, err)
		return CostDecision{Allowed: true, Cost: cost, Policy: p, Remaining: p.Burst}
	}
	return CostDecision{Allowed: res.Allowed, Cost: cost, Policy: p, Remaining: min(res.Remaining, p.Burst),
		Reset: res.Reset, RetryAfter: res.RetryAfter}
}

// CostAccount is one request's cost budget: the environment and the
// authenticated credential the HTTP layer found. It travels in the request
// context to the GraphQL layer, which knows the query's cost.
type CostAccount struct {
	Limiter    *Limiter
	Env        ion.Environment
	Credential string
}

// Charge charges cost to the account's budget.
func (a CostAccount) Charge(ctx context.Context, cost int) CostDecision {
	return a.Limiter.ChargeCost(ctx, a.Env, a.Credential, cost)
}

type costKey struct{}

// WithCostAccount returns a context carrying the request's cost account.
func WithCostAccount(ctx context.Context, a CostAccount) context.Context {
	return context.WithValue(ctx, costKey{}, a)
}

// CostAccountFrom returns the request's cost account, if any.
func CostAccountFrom(ctx context.Context) (CostAccount, bool) {
	a, ok := ctx.Value(costKey{}).(CostAccount)
	return a, ok && a.Limiter != nil
}
