package bench

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkIdempotencyKeyOverhead compares durable createPartInventory
// writes without and with a fresh Idempotency-Key per request (what the Go
// SDK sends), 16 clients, SQLite, in alternating rounds so both see the
// same machine load. A keyed write also reads the key's record, writes its
// step in the same transaction and stores the answer afterwards. Run with
// -benchtime 1x; it times itself.
func BenchmarkIdempotencyKeyOverhead(b *testing.B) {
	f := newFixture(b, 1, 0)
	partID := dig(f.mustPost(b, `{ parts(first: 1) { edges { node { id } } } }`, nil), "parts", "edges")
	pid := partID.([]any)[0].(map[string]any)["node"].(map[string]any)["id"]
	body, _ := json.Marshal(map[string]any{
		"query":     `mutation($input: CreatePartInventoryInput!) { createPartInventory(input: $input) { partInventory { id } } }`,
		"variables": map[string]any{"input": map[string]any{"partId": pid, "quantity": 1}},
	})
	write := func(keyed bool) func() error {
		return func() error {
			req, _ := http.NewRequest("POST", f.url+"/graphql", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+f.token)
			if keyed {
				var k [16]byte
				_, _ = rand.Read(k[:])
				req.Header.Set("Idempotency-Key", hex.EncodeToString(k[:]))
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || bytes.Contains(raw, []byte(`"errors"`)) || resp.Header.Get("Idempotent-Replayed") != "" {
				return fmt.Errorf("create: HTTP %d %s", resp.StatusCode, raw)
			}
			return nil
		}
	}
	const round = 1500 * time.Millisecond
	var plain, keyed []time.Duration
	b.ResetTimer()
	for range 2 {
		plain = append(plain, load(b, 16, round, write(false))...)
		keyed = append(keyed, load(b, 16, round, write(true))...)
	}
	b.StopTimer()
	p, k := summarize(plain, 2*round), summarize(keyed, 2*round)
	b.ReportMetric(p.rps, "plain-writes/s")
	b.ReportMetric(k.rps, "keyed-writes/s")
	b.ReportMetric(k.rps/p.rps, "keyed/plain")
	b.ReportMetric(float64(p.p50.Microseconds()), "plain-p50-µs")
	b.ReportMetric(float64(k.p50.Microseconds()), "keyed-p50-µs")
	b.ReportMetric(float64(p.p99.Microseconds()), "plain-p99-µs")
	b.ReportMetric(float64(k.p99.Microseconds()), "keyed-p99-µs")
}
