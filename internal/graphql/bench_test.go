//go:build unix

package graphql

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// BenchmarkPartsPageWithInventory measures the handler alone (no network,
// no authentication) answering the read benchmark's query of
// internal/bench: a page of 50 parts, each with its 3 inventory rows.
//
//	go test ./internal/graphql/ -run '^$' -bench PartsPage -benchmem -cpu 1
func BenchmarkPartsPageWithInventory(b *testing.B) {
	bb := setup(b)
	ctx := b.Context()
	for i := range 200 {
		p, err := bb.ts.CreatePart(ctx, ion.Part{PartNumber: fmt.Sprintf("BENCH-%04d", i), Description: "benchmark part"})
		if err != nil {
			b.Fatal(err)
		}
		for range 3 {
			if _, err := bb.ts.CreatePartInventory(ctx, ion.PartInventory{PartID: p.ID, Quantity: 3}); err != nil {
				b.Fatal(err)
			}
		}
	}
	body, err := json.Marshal(map[string]any{"query": `{ parts(first: 50) { edges { node { id partNumber revision description partInventories { id quantity status serialNumber } } } } }`})
	if err != nil {
		b.Fatal(err)
	}
	serve := func() *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(ion.WithActor(ctx, bb.actor), http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		bb.h.ServeHTTP(w, req)
		return w
	}
	if w := serve(); w.Code != http.StatusOK || bytes.Contains(w.Body.Bytes(), []byte(`"errors"`)) || bytes.Count(w.Body.Bytes(), []byte(`"serialNumber"`)) != 150 {
		b.Fatalf("HTTP %d %.300s", w.Code, w.Body.Bytes())
	}
	b.ReportAllocs()
	// As in internal/bench: several clients at once, so that CPU, not the
	// loaders' batching wait, bounds the rate.
	b.SetParallelism(8)
	b.ResetTimer()
	cpu0 := cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			serve()
		}
	})
	// The machine may be shared: CPU time per operation says more than the
	// wall time when other processes compete for the cores.
	b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// cpuTime is the CPU time, user and system, that the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
