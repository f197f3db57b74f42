package sqlite_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ionbox/ionbox/internal/scrub"
	"github.com/ionbox/ionbox/internal/sqlite"
	"github.com/ionbox/ionbox/internal/storetest"
)

// BenchmarkSnapshotScrub copies and scrubs a production organization of
// one million rows (storetest.BulkOrganization, made in SQL first) into a
// new tenant with the default policy, and reports the whole snapshot's time
// and the rows per second of the copy-and-scrub phase.
//
//	go test ./internal/sqlite/ -run '^$' -bench SnapshotScrub -benchtime 1x
func BenchmarkSnapshotScrub(b *testing.B) {
	ctx := b.Context()
	dir := b.TempDir()
	stores, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer stores.Close()
	if err := stores.CreateTenant(ctx, "production-org-1"); err != nil {
		b.Fatal(err)
	}
	bulkCreate(b, filepath.Join(dir, "tenants", "production-org-1.db"))
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
	b.ReportMetric(cpu.Seconds()/n, "cpu-s")
}

// cpuTime is the CPU time (user and system) this process has used: on a
// machine shared with other work, it says what a snapshot costs better
// than the wall clock does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bulkCreate fills the tenant file at path with storetest.BulkOrganization
// in one transaction, from outside the store (as a migration would).
func bulkCreate(b *testing.B, path string) {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(0)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(b.Context(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	now := fmt.Sprint(time.Now().UnixMicro())
	for _, t := range storetest.BulkOrganization {
		q := fmt.Sprintf(`INSERT INTO %s (%s) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) SELECT %s FROM n`,
			t.Table, t.Cols, t.Rows, t.BulkExprs("printf('%032x', i)", now, "1", "0"))
		if _, err := tx.ExecContext(b.Context(), q); err != nil {
			b.Fatalf("bulk %s: %v", t.Table, err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
