package bench

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/ionbox/ionbox/internal/limit"
	"github.com/ionbox/ionbox/internal/server"
)

// unlimited is a rate-limit policy no benchmark reaches.
var unlimited = limit.Policy{RequestsPerSecond: 1e9, Burst: 1_000_000_000}

// fixture is a running ionbox with one organization, a token, and seeded
// parts with inventory.
type fixture struct {
	url, token, dataDir string
	orgID               int64
}

func newFixture(b *testing.B, parts, invPerPart int) *fixture {
	return newFixtureOn(b, "sqlite", parts, invPerPart)
}

// newFixtureOn is newFixture on the given store: "sqlite" or a PostgreSQL
// URL (in a fresh schema prefix, dropped afterwards).
func newFixtureOn(b *testing.B, store string, parts, invPerPart int) *fixture {
	b.Helper()
	server.TuneRuntime() // as `ionbox serve` does
	dir := b.TempDir()
	cfg := server.Config{Addr: "127.0.0.1:0", DataDir: dir, Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		// These benchmarks measure throughput with one credential: rate
		// limits would only measure the limits.
		Limits: limit.Config{Production: unlimited, Sandbox: unlimited, SandboxAggregate: unlimited,
			ProductionCost: unlimited, SandboxCost: unlimited}}
	if store != "sqlite" {
		cfg.StoreSchema = schemaPrefix(b, store)
	}
	r, err := server.Start(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Stop() })
	f := &fixture{url: r.URL, dataDir: dir}
	f.token, f.orgID = newCredential(b, r, "Bench", "bench.example", "B", "b@bench.example")

	for p := range parts {
		d := f.mustPost(b, `mutation($input: CreatePartInput!) { createPart(input: $input) { part { id } } }`,
			map[string]any{"input": map[string]any{"partNumber": fmt.Sprintf("BENCH-%04d", p), "description": "benchmark part"}})
		partID := dig(d, "createPart", "part", "id")
		for range invPerPart {
			f.mustPost(b, `mutation($input: CreatePartInventoryInput!) { createPartInventory(input: $input) { partInventory { id } } }`,
				map[string]any{"input": map[string]any{"partId": partID, "quantity": 3}})
		}
	}
	return f
}

func (f *fixture) post(query string, vars map[string]any) (*http.Response, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest("POST", f.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.token)
	return client.Do(req)
}

func (f *fixture) mustPost(b *testing.B, query string, vars map[string]any) map[string]any {
	resp, err := f.post(query, vars)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Data   map[string]any
		Errors []any
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Errors) > 0 {
		b.Fatalf("%s: %v %v", query, err, r.Errors)
	}
	return r.Data
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

// load runs clients concurrent request loops for d and returns each
// request's latency. A failed request fails the benchmark.
func load(b *testing.B, clients int, d time.Duration, do func() error) []time.Duration {
	var (
		mu  sync.Mutex
		all []time.Duration
		wg  sync.WaitGroup
	)
	end := time.Now().Add(d)
	errs := make(chan error, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(end) {
				t0 := time.Now()
				if err := do(); err != nil {
					errs <- err
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return all
}

type stats struct {
	rps      float64
	p50, p99 time.Duration
}

func summarize(lat []time.Duration, d time.Duration) stats {
	slices.Sort(lat)
	if len(lat) == 0 {
		return stats{}
	}
	return stats{rps: float64(len(lat)) / d.Seconds(), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100]}
}

const readQuery = `{ parts(first: 50) { edges { node { id partNumber revision description partInventories { id quantity status serialNumber } } } } }`

// plainHandler answers readQuery's JSON straight from the tenant's SQLite
// file with database/sql and encoding/json: the floor ionbox is compared to.
func plainHandler(b *testing.B, dataDir string, orgID int64) http.Handler {
	path := filepath.Join(dataDir, "tenants", fmt.Sprintf("production-org-%d.db", orgID))
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	type inv struct {
		ID           int64   `json:"id"`
		Quantity     float64 `json:"quantity"`
		Status       string  `json:"status"`
		SerialNumber *string `json:"serialNumber"`
	}
	type part struct {
		ID              int64  `json:"id"`
		PartNumber      string `json:"partNumber"`
		Revision        string `json:"revision"`
		Description     string `json:"description"`
		PartInventories []inv  `json:"partInventories"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		rows, err := db.QueryContext(r.Context(), `SELECT id, part_number, revision, description FROM parts ORDER BY id LIMIT 50`)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		var parts []part
		byID := map[int64]int{}
		var ids []string
		for rows.Next() {
			var p part
			if err := rows.Scan(&p.ID, &p.PartNumber, &p.Revision, &p.Description); err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			p.PartInventories = []inv{}
			byID[p.ID] = len(parts)
			parts = append(parts, p)
			ids = append(ids, fmt.Sprint(p.ID))
		}
		rows.Close()
		rows, err = db.QueryContext(r.Context(), `SELECT id, part_id, quantity, status, serial_number FROM part_inventories WHERE part_id IN (`+strings.Join(ids, ",")+`) ORDER BY id`)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		for rows.Next() {
			var i inv
			var partID int64
			if err := rows.Scan(&i.ID, &partID, &i.Quantity, &i.Status, &i.SerialNumber); err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			parts[byID[partID]].PartInventories = append(parts[byID[partID]].PartInventories, i)
		}
		rows.Close()
		edges := make([]map[string]any, len(parts))
		for i, p := range parts {
			edges[i] = map[string]any{"node": p}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"parts": map[string]any{"edges": edges}}})
	})
}

// BenchmarkReadVsPlainHandler compares ionbox answering readQuery with a
// plain net/http handler answering the same JSON from the same SQLite rows,
// in alternating rounds so both see the same machine load. Run with
// -benchtime 1x; it times itself.
func BenchmarkReadVsPlainHandler(b *testing.B) {
	f := newFixture(b, 200, 3)
	plain := httptest.NewServer(plainHandler(b, f.dataDir, f.orgID))
	defer plain.Close()

	// Both must answer the same data (ionbox's extensions.cost is extra).
	var ionAns, plainAns struct {
		Data any `json:"data"`
	}
	resp, err := f.post(readQuery, nil)
	if err != nil {
		b.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&ionAns)
	resp.Body.Close()
	resp, err = client.Post(plain.URL, "application/json", strings.NewReader(`{}`))
	if err != nil {
		b.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&plainAns)
	resp.Body.Close()
	ij, _ := json.Marshal(ionAns)
	pj, _ := json.Marshal(plainAns)
	if !bytes.Equal(ij, pj) {
		b.Fatalf("ionbox and the plain handler disagree:\nionbox: %.400s\nplain:  %.400s", ij, pj)
	}

	body, _ := json.Marshal(map[string]any{"query": readQuery})
	doIonbox := func() error {
		req, _ := http.NewRequest("POST", f.url+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+f.token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("ionbox: HTTP %d", resp.StatusCode)
		}
		return nil
	}
	doPlain := func() error {
		resp, err := client.Post(plain.URL, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil
	}
	const clients, round, rounds = 8, time.Second, 3
	var ionLat, plainLat []time.Duration
	b.ResetTimer()
	for range rounds {
		ionLat = append(ionLat, load(b, clients, round, doIonbox)...)
		plainLat = append(plainLat, load(b, clients, round, doPlain)...)
	}
	b.StopTimer()
	is, ps := summarize(ionLat, rounds*round), summarize(plainLat, rounds*round)
	b.ReportMetric(is.rps, "ionbox-req/s")
	b.ReportMetric(float64(is.p50.Microseconds()), "ionbox-p50-µs")
	b.ReportMetric(float64(is.p99.Microseconds()), "ionbox-p99-µs")
	b.ReportMetric(ps.rps, "plain-req/s")
	b.ReportMetric(float64(ps.p50.Microseconds()), "plain-p50-µs")
	b.ReportMetric(float64(ps.p99.Microseconds()), "plain-p99-µs")
	b.ReportMetric(is.rps/ps.rps, "ratio")
}

// BenchmarkDurableCreatePartInventory measures acknowledged (durable against
// a process crash) createPartInventory mutations per second with 16
// concurrent clients.
func BenchmarkDurableCreatePartInventory(b *testing.B) {
	f := newFixture(b, 1, 0)
	partID := dig(f.mustPost(b, `{ parts(first: 1) { edges { node { id } } } }`, nil), "parts", "edges")
	pid := partID.([]any)[0].(map[string]any)["node"].(map[string]any)["id"]
	body, _ := json.Marshal(map[string]any{
		"query":     `mutation($input: CreatePartInventoryInput!) { createPartInventory(input: $input) { partInventory { id } } }`,
		"variables": map[string]any{"input": map[string]any{"partId": pid, "quantity": 1}},
	})
	do := func() error {
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
			return fmt.Errorf("create: HTTP %d %s", resp.StatusCode, raw)
		}
		return nil
	}
	const d = 3 * time.Second
	b.ResetTimer()
	lat := load(b, 16, d, do)
	b.StopTimer()
	s := summarize(lat, d)
	b.ReportMetric(s.rps, "writes/s")
	b.ReportMetric(float64(s.p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(s.p99.Microseconds()), "p99-µs")
}

// client keeps enough idle connections for every concurrent benchmark client,
// so the benchmarks measure requests, not TCP handshakes.
var client = &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}

// newCredential makes, through r's admin API, an organization with one
// user and an API key, and returns a token of that key and the
// organization's id.
func newCredential(b *testing.B, r *server.Running, org, domain, user, email string) (token string, orgID int64) {
	b.Helper()
	var o, u struct{ ID int64 }
	var key struct{ ClientID, ClientSecret, TokenURL string }
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(adminPost(r.URL, r.AdminToken, "/admin/v1/organizations", map[string]string{"name": org, "domain": domain}, &o))
	must(adminPost(r.URL, r.AdminToken, fmt.Sprintf("/admin/v1/organizations/%d/users", o.ID), map[string]string{"name": user, "email": email}, &u))
	must(adminPost(r.URL, r.AdminToken, fmt.Sprintf("/admin/v1/organizations/%d/api-keys", o.ID), map[string]any{"userId": u.ID}, &key))
	return exchangeToken(b, key.TokenURL, key.ClientID, key.ClientSecret), o.ID
}
