package server

import (
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// partNumbers lists a sandbox's part numbers through GraphQL.
func partNumbers(t *testing.T, s *bundle, token string) []string {
	t.Helper()
	d := s.mustGQL(token, `{ parts(first: 100) { edges { node { partNumber } } } }`, nil)
	out := []string{}
	edges, _ := dig(d, "parts", "edges").([]any)
	for _, e := range edges {
		out = append(out, dig(e, "node", "partNumber").(string))
	}
	return out
}

func createPart(t *testing.T, s *bundle, token, pn string) {
	t.Helper()
	s.mustGQL(token, `mutation CreatePart($input: CreatePartInput!) { createPart(input: $input) { part { id } } }`,
		map[string]any{"input": map[string]any{"partNumber": pn}})
}

func TestSandboxResetAndCheckpointsThroughAdminAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	prod := b.newCredential("Acme")
	sb := b.newSandbox(prod.orgID, "acme-reset")
	s := b.at(sb.baseURL)
	base := "/admin/v1/sandboxes/acme-reset"

	createPart(t, s, sb.token, "kept")
	var cp struct {
		Name      string
		CreatedAt time.Time
	}
	if status := b.admin("POST", base+"/checkpoints", map[string]any{"name": "with-kept"}, &cp); status != 201 || cp.Name != "with-kept" || cp.CreatedAt.IsZero() {
		t.Fatalf("create checkpoint: HTTP %d %+v", status, cp)
	}
	createPart(t, s, sb.token, "gone")

	var reset struct {
		Name, State, ResetTo string
		DurationMs           float64
	}
	if status := b.admin("POST", base+"/reset", map[string]any{"checkpoint": "with-kept"}, &reset); status != 200 {
		t.Fatalf("reset: HTTP %d", status)
	}
	if reset.Name != "acme-reset" || reset.State != "active" || reset.ResetTo != "with-kept" || reset.DurationMs <= 0 {
		t.Fatalf("reset answered %+v", reset)
	}
	// The same token works after the reset: credentials survive it.
	if got := partNumbers(t, s, sb.token); !slices.Equal(got, []string{"kept"}) {
		t.Fatalf("parts after resetting to the checkpoint: %v, want [kept]", got)
	}

	var list struct{ Checkpoints []struct{ Name string } }
	b.admin("GET", base+"/checkpoints", nil, &list)
	if len(list.Checkpoints) != 1 || list.Checkpoints[0].Name != "with-kept" {
		t.Fatalf("checkpoints: %+v", list)
	}
	if status := b.admin("POST", base+"/checkpoints", map[string]any{"name": "with-kept"}, nil); status != 409 {
		t.Errorf("duplicate checkpoint: HTTP %d, want 409", status)
	}
	if status := b.admin("POST", base+"/checkpoints", map[string]any{"name": "Bad Name"}, nil); status != 422 {
		t.Errorf("invalid checkpoint name: HTTP %d, want 422", status)
	}

	// No body: back to the baseline, an empty organization.
	if status := b.admin("POST", base+"/reset", nil, &reset); status != 200 || reset.ResetTo != "baseline" {
		t.Fatalf("reset to baseline: HTTP %d %+v", status, reset)
	}
	if got := partNumbers(t, s, sb.token); len(got) != 0 {
		t.Fatalf("parts after resetting to the baseline: %v, want none", got)
	}

	if status := b.admin("DELETE", base+"/checkpoints/with-kept", nil, nil); status != 204 {
		t.Fatalf("delete checkpoint: HTTP %d", status)
	}
	if status := b.admin("DELETE", base+"/checkpoints/with-kept", nil, nil); status != 404 {
		t.Errorf("delete a deleted checkpoint: HTTP %d, want 404", status)
	}
	if status := b.admin("POST", base+"/reset", map[string]any{"checkpoint": "with-kept"}, nil); status != 404 {
		t.Errorf("reset to a deleted checkpoint: HTTP %d, want 404", status)
	}
	if status := b.admin("POST", "/admin/v1/sandboxes/nope/reset", nil, nil); status != 404 {
		t.Errorf("reset of an unknown sandbox: HTTP %d, want 404", status)
	}

	var extended struct {
		Pinned    bool
		ExpiresAt *time.Time
	}
	if status := b.admin("POST", base+"/extend", map[string]any{"pinned": true}, &extended); status != 200 || !extended.Pinned {
		t.Fatalf("pin: HTTP %d %+v", status, extended)
	}
	if status := b.admin("POST", base+"/extend", map[string]any{"days": 0}, nil); status != 422 {
		t.Errorf("extend by 0 days: HTTP %d, want 422", status)
	}

	var log struct {
		Events []struct{ Kind, Actor, Detail string }
	}
	b.admin("GET", base+"/events", nil, &log)
	var kinds []string
	for _, e := range log.Events {
		kinds = append(kinds, e.Kind)
	}
	if want := []string{"requested", "approved", "checkpoint", "reset", "reset", "checkpoint-deleted", "extended"}; !slices.Equal(kinds, want) {
		t.Fatalf("events: %v, want %v", kinds, want)
	}
}

// TestRequestsDuringResets hammers a sandbox with reads while it is reset
// again and again: every answer is the checkpoint's data, whole, or a 503
// with Retry-After. It is not parallel: it keeps the machine busy for a
// second, and it runs before the parallel tests (TestSandboxShedFirst among
// them measures shedding, which extra load makes racy).
func TestRequestsDuringResets(t *testing.T) {
	b := setup(t)
	prod := b.newCredential("Acme")
	sb := b.newSandbox(prod.orgID, "acme-busy")
	s := b.at(sb.baseURL)
	for _, pn := range []string{"p1", "p2", "p3"} {
		createPart(t, s, sb.token, pn)
	}
	b.admin("POST", "/admin/v1/sandboxes/acme-busy/checkpoints", map[string]any{"name": "three"}, &struct{}{})

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads, busy atomic.Int64
	// Three readers at 25 requests a second each stay under the sandbox
	// rate limit (100/s per credential).
	for range 3 {
		wg.Go(func() {
			pace := time.NewTicker(40 * time.Millisecond)
			defer pace.Stop()
			for {
				select {
				case <-stop:
					return
				case <-pace.C:
				}
				r := s.gql(sb.token, `{ parts(first: 100) { edges { node { partNumber } } } }`, nil)
				switch {
				case r.Status == http.StatusServiceUnavailable && r.code() == ion.ESANDBOXBUSY && r.Status == http.StatusServiceUnavailable:
					busy.Add(1)
				case r.Status == 200 && len(r.Errors) == 0:
					edges, _ := dig(r.Data, "parts", "edges").([]any)
					if len(edges) < 3 || dig(edges[0], "node", "partNumber") != "p1" {
						t.Errorf("read during resets: %s", r.Raw)
						return
					}
					reads.Add(1)
				default:
					t.Errorf("read during resets: HTTP %d %s", r.Status, r.Raw)
					return
				}
			}
		})
	}
	pace := time.NewTicker(50 * time.Millisecond)
	defer pace.Stop()
	for i, start := 0, time.Now(); time.Since(start) < time.Second; i++ {
		<-pace.C
		createPart(t, s, sb.token, "extra")
		partNumbers(t, s, sb.token) // a read, so that resets wait for a live file
		var reset struct{ State string }
		if status := b.admin("POST", "/admin/v1/sandboxes/acme-busy/reset", map[string]any{"checkpoint": "three"}, &reset); status != 200 {
			t.Fatalf("reset %d: HTTP %d", i, status)
		}
	}
	close(stop)
	wg.Wait()
	if reads.Load() < 10 {
		t.Fatalf("%d reads succeeded during the resets (%d answered busy), want at least 10", reads.Load(), busy.Load())
	}
	if got := partNumbers(t, s, sb.token); !slices.Equal(got, []string{"p1", "p2", "p3"}) {
		t.Fatalf("parts after the resets: %v", got)
	}
}

// A sandbox in state resetting answers 503 with Retry-After. (A real reset
// of a small sandbox is over in milliseconds; the state is set here as a
// reset sets it, to see the answer for certain.)
func TestSandboxBeingResetAnswers503(t *testing.T) {
	t.Parallel()
	b := setup(t)
	prod := b.newCredential("Acme")
	sb := b.newSandbox(prod.orgID, "acme-resetting")
	control := b.running.lifecycle.control
	if err := control.SetSandboxState(t.Context(), sb.name, "resetting"); err != nil {
		t.Fatal(err)
	}
	s := b.at(sb.baseURL)
	var r gqlResult
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if r = s.gql(sb.token, `{ currentUser { id } }`, nil); r.Status == 503 {
			break
		}
	}
	if r.Status != 503 || r.code() != ion.ESANDBOXBUSY {
		t.Fatalf("sandbox being reset: HTTP %d %s, want 503 %s", r.Status, r.Raw, ion.ESANDBOXBUSY)
	}
	req, _ := http.NewRequest("POST", sb.baseURL+"/graphql", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("HTTP %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// A second reset is refused meanwhile.
	if status := b.admin("POST", "/admin/v1/sandboxes/acme-resetting/reset", nil, nil); status != 409 {
		t.Errorf("reset while resetting: HTTP %d, want 409", status)
	}
}

// testClock is a clock a test moves; it starts at the real time, which is
// what the stores stamp activity with.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestIdleSandboxExpiresAndAnswers410(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Now()}
	b := setupWith(t, Config{Now: clock.Now, SweepEvery: 10 * time.Millisecond})
	prod := b.newCredential("Acme")
	sb := b.newSandbox(prod.orgID, "acme-idle")
	s := b.at(sb.baseURL)
	s.mustGQL(sb.token, `{ currentUser { id } }`, nil)

	waitForState := func(want string) {
		t.Helper()
		var got struct{ State string }
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if b.admin("GET", "/admin/v1/sandboxes/acme-idle", nil, &got); got.State == want {
				return
			}
		}
		t.Fatalf("sandbox state %q, want %q", got.State, want)
	}
	clock.advance(31 * 24 * time.Hour)
	waitForState("dormant")
	clock.advance(15 * 24 * time.Hour)
	waitForState("expired")

	var r gqlResult
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if r = s.gql(sb.token, `{ currentUser { id } }`, nil); r.Status == 410 {
			break
		}
	}
	if r.Status != 410 || r.code() != "SANDBOX_EXPIRED" {
		t.Fatalf("expired sandbox: HTTP %d %s, want 410 SANDBOX_EXPIRED", r.Status, r.Raw)
	}
	if status := b.admin("POST", "/admin/v1/sandboxes/acme-idle/reset", nil, nil); status != 409 {
		t.Errorf("reset of an expired sandbox: HTTP %d, want 409", status)
	}
	// The state turns expired first (so it answers 410 at once) and the
	// lifecycle log's "expired" entry is written after the data is gone,
	// so wait for it rather than read the log once.
	var log struct {
		Events []struct{ Kind, Actor string }
	}
	expiredLogged := func() bool {
		n := len(log.Events)
		return n >= 2 && log.Events[n-2].Kind == "dormant" && log.Events[n-1].Kind == "expired" && log.Events[n-1].Actor == "sweeper"
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b.admin("GET", "/admin/v1/sandboxes/acme-idle/events", nil, &log); expiredLogged() {
			break
		}
	}
	if !expiredLogged() {
		t.Fatalf("events: %+v", log.Events)
	}
}

// A sandbox's activity is written at most once a minute per server, and a
// new sandbox's first queries write none: it was active when provisioned.
func TestActivityIsWrittenAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	// The stores stamp the provisioning with the real time; the clock
	// starts a second later.
	clock := &testClock{t: time.Now().Add(time.Second).Truncate(time.Microsecond)}
	b := setupWith(t, Config{Now: clock.Now})
	prod := b.newCredential("Acme")
	sb := b.newSandbox(prod.orgID, "acme-busy")
	s := b.at(sb.baseURL)
	activity := func() time.Time {
		t.Helper()
		var got struct{ LastActivityAt time.Time }
		if status := b.admin("GET", "/admin/v1/sandboxes/acme-busy", nil, &got); status != 200 {
			t.Fatalf("GET sandbox: HTTP %d", status)
		}
		return got.LastActivityAt
	}
	if provisioned := activity(); clock.Now().Sub(provisioned) > 2*time.Second {
		t.Fatalf("lastActivityAt of a new sandbox = %v, want its provisioning time (about %v)", provisioned, clock.Now())
	}
	for _, step := range []struct {
		advance time.Duration
		written bool
	}{
		{0, false},
		{30 * time.Second, false},
		{2 * time.Minute, true},
		{10 * time.Second, false},
	} {
		clock.advance(step.advance)
		before := activity()
		s.mustGQL(sb.token, `{ currentUser { id } }`, nil)
		after := activity()
		if step.written && !after.Equal(clock.Now()) {
			t.Fatalf("after %v more: lastActivityAt %v, want it written as %v", step.advance, after, clock.Now())
		}
		if !step.written && !after.Equal(before) {
			t.Fatalf("after %v more: lastActivityAt moved from %v to %v, want no write within a minute", step.advance, before, after)
		}
	}
}

// Provisioning a sandbox warms up, in the background, what its first
// requests need: the router has read it (and its issuer) before any
// request to it arrives.
func TestNewSandboxIsWarmedUp(t *testing.T) {
	t.Parallel()
	b := setup(t)
	prod := b.newCredential("Acme")
	var res struct{ Status string }
	b.admin("POST", "/admin/v1/sandbox-requests", map[string]any{
		"organizationId": prod.orgID, "name": "acme-warm", "reason": "build the ERP integration",
		"shape": "blank", "serviceAccounts": []map[string]string{{"name": "erp-sync"}},
	}, &res)
	if res.Status != "provisioned" {
		t.Fatalf("sandbox request: %+v", res)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		sb, ok := b.running.lifecycle.cached("acme-warm")
		if ok && sb.State == ion.SandboxActive {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after its provisioning, the router has not read sandbox acme-warm (cached %v, %+v)", ok, sb)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
