package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ionbox/ionbox/internal/seed"
	"github.com/ionbox/ionbox/ion"
)

// testTemplates covers tenant templates (ion.TenantTemplates), which
// seeded sandboxes are cloned from, with the seed data itself.
func testTemplates(t *testing.T, h *harness) {
	t.Run("SeededFactoryLoadsRetimedAndWhole", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		src := b.org.TenantID()
		ok(t, seed.Generate(b.ctx, b.ts, seed.SizeSmall, nil))
		built := must(seed.Read(b.ctx, b.ts))(t)
		sum, err := seed.Verify(built)
		ok(t, err)
		for _, st := range []string{ion.StatusTodo, ion.StatusInProgress, ion.StatusComplete, ion.StatusRedline, ion.StatusHold, ion.StatusFailed, ion.StatusCanceled} {
			if sum.RunStatuses[st] == 0 {
				t.Errorf("no %s run in the seeded factory", st)
			}
		}
		tpl := h.name("seed-test")
		ok(t, b.stores.SaveTenantTemplate(b.ctx, src, tpl))
		if !must(b.stores.TenantTemplateExists(b.ctx, tpl))(t) {
			t.Fatalf("template %s does not exist after it was saved", tpl)
		}
		// The template outlives its source.
		ok(t, b.stores.DeleteTenant(b.ctx, src))

		at := time.Date(2030, 5, 17, 9, 30, 0, 0, time.UTC)
		load := func(id string, at time.Time) *seed.Factory {
			ok(t, b.stores.CreateTenant(b.ctx, id))
			// What the tenant had is replaced.
			ts := must(b.stores.Tenant(b.ctx, id))(t)
			must(ts.CreatePart(b.ctx, ion.Part{PartNumber: "REPLACED"}))(t)
			ok(t, b.stores.LoadTenantTemplate(b.ctx, id, tpl, at))
			return must(seed.Read(b.ctx, ts))(t)
		}
		firstID := h.name("loaded")
		first := load(firstID, at)
		later := load(h.name("loaded"), at.Add(49*time.Hour+time.Second))

		// The same rows as built, but for times.
		ignoreTimes := cmp.Options{
			cmpopts.IgnoreFields(ion.Meta{}, "CreatedAt", "UpdatedAt"),
			cmpopts.IgnoreFields(ion.Run{}, "StartedAt", "CompletedAt"),
			cmpopts.IgnoreFields(ion.PurchaseOrderLine{}, "NeedDate"),
		}
		same(t, "the loaded factory", first, built, ignoreTimes)
		// Loaded later, every time is later by exactly as much.
		shift := 49*time.Hour + time.Second
		shifted := func(tm time.Time) time.Time { return tm.Add(shift) }
		shiftedPtr := func(tm *time.Time) *time.Time {
			if tm == nil {
				return nil
			}
			s := tm.Add(shift)
			return &s
		}
		want := *first
		want.Parts = mapSlice(first.Parts, func(p ion.Part) ion.Part {
			p.CreatedAt, p.UpdatedAt = shifted(p.CreatedAt), shifted(p.UpdatedAt)
			return p
		})
		want.Runs = mapSlice(first.Runs, func(r ion.Run) ion.Run {
			r.CreatedAt, r.UpdatedAt = shifted(r.CreatedAt), shifted(r.UpdatedAt)
			r.StartedAt, r.CompletedAt = shiftedPtr(r.StartedAt), shiftedPtr(r.CompletedAt)
			return r
		})
		want.PurchaseOrderLines = mapSlice(first.PurchaseOrderLines, func(l ion.PurchaseOrderLine) ion.PurchaseOrderLine {
			l.CreatedAt, l.UpdatedAt, l.NeedDate = shifted(l.CreatedAt), shifted(l.UpdatedAt), shiftedPtr(l.NeedDate)
			return l
		})
		same(t, "parts loaded later", later.Parts, want.Parts)
		same(t, "runs loaded later", later.Runs, want.Runs)
		same(t, "purchase order lines loaded later", later.PurchaseOrderLines, want.PurchaseOrderLines)

		// Times are recent: nothing after `at`, runs and inventory within
		// 90 days before it, reference data within 180; a started run
		// started after it was made and finished after it started.
		for _, r := range first.Runs {
			if r.CreatedAt.After(at) || r.CreatedAt.Before(at.AddDate(0, 0, -90)) || r.UpdatedAt.Before(r.CreatedAt) || r.UpdatedAt.After(at) {
				t.Fatalf("run %d: created %s, updated %s; want within the 90 days before %s", r.ID, r.CreatedAt, r.UpdatedAt, at)
			}
			if r.StartedAt != nil && (r.StartedAt.Before(r.CreatedAt) || (r.CompletedAt != nil && r.CompletedAt.Before(*r.StartedAt))) {
				t.Fatalf("run %d: created %s, started %s, completed %v", r.ID, r.CreatedAt, r.StartedAt, r.CompletedAt)
			}
		}
		for _, p := range first.Parts {
			if p.CreatedAt.After(at.AddDate(0, 0, -90)) || p.CreatedAt.Before(at.AddDate(0, 0, -180)) {
				t.Fatalf("part %d created %s; want 90 to 180 days before %s", p.ID, p.CreatedAt, at)
			}
		}
		for _, l := range first.PurchaseOrderLines {
			if l.NeedDate != nil && !l.NeedDate.After(at) {
				t.Fatalf("purchase order line %d is needed %s, not after %s", l.ID, l.NeedDate, at)
			}
		}

		// A loaded tenant goes on as any other: new ids follow the
		// template's.
		ts := must(b.stores.Tenant(b.ctx, firstID))(t)
		p := must(ts.CreatePart(b.ctx, ion.Part{PartNumber: "NEW-1"}))(t)
		if p.ID <= built.Parts[len(built.Parts)-1].ID {
			t.Fatalf("a part made after loading got id %d, which the template uses", p.ID)
		}
	})

	t.Run("LoadedAsStateRestoresWhatWasLoaded", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		src := b.org.TenantID()
		for i := range 3 {
			must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: fmt.Sprint("TPL-", i)}))(t)
		}
		must(b.ts.CreateLocation(b.ctx, ion.Location{Name: "bin", Available: true}))(t)
		tpl := h.name("as-state")
		ok(t, b.stores.SaveTenantTemplate(b.ctx, src, tpl))

		id := h.name("loaded")
		ok(t, b.stores.CreateTenant(b.ctx, id))
		wantErr(t, b.stores.LoadTenantTemplateAsState(b.ctx, id, tpl, time.Now(), "Bad/Name"), ion.EVALIDATION, "name")
		at := time.Date(2031, 2, 3, 4, 5, 6, 789000, time.UTC)
		ok(t, b.stores.LoadTenantTemplateAsState(b.ctx, id, tpl, at, "baseline"))
		ts := must(b.stores.Tenant(b.ctx, id))(t)
		loaded := must(ts.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t)
		locs := must(ts.Locations(b.ctx, ion.ListOptions{Limit: 10}))(t)
		if loaded.TotalCount != 3 || locs.TotalCount != 1 {
			t.Fatalf("loaded %d parts and %d locations, want 3 and 1", loaded.TotalCount, locs.TotalCount)
		}
		for _, p := range loaded.Items {
			if p.CreatedAt.After(at.AddDate(0, 0, -90)) || p.CreatedAt.Before(at.AddDate(0, 0, -180)) {
				t.Fatalf("part %d created %s; want 90 to 180 days before %s", p.ID, p.CreatedAt, at)
			}
		}
		change := func(round int) {
			t.Helper()
			p := loaded.Items[0]
			must(ts.UpdatePart(b.ctx, ion.PartPatch{ID: p.ID, Etag: p.Etag, Description: ptr(fmt.Sprint("changed ", round))}))(t)
			must(ts.CreatePart(b.ctx, ion.Part{PartNumber: fmt.Sprint("EXTRA-", round)}))(t)
			ok(t, ts.DeleteLocation(b.ctx, locs.Items[0].ID, locs.Items[0].Etag))
		}
		check := func(what string) {
			t.Helper()
			same(t, what+": parts", must(ts.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t), loaded)
			same(t, what+": locations", must(ts.Locations(b.ctx, ion.ListOptions{Limit: 10}))(t), locs)
		}
		// Several rounds, so that ready copies made after a restore are
		// used too.
		for round := range 3 {
			change(round)
			ok(t, b.stores.RestoreTenantState(b.ctx, id, "baseline"))
			check(fmt.Sprint("restore ", round))
		}
		next := must(ts.CreatePart(b.ctx, ion.Part{PartNumber: "NEXT"}))(t)
		if next.ID <= loaded.Items[len(loaded.Items)-1].ID {
			t.Fatalf("a part made after the restore got id %d, which the loaded data uses", next.ID)
		}

		// The state is what was loaded, whatever becomes of the template.
		must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "TPL-LATER"}))(t)
		ok(t, b.stores.SaveTenantTemplate(b.ctx, src, tpl))
		ok(t, b.stores.RestoreTenantState(b.ctx, id, "baseline"))
		check("restored after the template was replaced")
		change(10)
		ok(t, b.stores.DeleteTenantTemplate(b.ctx, tpl))
		ok(t, b.stores.RestoreTenantState(b.ctx, id, "baseline"))
		check("restored after the template was deleted")
		change(11)
		ok(t, b.stores.RestoreTenantState(b.ctx, id, "baseline"))
		check("restored again")

		ok(t, b.stores.DeleteTenantState(b.ctx, id, "baseline"))
		wantErr(t, b.stores.RestoreTenantState(b.ctx, id, "baseline"), ion.ENOTFOUND, "")
		wantErr(t, b.stores.LoadTenantTemplateAsState(b.ctx, id, tpl, at, "baseline"), ion.ENOTFOUND, "")
		ok(t, b.stores.DeleteTenant(b.ctx, id))
	})

	t.Run("SandboxRequestKeepsItsSize", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		in := ion.SandboxRequest{OrganizationID: b.org.ID, Name: h.name("perf"), Shape: ion.ShapeSeeded, Size: seed.SizeLarge, RequestedBy: "ada@acme.example"}
		made := must(b.control.CreateSandboxRequest(b.ctx, in))(t)
		if made.Size != seed.SizeLarge {
			t.Fatalf("created request has size %q, want large", made.Size)
		}
		if got := must(b.control.SandboxRequest(b.ctx, made.ID))(t); got.Size != seed.SizeLarge {
			t.Fatalf("read back, the request has size %q, want large", got.Size)
		}
		blank := must(b.control.CreateSandboxRequest(b.ctx, ion.SandboxRequest{OrganizationID: b.org.ID, Name: h.name("plain"), Shape: ion.ShapeBlank}))(t)
		list := must(b.control.SandboxRequests(b.ctx, b.org.ID))(t)
		sizes := map[ion.ID]string{}
		for _, r := range list {
			sizes[r.ID] = r.Size
		}
		same(t, "sizes of the listed requests", sizes, map[ion.ID]string{made.ID: seed.SizeLarge, blank.ID: ""})
	})

	t.Run("UnknownTemplatesAndTenants", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		id := b.org.TenantID()
		tpl := h.name("tpl")
		if must(b.stores.TenantTemplateExists(b.ctx, tpl))(t) {
			t.Fatalf("template %s exists before it was saved", tpl)
		}
		wantErr(t, b.stores.LoadTenantTemplate(b.ctx, id, tpl, time.Now()), ion.ENOTFOUND, "")
		wantErr(t, b.stores.DeleteTenantTemplate(b.ctx, tpl), ion.ENOTFOUND, "")
		wantErr(t, b.stores.SaveTenantTemplate(b.ctx, "no-such-tenant", tpl), ion.ENOTFOUND, "")
		for _, bad := range []string{"", "Upper", "a/b", "../x"} {
			wantErr(t, b.stores.SaveTenantTemplate(b.ctx, id, bad), ion.EVALIDATION, "name")
		}

		must(b.ts.CreateLocation(b.ctx, ion.Location{Name: "bin", Available: true}))(t)
		ok(t, b.stores.SaveTenantTemplate(b.ctx, id, tpl))
		wantErr(t, b.stores.LoadTenantTemplate(b.ctx, "no-such-tenant", tpl, time.Now()), ion.ENOTFOUND, "")
		ok(t, b.stores.DeleteTenantTemplate(b.ctx, tpl))
		if must(b.stores.TenantTemplateExists(b.ctx, tpl))(t) {
			t.Fatalf("template %s exists after it was deleted", tpl)
		}
		wantErr(t, b.stores.LoadTenantTemplate(b.ctx, id, tpl, time.Now()), ion.ENOTFOUND, "")
	})
}

func mapSlice[T any](in []T, f func(T) T) []T {
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
