package sandbox_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// BenchmarkProvisionBlank creates blank sandboxes (one member, one service
// account, auto-approved) one after another on one server's stores and
// reports the latency percentiles of Request, and of "ready": Request plus
// what the sandbox's first GraphQL call costs beyond routing (a token at
// the sandbox's issuer, which makes its first signing key, and a read of
// the new tenant file).
//
//	go test ./internal/sandbox/ -run '^$' -bench ProvisionBlank -benchtime 500x
func BenchmarkProvisionBlank(b *testing.B) {
	bb := setup(b)
	var provision, ready []time.Duration
	for i := 0; b.Loop(); i++ {
		r := bb.request(fmt.Sprintf("bench-%d", i))
		r.Members = r.Members[:1]
		r.ServiceAccounts = r.ServiceAccounts[:1]
		start := time.Now()
		res, err := bb.svc.Request(bb.ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		provision = append(provision, time.Since(start))

		iss := bb.issuer(b, res.Sandbox.Name)
		c := res.Credentials[0]
		if _, err := iss.ClientCredentialsToken(bb.ctx, c.ClientID, c.ClientSecret); err != nil {
			b.Fatal(err)
		}
		ts, err := bb.stores.Tenant(bb.ctx, ion.TenantIDFor(res.Sandbox.Name, res.Sandbox.OrganizationID))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ts.Parts(bb.ctx, ion.ListOptions{Limit: 1}); err != nil {
			b.Fatal(err)
		}
		ready = append(ready, time.Since(start))
	}
	if len(provision) < 200 {
		b.Logf("only %d creations; run with -benchtime 500x for stable percentiles", len(provision))
	}
	b.ReportMetric(percentileMS(provision, 50), "p50-ms")
	b.ReportMetric(percentileMS(provision, 99), "p99-ms")
	b.ReportMetric(percentileMS(ready, 50), "ready-p50-ms")
	b.ReportMetric(percentileMS(ready, 99), "ready-p99-ms")
}

// percentileMS is the p-th percentile of d in milliseconds (nearest rank).
func percentileMS(d []time.Duration, p int) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := min(len(s)-1, (len(s)*p+99)/100-1)
	return float64(s[max(i, 0)].Microseconds()) / 1000
}
