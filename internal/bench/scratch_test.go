package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
	"time"
)

func BenchmarkScratchIonbox(b *testing.B) {
	f := newFixture(b, 200, 3)
	q := readQuery
	if s := os.Getenv("SCRATCH_QUERY"); s != "" {
		q = s
	}
	body, _ := json.Marshal(map[string]any{"query": q})
	do := func() error {
		req, _ := http.NewRequest("POST", f.url+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+f.token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil
	}
	b.ResetTimer()
	lat := load(b, 8, 4*time.Second, do)
	s := summarize(lat, 4*time.Second)
	b.ReportMetric(s.rps, "req/s")
}
