package postgres_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ionbox/ionbox/internal/postgres"
	"github.com/ionbox/ionbox/ion"
)

// A small template loaded as a state comes from a ready copy made within
// TemplateCopyAge of the load: the rows and the saved state carry the
// copy's time. A copy further off is not used; replacing the template
// drops its copies.
func TestTemplateCopies(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	prefix := newPrefix(t, url)
	ctx := t.Context()
	var mu sync.Mutex
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	setClock := func(at time.Time) { mu.Lock(); defer mu.Unlock(); now = at }
	opts := testOptions(prefix)
	opts.TemplateCopies, opts.Now = 1, clock
	s, err := postgres.Open(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// copies lists the times of the template's ready copies.
	copies := func() []time.Time {
		t.Helper()
		rows, err := conn.Query(ctx, `SELECT coalesce(obj_description(oid, 'pg_namespace'), '') FROM pg_namespace WHERE starts_with(nspname::text, $1)`, prefix+"c_")
		if err != nil {
			t.Fatal(err)
		}
		comments, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		var out []time.Time
		for _, c := range comments {
			us, err := strconv.ParseInt(strings.TrimPrefix(c, "ionbox: template copy "), 10, 64)
			if err != nil {
				t.Fatalf("template copy comment %q: %v", c, err)
			}
			out = append(out, time.UnixMicro(us).UTC())
		}
		return out
	}
	waitForCopyAt := func(at time.Time) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if c := copies(); len(c) == 1 && c[0].Equal(at) {
				return
			}
		}
		t.Fatalf("template copies %v, want one made at %v", copies(), at)
	}

	control := s.Control()
	if _, err := control.EnsureEnvironment(ctx, ion.Environment{Name: ion.ProductionEnvironment, Kind: ion.EnvProduction}); err != nil {
		t.Fatal(err)
	}
	tenant := func(name string) (string, ion.TenantStore) {
		t.Helper()
		org, err := control.CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		ts, err := s.Tenant(ctx, org.TenantID())
		if err != nil {
			t.Fatal(err)
		}
		return org.TenantID(), ts
	}
	parts := func(id string) []ion.Part {
		t.Helper()
		ts, err := s.Tenant(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		page, err := ts.Parts(ctx, ion.ListOptions{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return page.Items
	}

	srcID, src := tenant("Source")
	for _, pn := range []string{"A-1", "A-2", "A-3"} {
		if _, err := src.CreatePart(ctx, ion.Part{PartNumber: pn}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveTenantTemplate(ctx, srcID, "seed"); err != nil {
		t.Fatal(err)
	}

	// The first load copies the rows and starts the refill.
	first, _ := tenant("First")
	if err := s.LoadTenantTemplateAsState(ctx, first, "seed", t0, "baseline"); err != nil {
		t.Fatal(err)
	}
	want := parts(first)
	waitForCopyAt(t0)

	// Two minutes later a load takes the copy: the data as of t0.
	later := t0.Add(2 * time.Minute)
	fromCopy, fromCopyStore := tenant("FromCopy")
	if err := s.LoadTenantTemplateAsState(ctx, fromCopy, "seed", later, "baseline"); err != nil {
		t.Fatal(err)
	}
	samePart(t, "parts loaded from the copy", parts(fromCopy), want)
	// Without a state, a load copies rows as of its own time.
	copied, _ := tenant("Copied")
	if err := s.LoadTenantTemplate(ctx, copied, "seed", later); err != nil {
		t.Fatal(err)
	}
	if got := parts(copied); len(got) != len(want) || !got[0].CreatedAt.Equal(want[0].CreatedAt.Add(2*time.Minute)) {
		t.Fatalf("parts loaded at %v without a copy start at %v, want 2 minutes after those loaded at %v (%v)", later, got[0].CreatedAt, t0, want[0].CreatedAt)
	}
	// The baseline saved with it is the copy's data.
	if _, err := fromCopyStore.CreatePart(ctx, ion.Part{PartNumber: "EXTRA"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RestoreTenantState(ctx, fromCopy, "baseline"); err != nil {
		t.Fatal(err)
	}
	samePart(t, "parts after restoring the baseline loaded from the copy", parts(fromCopy), want)

	// An hour later the copy (made at t0) is too old: the load copies rows
	// as of its own time, and the refill replaces the copy.
	hour := t0.Add(time.Hour)
	waitForCopyAt(t0)
	setClock(hour)
	stale, _ := tenant("Stale")
	if err := s.LoadTenantTemplateAsState(ctx, stale, "seed", hour, "baseline"); err != nil {
		t.Fatal(err)
	}
	if got := parts(stale); len(got) != len(want) || !got[0].CreatedAt.Equal(want[0].CreatedAt.Add(time.Hour)) {
		t.Fatalf("parts loaded an hour later start at %v, want an hour after %v", got[0].CreatedAt, want[0].CreatedAt)
	}
	waitForCopyAt(hour)

	// Replacing the template drops its copies.
	if err := s.SaveTenantTemplate(ctx, srcID, "seed"); err != nil {
		t.Fatal(err)
	}
	if c := copies(); len(c) != 0 {
		t.Fatalf("template copies after the template was replaced: %v, want none", c)
	}
}

// samePart fails unless got and want are the same parts with the same
// times (etags differ between copies).
func samePart(t *testing.T, what string, got, want []ion.Part) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d parts, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.PartNumber != w.PartNumber || !g.CreatedAt.Equal(w.CreatedAt) || !g.UpdatedAt.Equal(w.UpdatedAt) {
			t.Fatalf("%s: part %d is %d %s created %v updated %v, want %d %s created %v updated %v", what, i,
				g.ID, g.PartNumber, g.CreatedAt, g.UpdatedAt, w.ID, w.PartNumber, w.CreatedAt, w.UpdatedAt)
		}
	}
}
