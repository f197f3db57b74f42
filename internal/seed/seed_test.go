package seed_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ionbox/ionbox/internal/seed"
	"github.com/ionbox/ionbox/internal/sqlite"
	"github.com/ionbox/ionbox/ion"
)

func TestParseSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want, wantCode string
	}{
		{"", seed.SizeSmall, ""},
		{"small", seed.SizeSmall, ""},
		{" LARGE ", seed.SizeLarge, ""},
		{"huge", "", ion.EVALIDATION},
	} {
		got, err := seed.ParseSize(tc.in)
		if code := ion.ErrorCode(err); code != tc.wantCode || got != tc.want {
			t.Errorf("ParseSize(%q) = %q, %v; want %q, code %q", tc.in, got, err, tc.want, tc.wantCode)
		}
	}
}

// generate writes the small factory into a new tenant of stores and reads
// it back.
func generate(t *testing.T, stores *sqlite.Stores, id string) *seed.Factory {
	t.Helper()
	ctx := t.Context()
	if err := stores.CreateTenant(ctx, id); err != nil {
		t.Fatal(err)
	}
	ts, err := stores.Tenant(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var last, total int
	if err := seed.Generate(ctx, ts, seed.SizeSmall, func(done, n int) { last, total = done, n }); err != nil {
		t.Fatal(err)
	}
	if last != total || total == 0 {
		t.Fatalf("progress ended at %d of %d, want all of a positive total", last, total)
	}
	f, err := seed.Read(ctx, ts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSmallFactoryHasEverything(t *testing.T) {
	t.Parallel()
	stores, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stores.Close() })
	f := generate(t, stores, "seed-a")
	sum, err := seed.Verify(f)
	if err != nil {
		t.Fatalf("the seeded factory breaks a rule: %v", err)
	}
	// Every status the API can produce. KITTED and SCRAPPED cannot be
	// reached through the ION API ionbox serves (no kits, no scrapping),
	// so no seeded inventory has them.
	want := map[string][]string{
		"inventory status":   {ion.InvAvailable, ion.InvOnOrder, ion.InvWIP, ion.InvInstalled, ion.InvUnavailable},
		"inventory tracking": {ion.TrackingSerial, ion.TrackingLot, "NONE"},
		"run status":         {ion.StatusTodo, ion.StatusInProgress, ion.StatusComplete, ion.StatusRedline, ion.StatusHold, ion.StatusFailed, ion.StatusCanceled},
		"procedure type":     {ion.ProcBuild, ion.ProcTest, ion.ProcInspection, ion.ProcMaintenance},
		"procedure status":   {ion.ProcDraft, ion.ProcInReview, ion.ProcReleased},
		"field type":         {ion.FieldString, ion.FieldNumber, ion.FieldBoolean, ion.FieldSelect, ion.FieldMultiselect, ion.FieldDatetime, ion.FieldSignoff, ion.FieldFileAttachment},
		"issue status":       {ion.IssuePending, ion.IssueInProgress, ion.IssueInReview, ion.IssueResolved},
		"order status":       {ion.PODraft, ion.POOrdered, ion.POApproved, ion.POReceived, ion.POCanceled, ion.POClosed},
	}
	have := map[string]map[string]int{
		"inventory status": sum.InventoryStatuses, "inventory tracking": sum.InventoryTracking, "run status": sum.RunStatuses,
		"procedure type": sum.ProcedureTypes, "procedure status": sum.ProcedureStatuses, "field type": sum.FieldTypes,
		"issue status": sum.IssueStatuses, "order status": sum.OrderStatuses,
	}
	for what, values := range want {
		for _, v := range values {
			if have[what][v] == 0 {
				t.Errorf("no %s %s in the seeded factory (have %v)", what, v, have[what])
			}
		}
	}
	for _, c := range []struct {
		what     string
		got, min int
	}{
		{"mBOM levels", sum.MBomDepth, 3},
		{"as-built levels", sum.AsBuiltDepth, 3},
		{"substitutes", sum.Substitutes, 1},
		{"installations of a substitute", sum.InstalledFromSubs, 1},
		{"step dependencies", sum.StepDependencies, 1},
		{"sub-steps", sum.SubSteps, 1},
		{"run step field values", sum.FieldValues, 100},
		{"archived runs", sum.ArchivedRuns, 1},
		{"suppliers", len(f.Suppliers), 3},
		{"locations", len(f.Locations), 3},
		{"units", len(f.Units), 2},
		{"rows", sum.Rows, 1000},
	} {
		if c.got < c.min {
			t.Errorf("%s: %d, want at least %d", c.what, c.got, c.min)
		}
	}
	for _, l := range f.Locations {
		if !l.Available && sum.InventoryStatuses[ion.InvUnavailable] == 0 {
			t.Errorf("location %q is unavailable but no inventory is", l.Name)
		}
	}
}

// The same version gives the same rows with the same ids; only etags and
// times (which the store stamps) differ.
func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	stores, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stores.Close() })
	a := generate(t, stores, "seed-a")
	b := generate(t, stores, "seed-b")
	ignore := cmp.Options{
		cmpopts.IgnoreFields(ion.Meta{}, "Etag", "CreatedAt", "UpdatedAt"),
		cmpopts.IgnoreFields(ion.Run{}, "StartedAt", "CompletedAt"),
		cmpopts.IgnoreFields(ion.PurchaseOrderLine{}, "NeedDate"),
	}
	if diff := cmp.Diff(a, b, ignore); diff != "" {
		t.Fatalf("two generations differ (-first +second):\n%s", diff)
	}
}

func TestGenerateStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	stores, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stores.Close() })
	if err := stores.CreateTenant(t.Context(), "seed-c"); err != nil {
		t.Fatal(err)
	}
	ts, err := stores.Tenant(t.Context(), "seed-c")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	err = seed.Generate(ctx, ts, seed.SizeSmall, func(done, total int) {
		if done > total/4 {
			cancel()
		}
	})
	if err == nil {
		t.Fatal("Generate went on after its context was cancelled")
	}
	if err := seed.Generate(t.Context(), ts, "medium", nil); ion.ErrorCode(err) != ion.EVALIDATION {
		t.Fatalf("Generate with size medium: %v, want VALIDATION_ERROR", err)
	}
}
