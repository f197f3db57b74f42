package sandbox_test

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// BenchmarkManySandboxes provisions IONBOX_SANDBOXES (default 10000)
// blank sandboxes on one set of stores, using each once the way its first
// GraphQL call does (a token at its issuer, a read of its tenant), and
// reports the most file descriptors and the peak RSS the process reached,
// and the open tenant files at the end. The goal is under 500 descriptors
// and 1 GiB. Linux only (it reads /proc/self).
//
//	go test ./internal/sandbox/ -run '^$' -bench ManySandboxes -benchtime 1x -timeout 30m
func BenchmarkManySandboxes(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc/self")
	}
	n := 10000
	if v := os.Getenv("IONBOX_SANDBOXES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("IONBOX_SANDBOXES=%q: %v", v, err)
		}
	}
	for b.Loop() {
		bb := setup(b)
		maxFDs := 0
		start := time.Now()
		for i := range n {
			r := bb.request(fmt.Sprintf("scale-%d", i))
			r.Members, r.ServiceAccounts = r.Members[:1], r.ServiceAccounts[:1]
			res, err := bb.svc.Request(bb.ctx, r)
			if err != nil {
				b.Fatal(err)
			}
			c := res.Credentials[0]
			if _, err := bb.issuer(b, res.Sandbox.Name).ClientCredentialsToken(bb.ctx, c.ClientID, c.ClientSecret); err != nil {
				b.Fatal(err)
			}
			ts, err := bb.stores.Tenant(bb.ctx, ion.TenantIDFor(res.Sandbox.Name, res.Sandbox.OrganizationID))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ts.Parts(bb.ctx, ion.ListOptions{Limit: 1}); err != nil {
				b.Fatal(err)
			}
			if i%100 == 0 {
				maxFDs = max(maxFDs, openFDs(b))
			}
			if i%1000 == 999 {
				b.Logf("%d sandboxes in %v: %d fds, %d open tenants, RSS %d MiB", i+1, time.Since(start).Round(time.Second), openFDs(b), bb.stores.OpenTenants(), procStatus(b, "VmRSS")>>10)
			}
		}
		maxFDs = max(maxFDs, openFDs(b))
		b.ReportMetric(float64(n), "sandboxes")
		b.ReportMetric(float64(maxFDs), "max-fds")
		b.ReportMetric(float64(procStatus(b, "VmHWM")>>10), "peak-rss-MiB")
		b.ReportMetric(float64(bb.stores.OpenTenants()), "open-tenants")
		b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(n), "ms/sandbox")
	}
}

// openFDs counts the process's open file descriptors.
func openFDs(tb testing.TB) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Fatal(err)
	}
	return len(entries)
}

// procStatus returns a "kB" field of /proc/self/status, in KiB.
func procStatus(tb testing.TB, field string) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				tb.Fatal(err)
			}
			return kb
		}
	}
	tb.Fatalf("no %s in /proc/self/status", field)
	return 0
}
