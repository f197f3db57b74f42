package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// keyed returns ctx carrying an idempotent write of step for key.
func keyed(ctx context.Context, key, step string, at time.Time, replay *ion.IdempotentStep, committed *int) context.Context {
	return ion.WithIdempotentWrite(ctx, &ion.IdempotentWrite{
		Scope: "production/client:c1", Key: key, Fingerprint: "fp-" + key, Step: step, At: at,
		PruneBefore: at.Add(-ion.IdempotencyTTL), Replay: replay,
		OnCommit: func() {
			if committed != nil {
				*committed++
			}
		},
	})
}

func testIdempotency(t *testing.T, h *harness) {
	const scope = "production/client:c1"
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

	t.Run("StepCommitsWithTheWrite", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		committed := 0
		p := must(b.ts.CreatePart(keyed(b.ctx, "k1", "0.createPart", t0, nil, &committed), ion.Part{PartNumber: "IDEM-1"}))(t)
		if committed != 1 {
			t.Fatalf("OnCommit called %d times, want 1", committed)
		}
		rec := must(b.ts.IdempotencyRecord(b.ctx, scope, "k1"))(t)
		if rec.Fingerprint != "fp-k1" || !rec.CreatedAt.Equal(t0) || rec.Status != 0 || rec.Response != nil || len(rec.Steps) != 1 {
			t.Fatalf("record after commit: %+v", rec)
		}
		st := rec.Steps[0]
		var got ion.Part
		ok(t, json.Unmarshal(st.Result, &got))
		if st.Step != "0.createPart" || st.Kind != "part" || st.ObjectID != p.ID {
			t.Fatalf("step %+v, want part %d", st, p.ID)
		}
		same(t, "recorded part", got, p)

		// The answer is stored once; a second save keeps the first.
		ok(t, b.ts.SaveIdempotentResponse(b.ctx, scope, "k1", 200, []byte(`{"data":1}`)))
		ok(t, b.ts.SaveIdempotentResponse(b.ctx, scope, "k1", 200, []byte(`{"data":2}`)))
		rec = must(b.ts.IdempotencyRecord(b.ctx, scope, "k1"))(t)
		if rec.Status != 200 || string(rec.Response) != `{"data":1}` {
			t.Fatalf("stored answer %d %s, want 200 {\"data\":1}", rec.Status, rec.Response)
		}
		// Another credential's scope does not see it.
		_, err := b.ts.IdempotencyRecord(b.ctx, "production/client:c2", "k1")
		wantErr(t, err, ion.ENOTFOUND, "")
	})

	t.Run("FailedWriteRecordsNothing", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		committed := 0
		_, err := b.ts.CreatePart(keyed(b.ctx, "k2", "0.createPart", t0, nil, &committed), ion.Part{PartNumber: " "})
		wantErr(t, err, ion.EVALIDATION, "partNumber")
		_, err = b.ts.IdempotencyRecord(b.ctx, scope, "k2")
		wantErr(t, err, ion.ENOTFOUND, "")
		// Without a committed step there is nothing to answer for.
		wantErr(t, b.ts.SaveIdempotentResponse(b.ctx, scope, "k2", 200, []byte(`{}`)), ion.ENOTFOUND, "")
		if committed != 0 {
			t.Fatalf("OnCommit called %d times for a rolled back write", committed)
		}
	})

	t.Run("SameStepTwiceIsRefusedAndRollsBack", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		must(b.ts.CreatePart(keyed(b.ctx, "k3", "0.createPart", t0, nil, nil), ion.Part{PartNumber: "IDEM-3"}))(t)
		_, err := b.ts.CreatePart(keyed(b.ctx, "k3", "0.createPart", t0, nil, nil), ion.Part{PartNumber: "IDEM-3b"})
		wantErr(t, err, ion.EIDEMPOTENCYINUSE, "")
		if n := must(b.ts.Parts(b.ctx, ion.ListOptions{}))(t).TotalCount; n != 1 {
			t.Fatalf("%d parts after the refused duplicate, want 1 (its write must roll back)", n)
		}
		// Another step of the same key (a second mutation field) records.
		must(b.ts.CreatePart(keyed(b.ctx, "k3", "0.second", t0, nil, nil), ion.Part{PartNumber: "IDEM-3c"}))(t)
		if n := len(must(b.ts.IdempotencyRecord(b.ctx, scope, "k3"))(t).Steps); n != 2 {
			t.Fatalf("%d steps, want 2", n)
		}
	})

	t.Run("ReplayReturnsTheRecordedObjectWithoutWriting", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p := must(b.ts.CreatePart(keyed(b.ctx, "k4", "0.createPart", t0, nil, nil), ion.Part{PartNumber: "IDEM-4"}))(t)
		up := must(b.ts.UpdatePart(keyed(b.ctx, "k5", "0.updatePart", t0, nil, nil), ion.PartPatch{ID: p.ID, Etag: p.Etag, Description: ptr("v2")}))(t)
		loc := must(b.ts.CreateLocation(b.ctx, ion.Location{Name: "bin", Available: true}))(t)
		inv := must(b.ts.CreatePartInventory(keyed(b.ctx, "k7", "0.createPartInventory", t0, nil, nil),
			ion.PartInventory{PartID: p.ID, Quantity: 2.5, LocationID: &loc.ID, Attributes: []ion.Attribute{{Key: "k", Type: "TEXT", Value: "v"}}}))(t)
		gone := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "IDEM-GONE"}))(t)
		ok(t, b.ts.DeletePart(keyed(b.ctx, "k6", "0.deletePart", t0, nil, nil), gone.ID, gone.Etag))
		// Someone changes the part afterwards.
		must(b.ts.UpdatePart(b.ctx, ion.PartPatch{ID: up.ID, Etag: up.Etag, Description: ptr("v3")}))(t)

		for _, tc := range []struct {
			key, step string
			run       func(ctx context.Context) (any, error)
			want      any
		}{
			{"k4", "0.createPart", func(ctx context.Context) (any, error) {
				return b.ts.CreatePart(ctx, ion.Part{PartNumber: "IDEM-4"})
			}, p},
			{"k5", "0.updatePart", func(ctx context.Context) (any, error) {
				return b.ts.UpdatePart(ctx, ion.PartPatch{ID: p.ID, Etag: p.Etag, Description: ptr("v2")})
			}, up},
			{"k7", "0.createPartInventory", func(ctx context.Context) (any, error) {
				return b.ts.CreatePartInventory(ctx, ion.PartInventory{PartID: p.ID, Quantity: 2.5})
			}, inv},
			{"k6", "0.deletePart", func(ctx context.Context) (any, error) {
				return nil, b.ts.DeletePart(ctx, gone.ID, gone.Etag)
			}, nil},
		} {
			rec := must(b.ts.IdempotencyRecord(b.ctx, scope, tc.key))(t)
			st, found := rec.Step(tc.step)
			if !found {
				t.Fatalf("%s: no step %s in %+v", tc.key, tc.step, rec)
			}
			committed := 0
			got, err := tc.run(keyed(b.ctx, tc.key, tc.step, t0, &st, &committed))
			if err != nil {
				t.Fatalf("%s: replay: %v", tc.key, err)
			}
			if tc.want != nil {
				same(t, tc.key+" replayed object", got, tc.want)
			}
			if committed != 0 {
				t.Fatalf("%s: replay committed a write", tc.key)
			}
		}
		// Nothing was written again: one part, with the latest description,
		// and one inventory.
		page := must(b.ts.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t)
		if page.TotalCount != 1 || page.Items[0].Description != "v3" {
			t.Fatalf("after replays: %+v", page)
		}
		if n := must(b.ts.PartInventories(b.ctx, ion.ListOptions{}))(t).TotalCount; n != 1 {
			t.Fatalf("%d inventories after the replay, want 1", n)
		}
	})

	t.Run("ExpiredRecordsArePruned", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		must(b.ts.CreatePart(keyed(b.ctx, "old", "0.createPart", t0, nil, nil), ion.Part{PartNumber: "OLD"}))(t)
		ok(t, b.ts.SaveIdempotentResponse(b.ctx, scope, "old", 200, []byte(`{}`)))
		later := t0.Add(ion.IdempotencyTTL - time.Second)
		must(b.ts.CreatePart(keyed(b.ctx, "newer", "0.createPart", later, nil, nil), ion.Part{PartNumber: "NEWER"}))(t)
		// Within the TTL both are kept.
		must(b.ts.IdempotencyRecord(b.ctx, scope, "old"))(t)
		// A write a day after the first prunes it in its own transaction.
		must(b.ts.CreatePart(keyed(b.ctx, "newest", "0.createPart", t0.Add(ion.IdempotencyTTL+time.Second), nil, nil), ion.Part{PartNumber: "NEWEST"}))(t)
		_, err := b.ts.IdempotencyRecord(b.ctx, scope, "old")
		wantErr(t, err, ion.ENOTFOUND, "")
		must(b.ts.IdempotencyRecord(b.ctx, scope, "newer"))(t)
		// The key is free again: a new write with it records afresh.
		must(b.ts.CreatePart(keyed(b.ctx, "old", "0.createPart", t0.Add(ion.IdempotencyTTL+time.Second), nil, nil), ion.Part{PartNumber: "OLD-2"}))(t)
		// PruneIdempotencyRecords deletes what is older than its argument.
		n := must(b.ts.PruneIdempotencyRecords(b.ctx, t0.Add(2*ion.IdempotencyTTL)))(t)
		if n != 3 {
			t.Fatalf("pruned %d keys, want 3", n)
		}
		_, err = b.ts.IdempotencyRecord(b.ctx, scope, "newest")
		wantErr(t, err, ion.ENOTFOUND, "")
	})

	t.Run("RecordsAreTheTenantsOwn", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		orgB := must(b.control.CreateOrganization(b.ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Beta", Domain: "beta.example"}))(t)
		tsB := must(b.stores.Tenant(b.ctx, orgB.TenantID()))(t)
		must(b.ts.CreatePart(keyed(b.ctx, "shared", "0.createPart", t0, nil, nil), ion.Part{PartNumber: "A"}))(t)
		_, err := tsB.IdempotencyRecord(b.ctx, scope, "shared")
		wantErr(t, err, ion.ENOTFOUND, "")
		// The same key and scope in another tenant is independent.
		must(tsB.CreatePart(keyed(b.ctx, "shared", "0.createPart", t0, nil, nil), ion.Part{PartNumber: "B"}))(t)
	})

	t.Run("RecordSurvivesReopen", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		stores := h.open(t)
		control := stores.Control()
		must(control.EnsureEnvironment(ctx, ion.Environment{Name: ion.ProductionEnvironment, Kind: ion.EnvProduction}))(t)
		org := must(control.CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Acme", Domain: "acme.example"}))(t)
		ts := must(stores.Tenant(ctx, org.TenantID()))(t)
		p := must(ts.CreatePart(keyed(ctx, "durable", "0.createPart", t0, nil, nil), ion.Part{PartNumber: "DUR"}))(t)
		ok(t, stores.Close())
		again := h.open(t)
		t.Cleanup(func() { again.Close() })
		ts = must(again.Tenant(ctx, org.TenantID()))(t)
		rec := must(ts.IdempotencyRecord(ctx, scope, "durable"))(t)
		if len(rec.Steps) != 1 || rec.Steps[0].ObjectID != p.ID {
			t.Fatalf("after reopen: %+v", rec)
		}
	})
}
