package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// adminPost posts to the admin API and decodes a 2xx answer.
func adminPost(base, token, path string, body, out any) error {
	return adminCall("POST", base, token, path, body, out)
}

// adminCall sends an admin API request with a JSON body and decodes the
// JSON answer into out.
func adminCall(method, base, token, path string, body, out any) error {
	j, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, base+path, bytes.NewReader(j))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s: HTTP %d %s", path, resp.StatusCode, raw)
	}
	return json.Unmarshal(raw, out)
}

type provisioned struct {
	Status  string
	Sandbox struct {
		Name, BaseURL, TokenURL string
	}
	Credentials []struct{ ClientID, ClientSecret string }
}

// createAndUse requests a blank sandbox, exchanges its service account's
// credential and runs one GraphQL query in it: what "until its GraphQL
// answers" means for a user.
func createAndUse(base, adminToken string, orgID int64, name string) error {
	var p provisioned
	if err := adminPost(base, adminToken, "/admin/v1/sandbox-requests", map[string]any{
		"organizationId": orgID, "name": name, "shape": "blank", "reason": "benchmark",
		"serviceAccounts": []map[string]string{{"name": "ci"}},
	}, &p); err != nil {
		return err
	}
	if p.Status != "provisioned" || len(p.Credentials) != 1 {
		return fmt.Errorf("sandbox %s: %+v", name, p)
	}
	return useSandbox(p.Sandbox.BaseURL, p.Sandbox.TokenURL, p.Credentials[0].ClientID, p.Credentials[0].ClientSecret)
}

// useSandbox exchanges a credential and reads the sandbox's parts.
func useSandbox(baseURL, tokenURL, clientID, secret string) error {
	resp, err := client.PostForm(tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}})
	if err != nil {
		return err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.AccessToken == "" {
		return fmt.Errorf("token for %s: HTTP %d", baseURL, resp.StatusCode)
	}
	var raw []byte
	// A burst over the sandboxes' shared budget answers 429; back off as
	// its Retry-After says, as a well-behaved client does.
	for attempt := 0; ; attempt++ {
		req, _ := http.NewRequest("POST", baseURL+"/graphql", strings.NewReader(`{"query":"{ parts(first: 1) { pageInfo { totalCount } } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err = client.Do(req)
		if err != nil {
			return err
		}
		raw, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || attempt == 20 {
			break
		}
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		time.Sleep(time.Duration(max(wait, 1)) * time.Second)
	}
	if resp.StatusCode != 200 || !bytes.Contains(raw, []byte(`"totalCount":0`)) {
		return fmt.Errorf("graphql in %s: HTTP %d %s", baseURL, resp.StatusCode, raw)
	}
	return nil
}

// BenchmarkBlankSandboxCreate measures creating a blank sandbox through the
// admin API, end to end until its GraphQL answers, 200 times one after
// another. Run with -benchtime 1x.
func BenchmarkBlankSandboxCreate(b *testing.B) {
	f := newFixture(b, 0, 0)
	const n = 200
	lat := make([]time.Duration, 0, n)
	adminToken := readAdminToken(b, f.dataDir)
	b.ResetTimer()
	for i := range n {
		t0 := time.Now()
		if err := createAndUse(f.url, adminToken, f.orgID, fmt.Sprintf("bench-%04d", i)); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	s := summarize(lat, time.Second)
	b.ReportMetric(float64(s.p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(s.p99.Microseconds())/1000, "p99-ms")
}

func readAdminToken(b *testing.B, dataDir string) string {
	raw, err := os.ReadFile(filepath.Join(dataDir, "admin-token"))
	if err != nil {
		b.Fatal(err)
	}
	return strings.TrimSpace(string(raw))
}

// BenchmarkIdleSandboxes creates IONBOX_BENCH_SANDBOXES (default 10000)
// blank sandboxes on one real `ionbox serve` process, then uses each once,
// and reports the process's open file descriptors and resident memory after
// each phase. Run with -benchtime 1x; it takes minutes.
func BenchmarkIdleSandboxes(b *testing.B) {
	n := 10000
	if v := os.Getenv("IONBOX_BENCH_SANDBOXES"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "ionbox")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/ionbox/ionbox/cmd/ionbox").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	urlCh := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`production=(http://\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urlCh <- m[1]
			}
		}
	}()
	var base string
	select {
	case base = <-urlCh:
	case <-time.After(30 * time.Second):
		b.Fatal("server did not start")
	}
	adminToken := readAdminToken(b, data)
	var org struct{ ID int64 }
	if err := adminPost(base, adminToken, "/admin/v1/organizations", map[string]string{"name": "Idle", "domain": "idle.example"}, &org); err != nil {
		b.Fatal(err)
	}
	type cred struct{ base, tokenURL, id, secret string }
	creds := make([]cred, n)
	run := func(phase string, work func(i int) error) {
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					if err := work(i); err != nil {
						errs <- fmt.Errorf("%s %d: %w", phase, i, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	t0 := time.Now()
	run("create", func(i int) error {
		var p provisioned
		err := adminPost(base, adminToken, "/admin/v1/sandbox-requests", map[string]any{
			"organizationId": org.ID, "name": fmt.Sprintf("idle-%05d", i), "shape": "blank",
			"serviceAccounts": []map[string]string{{"name": "ci"}},
		}, &p)
		if err == nil && len(p.Credentials) == 1 {
			creds[i] = cred{p.Sandbox.BaseURL, p.Sandbox.TokenURL, p.Credentials[0].ClientID, p.Credentials[0].ClientSecret}
		}
		return err
	})
	created := time.Since(t0)
	fds1, rss1 := procStats(b, cmd.Process.Pid)
	t1 := time.Now()
	run("touch", func(i int) error {
		c := creds[i]
		return useSandbox(c.base, c.tokenURL, c.id, c.secret)
	})
	touched := time.Since(t1)
	fds2, rss2 := procStats(b, cmd.Process.Pid)
	b.StopTimer()
	b.ReportMetric(float64(n), "sandboxes")
	b.ReportMetric(created.Seconds(), "create-s")
	b.ReportMetric(touched.Seconds(), "touch-s")
	b.ReportMetric(float64(fds1), "fds-created")
	b.ReportMetric(float64(rss1)/(1<<20), "rss-MiB-created")
	b.ReportMetric(float64(fds2), "fds-touched")
	b.ReportMetric(float64(rss2)/(1<<20), "rss-MiB-touched")
}

// procStats reads a process's open file descriptors and resident memory.
func procStats(b *testing.B, pid int) (fds int, rssBytes int64) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		b.Fatal(err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			rssBytes = kb << 10
		}
	}
	return len(entries), rssBytes
}
