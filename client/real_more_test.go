package client

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingClock is the real clock, recording every wait.
type recordingClock struct {
	mu     sync.Mutex
	sleeps []time.Duration
}

func (c *recordingClock) Now() time.Time { return time.Now() }

func (c *recordingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.mu.Unlock()
	return realClock{}.Sleep(ctx, d)
}

func (c *recordingClock) log() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// statusTransport records the status and Retry-After of each /graphql
// answer, and closes limited at the first 429.
type statusTransport struct {
	mu       sync.Mutex
	statuses []string // "200", "429 Retry-After=1"
	limited  chan struct{}
	once     sync.Once
}

func (s *statusTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/graphql") {
		return resp, err
	}
	s.mu.Lock()
	st := strconv.Itoa(resp.StatusCode)
	if resp.StatusCode == http.StatusTooManyRequests {
		st += " Retry-After=" + resp.Header.Get("Retry-After")
		s.once.Do(func() { close(s.limited) })
	}
	s.statuses = append(s.statuses, st)
	s.mu.Unlock()
	return resp, nil
}

// TestRealRetryHonoursRetryAfter drains a production credential's rate
// limit on the real server until the SDK's own request is answered 429,
// then checks that the SDK waited exactly the Retry-After the server sent
// and that its retry succeeded.
func TestRealRetryHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	tn := newRealTenant(t)
	ctx := context.Background()
	clk := &recordingClock{}
	tr := &statusTransport{limited: make(chan struct{})}
	c, err := New(Config{BaseURL: realURL, ClientID: tn.prodID, ClientSecret: tn.prodSecret}, WithClock(clk), WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.AccessToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Drainers spend the credential's budget (production: burst 100 at
	// 50/s) until the SDK has seen its 429, then stop so the retry can pass.
	var wg sync.WaitGroup
	deadline := time.Now().Add(20 * time.Second)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := []byte(`{"query":"{ currentUser { id } }"}`)
			for time.Now().Before(deadline) {
				select {
				case <-tr.limited:
					return
				default:
				}
				req, _ := http.NewRequest("POST", realURL+"/graphql", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "application/json")
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}()
	}
	defer wg.Wait()
	for {
		before := len(clk.log())
		if _, err := c.CurrentUser(ctx); err != nil {
			t.Fatalf("currentUser through the rate limit: %v", err)
		}
		select {
		case <-tr.limited:
		default:
			if time.Now().After(deadline) {
				t.Fatal("the SDK never met a 429 in 20 s")
			}
			continue
		}
		tr.mu.Lock()
		statuses := tr.statuses
		tr.mu.Unlock()
		// The call that met the 429: it waited Retry-After, then succeeded.
		var limited string
		for _, s := range statuses {
			if strings.HasPrefix(s, "429") {
				limited = s
				break
			}
		}
		secs, err := strconv.Atoi(strings.TrimPrefix(limited, "429 Retry-After="))
		if err != nil || secs < 1 {
			t.Fatalf("429 without a Retry-After in seconds: %q", limited)
		}
		waits := clk.log()[before:]
		if len(waits) != 1 || waits[0] != time.Duration(secs)*time.Second || statuses[len(statuses)-1] != "200" {
			t.Fatalf("after %q the SDK waited %v and the answers were %v; want one wait of %ds, then 200", limited, waits, statuses, secs)
		}
		return
	}
}

// TestRealETLExample runs client/examples/etl-inventory-csv as a program
// against the real server, configured by ION_ENV=sandbox, with a page size
// smaller than the inventory so that it must follow the cursor.
func TestRealETLExample(t *testing.T) {
	t.Parallel()
	tn := newRealTenant(t)
	ctx := context.Background()
	c, err := New(Config{BaseURL: tn.sbxURL, ClientID: tn.sbxID, ClientSecret: tn.sbxSecret})
	if err != nil {
		t.Fatal(err)
	}
	part, err := c.CreatePart(ctx, CreatePartInput{PartNumber: "ETL-1", TrackingType: "LOT"})
	if err != nil {
		t.Fatal(err)
	}
	var want [][]string
	for i := range 5 {
		q := float64(i) + 0.5
		inv, err := c.CreatePartInventory(ctx, CreatePartInventoryInput{PartID: part.ID, LotNumber: fmt.Sprintf("LOT-%d", i), Quantity: &q})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, []string{strconv.FormatInt(inv.ID, 10), strconv.FormatInt(part.ID, 10), "", fmt.Sprintf("LOT-%d", i), strconv.FormatFloat(q, 'f', -1, 64)})
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "etl")
	if out, err := exec.Command("go", "build", "-o", bin, "./examples/etl-inventory-csv").CombinedOutput(); err != nil {
		t.Fatalf("build the example: %v\n%s", err, out)
	}
	csvPath := filepath.Join(dir, "inventory.csv")
	cmd := exec.Command(bin, "-o", csvPath, "-page", "2")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ION_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "ION_ENV=sandbox", "ION_SANDBOX_BASE_URL="+tn.sbxURL, "ION_SANDBOX_CLIENT_ID="+tn.sbxID, "ION_SANDBOX_CLIENT_SECRET="+tn.sbxSecret)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("etl-inventory-csv: %v\n%s", err, stderr.String())
	}
	if stderr.String() != "wrote 5 inventory rows\n" {
		t.Fatalf("stderr %q, want \"wrote 5 inventory rows\\n\"", stderr.String())
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || strings.Join(rows[0], ",") != "id,part_id,serial_number,lot_number,quantity,quantity_available,location_id,status" {
		t.Fatalf("CSV:\n%v", rows)
	}
	for i, w := range want {
		if got := rows[i+1][:5]; strings.Join(got, ",") != strings.Join(w, ",") || rows[i+1][7] != "AVAILABLE" {
			t.Fatalf("row %d = %v, want %v … AVAILABLE", i+1, rows[i+1], w)
		}
	}
}
