package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// schemaPrefix returns a fresh PostgreSQL schema prefix and drops its
// schemas when the benchmark ends.
func schemaPrefix(b *testing.B, pgURL string) string {
	var r [4]byte
	_, _ = rand.Read(r[:])
	prefix := "bench_" + hex.EncodeToString(r[:]) + "_"
	b.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, pgURL)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, `SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)`, prefix)
		if err != nil {
			return
		}
		names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, n := range names {
			_, _ = conn.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{n}.Sanitize()+` CASCADE`)
		}
	})
	return prefix
}

// storesUnderTest lists SQLite and, when ION_TEST_POSTGRES_URL is set,
// PostgreSQL.
func storesUnderTest(b *testing.B) map[string]string {
	stores := map[string]string{"sqlite": "sqlite"}
	if u := os.Getenv("ION_TEST_POSTGRES_URL"); u != "" {
		stores["postgres"] = u
	} else {
		b.Log("ION_TEST_POSTGRES_URL is unset: PostgreSQL is left out")
	}
	return stores
}

// BenchmarkStores runs the core read, the durable write and blank-sandbox
// creation on each store, one after another in one run, so their numbers
// can be quoted side by side. Run with -benchtime 1x.
func BenchmarkStores(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		store, ok := storesUnderTest(b)[name]
		if !ok {
			continue
		}
		b.Run(name+"/read", func(b *testing.B) {
			f := newFixtureOn(b, store, 200, 3)
			body, _ := json.Marshal(map[string]any{"query": readQuery})
			lat := load(b, 8, 3*time.Second, func() error { return f.postRaw(body) })
			s := summarize(lat, 3*time.Second)
			b.ReportMetric(s.rps, "req/s")
			b.ReportMetric(float64(s.p50.Microseconds()), "p50-µs")
			b.ReportMetric(float64(s.p99.Microseconds()), "p99-µs")
		})
		b.Run(name+"/durable-write", func(b *testing.B) {
			f := newFixtureOn(b, store, 1, 0)
			pid := dig(f.mustPost(b, `{ parts(first: 1) { edges { node { id } } } }`, nil), "parts", "edges").([]any)[0].(map[string]any)["node"].(map[string]any)["id"]
			body, _ := json.Marshal(map[string]any{
				"query":     `mutation($input: CreatePartInventoryInput!) { createPartInventory(input: $input) { partInventory { id } } }`,
				"variables": map[string]any{"input": map[string]any{"partId": pid, "quantity": 1}},
			})
			lat := load(b, 16, 3*time.Second, func() error { return f.postRaw(body) })
			s := summarize(lat, 3*time.Second)
			b.ReportMetric(s.rps, "writes/s")
			b.ReportMetric(float64(s.p50.Microseconds()), "p50-µs")
			b.ReportMetric(float64(s.p99.Microseconds()), "p99-µs")
		})
		b.Run(name+"/blank-sandbox", func(b *testing.B) {
			f := newFixtureOn(b, store, 0, 0)
			adminToken := readAdminToken(b, f.dataDir)
			lat := make([]time.Duration, 0, 200)
			for i := range 200 {
				t0 := time.Now()
				if err := createAndUse(f.url, adminToken, f.orgID, fmt.Sprintf("bench-%04d", i)); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			s := summarize(lat, time.Second)
			b.ReportMetric(float64(s.p50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(s.p99.Microseconds())/1000, "p99-ms")
		})
	}
}

// postRaw posts a prepared GraphQL body and fails on any error answer.
func (f *fixture) postRaw(body []byte) error {
	req, _ := http.NewRequest("POST", f.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || bytes.Contains(raw, []byte(`"errors"`)) {
		return fmt.Errorf("HTTP %d %.200s", resp.StatusCode, raw)
	}
	return nil
}
