package storetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ionbox/ionbox/ion"
)

// Opener returns the stores of a fresh, empty deployment for the test t.
// Called a second time with the same t (after the suite closed the first
// stores), it must return stores over the same data: that is how the suite
// checks that acknowledged writes survive a restart. The suite closes every
// Stores it gets.
type Opener func(t *testing.T) ion.Stores

// Run runs the conformance suite: every area as a parallel sub-test, each
// case on its own stores and tenant.
func Run(t *testing.T, open Opener) {
	RunAreas(t, open)
}

// RunAreas runs the cases of the named areas (Run's subtests, e.g.
// "States"), or of every area when none is named: for a store opened in
// another configuration that only some areas depend on.
func RunAreas(t *testing.T, open Opener, names ...string) {
	h := &harness{open: open}
	areas := []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"Control", testControl},
		{"Atomically", testAtomically},
		{"Parts", testParts},
		{"MBom", testMBom},
		{"LocationsAndUnits", testLocationsAndUnits},
		{"Inventory", testInventory},
		{"Procedures", testProcedures},
		{"Runs", testRuns},
		{"Installations", testInstallations},
		{"Purchasing", testPurchasing},
		{"IssuesAndTeams", testIssuesAndTeams},
		{"Etags", testEtags},
		{"Lists", testLists},
		{"ListReads", testListReads},
		{"Tenancy", testTenancy},
		{"States", testStates},
		{"Templates", testTemplates},
		{"Sandboxes", testSandboxes},
		{"SandboxLifecycle", testSandboxLifecycle},
		{"Snapshots", testSnapshots},
		{"Durability", testDurability},
		{"Idempotency", testIdempotency},
		{"Webhooks", testWebhooks},
		{"Bulk", testBulk},
		{"BulkWebhooks", testBulkWebhooks},
		{"BulkIdempotency", testBulkIdempotency},
		{"WebhookBatch", testWebhookBatch},
	}
	for _, a := range areas {
		if len(names) > 0 && !slices.Contains(names, a.name) {
			continue
		}
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			a.run(t, h)
		})
	}
}

type harness struct {
	open Opener
	seq  atomic.Int64 // makes names unique within a run
}

// bundle is what most cases need: stores, an organization and its tenant.
type bundle struct {
	ctx     context.Context
	stores  ion.Stores
	control ion.ControlStore
	org     ion.Organization
	ts      ion.TenantStore
}

// setup opens fresh stores with a production environment, one organization
// and its tenant store.
func (h *harness) setup(t *testing.T) *bundle {
	t.Helper()
	ctx := t.Context()
	stores := h.open(t)
	t.Cleanup(func() {
		if err := stores.Close(); err != nil {
			t.Errorf("close stores: %v", err)
		}
	})
	b := &bundle{ctx: ctx, stores: stores, control: stores.Control()}
	must(b.control.EnsureEnvironment(ctx, ion.Environment{Name: ion.ProductionEnvironment, Kind: ion.EnvProduction}))(t)
	b.org = must(b.control.CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Acme", Domain: "acme.example"}))(t)
	b.ts = must(stores.Tenant(ctx, b.org.TenantID()))(t)
	return b
}

// name returns a name unique within the run.
func (h *harness) name(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, h.seq.Add(1))
}

// must fails the test on a non-nil error and otherwise returns the value:
// part := must(store.CreatePart(ctx, p))(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// wantErr checks that err carries code and, when field is not empty, that
// its message names field first ("field: …") as VALIDATION_ERRORs do.
func wantErr(t *testing.T, err error, code, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := ion.ErrorCode(err); got != code {
		t.Fatalf("got error code %s (%v), want %s", got, err, code)
	}
	if field != "" && !strings.HasPrefix(ion.ErrorMessage(err), field+": ") {
		t.Fatalf("error message %q does not name field %q", ion.ErrorMessage(err), field)
	}
}

// wantMessage checks that err's message contains every fragment.
func wantMessage(t *testing.T, err error, fragments ...string) {
	t.Helper()
	for _, f := range fragments {
		if !strings.Contains(ion.ErrorMessage(err), f) {
			t.Fatalf("error message %q does not contain %q", ion.ErrorMessage(err), f)
		}
	}
}

// same fails the test if got and want differ.
func same[T any](t *testing.T, what string, got, want T, opts ...cmp.Option) {
	t.Helper()
	if diff := cmp.Diff(want, got, opts...); diff != "" {
		t.Fatalf("%s differs (-want +got):\n%s", what, diff)
	}
}

// ids returns the ids of items in order.
func ids[T any](items []T, id func(T) ion.ID) []ion.ID {
	out := make([]ion.ID, 0, len(items))
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// newUUID returns a random (version 4) UUID, as API key client ids are.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func etagOK(t *testing.T, etag string) {
	t.Helper()
	if len(etag) != 32 || strings.Trim(etag, "0123456789abcdef") != "" {
		t.Fatalf("etag %q is not 32 lowercase hex characters", etag)
	}
}
