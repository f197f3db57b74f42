package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ionbox/ionbox/internal/limit"
	"github.com/ionbox/ionbox/internal/server"
)

// noisyQuery is what both production and the flooding sandbox ask.
const noisyQuery = `{ parts(first: 10) { edges { node { id partNumber description } } pageInfo { totalCount } } }`

// BenchmarkNoisyNeighbour measures production's latency under a steady
// load (4 clients, each with its own credential, 40 requests per second
// each: well within production's limits) first alone, then while 32
// clients flood one sandbox well past its limits (each sending
// IONBOX_BENCH_FLOOD_RPS requests per second, default 100, i.e. 3200/s
// against a 100/s credential limit; 0 sends as fast as possible and
// ignores Retry-After). It runs the server with its default policies and
// reports production's p50/p99 both ways and the ratio of the p99s (goal:
// at most 1.10), plus what the flood got back. The two conditions
// alternate in 3 rounds whose samples are pooled; each phase lasts
// IONBOX_BENCH_NOISY_SECONDS (default 5). The flood's clients run in a
// child process (this test binary again, see TestMain), as a load test's
// clients run on another machine: in this process they would share the Go
// scheduler with the server and production's clients, and the benchmark
// would measure the load generator; IONBOX_BENCH_FLOOD_IN_PROCESS=1 runs
// them here instead. IONBOX_BENCH_SANDBOX_CAPACITY
// sets limit.Config.SandboxCapacity (default: the server's) to see what
// fewer concurrent sandbox requests buy. Run with -benchtime 1x.
func BenchmarkNoisyNeighbour(b *testing.B) {
	phase := 5 * time.Second
	if v, err := strconv.Atoi(os.Getenv("IONBOX_BENCH_NOISY_SECONDS")); err == nil && v > 0 {
		phase = time.Duration(v) * time.Second
	}
	floodRPS := 100
	if v, err := strconv.Atoi(os.Getenv("IONBOX_BENCH_FLOOD_RPS")); err == nil && v >= 0 {
		floodRPS = v
	}
	const prodClients, prodRPS, floodClients, rounds = 4, 40, 32, 3
	inProcess := os.Getenv("IONBOX_BENCH_FLOOD_IN_PROCESS") == "1"

	sbCap, _ := strconv.Atoi(os.Getenv("IONBOX_BENCH_SANDBOX_CAPACITY"))
	r, err := server.Start(context.Background(), server.Config{Addr: "127.0.0.1:0", DataDir: b.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Limits: limit.Config{SandboxCapacity: sbCap}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Stop() })
	var org, user struct{ ID int64 }
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(adminPost(r.URL, r.AdminToken, "/admin/v1/organizations", map[string]string{"name": "Noisy", "domain": "noisy.example"}, &org))
	must(adminPost(r.URL, r.AdminToken, fmt.Sprintf("/admin/v1/organizations/%d/users", org.ID), map[string]string{"name": "N", "email": "n@noisy.example"}, &user))
	prodTokens := make([]string, prodClients)
	for i := range prodTokens {
		var key struct{ ClientID, ClientSecret, TokenURL string }
		must(adminPost(r.URL, r.AdminToken, fmt.Sprintf("/admin/v1/organizations/%d/api-keys", org.ID), map[string]any{"userId": user.ID}, &key))
		prodTokens[i] = noisyToken(b, key.TokenURL, key.ClientID, key.ClientSecret)
	}
	var p provisioned
	must(adminPost(r.URL, r.AdminToken, "/admin/v1/sandbox-requests", map[string]any{
		"organizationId": org.ID, "name": "load-test", "shape": "blank", "reason": "benchmark",
		"serviceAccounts": []map[string]string{{"name": "k6"}},
	}, &p))
	if len(p.Credentials) != 1 {
		b.Fatalf("sandbox: %+v", p)
	}
	sandboxToken := noisyToken(b, p.Sandbox.TokenURL, p.Credentials[0].ClientID, p.Credentials[0].ClientSecret)
	for i := range 10 {
		for _, base := range []string{r.URL, p.Sandbox.BaseURL} {
			tok := prodTokens[0]
			if base != r.URL {
				tok = sandboxToken
			}
			body, _ := json.Marshal(map[string]any{"query": `mutation($input: CreatePartInput!) { createPart(input: $input) { part { id } } }`,
				"variables": map[string]any{"input": map[string]any{"partNumber": fmt.Sprintf("NOISY-%02d", i), "description": "noisy neighbour"}}})
			if status := noisyPost(client, base, tok, body); status != 200 {
				b.Fatalf("seed %s: HTTP %d", base, status)
			}
		}
	}
	query, _ := json.Marshal(map[string]string{"query": noisyQuery})

	prodClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: prodClients}}
	steady := func() (lat []time.Duration, failed int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for c := range prodClients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tick := time.NewTicker(time.Second / prodRPS)
				defer tick.Stop()
				end := time.Now().Add(phase)
				var mine []time.Duration
				bad := 0
				for now := range tick.C {
					if now.After(end) {
						break
					}
					t0 := time.Now()
					if noisyPost(prodClient, r.URL, prodTokens[c], query) != 200 {
						bad++
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat, failed = append(lat, mine...), failed+bad
				mu.Unlock()
			}()
		}
		wg.Wait()
		return lat, failed
	}

	var statuses sync.Map // status → *atomic.Int64
	count := func(s, n int) {
		v, _ := statuses.LoadOrStore(s, new(atomic.Int64))
		v.(*atomic.Int64).Add(int64(n))
	}
	startFlood := func() (stop func()) {
		if !inProcess {
			return startFloodProcess(b, p.Sandbox.BaseURL, sandboxToken, floodClients, floodRPS, count)
		}
		return startFloodHere(p.Sandbox.BaseURL, sandboxToken, floodClients, floodRPS, func(s int) { count(s, 1) })
	}

	b.ResetTimer()
	measured := phase
	phase = 2 * time.Second
	steady() // warm-up, discarded
	phase = measured
	// Alternate the two conditions in rounds and pool each one's samples,
	// so that drift in the machine's other load affects both alike.
	var alone, with []time.Duration
	failedAlone, failedWith := 0, 0
	var floodDur time.Duration
	for round := range rounds {
		lat, failed := steady()
		alone, failedAlone = append(alone, lat...), failedAlone+failed
		stop := startFlood()
		time.Sleep(300 * time.Millisecond) // let the flood reach its steady state before measuring
		t0 := time.Now()
		lat2, failed2 := steady()
		floodDur += time.Since(t0) + 300*time.Millisecond
		stop()
		with, failedWith = append(with, lat2...), failedWith+failed2
		b.Logf("round %d: production p99 alone %v, with flood %v", round+1, summarize(lat, phase).p99, summarize(lat2, phase).p99)
	}
	b.StopTimer()

	sa, sw := summarize(alone, phase), summarize(with, phase)
	ratio := float64(sw.p99) / float64(sa.p99)
	b.ReportMetric(float64(sa.p50.Microseconds())/1000, "prod-p50-alone-ms")
	b.ReportMetric(float64(sa.p99.Microseconds())/1000, "prod-p99-alone-ms")
	b.ReportMetric(float64(sw.p50.Microseconds())/1000, "prod-p50-flood-ms")
	b.ReportMetric(float64(sw.p99.Microseconds())/1000, "prod-p99-flood-ms")
	b.ReportMetric(ratio, "p99-ratio")
	b.ReportMetric(float64(failedAlone+failedWith), "prod-failed")
	total := int64(0)
	var summary bytes.Buffer
	statuses.Range(func(k, v any) bool {
		n := v.(*atomic.Int64).Load()
		total += n
		fmt.Fprintf(&summary, " %d×HTTP %d", n, k)
		return true
	})
	b.ReportMetric(float64(total)/floodDur.Seconds(), "flood-req/s")
	b.Logf("production %d clients × %d/s: alone p50 %v p99 %v (%d requests); with flood p50 %v p99 %v (%d requests); p99 ratio %.3f; production failures %d; flood (%d clients, %d/s each, 0 = unpaced) got%s",
		prodClients, prodRPS, sa.p50, sa.p99, len(alone), sw.p50, sw.p99, len(with), ratio, failedAlone+failedWith, floodClients, floodRPS, summary.String())
}

// startFloodHere starts clients goroutines, each posting noisyQuery to
// base at rps requests per second (0: as fast as possible) until stop is
// called, and passes each answer's status to count.
func startFloodHere(base, token string, clients, rps int, count func(status int)) (stop func()) {
	floodClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	query, _ := json.Marshal(map[string]string{"query": noisyQuery})
	done := make(chan struct{})
	var flood sync.WaitGroup
	for range clients {
		flood.Add(1)
		go func() {
			defer flood.Done()
			var tick <-chan time.Time
			if rps > 0 {
				t := time.NewTicker(time.Second / time.Duration(rps))
				defer t.Stop()
				tick = t.C
			}
			for {
				select {
				case <-done:
					return
				default:
				}
				if tick != nil {
					select {
					case <-done:
						return
					case <-tick:
					}
				}
				count(noisyPost(floodClient, base, token, query))
			}
		}()
	}
	return func() { close(done); flood.Wait(); floodClient.CloseIdleConnections() }
}

// floodChildEnv names the child process's settings (see TestMain).
const floodChildEnv = "IONBOX_BENCH_FLOOD_CHILD"

// floodChild is what the parent passes to the child, as JSON in
// floodChildEnv.
type floodChild struct {
	BaseURL, Token string
	Clients, RPS   int
}

// startFloodProcess runs the flood in a child process: it floods until
// its stdin is closed, then prints the statuses it got as JSON, which
// stop adds up through count.
func startFloodProcess(b *testing.B, base, token string, clients, rps int, count func(status, n int)) (stop func()) {
	cfg, _ := json.Marshal(floodChild{BaseURL: base, Token: token, Clients: clients, RPS: rps})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), floodChildEnv+"="+string(cfg))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("flood process: %v", err)
	}
	return func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			b.Fatalf("flood process: %v: %s", err, out.String())
		}
		var got map[int]int
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			b.Fatalf("flood process printed %q: %v", out.String(), err)
		}
		for s, n := range got {
			count(s, n)
		}
	}
}

// runFloodChild is the child's whole work: flood until stdin closes, then
// print the statuses.
func runFloodChild(spec string) int {
	var cfg floodChild
	if err := json.Unmarshal([]byte(spec), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "flood child:", err)
		return 2
	}
	var mu sync.Mutex
	got := map[int]int{}
	stop := startFloodHere(cfg.BaseURL, cfg.Token, cfg.Clients, cfg.RPS, func(s int) {
		mu.Lock()
		got[s]++
		mu.Unlock()
	})
	_, _ = io.Copy(io.Discard, os.Stdin)
	stop()
	mu.Lock()
	defer mu.Unlock()
	if err := json.NewEncoder(os.Stdout).Encode(got); err != nil {
		return 2
	}
	return 0
}

func noisyToken(b *testing.B, tokenURL, id, secret string) string {
	resp, err := client.PostForm(tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	if tok.AccessToken == "" {
		b.Fatalf("token: HTTP %d", resp.StatusCode)
	}
	return tok.AccessToken
}

// noisyPost posts a GraphQL body and returns the HTTP status (0 when the
// request failed), draining the answer so that the connection is reused.
func noisyPost(c *http.Client, base, token string, body []byte) int {
	req, _ := http.NewRequest("POST", base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
