package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The integration tests run against the REAL ionbox server: TestMain builds
// the binary from the repository root (this module's parent) and starts it
// on a free port; every test gets its own organization or sandbox.
var (
	realURL     string // production base URL
	realData    string
	realAdmin   string
	realErr     error
	servingLine = regexp.MustCompile(`production=(https?://\S+) listen=(\S+)`)
	tenantSeq   atomic.Int32
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ionbox-client-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stop := startRealServer(dir)
	code := m.Run()
	stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

func startRealServer(dir string) func() {
	bin := filepath.Join(dir, "ionbox")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ionbox")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		realErr = fmt.Errorf("build ionbox: %v\n%s", err, out)
		return func() {}
	}
	realData = filepath.Join(dir, "data")
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", realData)
	stderr, err := cmd.StderrPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		realErr = err
		return func() {}
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case realURL = <-found:
	case <-time.After(30 * time.Second):
		realErr = errors.New("ionbox serve did not log its URL within 30 s")
	}
	if b, err := os.ReadFile(filepath.Join(realData, "admin-token")); err == nil {
		realAdmin = strings.TrimSpace(string(b))
	} else if realErr == nil {
		realErr = err
	}
	return func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
}

// admin calls the real server's admin API.
func admin(t *testing.T, method, path string, body, out any) {
	t.Helper()
	j, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, realURL+path, bytes.NewReader(j))
	req.Header.Set("Authorization", "Bearer "+realAdmin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatal(err)
		}
	}
}

// realTenant is a production organization with an API key, and a sandbox
// of it with a service account.
type realTenant struct {
	prodID, prodSecret string
	sbxURL             string
	sbxID, sbxSecret   string
}

func newRealTenant(t *testing.T) realTenant {
	t.Helper()
	if realErr != nil {
		t.Fatal(realErr)
	}
	n := tenantSeq.Add(1)
	var org struct{ ID int64 }
	admin(t, "POST", "/admin/v1/organizations", map[string]string{"name": fmt.Sprintf("Acme%d", n), "domain": fmt.Sprintf("acme%d.example", n)}, &org)
	var user struct{ ID int64 }
	admin(t, "POST", fmt.Sprintf("/admin/v1/organizations/%d/users", org.ID), map[string]any{"name": "Ada", "email": fmt.Sprintf("ada@acme%d.example", n)}, &user)
	var key struct{ ClientID, ClientSecret string }
	admin(t, "POST", fmt.Sprintf("/admin/v1/organizations/%d/api-keys", org.ID), map[string]any{"userId": user.ID}, &key)
	var sbx struct {
		Sandbox     struct{ BaseURL string }
		Credentials []struct{ ClientID, ClientSecret string }
	}
	admin(t, "POST", "/admin/v1/sandbox-requests", map[string]any{
		"organizationId": org.ID, "name": fmt.Sprintf("acme%d-dev", n), "reason": "SDK tests", "integration": "sdk", "shape": "blank",
		"members": []map[string]string{{"name": "Ada", "email": fmt.Sprintf("ada@acme%d.example", n)}}, "serviceAccounts": []map[string]string{{"name": "sdk"}},
	}, &sbx)
	if len(sbx.Credentials) != 1 {
		t.Fatalf("sandbox request: %+v", sbx)
	}
	return realTenant{prodID: key.ClientID, prodSecret: key.ClientSecret, sbxURL: sbx.Sandbox.BaseURL,
		sbxID: sbx.Credentials[0].ClientID, sbxSecret: sbx.Credentials[0].ClientSecret}
}

func mapLookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestRealFromEnvConventions(t *testing.T) {
	t.Parallel()
	tn := newRealTenant(t)
	all := map[string]string{
		"ION_PROD_BASE_URL": realURL, "ION_PROD_CLIENT_ID": tn.prodID, "ION_PROD_CLIENT_SECRET": tn.prodSecret,
		"ION_SANDBOX_BASE_URL": tn.sbxURL, "ION_SANDBOX_CLIENT_ID": tn.sbxID, "ION_SANDBOX_CLIENT_SECRET": tn.sbxSecret,
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		env      map[string]string
		wantKind string
	}{
		{"unprefixed", map[string]string{"ION_BASE_URL": tn.sbxURL, "ION_CLIENT_ID": tn.sbxID, "ION_CLIENT_SECRET": tn.sbxSecret}, KindSandbox},
		{"ION_ENV=sandbox", with(all, "ION_ENV", "sandbox"), KindSandbox},
		{"ION_ENV=prod", with(all, "ION_ENV", "prod"), KindProduction},
	} {
		c, err := fromLookup(mapLookup(tc.env))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		u, err := c.CurrentUser(ctx)
		if err != nil {
			t.Fatalf("%s: currentUser: %v", tc.name, err)
		}
		env, _ := c.Environment(ctx)
		if env.Kind != tc.wantKind || u.Organization.Domain == "" {
			t.Fatalf("%s: environment %+v, user %+v", tc.name, env, u)
		}
		// ION_TOKEN works as well, with the token this client fetched.
		tok, err := c.AccessToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tc2, err := fromLookup(mapLookup(map[string]string{"ION_BASE_URL": c.BaseURL(), "ION_TOKEN": tok}))
		if err != nil {
			t.Fatal(err)
		}
		if u2, err := tc2.CurrentUser(ctx); err != nil || u2.ID != u.ID {
			t.Fatalf("%s: ION_TOKEN currentUser = %+v, %v", tc.name, u2, err)
		}
	}
}

func with(m map[string]string, k, v string) map[string]string {
	c := map[string]string{k: v}
	for a, b := range m {
		c[a] = b
	}
	return c
}

func TestRealCredentialKindGuard(t *testing.T) {
	t.Parallel()
	tn := newRealTenant(t)
	ctx := context.Background()
	c, err := New(Config{BaseURL: tn.sbxURL, ClientID: tn.prodID, ClientSecret: tn.prodSecret})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CurrentUser(ctx)
	want := fmt.Sprintf(`ion ENVIRONMENT_MISMATCH: This client secret is a production secret (ion_prod_…); %s is sandbox %q. Use this sandbox's credentials.`,
		tn.sbxURL, strings.TrimPrefix(tn.sbxURL, realURL+"/sandboxes/"))
	if !errors.Is(err, ErrEnvironmentMismatch) || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
	// A sandbox token (no prefix to read) sent to production is refused by
	// its issuer claim before it is sent.
	sc, _ := New(Config{BaseURL: tn.sbxURL, ClientID: tn.sbxID, ClientSecret: tn.sbxSecret})
	tok, err := sc.AccessToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pc, _ := New(Config{BaseURL: realURL, Token: tok})
	if _, err := pc.CurrentUser(ctx); !errors.Is(err, ErrEnvironmentMismatch) {
		t.Fatalf("sandbox token against production: %v", err)
	}
	// And the server's own 401 ENVIRONMENT_MISMATCH maps to the same sentinel.
	raw, _ := New(Config{BaseURL: realURL, Token: tok})
	raw.env = &Environment{Kind: KindProduction, Name: "production"} // skip the client-side check
	if err := raw.Do(ctx, `{ currentUser { id } }`, nil, nil); !errors.Is(err, ErrEnvironmentMismatch) {
		t.Fatalf("server-side mismatch: %v", err)
	}
}

// countingTransport counts requests to the token endpoint.
type countingTransport struct{ tokens atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/token") {
		c.tokens.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestRealTokenRefresh(t *testing.T) {
	t.Parallel()
	tn := newRealTenant(t)
	ctx := context.Background()
	tr := &countingTransport{}
	clk := NewFakeClock(time.Now())
	c, err := New(Config{BaseURL: tn.sbxURL, ClientID: tn.sbxID, ClientSecret: tn.sbxSecret},
		WithHTTPClient(&http.Client{Transport: tr}), WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := c.AccessToken(ctx)
	if _, err := c.CurrentUser(ctx); err != nil {
		t.Fatal(err)
	}
	if tr.tokens.Load() != 1 {
		t.Fatalf("token requests = %d, want 1 (cached)", tr.tokens.Load())
	}
	clk.Advance(time.Hour - 30*time.Second) // the server's tokens live 3600 s; refresh 60 s early
	if _, err := c.CurrentUser(ctx); err != nil {
		t.Fatal(err)
	}
	second, _ := c.AccessToken(ctx)
	if tr.tokens.Load() != 2 || second == first {
		t.Fatalf("token requests = %d (new token %v): want a refresh before expiry", tr.tokens.Load(), second != first)
	}
}

func TestRealTypedCalls(t *testing.T) {
	t.Parallel()
	tn := newRealTenant(t)
	ctx := context.Background()
	c, err := New(Config{BaseURL: tn.sbxURL, ClientID: tn.sbxID, ClientSecret: tn.sbxSecret})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range 5 {
		p, err := c.CreatePart(ctx, CreatePartInput{PartNumber: fmt.Sprintf("SDK-%d", i), Description: "from the SDK", TrackingType: "LOT"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	qty := 12.5
	inv, err := c.CreatePartInventory(ctx, CreatePartInventoryInput{PartID: ids[0], LotNumber: "L-1", Quantity: &qty})
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.PartInventories(ctx, ListParams{Filters: map[string]any{"partId": map[string]any{"eq": ids[0]}}})
	if err != nil || len(page.Nodes) != 1 || page.Nodes[0].Quantity != 12.5 || *page.Nodes[0].LotNumber != "L-1" || page.Nodes[0].Status != "AVAILABLE" {
		t.Fatalf("read back inventory: %+v, %v", page, err)
	}
	qty = 10
	up, err := c.UpdatePartInventory(ctx, UpdatePartInventoryInput{ID: inv.ID, Etag: inv.Etag, Quantity: &qty})
	if err != nil || up.Quantity != 10 {
		t.Fatalf("update: %+v, %v", up, err)
	}
	if _, err := c.UpdatePartInventory(ctx, UpdatePartInventoryInput{ID: inv.ID, Etag: inv.Etag, Quantity: &qty}); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale etag: %v, want ErrConflict", err)
	}
	// The pager walks every page.
	var seen []int64
	for p, err := range c.AllParts(ctx, ListParams{First: 2, Filters: map[string]any{"partNumber": map[string]any{"like": "SDK-%"}}}) {
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, p.ID)
	}
	if fmt.Sprint(seen) != fmt.Sprint(ids) {
		t.Fatalf("pager saw %v, want %v", seen, ids)
	}
	if err := c.Do(ctx, `query($id: ID!) { part(id: $id) { id } }`, map[string]any{"id": 999999}, nil); err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing part: %v", err)
	}
}

func TestRealProductionGuard(t *testing.T) {
	t.Parallel()
	tn := newRealTenant(t)
	ctx := context.Background()
	const cancel = `mutation($input: CancelRunsInput!) { cancelRuns(input: $input) { count } }`
	tr := &countingTransport{}
	c, _ := New(Config{BaseURL: realURL, ClientID: tn.prodID, ClientSecret: tn.prodSecret}, WithHTTPClient(&http.Client{Transport: tr}))
	if err := c.Do(ctx, cancel, map[string]any{"input": map[string]any{"ids": []int{1}}}, nil); !errors.Is(err, ErrProductionWrite) {
		t.Fatalf("cancelRuns on production without opt-in: %v", err)
	}
	if tr.tokens.Load() != 0 {
		t.Fatal("the guard let a token request out before refusing")
	}
	// Opted in, the call reaches the server (which decides for itself).
	opted, _ := New(Config{BaseURL: realURL, ClientID: tn.prodID, ClientSecret: tn.prodSecret}, AllowProductionWrites())
	if err := opted.Do(ctx, cancel, map[string]any{"input": map[string]any{"ids": []int{1}}}, nil); errors.Is(err, ErrProductionWrite) {
		t.Fatalf("opted in: %v", err)
	}
	// A sandbox is never guarded.
	sbx, _ := New(Config{BaseURL: tn.sbxURL, ClientID: tn.sbxID, ClientSecret: tn.sbxSecret})
	if err := sbx.Do(ctx, cancel, map[string]any{"input": map[string]any{"ids": []int{1}}}, nil); errors.Is(err, ErrProductionWrite) {
		t.Fatalf("sandbox: %v", err)
	}
}

func TestRealRampAndBreaker(t *testing.T) {
	t.Parallel()
	tn := newRealTenant(t)
	ctx := context.Background()
	clk := NewFakeClock(time.Now())
	var opened, closed atomic.Int32
	br := NewBreaker(BreakerConfig{MinRequests: 3, Threshold: 0.5, Cooldown: 20 * time.Second,
		OnOpen: func(float64) { opened.Add(1) }, OnClose: func() { closed.Add(1) }})
	c, _ := New(Config{BaseURL: tn.sbxURL, ClientID: tn.sbxID, ClientSecret: tn.sbxSecret},
		WithClock(clk), WithRamp(NewRamp(1, 4, 2*time.Second, nil)), WithBreaker(br))
	// Reads are neither paced nor counted.
	for range 3 {
		if _, err := c.CurrentUser(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(clk.SleepLog()) != 0 {
		t.Fatalf("reads slept %v", clk.SleepLog())
	}
	// Three writes on the ramp: at 0 s, 1 s (1/s), then 1 s + 1/2.5 s.
	for i := range 3 {
		if _, err := c.CreatePart(ctx, CreatePartInput{PartNumber: fmt.Sprintf("RAMP-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(clk.SleepLog()); got != "[0s 1s 400ms]" {
		t.Fatalf("ramp sleeps %s, want [0s 1s 400ms]", got)
	}
	// Failing writes (a duplicate part number is a validation error) trip
	// the breaker; the next write waits out the cooldown, then closes it.
	before := len(clk.SleepLog())
	for range 3 {
		if _, err := c.CreatePart(ctx, CreatePartInput{PartNumber: "RAMP-0"}); err == nil {
			t.Fatal("duplicate part number accepted")
		}
	}
	if opened.Load() != 1 || br.State() != BreakerOpen {
		t.Fatalf("breaker %s after 3 of 6 failed writes, opened %d times", br.State(), opened.Load())
	}
	if _, err := c.CreatePart(ctx, CreatePartInput{PartNumber: "RAMP-9"}); err != nil {
		t.Fatal(err)
	}
	var paused time.Duration
	for _, d := range clk.SleepLog()[before:] {
		paused += d
	}
	if paused < 20*time.Second || closed.Load() != 1 || br.State() != BreakerClosed {
		t.Fatalf("paused %v, closed %d times, state %s: want a 20 s pause, then closed", paused, closed.Load(), br.State())
	}
}
