package sandbox_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ionbox/ionbox/internal/auth"
	"github.com/ionbox/ionbox/internal/sandbox"
	"github.com/ionbox/ionbox/internal/sqlite"
	"github.com/ionbox/ionbox/ion"
)

// fakeClock is the one clock of a lifecycle test: the stores stamp rows
// with it and the Service and Sweep read it, so that days pass at once.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

const day = 24 * time.Hour

// setupClock is setup with a fake clock, starting at t0, under both the
// stores and the Service.
func setupClock(t testing.TB) (*bundle, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: t0}
	ctx := t.Context()
	b := &bundle{ctx: ctx, dir: t.TempDir()}
	var err error
	if b.stores, err = sqlite.Open(ctx, b.dir, sqlite.Options{Now: clock.Now}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.stores.Close() })
	b.control = &failingControl{ControlStore: b.stores.Control()}
	if b.auth, err = auth.New(auth.Config{Control: b.control, HashKey: bytes.Repeat([]byte{7}, 32), Now: clock.Now}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.control.EnsureEnvironment(ctx, ion.Environment{Name: ion.ProductionEnvironment, Kind: ion.EnvProduction}); err != nil {
		t.Fatal(err)
	}
	if b.prod, err = b.control.CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Acme", Domain: "acme.example", Tier: ion.TierEnterprise}); err != nil {
		t.Fatal(err)
	}
	if b.svc, err = sandbox.New(sandbox.Config{Control: b.control, Stores: b.stores, APIKeys: b.auth, Now: clock.Now}); err != nil {
		t.Fatal(err)
	}
	return b, clock
}

// sandboxTenant returns the tenant store of a provisioned sandbox.
func (b *bundle) sandboxTenant(t *testing.T, sb ion.Sandbox) ion.TenantStore {
	t.Helper()
	return must(b.stores.Tenant(b.ctx, ion.TenantIDFor(sb.Name, sb.OrganizationID)))(t)
}

func partNumbers(t *testing.T, b *bundle, ts ion.TenantStore) []string {
	t.Helper()
	out := []string{}
	for _, p := range must(ts.Parts(b.ctx, ion.ListOptions{Limit: 100}))(t).Items {
		out = append(out, p.PartNumber)
	}
	return out
}

func eventKinds(t *testing.T, b *bundle, name string) []string {
	t.Helper()
	var out []string
	for _, e := range must(b.svc.Events(b.ctx, name))(t) {
		out = append(out, e.Kind+":"+e.Actor)
	}
	return out
}

func TestResetToBaselineAndCheckpoints(t *testing.T) {
	t.Parallel()
	b, _ := setupClock(t)
	res := must(b.svc.Request(b.ctx, b.request("acme-erp-dev")))(t)
	sb := *res.Sandbox
	ts := b.sandboxTenant(t, sb)

	must(ts.CreatePart(b.ctx, ion.Part{PartNumber: "a"}))(t)
	cp := must(b.svc.CreateCheckpoint(b.ctx, sb.Name, " with-a "))(t)
	if cp.Name != "with-a" || !cp.CreatedAt.Equal(t0) {
		t.Fatalf("checkpoint = %+v, want with-a made at t0", cp)
	}
	must(ts.CreatePart(b.ctx, ion.Part{PartNumber: "b"}))(t)

	got := must(b.svc.Reset(b.ctx, sb.Name, "with-a"))(t)
	if got.ResetTo != "with-a" || got.Sandbox.State != ion.SandboxActive || got.Duration <= 0 {
		t.Fatalf("reset = %+v, want to with-a, active, with a duration", got)
	}
	same(t, "parts after resetting to the checkpoint", partNumbers(t, b, ts), []string{"a"})
	got = must(b.svc.Reset(b.ctx, sb.Name, ""))(t)
	if got.ResetTo != "baseline" {
		t.Fatalf("reset to %q, want baseline", got.ResetTo)
	}
	same(t, "parts after resetting to the baseline", partNumbers(t, b, ts), []string{})

	// What a reset keeps: the sandbox, its credentials and members.
	iss := b.issuer(t, sb.Name)
	for _, c := range res.Credentials {
		must(iss.ClientCredentialsToken(b.ctx, c.ClientID, c.ClientSecret))(t)
	}
	if n := must(b.control.Users(b.ctx, sb.OrganizationID, ion.ListOptions{}))(t).TotalCount; n != 4 {
		t.Fatalf("%d users after the resets, want 4", n)
	}

	same(t, "checkpoints", must(b.svc.Checkpoints(b.ctx, sb.Name))(t), []ion.Checkpoint{cp})
	ok(t, b.svc.DeleteCheckpoint(b.ctx, sb.Name, "with-a"))
	same(t, "checkpoints after the delete", must(b.svc.Checkpoints(b.ctx, sb.Name))(t), []ion.Checkpoint{})
	_, err := b.svc.Reset(b.ctx, sb.Name, "with-a")
	wantErr(t, err, ion.ENOTFOUND, "")
	wantErr(t, b.svc.DeleteCheckpoint(b.ctx, sb.Name, "with-a"), ion.ENOTFOUND, "")

	same(t, "lifecycle log", eventKinds(t, b, sb.Name), []string{
		"requested:operator", "approved:operator", "checkpoint:operator", "reset:operator", "reset:operator", "checkpoint-deleted:operator",
	})
}

// A blank sandbox's baseline is ion.EmptyTenantState: a reset empties its
// tenant and restarts its ids whether or not provisioning saved a
// baseline (earlier versions saved an empty one).
func TestResetBlankSandboxEmptiesIt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		savedBaseline bool
	}{
		{"WithoutASavedBaseline", false},
		{"WithAnEmptyBaselineSavedByAnEarlierVersion", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, _ := setupClock(t)
			sb := *must(b.svc.Request(b.ctx, b.request("blank")))(t).Sandbox
			if sb.Shape != ion.ShapeBlank {
				t.Fatalf("shape %q, want blank", sb.Shape)
			}
			tenant := ion.TenantIDFor(sb.Name, sb.OrganizationID)
			// Whatever provisioning did, the tenant has the state of the case.
			if err := b.stores.DeleteTenantState(b.ctx, tenant, "baseline"); err != nil && ion.ErrorCode(err) != ion.ENOTFOUND {
				t.Fatal(err)
			}
			if tc.savedBaseline {
				ok(t, b.stores.SaveTenantState(b.ctx, tenant, "baseline"))
			}
			ts := b.sandboxTenant(t, sb)
			must(ts.CreatePart(b.ctx, ion.Part{PartNumber: "a"}))(t)
			must(ts.CreateLocation(b.ctx, ion.Location{Name: "bin", Available: true}))(t)

			for round := range 2 {
				got := must(b.svc.Reset(b.ctx, sb.Name, ""))(t)
				if got.ResetTo != "baseline" || got.Sandbox.State != ion.SandboxActive {
					t.Fatalf("round %d: reset = %+v, want to baseline, active", round, got)
				}
				same(t, "parts after the reset", partNumbers(t, b, ts), []string{})
				if n := must(ts.Locations(b.ctx, ion.ListOptions{Limit: 10}))(t).TotalCount; n != 0 {
					t.Fatalf("round %d: %d locations after the reset, want 0", round, n)
				}
				if p := must(ts.CreatePart(b.ctx, ion.Part{PartNumber: "next"}))(t); p.ID != 1 {
					t.Fatalf("round %d: the first part after the reset got id %d, want 1", round, p.ID)
				}
			}
		})
	}
}

func TestResetAndCheckpointRefusals(t *testing.T) {
	t.Parallel()
	b, _ := setupClock(t)
	sb := *must(b.svc.Request(b.ctx, b.request("acme-erp-dev")))(t).Sandbox

	_, err := b.svc.Reset(b.ctx, "nope", "")
	wantErr(t, err, ion.ENOTFOUND, "")
	_, err = b.svc.CreateCheckpoint(b.ctx, "nope", "x")
	wantErr(t, err, ion.ENOTFOUND, "")
	_, err = b.svc.Checkpoints(b.ctx, "nope")
	wantErr(t, err, ion.ENOTFOUND, "")
	for _, bad := range []string{"", "Upper", "-x", "x-", "a_b", string(bytes.Repeat([]byte{'a'}, 61))} {
		_, err = b.svc.CreateCheckpoint(b.ctx, sb.Name, bad)
		wantErr(t, err, ion.EVALIDATION, "name")
	}
	must(b.svc.CreateCheckpoint(b.ctx, sb.Name, "one"))(t)
	_, err = b.svc.CreateCheckpoint(b.ctx, sb.Name, "one")
	wantErr(t, err, ion.ECONFLICT, "")

	// Not while another reset runs.
	ok(t, b.control.SetSandboxState(b.ctx, sb.Name, ion.SandboxResetting))
	_, err = b.svc.Reset(b.ctx, sb.Name, "")
	wantErr(t, err, ion.ECONFLICT, "")
	_, err = b.svc.CreateCheckpoint(b.ctx, sb.Name, "two")
	wantErr(t, err, ion.ECONFLICT, "")
	ok(t, b.control.SetSandboxState(b.ctx, sb.Name, ion.SandboxActive))

	_, err = b.svc.Extend(b.ctx, sb.Name, sandbox.Extension{})
	wantErr(t, err, ion.EVALIDATION, "days")
	_, err = b.svc.Extend(b.ctx, sb.Name, sandbox.Extension{Days: ptr(0)})
	wantErr(t, err, ion.EVALIDATION, "days")
	_, err = b.svc.Extend(b.ctx, "nope", sandbox.Extension{Days: ptr(1)})
	wantErr(t, err, ion.ENOTFOUND, "")
}

func TestDormancyAndExpiry(t *testing.T) {
	t.Parallel()
	b, clock := setupClock(t)
	res := must(b.svc.Request(b.ctx, b.request("acme-erp-dev")))(t)
	sb := *res.Sandbox
	tenant := ion.TenantIDFor(sb.Name, sb.OrganizationID)
	state := func() string { return must(b.control.Sandbox(b.ctx, sb.Name))(t).State }
	sweep := func(want sandbox.SweepReport) {
		t.Helper()
		same(t, fmt.Sprintf("sweep at day %v", clock.Now().Sub(t0)/day), must(b.svc.Sweep(b.ctx, clock.Now()))(t), want)
	}

	clock.advance(30*day - time.Second)
	sweep(sandbox.SweepReport{})
	clock.advance(time.Second)
	sweep(sandbox.SweepReport{Dormant: 1})
	if state() != ion.SandboxDormant || must(b.control.Environment(b.ctx, sb.Name))(t).State != ion.SandboxDormant {
		t.Fatalf("state after 30 idle days = %s, want dormant", state())
	}
	sweep(sandbox.SweepReport{}) // once only

	// Activity renews it, and the clock starts again.
	clock.advance(day)
	ok(t, b.control.TouchSandbox(b.ctx, sb.Name, clock.Now()))
	if state() != ion.SandboxActive {
		t.Fatalf("state after activity = %s, want active", state())
	}
	clock.advance(30 * day)
	sweep(sandbox.SweepReport{Dormant: 1})
	clock.advance(14*day - time.Second)
	sweep(sandbox.SweepReport{})
	clock.advance(time.Second)
	sweep(sandbox.SweepReport{Expired: 1})
	sweep(sandbox.SweepReport{})

	// Expired: data deleted, credentials revoked, nothing more to do.
	if state() != ion.SandboxExpired || must(b.control.Environment(b.ctx, sb.Name))(t).State != ion.SandboxExpired {
		t.Fatalf("state = %s, want expired", state())
	}
	_, err := b.stores.Tenant(b.ctx, tenant)
	wantErr(t, err, ion.ENOTFOUND, "")
	iss := b.issuer(t, sb.Name)
	for _, c := range res.Credentials {
		if _, err := iss.ClientCredentialsToken(b.ctx, c.ClientID, c.ClientSecret); err == nil {
			t.Fatalf("credential of %s still works after expiry", c.ServiceAccount)
		}
	}
	for _, u := range must(b.control.Users(b.ctx, sb.OrganizationID, ion.ListOptions{Limit: 10}))(t).Items {
		if u.Active {
			t.Fatalf("user %s still active after expiry", u.Email)
		}
	}
	_, err = b.svc.Reset(b.ctx, sb.Name, "")
	wantErr(t, err, ion.ECONFLICT, "")
	_, err = b.svc.AddCredential(b.ctx, sb.Name, "late")
	wantErr(t, err, ion.ECONFLICT, "")
	_, err = b.svc.Extend(b.ctx, sb.Name, sandbox.Extension{Days: ptr(1)})
	wantErr(t, err, ion.ECONFLICT, "")
	same(t, "lifecycle log", eventKinds(t, b, sb.Name), []string{
		"requested:operator", "approved:operator", "dormant:sweeper", "dormant:sweeper", "expired:sweeper",
	})
	// Delete still removes what is left.
	ok(t, b.svc.Delete(b.ctx, sb.Name))
}

func TestPinnedSandboxesDoNotExpire(t *testing.T) {
	t.Parallel()
	b, clock := setupClock(t)
	sb := *must(b.svc.Request(b.ctx, b.request("kept")))(t).Sandbox
	got := must(b.svc.Extend(b.ctx, sb.Name, sandbox.Extension{Pinned: ptr(true)}))(t)
	if !got.Pinned {
		t.Fatalf("extended = %+v, want pinned", got)
	}
	clock.advance(30 * day)
	same(t, "sweep", must(b.svc.Sweep(b.ctx, clock.Now()))(t), sandbox.SweepReport{Dormant: 1})
	clock.advance(365 * day)
	same(t, "sweep a year later", must(b.svc.Sweep(b.ctx, clock.Now()))(t), sandbox.SweepReport{})

	// Extending wakes it; unpinned, it expires in due course.
	got = must(b.svc.Extend(b.ctx, sb.Name, sandbox.Extension{Pinned: ptr(false)}))(t)
	if got.Pinned || got.State != ion.SandboxActive || !got.LastActivityAt.Equal(clock.Now()) {
		t.Fatalf("unpinned = %+v, want active, renewed now", got)
	}
	clock.advance(44 * day)
	same(t, "sweep", must(b.svc.Sweep(b.ctx, clock.Now()))(t), sandbox.SweepReport{Dormant: 1})
	same(t, "sweep", must(b.svc.Sweep(b.ctx, clock.Now()))(t), sandbox.SweepReport{Expired: 1})
}

func TestTTLIsAHardEnd(t *testing.T) {
	t.Parallel()
	b, clock := setupClock(t)
	in := b.request("ci-run")
	in.TTLDays = ptr(7)
	sb := *must(b.svc.Request(b.ctx, in))(t).Sandbox

	// Extending by 3 days moves the end from day 7 to day 10.
	clock.advance(2 * day)
	got := must(b.svc.Extend(b.ctx, sb.Name, sandbox.Extension{Days: ptr(3)}))(t)
	if want := t0.AddDate(0, 0, 10); got.ExpiresAt == nil || !got.ExpiresAt.Equal(want) {
		t.Fatalf("expires at %v, want %v", got.ExpiresAt, want)
	}
	clock.advance(8*day - time.Second)
	ok(t, b.control.TouchSandbox(b.ctx, sb.Name, clock.Now())) // busy, and still ends
	same(t, "sweep before the end", must(b.svc.Sweep(b.ctx, clock.Now()))(t), sandbox.SweepReport{})
	clock.advance(time.Second)
	same(t, "sweep at the end", must(b.svc.Sweep(b.ctx, clock.Now()))(t), sandbox.SweepReport{Expired: 1})
}

// Replicas sweep the same store at once; each transition happens once.
func TestConcurrentSweepsTransitionOnce(t *testing.T) {
	t.Parallel()
	b, clock := setupClock(t)
	for i := range 5 {
		must(b.svc.Request(b.ctx, b.request(fmt.Sprintf("sb-%d", i))))(t)
	}
	replicas := []*sandbox.Service{b.svc}
	for range 3 {
		replicas = append(replicas, must(sandbox.New(sandbox.Config{Control: b.control, Stores: b.stores, APIKeys: b.auth, Now: clock.Now}))(t))
	}
	for _, step := range []struct {
		after time.Duration
		want  sandbox.SweepReport
	}{{30 * day, sandbox.SweepReport{Dormant: 5}}, {14 * day, sandbox.SweepReport{Expired: 5}}} {
		now := clock.advance(step.after)
		var mu sync.Mutex
		var total sandbox.SweepReport
		var wg sync.WaitGroup
		for _, svc := range replicas {
			wg.Go(func() {
				rep, err := svc.Sweep(b.ctx, now)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total.Dormant += rep.Dormant
				total.Expired += rep.Expired
				mu.Unlock()
			})
		}
		wg.Wait()
		same(t, "transitions of all replicas together", total, step.want)
	}
	for i := range 5 {
		if n := len(must(b.svc.Events(b.ctx, fmt.Sprintf("sb-%d", i)))(t)); n != 4 {
			t.Fatalf("sb-%d has %d events, want 4 (requested, approved, dormant, expired)", i, n)
		}
	}
}

// A reset that a crash interrupted leaves the sandbox resetting; the sweep
// makes it active again once the reset is clearly not running any more.
func TestSweepEndsAnInterruptedReset(t *testing.T) {
	t.Parallel()
	b, clock := setupClock(t)
	sb := *must(b.svc.Request(b.ctx, b.request("crashed")))(t).Sandbox
	ok(t, b.control.SetSandboxState(b.ctx, sb.Name, ion.SandboxResetting)) // as Reset leaves it when the process dies

	clock.advance(10*time.Minute - time.Second)
	same(t, "sweep during a possible reset", must(b.svc.Sweep(b.ctx, clock.Now()))(t), sandbox.SweepReport{})
	clock.advance(time.Second)
	same(t, "sweep after", must(b.svc.Sweep(b.ctx, clock.Now()))(t), sandbox.SweepReport{Recovered: 1})
	if st := must(b.control.Sandbox(b.ctx, sb.Name))(t).State; st != ion.SandboxActive {
		t.Fatalf("state = %s, want active", st)
	}
	must(b.svc.Reset(b.ctx, sb.Name, ""))(t) // usable again
	same(t, "lifecycle log", eventKinds(t, b, sb.Name), []string{"requested:operator", "approved:operator", "reset:sweeper", "reset:operator"})
}

// TestFinishExpiriesAfterACrash: a process that died between marking a
// sandbox expired and removing its data leaves the data and credentials
// behind; FinishExpiries (run on start) removes them once, and logs it.
func TestFinishExpiriesAfterACrash(t *testing.T) {
	t.Parallel()
	b, clock := setupClock(t)
	res := must(b.svc.Request(b.ctx, b.request("crash-expiry")))(t)
	sb := *res.Sandbox
	must(b.svc.Request(b.ctx, b.request("still-alive")))(t)
	tenant := ion.TenantIDFor(sb.Name, sb.OrganizationID)
	must(b.svc.CreateCheckpoint(b.ctx, sb.Name, "before"))(t)
	// The first step of an expiry, as the sweeper makes it, then the crash.
	moved := must(b.control.TransitionSandbox(b.ctx, sb.Name, ion.SandboxActive, ion.SandboxExpired, &sb.LastActivityAt))(t)
	if !moved {
		t.Fatal("the transition to expired did not happen")
	}
	must(b.stores.Tenant(b.ctx, tenant))(t) // the data is still there

	clock.advance(time.Minute)
	if n := must(b.svc.FinishExpiries(b.ctx))(t); n != 1 {
		t.Fatalf("FinishExpiries finished %d sandboxes, want 1", n)
	}
	_, err := b.stores.Tenant(b.ctx, tenant)
	wantErr(t, err, ion.ENOTFOUND, "")
	iss := b.issuer(t, sb.Name)
	for _, c := range res.Credentials {
		if _, err := iss.ClientCredentialsToken(b.ctx, c.ClientID, c.ClientSecret); err == nil {
			t.Fatalf("credential of %s still works after the expiry was finished", c.ServiceAccount)
		}
	}
	if cps := must(b.control.Checkpoints(b.ctx, sb.Name))(t); len(cps) != 0 {
		t.Fatalf("checkpoints left after the expiry was finished: %v", cps)
	}
	same(t, "lifecycle log", eventKinds(t, b, sb.Name), []string{"requested:operator", "approved:operator", "checkpoint:operator", "expired:sweeper"})
	if n := must(b.svc.FinishExpiries(b.ctx))(t); n != 0 {
		t.Fatalf("second FinishExpiries finished %d sandboxes, want 0", n)
	}
	if st := must(b.control.Sandbox(b.ctx, "still-alive"))(t).State; st != ion.SandboxActive {
		t.Fatalf("an untouched sandbox is %s after FinishExpiries, want active", st)
	}
}
