package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// BenchmarkSandboxLifecycle measures, on one real server, end to end over
// HTTP: provisioning blank and seeded-small sandboxes through the admin API
// until their GraphQL answers (100 of each, one after another, after one
// seeded warm-up that may build the seed template); resetting a
// seeded-small sandbox after a write (100 times); and, unless
// IONBOX_BENCH_LARGE=0, provisioning a seeded-large sandbox (≥ 1,000,000
// rows; building its template takes minutes the first time) and resetting
// it after a write (10 times, 3 s apart, as a user resets between test
// runs: the reset renames a ready copy into place and prepares the next
// copy in the background; IONBOX_BENCH_RESET_GAP, e.g. 30s, spaces them
// further). IONBOX_BENCH_SMALL=0 leaves out all but the large sandbox;
// IONBOX_BENCH_STORE=<postgres URL> runs it on PostgreSQL.
// For blank sandboxes it also reports the p50 of each step: the admin
// call, the token exchange and the first query.
// IONBOX_BENCH_PROVISION_GAP (e.g. 300ms) waits that long before each
// provisioning, so that the background work one starts (on PostgreSQL,
// making the spare schema that replaces the one it claimed, about 0.2 s of
// PostgreSQL CPU) does not land on the next: the latency of one
// provisioning rather than of a burst. Run with -benchtime 1x.
func BenchmarkSandboxLifecycle(b *testing.B) {
	store := "sqlite"
	if v := os.Getenv("IONBOX_BENCH_STORE"); v != "" {
		store = v
	}
	f := newFixtureOn(b, store, 0, 0)
	adminToken := readAdminToken(b, f.dataDir)
	report := func(name string, lat []time.Duration) {
		s := summarize(lat, time.Second)
		b.ReportMetric(float64(s.p50.Microseconds())/1000, name+"-p50-ms")
		b.ReportMetric(float64(s.p99.Microseconds())/1000, name+"-p99-ms")
	}
	var pace time.Duration
	if v := os.Getenv("IONBOX_BENCH_PROVISION_GAP"); v != "" {
		var err error
		if pace, err = time.ParseDuration(v); err != nil {
			b.Fatalf("IONBOX_BENCH_PROVISION_GAP=%q: %v", v, err)
		}
	}
	var steps [3][]time.Duration // blank sandboxes' admin call, token, first query
	provision := func(name, shape, size string) (sandboxUse, time.Duration) {
		time.Sleep(pace)
		start := time.Now()
		use, err := provisionAndUse(f.url, adminToken, f.orgID, name, shape, size)
		if err != nil {
			b.Fatal(err)
		}
		if shape == "blank" {
			for i, d := range []time.Duration{use.admin, use.exchange, use.firstQuery} {
				steps[i] = append(steps[i], d)
			}
		}
		return use, time.Since(start)
	}
	b.ResetTimer()

	if os.Getenv("IONBOX_BENCH_SMALL") == "0" {
		benchLargeSandbox(b, f.url, adminToken, provision, report, resetsOf(b, f.url, adminToken))
		return
	}
	const n = 100
	var blank, seeded []time.Duration
	for i := range n {
		_, d := provision(fmt.Sprintf("blank-%03d", i), "blank", "")
		blank = append(blank, d)
	}
	report("blank", blank)
	for i, step := range []string{"admin", "token", "query"} {
		b.ReportMetric(float64(summarize(steps[i], time.Second).p50.Microseconds())/1000, "blank-"+step+"-p50-ms")
	}
	_, warm := provision("seeded-warmup", "seeded", "small")
	b.ReportMetric(float64(warm.Milliseconds()), "seeded-first-ms")
	var small sandboxUse
	for i := range n {
		use, d := provision(fmt.Sprintf("seeded-%03d", i), "seeded", "small")
		seeded = append(seeded, d)
		small = use
	}
	report("seeded-small", seeded)
	b.ReportMetric(float64(small.parts), "seeded-small-parts")

	resets := resetsOf(b, f.url, adminToken)
	report("reset-small", resets(small, n, 0))

	if os.Getenv("IONBOX_BENCH_LARGE") == "0" {
		return
	}
	benchLargeSandbox(b, f.url, adminToken, provision, report, resets)
}

// resetsOf returns a function that resets a sandbox times times after a
// write each, gap apart, and returns the resets' latencies.
func resetsOf(b *testing.B, base, adminToken string) func(use sandboxUse, times int, gap time.Duration) []time.Duration {
	return func(use sandboxUse, times int, gap time.Duration) []time.Duration {
		var lat []time.Duration
		for i := range times {
			if gap > 0 && i > 0 {
				time.Sleep(gap)
			}
			if err := use.write(fmt.Sprintf("EXTRA-%d", i)); err != nil {
				b.Fatal(err)
			}
			var out struct{ State, ResetTo string }
			start := time.Now()
			if err := adminPost(base, adminToken, "/admin/v1/sandboxes/"+use.name+"/reset", map[string]any{}, &out); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
			if out.State != "active" || out.ResetTo != "baseline" {
				b.Fatalf("reset of %s answered %+v", use.name, out)
			}
		}
		if got, err := use.count(); err != nil || got != use.parts {
			b.Fatalf("after the resets %s has %d parts (%v), want %d", use.name, got, err, use.parts)
		}
		return lat
	}
}

// benchLargeSandbox provisions two seeded-large sandboxes (the first
// builds the seed data) and resets one of them 10 times, 3 s apart.
func benchLargeSandbox(b *testing.B, base, adminToken string, provision func(name, shape, size string) (sandboxUse, time.Duration),
	report func(string, []time.Duration), resets func(sandboxUse, int, time.Duration) []time.Duration) {
	large, d := provision("seeded-large", "seeded", "large")
	b.ReportMetric(d.Seconds(), "seeded-large-first-s")
	rows, err := large.rows()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(rows), "seeded-large-rows")
	if rows < 1_000_000 {
		b.Fatalf("the large seeded sandbox has %d rows, want at least 1,000,000", rows)
	}
	_, d = provision("seeded-large-2", "seeded", "large")
	b.ReportMetric(d.Seconds(), "seeded-large-again-s")
	gap := 3 * time.Second
	if v := os.Getenv("IONBOX_BENCH_RESET_GAP"); v != "" {
		var err error
		if gap, err = time.ParseDuration(v); err != nil {
			b.Fatalf("IONBOX_BENCH_RESET_GAP=%q: %v", v, err)
		}
	}
	// The baseline's ready copy is made in the background after
	// provisioning, as after every reset.
	time.Sleep(10*time.Second + gap)
	report("reset-large", resets(large, 10, gap))
}

// sandboxUse is a provisioned sandbox with a token of its service account.
type sandboxUse struct {
	name, baseURL, token string
	parts                int // at provisioning
	// How long provisioning's steps took: the admin call, the token
	// exchange and the first query.
	admin, exchange, firstQuery time.Duration
}

// provisionAndUse requests a sandbox through the admin API, exchanges its
// service account's credential and reads its parts: what "until its
// GraphQL answers" means for a user.
func provisionAndUse(base, adminToken string, orgID int64, name, shape, size string) (sandboxUse, error) {
	var p provisioned
	start := time.Now()
	body := map[string]any{"organizationId": orgID, "name": name, "shape": shape, "reason": "benchmark",
		"serviceAccounts": []map[string]string{{"name": "ci"}}}
	if size != "" {
		body["size"] = size
	}
	if err := adminPost(base, adminToken, "/admin/v1/sandbox-requests", body, &p); err != nil {
		return sandboxUse{}, err
	}
	if p.Status != "provisioned" || len(p.Credentials) != 1 {
		return sandboxUse{}, fmt.Errorf("sandbox %s: %+v", name, p)
	}
	admin := time.Since(start)
	resp, err := client.PostForm(p.Sandbox.TokenURL, url.Values{"grant_type": {"client_credentials"},
		"client_id": {p.Credentials[0].ClientID}, "client_secret": {p.Credentials[0].ClientSecret}})
	if err != nil {
		return sandboxUse{}, err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	u := sandboxUse{name: name, baseURL: p.Sandbox.BaseURL, token: tok.AccessToken, admin: admin}
	u.exchange = time.Since(start) - admin
	if u.parts, err = u.count(); err != nil {
		return u, err
	}
	u.firstQuery = time.Since(start) - admin - u.exchange
	if (shape == "seeded") != (u.parts > 0) {
		return u, fmt.Errorf("%s sandbox %s has %d parts", shape, name, u.parts)
	}
	return u, nil
}

func (u sandboxUse) gql(query string, vars map[string]any) (map[string]any, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest("POST", u.baseURL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+u.token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r struct {
		Data   map[string]any
		Errors []any
	}
	if err := json.Unmarshal(raw, &r); err != nil || resp.StatusCode != 200 || len(r.Errors) > 0 {
		return nil, fmt.Errorf("graphql in %s: HTTP %d %s", u.name, resp.StatusCode, raw)
	}
	return r.Data, nil
}

func (u sandboxUse) count() (int, error) {
	d, err := u.gql(`{ parts(first: 1) { totalCount } }`, nil)
	if err != nil {
		return 0, err
	}
	n, _ := dig(d, "parts", "totalCount").(float64)
	return int(n), nil
}

func (u sandboxUse) write(pn string) error {
	_, err := u.gql(`mutation ($pn: String!) { createPart(input: {partNumber: $pn}) { part { id } } }`, map[string]any{"pn": pn})
	return err
}

// rows counts the sandbox's objects through the API: every list's
// totalCount.
func (u sandboxUse) rows() (int, error) {
	lists := []string{"parts", "mbomItems", "mbomSubstitutes", "locations", "unitsOfMeasurement", "suppliers", "purchaseOrders",
		"purchaseOrderLines", "partInventories", "procedures", "steps", "stepFields", "runs", "runSteps", "runStepFields",
		"buildRequirements", "abomInstallations", "issues"}
	var q strings.Builder
	q.WriteString("{")
	for _, l := range lists {
		fmt.Fprintf(&q, " %s(first: 1) { totalCount }", l)
	}
	q.WriteString(" }")
	d, err := u.gql(q.String(), nil)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, l := range lists {
		n, _ := dig(d, l, "totalCount").(float64)
		total += int(n)
	}
	return total, nil
}
