package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ionbox/ionbox/internal/sandbox"
	"github.com/ionbox/ionbox/internal/storetest"
	"github.com/ionbox/ionbox/ion"
)

// snapshotStores is the real stores, watching SnapshotTenant: each
// progress report is passed to onProgress, and failVerify makes the first
// snapshot fail once it is verifying (after every row was copied).
type snapshotStores struct {
	ion.Stores
	mu         sync.Mutex
	onProgress func(ion.SnapshotProgress)
	failVerify bool
}

var errVerifyInjected = errors.New("injected failure while verifying")

func (s *snapshotStores) SnapshotTenant(ctx context.Context, from, to string, plan ion.ScrubPlan, progress func(ion.SnapshotProgress)) (ion.SnapshotStats, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stats, err := s.Stores.SnapshotTenant(ctx, from, to, plan, func(p ion.SnapshotProgress) {
		s.mu.Lock()
		on, fail := s.onProgress, s.failVerify && p.Phase == ion.SnapshotVerifying
		if fail {
			s.failVerify = false
		}
		s.mu.Unlock()
		progress(p)
		if on != nil {
			on(p)
		}
		if fail {
			cancel(errVerifyInjected)
		}
	})
	if cause := context.Cause(ctx); errors.Is(cause, errVerifyInjected) {
		return stats, cause
	}
	return stats, err
}

// canaryScan reports the files under dir, other than the production
// tenant's own, that hold the canary prefix.
func canaryScan(t *testing.T, dir, prodTenant string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), prodTenant+".db") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte("zqxcanary")) {
			hits = append(hits, strings.TrimPrefix(path, dir))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// TestSnapshotSandbox provisions a snapshot sandbox end to end: the
// request waits for approval; approval copies and scrubs the production
// organization while the sandbox stays in state provisioning (checked at
// every progress report, verification included); afterwards no file of the
// data directory but the production tenant's holds a canary (the sandbox's
// tenant, its baseline, everything), and the log says what was copied.
func TestSnapshotSandbox(t *testing.T) {
	t.Parallel()
	watch := &snapshotStores{}
	b := setup(t, func(c *sandbox.Config) { watch.Stores = c.Stores; c.Stores = watch })
	prodTS := must(b.stores.Tenant(b.ctx, b.prod.TenantID()))(t)
	storetest.SeedCanaries(t, b.ctx, prodTS)
	source := storetest.DumpTenant(t, b.ctx, prodTS)

	r := b.request("acme-snap")
	r.Shape = ion.ShapeSnapshot
	res := must(b.svc.Request(b.ctx, r))(t)
	if res.Request.Status != ion.RequestPending || res.Sandbox != nil {
		t.Fatalf("a snapshot request came back %s; want pending, waiting for an operator", res.Request.Status)
	}

	var phases []string
	var stateErrs []string
	watch.onProgress = func(p ion.SnapshotProgress) {
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
		if sb, err := b.control.Sandbox(b.ctx, "acme-snap"); err != nil || sb.State != ion.SandboxProvisioning {
			stateErrs = append(stateErrs, p.Phase+": "+sb.State)
		}
		if got, ok := b.svc.Progress("acme-snap"); !ok || got.Phase != p.Phase {
			stateErrs = append(stateErrs, "Progress does not report the snapshot")
		}
	}
	res = must(b.svc.Approve(b.ctx, res.Request.ID, "compliance ok"))(t)
	if len(stateErrs) > 0 {
		t.Fatalf("while copying, the sandbox was reachable or unreported: %q", stateErrs)
	}
	same(t, "phases", phases, []string{ion.SnapshotCopying, ion.SnapshotVerifying})
	if res.Request.Status != ion.RequestProvisioned || res.Sandbox.State != ion.SandboxActive || len(res.Credentials) != 2 {
		t.Fatalf("approve = %+v", res)
	}
	if _, ok := b.svc.Progress("acme-snap"); ok {
		t.Error("Progress still reports a finished snapshot")
	}
	sbTS := must(b.stores.Tenant(b.ctx, ion.TenantIDFor("acme-snap", res.Sandbox.OrganizationID)))(t)
	copied := storetest.DumpTenant(t, b.ctx, sbTS)
	same(t, "row counts", copied.Counts, source.Counts)
	same(t, "ids and references", copied.Refs, source.Refs)
	if hits := canaryScan(t, b.dir, b.prod.TenantID()); len(hits) > 0 {
		t.Fatalf("canaries in %q", hits)
	}
	events := must(b.svc.Events(b.ctx, "acme-snap"))(t)
	last := events[len(events)-1]
	if last.Kind != ion.EventApproved || !strings.Contains(last.Detail, "compliance ok") || !strings.Contains(last.Detail, "values scrubbed") {
		t.Fatalf("last event = %+v; want approved with the note and what the snapshot did", last)
	}
	// The baseline is the scrubbed copy: a reset returns to it.
	must(sbTS.CreatePart(b.ctx, ion.Part{PartNumber: "new"}))(t)
	must(b.svc.Reset(b.ctx, "acme-snap", ""))(t)
	same(t, "counts after reset", storetest.DumpTenant(t, b.ctx, sbTS).Counts, source.Counts)
}

// TestSnapshotInterrupted fails a snapshot after every row was copied, as
// it is being verified: no sandbox is left (no records, no tenant file, no
// canary anywhere), the request stays pending, and a second approval
// provisions it.
func TestSnapshotInterrupted(t *testing.T) {
	t.Parallel()
	watch := &snapshotStores{failVerify: true}
	b := setup(t, func(c *sandbox.Config) { watch.Stores = c.Stores; c.Stores = watch })
	storetest.SeedCanaries(t, b.ctx, must(b.stores.Tenant(b.ctx, b.prod.TenantID()))(t))
	before := b.rowCounts(t)
	filesBefore := b.tenantFiles(t)

	r := b.request("acme-snap")
	r.Shape = ion.ShapeSnapshot
	req := must(b.svc.Request(b.ctx, r))(t).Request
	_, err := b.svc.Approve(b.ctx, req.ID, "")
	if !errors.Is(err, errVerifyInjected) {
		t.Fatalf("approve = %v; want the injected failure", err)
	}
	after := b.rowCounts(t)
	after["sandbox_requests"]-- // the request itself stays
	same(t, "control rows", after, before)
	same(t, "tenant files", b.tenantFiles(t), filesBefore)
	if hits := canaryScan(t, b.dir, b.prod.TenantID()); len(hits) > 0 {
		t.Fatalf("canaries in %q", hits)
	}
	if got := must(b.control.SandboxRequest(b.ctx, req.ID))(t).Status; got != ion.RequestPending {
		t.Fatalf("request status = %s; want pending", got)
	}
	if res := must(b.svc.Approve(b.ctx, req.ID, ""))(t); res.Sandbox.State != ion.SandboxActive {
		t.Fatalf("second approval: state %s", res.Sandbox.State)
	}
}

// TestRemoveInterrupted removes what a process that died while provisioning
// left: a sandbox in state provisioning with its organization and a
// half-filled tenant. The request stays pending.
func TestRemoveInterrupted(t *testing.T) {
	t.Parallel()
	b := setup(t, manualApproval)
	filesBefore := b.tenantFiles(t)
	r := b.request("acme-crash")
	r.Shape = ion.ShapeSnapshot
	req := must(b.svc.Request(b.ctx, r))(t).Request
	// What a crash midway through provisioning leaves.
	must(b.control.CreateSandbox(b.ctx, ion.Sandbox{Name: r.Name, RequestID: req.ID, SourceOrganizationID: b.prod.ID,
		Shape: ion.ShapeSnapshot, State: ion.SandboxProvisioning}))(t)
	org := must(b.control.CreateOrganization(b.ctx, ion.Organization{Environment: r.Name, Name: "Acme", Domain: "acme.example"}))(t)
	ok(t, b.control.SetSandboxOrganization(b.ctx, r.Name, org.ID))
	must(must(b.stores.Tenant(b.ctx, org.TenantID()))(t).CreatePart(b.ctx, ion.Part{PartNumber: "half"}))(t)

	// Not yet stale for a sweep of replicas: left alone.
	if rep := must(b.svc.Sweep(b.ctx, time.Now()))(t); rep.Interrupted != 0 {
		t.Fatalf("a fresh provisioning was removed by the sweep: %+v", rep)
	}
	if n := must(b.svc.RemoveInterrupted(b.ctx, time.Now().Add(time.Second)))(t); n != 1 {
		t.Fatalf("removed %d; want 1", n)
	}
	_, err := b.control.Sandbox(b.ctx, r.Name)
	wantErr(t, err, ion.ENOTFOUND, "")
	same(t, "tenant files", b.tenantFiles(t), filesBefore)
	if got := must(b.control.SandboxRequest(b.ctx, req.ID))(t).Status; got != ion.RequestPending {
		t.Fatalf("request status = %s; want pending", got)
	}
	events := must(b.svc.Events(b.ctx, r.Name))(t)
	if last := events[len(events)-1]; last.Kind != ion.EventDeleted || !strings.Contains(last.Detail, "interrupted") {
		t.Fatalf("last event = %+v", last)
	}
}
