package bench

import (
	"bufio"
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
	"runtime"
	"slices"
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
// alternate in IONBOX_BENCH_NOISY_ROUNDS rounds (default 10) whose samples
// are pooled, so that the machine's other load falls on both alike; each
// phase lasts IONBOX_BENCH_NOISY_SECONDS (default 3). It also reports the
// median of the rounds' own p99 ratios. The flood's clients run in a
// child process (this test binary again, see TestMain), as a load test's
// clients run on another machine: in this process they would share the Go
// scheduler with the server and production's clients, and the benchmark
// would measure the load generator; IONBOX_BENCH_FLOOD_IN_PROCESS=1 runs
// them here instead. IONBOX_BENCH_SANDBOX_CAPACITY
// sets limit.Config.SandboxCapacity (default: the server's) to see what
// fewer concurrent sandbox requests buy, and IONBOX_BENCH_SANDBOX_RPS the
// sandbox credential's requests per second (burst twice that; a tiny value
// refuses nearly the whole flood, to see what refusals alone cost). Run
// with -benchtime 1x.
func BenchmarkNoisyNeighbour(b *testing.B) {
	phase := 3 * time.Second
	if v, err := strconv.Atoi(os.Getenv("IONBOX_BENCH_NOISY_SECONDS")); err == nil && v > 0 {
		phase = time.Duration(v) * time.Second
	}
	floodRPS := 100
	if v, err := strconv.Atoi(os.Getenv("IONBOX_BENCH_FLOOD_RPS")); err == nil && v >= 0 {
		floodRPS = v
	}
	const prodClients, prodRPS, floodClients = 4, 40, 32
	rounds := 10
	if v, err := strconv.Atoi(os.Getenv("IONBOX_BENCH_NOISY_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	inProcess := os.Getenv("IONBOX_BENCH_FLOOD_IN_PROCESS") == "1"

	server.TuneRuntime() // as `ionbox serve` does
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
		prodTokens[i] = exchangeToken(b, key.TokenURL, key.ClientID, key.ClientSecret)
	}
	var p provisioned
	must(adminPost(r.URL, r.AdminToken, "/admin/v1/sandbox-requests", map[string]any{
		"organizationId": org.ID, "name": "load-test", "shape": "blank", "reason": "benchmark",
		"serviceAccounts": []map[string]string{{"name": "k6"}},
	}, &p))
	if len(p.Credentials) != 1 {
		b.Fatalf("sandbox: %+v", p)
	}
	sandboxToken := exchangeToken(b, p.Sandbox.TokenURL, p.Credentials[0].ClientID, p.Credentials[0].ClientSecret)
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
	if v, err := strconv.ParseFloat(os.Getenv("IONBOX_BENCH_SANDBOX_RPS"), 64); err == nil && v > 0 {
		// Through the admin API, once the sandbox is seeded.
		var out any
		must(adminCall("PUT", r.URL, r.AdminToken, "/admin/v1/environments/"+p.Sandbox.Name+"/rate-limit",
			map[string]any{"requestsPerSecond": v, "burst": max(1, int(2*v))}, &out))
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
	var flood *floodProcess
	if !inProcess {
		flood = startFloodProcess(b, p.Sandbox.BaseURL, sandboxToken, floodClients, floodRPS)
		defer flood.close()
	}
	startFlood := func() (stop func()) {
		if !inProcess {
			return flood.start(count)
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
	var roundRatios []float64
	failedAlone, failedWith := 0, 0
	var floodDur time.Duration
	var gcAlone, gcWith uint32
	gcs := func() uint32 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.NumGC
	}
	for round := range rounds {
		g0 := gcs()
		lat, failed := steady()
		gcAlone += gcs() - g0
		alone, failedAlone = append(alone, lat...), failedAlone+failed
		stop := startFlood()
		time.Sleep(300 * time.Millisecond) // let the flood reach its steady state before measuring
		t0 := time.Now()
		g0 = gcs()
		lat2, failed2 := steady()
		gcWith += gcs() - g0
		floodDur += time.Since(t0) + 300*time.Millisecond
		stop() // returns once none of the flood's requests is in flight
		with, failedWith = append(with, lat2...), failedWith+failed2
		pa, pw := summarize(lat, phase).p99, summarize(lat2, phase).p99
		roundRatios = append(roundRatios, float64(pw)/float64(pa))
		b.Logf("round %d: production p99 alone %v, with flood %v", round+1, pa, pw)
	}
	b.StopTimer()

	sa, sw := summarize(alone, phase), summarize(with, phase)
	ratio := float64(sw.p99) / float64(sa.p99)
	b.ReportMetric(float64(sa.p50.Microseconds())/1000, "prod-p50-alone-ms")
	b.ReportMetric(float64(sa.p99.Microseconds())/1000, "prod-p99-alone-ms")
	b.ReportMetric(float64(sw.p50.Microseconds())/1000, "prod-p50-flood-ms")
	b.ReportMetric(float64(sw.p99.Microseconds())/1000, "prod-p99-flood-ms")
	b.ReportMetric(ratio, "p99-ratio")
	slices.Sort(roundRatios)
	b.ReportMetric(roundRatios[len(roundRatios)/2], "round-p99-ratio-median")
	b.ReportMetric(float64(failedAlone+failedWith), "prod-failed")
	b.Logf("GC cycles while measuring: alone %d, with flood %d", gcAlone, gcWith)
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

// floodProcess is the child process that floods, one for the whole
// benchmark: it floods from a "start" line on its stdin to a "stop" line,
// and answers the stop, once none of its requests is in flight, with a
// line of JSON: how many answers it got of each status.
type floodProcess struct {
	b     *testing.B
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines *bufio.Scanner
}

func startFloodProcess(b *testing.B, base, token string, clients, rps int) *floodProcess {
	cfg, _ := json.Marshal(floodChild{BaseURL: base, Token: token, Clients: clients, RPS: rps})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), floodChildEnv+"="+string(cfg))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("flood process: %v", err)
	}
	return &floodProcess{b: b, cmd: cmd, in: in, lines: bufio.NewScanner(out)}
}

func (f *floodProcess) start(count func(status, n int)) (stop func()) {
	if _, err := io.WriteString(f.in, "start\n"); err != nil {
		f.b.Fatalf("flood process: %v", err)
	}
	return func() {
		if _, err := io.WriteString(f.in, "stop\n"); err != nil {
			f.b.Fatalf("flood process: %v", err)
		}
		if !f.lines.Scan() {
			f.b.Fatalf("flood process ended: %v", f.lines.Err())
		}
		var got map[int]int
		if err := json.Unmarshal(f.lines.Bytes(), &got); err != nil {
			f.b.Fatalf("flood process printed %q: %v", f.lines.Text(), err)
		}
		for s, n := range got {
			count(s, n)
		}
	}
}

func (f *floodProcess) close() {
	f.in.Close()
	_ = f.cmd.Wait()
}

// runFloodChild is the child's whole work (see floodProcess).
func runFloodChild(spec string) int {
	var cfg floodChild
	if err := json.Unmarshal([]byte(spec), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "flood child:", err)
		return 2
	}
	var mu sync.Mutex
	got := map[int]int{}
	var stop func()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "start":
			stop = startFloodHere(cfg.BaseURL, cfg.Token, cfg.Clients, cfg.RPS, func(s int) {
				mu.Lock()
				got[s]++
				mu.Unlock()
			})
		case "stop":
			if stop != nil {
				stop()
				stop = nil
			}
			mu.Lock()
			err := json.NewEncoder(os.Stdout).Encode(got)
			clear(got)
			mu.Unlock()
			if err != nil {
				return 2
			}
		}
	}
	if stop != nil {
		stop()
	}
	return 0
}

// exchangeToken trades a client id and secret for an access token at
// tokenURL (client credentials).
func exchangeToken(b *testing.B, tokenURL, id, secret string) string {
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
