package postgres_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ionbox/ionbox/internal/postgres"
	"github.com/ionbox/ionbox/internal/scrub"
	"github.com/ionbox/ionbox/internal/storetest"
)

// BenchmarkSnapshotScrub copies and scrubs a production organization of
// one million rows (storetest.BulkOrganization, made in SQL first) into a
// new tenant with the default policy, and reports the whole snapshot's
// time, the rows per second of the copy-and-scrub phase, and this
// process's CPU time (the server's is not counted).
//
//	ION_TEST_POSTGRES_URL=… go test ./internal/postgres/ -run '^$' -bench SnapshotScrub -benchtime 1x
func BenchmarkSnapshotScrub(b *testing.B) {
	url := testURL(b)
	ctx := b.Context()
	prefix := newPrefix(b, url)
	stores, err := postgres.Open(ctx, url, testOptions(prefix))
	if err != nil {
		b.Fatal(err)
	}
	defer stores.Close()
	if err := stores.CreateTenant(ctx, "production-org-1"); err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	schema := pgx.Identifier{prefix + "t_production-org-1"}.Sanitize()
	now := fmt.Sprint(time.Now().UnixMicro())
	for _, t := range storetest.BulkOrganization {
		q := fmt.Sprintf(`INSERT INTO %s.%s (%s) SELECT %s FROM generate_series(1, %d) AS n(i)`,
			schema, t.Table, t.Cols, t.BulkExprs("lpad(to_hex(i), 32, '0')", now, "true", "false"), t.Rows)
		if _, err := conn.Exec(ctx, q); err != nil {
			b.Fatalf("bulk %s: %v", t.Table, err)
		}
	}
	for _, t := range storetest.BulkOrganization {
		if _, err := conn.Exec(ctx, fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s.%s', 'id'), %d)`, schema, t.Table, t.Rows)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	policy := scrub.DefaultPolicy()
	var total, copying, checking, cpu time.Duration
	var rows int64
	for i := 0; b.Loop(); i++ {
		to := fmt.Sprintf("snap-%d-org-1", i)
		if err := stores.CreateTenant(ctx, to); err != nil {
			b.Fatal(err)
		}
		start, cpu0 := time.Now(), cpuTime()
		stats, err := stores.SnapshotTenant(ctx, "production-org-1", to, scrub.NewPlan(policy), nil)
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		cpu += cpuTime() - cpu0
		copying += stats.CopyTime
		checking += stats.CheckTime
		rows = stats.Rows
		b.StopTimer()
		if err := stores.DeleteTenant(ctx, to); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(total.Seconds()/n, "snapshot-s")
	b.ReportMetric(float64(rows)*n/copying.Seconds(), "scrub-rows/s")
	b.ReportMetric(checking.Seconds()/n, "verify-s")
	b.ReportMetric(cpu.Seconds()/n, "client-cpu-s")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
