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

// BenchmarkResetSandbox resets a sandbox holding some data (parts and
// inventory, saved as a checkpoint) back to that checkpoint after a write,
// over and over on SQLite, and reports the percentiles of Reset as the
// admin API calls it.
//
//	go test ./internal/sandbox/ -run '^$' -bench ResetSandbox -benchtime 300x
func BenchmarkResetSandbox(b *testing.B) {
	bb := setup(b)
	res, err := bb.svc.Request(bb.ctx, bb.request("bench-reset"))
	if err != nil {
		b.Fatal(err)
	}
	sb := *res.Sandbox
	ts, err := bb.stores.Tenant(bb.ctx, ion.TenantIDFor(sb.Name, sb.OrganizationID))
	if err != nil {
		b.Fatal(err)
	}
	const parts = 2000
	for i := range parts {
		p, err := ts.CreatePart(bb.ctx, ion.Part{PartNumber: fmt.Sprintf("P-%05d", i), Description: "a part with a description of some length"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ts.CreatePartInventory(bb.ctx, ion.PartInventory{PartID: p.ID, Quantity: 3}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := bb.svc.CreateCheckpoint(bb.ctx, sb.Name, "data"); err != nil {
		b.Fatal(err)
	}
	var resets []time.Duration
	for i := 0; b.Loop(); i++ {
		if _, err := ts.CreatePart(bb.ctx, ion.Part{PartNumber: fmt.Sprintf("extra-%d", i)}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := bb.svc.Reset(bb.ctx, sb.Name, "data"); err != nil {
			b.Fatal(err)
		}
		resets = append(resets, time.Since(start))
	}
	page, err := ts.Parts(bb.ctx, ion.ListOptions{})
	if err != nil || page.TotalCount != parts {
		b.Fatalf("after the resets: %d parts (%v), want %d", page.TotalCount, err, parts)
	}
	b.ReportMetric(percentileMS(resets, 50), "p50-ms")
	b.ReportMetric(percentileMS(resets, 99), "p99-ms")
}
