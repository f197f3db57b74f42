package storetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// testStates covers saved tenant states: a sandbox's baseline and its
// checkpoints, and restoring them.
func testStates(t *testing.T, h *harness) {
	t.Run("WritesAfterTheCheckpointAreGoneAfterRestore", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		id := b.org.TenantID()
		kept := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "kept"}))(t)
		loc := must(b.ts.CreateLocation(b.ctx, ion.Location{Name: "bin", Available: true}))(t)
		ok(t, b.stores.SaveTenantState(b.ctx, id, "baseline"))

		gone := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "gone"}))(t)
		changed := must(b.ts.UpdatePart(b.ctx, ion.PartPatch{ID: kept.ID, Etag: kept.Etag, Description: ptr("changed")}))(t)
		ok(t, b.ts.DeleteLocation(b.ctx, loc.ID, loc.Etag))
		ok(t, b.stores.SaveTenantState(b.ctx, id, "later"))

		ok(t, b.stores.RestoreTenantState(b.ctx, id, "baseline"))
		same(t, "parts after restoring the baseline", must(b.ts.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t),
			ion.Page[ion.Part]{Items: []ion.Part{kept}, TotalCount: 1})
		same(t, "location after restoring the baseline", must(b.ts.Location(b.ctx, loc.ID))(t), loc)
		_, err := b.ts.Part(b.ctx, gone.ID)
		wantErr(t, err, ion.ENOTFOUND, "")

		// New objects get fresh ids, not ones the restored data uses.
		next := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "next"}))(t)
		if next.ID == kept.ID {
			t.Fatalf("a part made after the restore got id %d, which %q has", next.ID, kept.PartNumber)
		}

		// States stay: restore another one, then the first again.
		ok(t, b.stores.RestoreTenantState(b.ctx, id, "later"))
		same(t, "parts after restoring the later state", must(b.ts.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t),
			ion.Page[ion.Part]{Items: []ion.Part{changed, gone}, TotalCount: 2})
		ok(t, b.stores.RestoreTenantState(b.ctx, id, "baseline"))
		fresh := must(b.stores.Tenant(b.ctx, id))(t)
		same(t, "parts through a new handle", must(fresh.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t).Items, []ion.Part{kept})

		// Saving again under a name replaces the state.
		must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "second"}))(t)
		ok(t, b.stores.SaveTenantState(b.ctx, id, "baseline"))
		ok(t, b.stores.RestoreTenantState(b.ctx, id, "baseline"))
		if n := must(b.ts.Parts(b.ctx, ion.ListOptions{}))(t).TotalCount; n != 2 {
			t.Fatalf("after re-saving and restoring, %d parts, want 2", n)
		}
	})

	t.Run("UnknownStatesAndTenants", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		id := b.org.TenantID()
		wantErr(t, b.stores.RestoreTenantState(b.ctx, id, "nope"), ion.ENOTFOUND, "")
		wantErr(t, b.stores.DeleteTenantState(b.ctx, id, "nope"), ion.ENOTFOUND, "")
		wantErr(t, b.stores.SaveTenantState(b.ctx, "no-such-tenant", "baseline"), ion.ENOTFOUND, "")
		wantErr(t, b.stores.RestoreTenantState(b.ctx, "no-such-tenant", "baseline"), ion.ENOTFOUND, "")
		for _, bad := range []string{"", "Upper", "-dash", "a/b", "dot.ted"} {
			wantErr(t, b.stores.SaveTenantState(b.ctx, id, bad), ion.EVALIDATION, "name")
		}

		ok(t, b.stores.SaveTenantState(b.ctx, id, "cp-1"))
		ok(t, b.stores.DeleteTenantState(b.ctx, id, "cp-1"))
		wantErr(t, b.stores.RestoreTenantState(b.ctx, id, "cp-1"), ion.ENOTFOUND, "")
		wantErr(t, b.stores.DeleteTenantState(b.ctx, id, "cp-1"), ion.ENOTFOUND, "")
	})

	t.Run("TheEmptyStateIsNeverSaved", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		id := b.org.TenantID()
		deleted := "states-" + h.name("deleted")
		ok(t, b.stores.CreateTenant(b.ctx, deleted))
		ok(t, b.stores.DeleteTenant(b.ctx, deleted))
		for _, tc := range []struct {
			name      string
			call      func() error
			wantCode  string
			wantField string
		}{
			{"Save", func() error { return b.stores.SaveTenantState(b.ctx, id, ion.EmptyTenantState) }, ion.EVALIDATION, "name"},
			{"Delete", func() error { return b.stores.DeleteTenantState(b.ctx, id, ion.EmptyTenantState) }, ion.EVALIDATION, "name"},
			{"LoadTemplateAsIt", func() error {
				return b.stores.LoadTenantTemplateAsState(b.ctx, id, "no-such-template", time.Now(), ion.EmptyTenantState)
			}, ion.EVALIDATION, "name"},
			{"RestoreOfAnUnknownTenant", func() error { return b.stores.RestoreTenantState(b.ctx, "no-such-tenant", ion.EmptyTenantState) }, ion.ENOTFOUND, ""},
			{"RestoreOfADeletedTenant", func() error { return b.stores.RestoreTenantState(b.ctx, deleted, ion.EmptyTenantState) }, ion.ENOTFOUND, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantErr(t, tc.call(), tc.wantCode, tc.wantField)
			})
		}
		// The rejected calls changed nothing: the tenant restores it and
		// has no other state.
		ok(t, b.stores.RestoreTenantState(b.ctx, id, ion.EmptyTenantState))
		wantErr(t, b.stores.RestoreTenantState(b.ctx, id, "baseline"), ion.ENOTFOUND, "")
	})

	t.Run("DeleteTenantDeletesItsStates", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		id := "states-" + h.name("t")
		ok(t, b.stores.CreateTenant(b.ctx, id))
		ts := must(b.stores.Tenant(b.ctx, id))(t)
		must(ts.CreatePart(b.ctx, ion.Part{PartNumber: "p"}))(t)
		ok(t, b.stores.SaveTenantState(b.ctx, id, "baseline"))
		ok(t, b.stores.DeleteTenant(b.ctx, id))
		wantErr(t, b.stores.RestoreTenantState(b.ctx, id, "baseline"), ion.ENOTFOUND, "")
		// A new tenant of the same id starts without them.
		ok(t, b.stores.CreateTenant(b.ctx, id))
		wantErr(t, b.stores.RestoreTenantState(b.ctx, id, "baseline"), ion.ENOTFOUND, "")
		ok(t, b.stores.DeleteTenant(b.ctx, id))
	})

	t.Run("StatesSurviveReopen", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		stores := h.open(t)
		closed := false
		t.Cleanup(func() {
			if !closed {
				stores.Close()
			}
		})
		control := stores.Control()
		must(control.EnsureEnvironment(ctx, ion.Environment{Name: ion.ProductionEnvironment, Kind: ion.EnvProduction}))(t)
		org := must(control.CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Acme", Domain: "acme.example"}))(t)
		ts := must(stores.Tenant(ctx, org.TenantID()))(t)
		kept := must(ts.CreatePart(ctx, ion.Part{PartNumber: "kept"}))(t)
		ok(t, stores.SaveTenantState(ctx, org.TenantID(), "baseline"))
		// Restore once, so that the next restore's copy is being prepared
		// while the stores close.
		ok(t, stores.RestoreTenantState(ctx, org.TenantID(), "baseline"))
		must(ts.CreatePart(ctx, ion.Part{PartNumber: "gone"}))(t)
		closed = true
		ok(t, stores.Close())

		reopened := h.open(t)
		t.Cleanup(func() { reopened.Close() })
		ok(t, reopened.RestoreTenantState(ctx, org.TenantID(), "baseline"))
		rts := must(reopened.Tenant(ctx, org.TenantID()))(t)
		same(t, "parts after a restore in the reopened stores", must(rts.Parts(ctx, ion.ListOptions{Limit: 10}))(t),
			ion.Page[ion.Part]{Items: []ion.Part{kept}, TotalCount: 1})
	})

	t.Run("ResetToABaselineSavedEmptyRestartsIds", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		id := b.org.TenantID()
		// A blank sandbox's baseline: saved before any write.
		ok(t, b.stores.SaveTenantState(b.ctx, id, "baseline"))
		first := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "first"}))(t)
		if first.ID != 1 {
			t.Fatalf("the first part of a new tenant got id %d, want 1", first.ID)
		}
		second := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "second"}))(t)
		must(b.ts.CreateLocation(b.ctx, ion.Location{Name: "bin", Available: true}))(t)
		ok(t, b.stores.SaveTenantState(b.ctx, id, "later"))

		for round := range 2 {
			ok(t, b.stores.RestoreTenantState(b.ctx, id, "baseline"))
			if n := must(b.ts.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t).TotalCount; n != 0 {
				t.Fatalf("round %d: %d parts after restoring the empty baseline, want 0", round, n)
			}
			if n := must(b.ts.Locations(b.ctx, ion.ListOptions{Limit: 10}))(t).TotalCount; n != 0 {
				t.Fatalf("round %d: %d locations after restoring the empty baseline, want 0", round, n)
			}
			_, err := b.ts.Part(b.ctx, first.ID)
			wantErr(t, err, ion.ENOTFOUND, "")
			next := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "next"}))(t)
			if next.ID != 1 {
				t.Fatalf("round %d: after reset to a baseline saved empty, the next part got id %d, want 1", round, next.ID)
			}
			// The other states stay as they were.
			ok(t, b.stores.RestoreTenantState(b.ctx, id, "later"))
			same(t, "parts after restoring the later state", must(b.ts.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t).Items,
				[]ion.Part{first, second})
		}

		// A tenant emptied by deletes had writes: its state restores with
		// no rows, and ids are not reused.
		locs := must(b.ts.Locations(b.ctx, ion.ListOptions{Limit: 10}))(t).Items
		ok(t, b.ts.DeletePart(b.ctx, first.ID, first.Etag))
		ok(t, b.ts.DeletePart(b.ctx, second.ID, second.Etag))
		ok(t, b.ts.DeleteLocation(b.ctx, locs[0].ID, locs[0].Etag))
		ok(t, b.stores.SaveTenantState(b.ctx, id, "emptied"))
		must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "gone"}))(t)
		ok(t, b.stores.RestoreTenantState(b.ctx, id, "emptied"))
		if n := must(b.ts.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t).TotalCount; n != 0 {
			t.Fatalf("%d parts after restoring the emptied state, want 0", n)
		}
		if next := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "next"}))(t); next.ID <= second.ID {
			t.Fatalf("after restoring a state emptied by deletes, the next part got id %d, want more than %d", next.ID, second.ID)
		}

		// Re-saving the empty baseline's name with data replaces it.
		ok(t, b.stores.SaveTenantState(b.ctx, id, "baseline"))
		must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "after"}))(t)
		ok(t, b.stores.RestoreTenantState(b.ctx, id, "baseline"))
		if n := must(b.ts.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t).TotalCount; n != 1 {
			t.Fatalf("%d parts after restoring the re-saved baseline, want 1", n)
		}

		// Deleting a tenant deletes its empty states too.
		fresh := "states-" + h.name("empty")
		ok(t, b.stores.CreateTenant(b.ctx, fresh))
		ok(t, b.stores.SaveTenantState(b.ctx, fresh, "baseline"))
		ok(t, b.stores.RestoreTenantState(b.ctx, fresh, "baseline"))
		ok(t, b.stores.DeleteTenant(b.ctx, fresh))
		wantErr(t, b.stores.RestoreTenantState(b.ctx, fresh, "baseline"), ion.ENOTFOUND, "")
		ok(t, b.stores.CreateTenant(b.ctx, fresh))
		wantErr(t, b.stores.RestoreTenantState(b.ctx, fresh, "baseline"), ion.ENOTFOUND, "")
		ok(t, b.stores.DeleteTenant(b.ctx, fresh))
	})

	t.Run("RestoreTheEmptyStateRestartsIds", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		id := b.org.TenantID()
		first := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "first"}))(t)
		second := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "second"}))(t)
		loc := must(b.ts.CreateLocation(b.ctx, ion.Location{Name: "bin", Available: true}))(t)
		ok(t, b.stores.SaveTenantState(b.ctx, id, "later"))

		for round := range 2 {
			ok(t, b.stores.RestoreTenantState(b.ctx, id, ion.EmptyTenantState))
			// Twice in a row: the state is there again right away.
			ok(t, b.stores.RestoreTenantState(b.ctx, id, ion.EmptyTenantState))
			for _, ts := range []ion.TenantStore{b.ts, must(b.stores.Tenant(b.ctx, id))(t)} {
				if n := must(ts.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t).TotalCount; n != 0 {
					t.Fatalf("round %d: %d parts after restoring the empty state, want 0", round, n)
				}
				if n := must(ts.Locations(b.ctx, ion.ListOptions{Limit: 10}))(t).TotalCount; n != 0 {
					t.Fatalf("round %d: %d locations after restoring the empty state, want 0", round, n)
				}
			}
			_, err := b.ts.Part(b.ctx, second.ID)
			wantErr(t, err, ion.ENOTFOUND, "")
			if next := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "next"}))(t); next.ID != 1 {
				t.Fatalf("round %d: after restoring the empty state, the next part got id %d, want 1", round, next.ID)
			}
			if next := must(b.ts.CreateLocation(b.ctx, ion.Location{Name: "next", Available: true}))(t); next.ID != 1 {
				t.Fatalf("round %d: after restoring the empty state, the next location got id %d, want 1", round, next.ID)
			}
			// Saved states stay as they were.
			ok(t, b.stores.RestoreTenantState(b.ctx, id, "later"))
			same(t, "parts after restoring the later state", must(b.ts.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t).Items,
				[]ion.Part{first, second})
			same(t, "location after restoring the later state", must(b.ts.Location(b.ctx, loc.ID))(t), loc)
		}
	})

	for _, tc := range []struct {
		name string
		base restoredBaseline
	}{
		{"CallsDuringARestoreSeeOldOrNew", restoredBaseline{parts: 5}},
		{"CallsDuringARestoreOfAnEmptyBaselineSeeOldOrNew", restoredBaseline{}},
		{"CallsDuringARestoreOfTheEmptyStateSeeOldOrNew", restoredBaseline{emptyState: true}},
		{"CallsDuringARestoreOfALoadedTemplateSeeOldOrNew", restoredBaseline{parts: 5, loaded: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			callsDuringARestore(t, h, tc.base)
		})
	}
}

// restoredBaseline is the state callsDuringARestore restores.
type restoredBaseline struct {
	parts int // how many parts it has
	// loaded makes it a template loaded with LoadTenantTemplateAsState (a
	// seeded sandbox's baseline) rather than a saved state.
	loaded bool
	// emptyState restores ion.EmptyTenantState (parts must be 0), which
	// nothing saves.
	emptyState bool
}

// callsDuringARestore restores baseline repeatedly while writers and
// readers run on the tenant: every call succeeds and sees the data before
// or after a restore, never a mix.
func callsDuringARestore(t *testing.T, h *harness, baseline restoredBaseline) {
	b := h.setup(t)
	id := b.org.TenantID()
	var base []ion.Part
	state := "baseline"
	switch {
	case baseline.emptyState:
		state = ion.EmptyTenantState
	case baseline.loaded:
		for i := range baseline.parts {
			must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: fmt.Sprint("base-", i)}))(t)
		}
		tpl := h.name("restore-tpl")
		ok(t, b.stores.SaveTenantTemplate(b.ctx, id, tpl))
		id = h.name("loaded")
		ok(t, b.stores.CreateTenant(b.ctx, id))
		ok(t, b.stores.LoadTenantTemplateAsState(b.ctx, id, tpl, time.Now(), "baseline"))
		b.ts = must(b.stores.Tenant(b.ctx, id))(t)
		base = must(b.ts.Parts(b.ctx, ion.ListOptions{Limit: 100}))(t).Items
		if len(base) != baseline.parts {
			t.Fatalf("loaded %d parts, want %d", len(base), baseline.parts)
		}
	default:
		for i := range baseline.parts {
			base = append(base, must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: fmt.Sprint("base-", i)}))(t))
		}
		ok(t, b.stores.SaveTenantState(b.ctx, id, "baseline"))
	}

	ctx, stop := context.WithCancel(b.ctx)
	var wg sync.WaitGroup
	var failures sync.Map
	fail := func(what string, err error) {
		if !errors.Is(err, context.Canceled) {
			failures.Store(what, err)
			stop()
		}
	}
	var writes atomic.Int64
	for w := range 3 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				_, err := b.ts.CreatePart(ctx, ion.Part{PartNumber: fmt.Sprintf("w%d-%d", w, i)})
				if err != nil {
					fail(fmt.Sprintf("writer %d", w), err)
					return
				}
				writes.Add(1)
			}
		})
	}
	for r := range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				page, err := b.ts.Parts(ctx, ion.ListOptions{Limit: 1000})
				if err != nil {
					fail(fmt.Sprintf("reader %d", r), err)
					return
				}
				// One snapshot: the count matches the items, and the
				// baseline's parts are all there, unchanged.
				if page.TotalCount != len(page.Items) || len(page.Items) < len(base) {
					fail(fmt.Sprintf("reader %d", r), fmt.Errorf("page of %d items counts %d", len(page.Items), page.TotalCount))
					return
				}
				for i, p := range base {
					if page.Items[i].ID != p.ID || page.Items[i].PartNumber != p.PartNumber {
						fail(fmt.Sprintf("reader %d", r), fmt.Errorf("item %d is %+v, want %+v", i, page.Items[i], p))
						return
					}
				}
			}
		})
	}
	for range 5 {
		for start := writes.Load(); writes.Load() < start+3; {
			if ctx.Err() != nil {
				break
			}
			runtime.Gosched()
		}
		if err := b.stores.RestoreTenantState(b.ctx, id, state); err != nil {
			stop()
			wg.Wait()
			t.Fatalf("restore: %v", err)
		}
	}
	stop()
	wg.Wait()
	failures.Range(func(k, v any) bool {
		t.Errorf("%s: %v", k, v)
		return true
	})
	// Once quiet, a restore leaves exactly the baseline.
	ok(t, b.stores.RestoreTenantState(b.ctx, id, state))
	page := must(b.ts.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t)
	if len(base) == 0 {
		if page.TotalCount != 0 || len(page.Items) != 0 {
			t.Fatalf("after the last restore, %d parts, want 0", page.TotalCount)
		}
		return
	}
	same(t, "parts after the last restore", page, ion.Page[ion.Part]{Items: base, TotalCount: len(base)})
}
