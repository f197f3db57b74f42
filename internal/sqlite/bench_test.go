package sqlite_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/ionbox/ionbox/internal/sqlite"
	"github.com/ionbox/ionbox/ion"
)

// BenchmarkCreatePartInventory measures durable inventory creates from 16
// concurrent writers on one tenant (the target is at least 1000/s).
//
//	go test ./internal/sqlite/ -run '^$' -bench CreatePartInventory -benchtime 3s
func BenchmarkCreatePartInventory(b *testing.B) {
	ctx := b.Context()
	stores, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer stores.Close()
	if err := stores.CreateTenant(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	ts, err := stores.Tenant(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	loc, err := ts.CreateLocation(ctx, ion.Location{Name: "bin", Available: true})
	if err != nil {
		b.Fatal(err)
	}
	part, err := ts.CreatePart(ctx, ion.Part{PartNumber: "p", TrackingType: ptr(ion.TrackingLot)})
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ts.CreatePartInventory(ctx, ion.PartInventory{PartID: part.ID, LotNumber: ptr("L1"), Quantity: 3, LocationID: &loc.ID}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkPartsPageWithInventory reads what parts(first: 50) { … inventory }
// needs: one page of parts and, batched, their inventory.
//
//	go test ./internal/sqlite/ -run '^$' -bench PartsPage
func BenchmarkPartsPageWithInventory(b *testing.B) {
	ctx := b.Context()
	stores, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer stores.Close()
	if err := stores.CreateTenant(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	ts, err := stores.Tenant(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		p, err := ts.CreatePart(ctx, ion.Part{PartNumber: fmt.Sprint("part-", i), Description: "a part"})
		if err != nil {
			b.Fatal(err)
		}
		for range 3 {
			if _, err := ts.CreatePartInventory(ctx, ion.PartInventory{PartID: p.ID, Quantity: 2}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			page, err := ts.Parts(ctx, ion.ListOptions{Limit: 50, Offset: 100})
			if err != nil || len(page.Items) != 50 {
				b.Errorf("parts: %d, %v", len(page.Items), err)
				return
			}
			ids := make([]any, len(page.Items))
			for i, p := range page.Items {
				ids[i] = p.ID
			}
			inv, err := ts.PartInventories(ctx, ion.ListOptions{Limit: 1000, Filters: []ion.Filter{{Field: "partId", Op: ion.OpIn, Value: ids}}})
			if err != nil || len(inv.Items) != 150 {
				b.Errorf("inventory: %d, %v", len(inv.Items), err)
				return
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }
