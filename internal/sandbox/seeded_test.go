package sandbox_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ionbox/ionbox/internal/sandbox"
	"github.com/ionbox/ionbox/internal/seed"
	"github.com/ionbox/ionbox/ion"
)

func seededRequest(b *bundle, name string) ion.SandboxRequest {
	r := b.request(name)
	r.Shape = ion.ShapeSeeded
	return r
}

// A seeded request is approved at once and the sandbox holds the demo
// factory, dated relative to when it was provisioned; a later one holds
// the same factory shifted by the time between them.
func TestSeededSandboxHoldsTheDemoFactory(t *testing.T) {
	t.Parallel()
	b, clock := setupClock(t)
	res := must(b.svc.Request(b.ctx, seededRequest(b, "demo-one")))(t)
	if res.Request.Status != ion.RequestProvisioned || res.Request.Size != seed.SizeSmall || res.Sandbox.Shape != ion.ShapeSeeded {
		t.Fatalf("request = %+v, sandbox %+v; want provisioned at once, seeded, size small", res.Request, res.Sandbox)
	}
	if len(res.Credentials) != 2 {
		t.Fatalf("%d credentials, want one per service account", len(res.Credentials))
	}
	first := must(seed.Read(b.ctx, b.sandboxTenant(t, *res.Sandbox)))(t)
	sum, err := seed.Verify(first)
	ok(t, err)
	if sum.Rows < 1000 || sum.RunStatuses[ion.StatusFailed] == 0 || sum.InventoryStatuses[ion.InvInstalled] == 0 {
		t.Fatalf("the seeded sandbox holds %d rows (runs %v, inventory %v); want the demo factory", sum.Rows, sum.RunStatuses, sum.InventoryStatuses)
	}
	for _, r := range first.Runs {
		if r.CreatedAt.After(t0) || r.CreatedAt.Before(t0.AddDate(0, 0, -90)) {
			t.Fatalf("run %d was made %s; want within the 90 days before provisioning (%s)", r.ID, r.CreatedAt, t0)
		}
	}

	const gap = 3*day + time.Hour
	clock.advance(gap)
	res2 := must(b.svc.Request(b.ctx, seededRequest(b, "demo-two")))(t)
	second := must(seed.Read(b.ctx, b.sandboxTenant(t, *res2.Sandbox)))(t)
	var want []ion.Run
	for _, r := range first.Runs {
		r.CreatedAt, r.UpdatedAt = r.CreatedAt.Add(gap), r.UpdatedAt.Add(gap)
		for _, tm := range []**time.Time{&r.StartedAt, &r.CompletedAt} {
			if *tm != nil {
				moved := (*tm).Add(gap)
				*tm = &moved
			}
		}
		want = append(want, r)
	}
	if diff := cmp.Diff(second.Runs, want); diff != "" {
		t.Fatalf("the second seeded sandbox's runs are not the first's moved by %s (-second +first shifted):\n%s", gap, diff)
	}
	if diff := cmp.Diff(second, first, cmpopts.IgnoreTypes(time.Time{})); diff != "" {
		t.Fatalf("the two seeded sandboxes differ beyond times (-second +first):\n%s", diff)
	}

	// The template was built once; its scratch tenant is gone.
	if got, _ := filepath.Glob(filepath.Join(b.dir, "tenants", "seed-build-*")); len(got) != 0 {
		t.Fatalf("scratch tenants left behind: %v", got)
	}
	if got, _ := filepath.Glob(filepath.Join(b.dir, "templates", "t-"+seed.TemplateName(seed.SizeSmall)+".db")); len(got) != 1 {
		t.Fatalf("no template file for %s", seed.TemplateName(seed.SizeSmall))
	}
}

// Reset returns a seeded sandbox to its factory as provisioned.
func TestResetSeededSandbox(t *testing.T) {
	t.Parallel()
	b, _ := setupClock(t)
	res := must(b.svc.Request(b.ctx, seededRequest(b, "demo")))(t)
	ts := b.sandboxTenant(t, *res.Sandbox)
	before := must(seed.Read(b.ctx, ts))(t)

	p := must(ts.CreatePart(b.ctx, ion.Part{PartNumber: "MINE-1"}))(t)
	run := before.Runs[0]
	must(ts.UpdateRun(b.ctx, ion.RunPatch{ID: run.ID, Etag: run.Etag, Title: ptr("renamed")}))(t)
	must(b.svc.Reset(b.ctx, "demo", ""))(t)

	after := must(seed.Read(b.ctx, ts))(t)
	if diff := cmp.Diff(after, before); diff != "" {
		t.Fatalf("after the reset the data differs from the baseline (-after +before):\n%s", diff)
	}
	_, err := ts.Part(b.ctx, p.ID)
	wantErr(t, err, ion.ENOTFOUND, "")
}

// Seeded requests arriving together wait for one build of the template
// and are all provisioned; a pending one keeps its size for approval.
func TestConcurrentSeededRequests(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var wg sync.WaitGroup
	results := make([]sandbox.Result, 3)
	errs := make([]error, 3)
	for i := range results {
		wg.Go(func() {
			results[i], errs[i] = b.svc.Request(b.ctx, seededRequest(b, []string{"one", "two", "three"}[i]))
		})
	}
	wg.Wait()
	var parts []int
	for i, err := range errs {
		ok(t, err)
		ts := must(b.stores.Tenant(b.ctx, ion.TenantIDFor(results[i].Sandbox.Name, results[i].Sandbox.OrganizationID)))(t)
		parts = append(parts, must(ts.Parts(b.ctx, ion.ListOptions{}))(t).TotalCount)
	}
	if parts[0] == 0 || parts[0] != parts[1] || parts[1] != parts[2] {
		t.Fatalf("parts in the three seeded sandboxes: %v; want the same, more than none", parts)
	}

	manual := setup(t, manualApproval)
	r := seededRequest(manual, "later")
	r.Size = "LARGE"
	pending := must(manual.svc.Request(manual.ctx, r))(t)
	if pending.Request.Status != ion.RequestPending || pending.Request.Size != seed.SizeLarge {
		t.Fatalf("request = %+v; want pending, size large", pending.Request)
	}
	stored := must(manual.control.SandboxRequest(manual.ctx, pending.Request.ID))(t)
	if stored.Size != seed.SizeLarge {
		t.Fatalf("stored request has size %q, want large", stored.Size)
	}
}
