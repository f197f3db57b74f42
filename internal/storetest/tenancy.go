package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

func testTenancy(t *testing.T, h *harness) {
	t.Run("Isolation", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		orgB := must(b.control.CreateOrganization(b.ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Beta", Domain: "beta.example"}))(t)
		tsB := must(b.stores.Tenant(b.ctx, orgB.TenantID()))(t)

		var inA []ion.Part
		for i := range 3 {
			inA = append(inA, must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: fmt.Sprint("a-", i)}))(t))
		}
		// The same part number is free in another tenant.
		inB := must(tsB.CreatePart(b.ctx, ion.Part{PartNumber: "a-0", Description: "beta's"}))(t)
		locB := must(tsB.CreateLocation(b.ctx, ion.Location{Name: "beta bin", Available: true}))(t)

		// Ids are per tenant: A's ids that B never made are NOT_FOUND there,
		// for reads, updates and deletes alike.
		for _, p := range inA {
			if p.ID == inB.ID {
				continue
			}
			_, err := tsB.Part(b.ctx, p.ID)
			wantErr(t, err, ion.ENOTFOUND, "")
			_, err = tsB.UpdatePart(b.ctx, ion.PartPatch{ID: p.ID, Etag: p.Etag, Description: ptr("hijack")})
			wantErr(t, err, ion.ENOTFOUND, "")
			wantErr(t, tsB.DeletePart(b.ctx, p.ID, p.Etag), ion.ENOTFOUND, "")
			_, err = tsB.CreatePartInventory(b.ctx, ion.PartInventory{PartID: p.ID, Quantity: 1})
			wantErr(t, err, ion.EVALIDATION, "partId")
		}
		for _, p := range inA {
			same(t, "A's part", must(b.ts.Part(b.ctx, p.ID))(t), p)
		}
		_, err := b.ts.Location(b.ctx, locB.ID)
		wantErr(t, err, ion.ENOTFOUND, "")

		pageA := must(b.ts.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t)
		pageB := must(tsB.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t)
		same(t, "A's parts", pageA, ion.Page[ion.Part]{Items: inA, TotalCount: 3})
		same(t, "B's parts", pageB, ion.Page[ion.Part]{Items: []ion.Part{inB}, TotalCount: 1})
		if n := must(b.ts.Locations(b.ctx, ion.ListOptions{}))(t).TotalCount; n != 0 {
			t.Fatalf("A counts %d locations, want 0 (B's must not show)", n)
		}
		same(t, "quantities in B", must(tsB.PartQuantities(b.ctx, []ion.ID{inA[2].ID}))(t), map[ion.ID]float64{inA[2].ID: 0})

		// A fresh handle on A sees the same data.
		again := must(b.stores.Tenant(b.ctx, b.org.TenantID()))(t)
		same(t, "A through a new handle", must(again.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t), pageA)
	})

	t.Run("IdleTenantsReopen", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		p := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "kept"}))(t)
		// Stores that close idle tenant files say so; the data and the
		// handles callers hold must survive it.
		if c, ok := b.stores.(interface{ CloseIdleTenants(time.Duration) int }); ok {
			if n := c.CloseIdleTenants(0); n < 1 {
				t.Fatalf("CloseIdleTenants closed %d tenants, want at least 1", n)
			}
		}
		same(t, "part through the old handle", must(b.ts.Part(b.ctx, p.ID))(t), p)
		q := must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: "after"}))(t)
		fresh := must(b.stores.Tenant(b.ctx, b.org.TenantID()))(t)
		same(t, "parts through a new handle", must(fresh.Parts(b.ctx, ion.ListOptions{Limit: 5}))(t).Items, []ion.Part{p, q})
	})
}

func testDurability(t *testing.T, h *harness) {
	t.Run("ReopenKeepsAcknowledgedWrites", func(t *testing.T) {
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
		env := must(control.EnsureEnvironment(ctx, ion.Environment{Name: ion.ProductionEnvironment, Kind: ion.EnvProduction}))(t)
		org := must(control.CreateOrganization(ctx, ion.Organization{Environment: env.Name, Name: "Acme", Domain: "acme.example"}))(t)
		user := must(control.CreateUser(ctx, ion.User{OrganizationID: org.ID, Name: "Ada", Email: "ada@acme.example", Active: true}))(t)
		key := must(control.CreateAPIKey(ctx, ion.APIKey{ClientID: newUUID(), OrganizationID: org.ID, UserID: user.ID, Enabled: true, SecretHash: []byte("h")}))(t)
		ok(t, control.AddSigningKey(ctx, ion.SigningKey{KID: "k1", Environment: env.Name, Algorithm: "ES256", PrivateJWK: []byte("{}"), CreatedAt: time.Unix(1_800_000_000, 0).UTC()}))

		ts := must(stores.Tenant(ctx, org.TenantID()))(t)
		p := must(ts.CreatePart(ctx, ion.Part{PartNumber: "ion-1"}))(t)
		p = must(ts.UpdatePart(ctx, ion.PartPatch{ID: p.ID, Etag: p.Etag, Description: ptr("updated")}))(t)
		gone := must(ts.CreatePart(ctx, ion.Part{PartNumber: "gone"}))(t)
		ok(t, ts.DeletePart(ctx, gone.ID, gone.Etag))
		proc, _, _ := procedureWithSteps(t, &bundle{ctx: ctx, ts: ts})
		run := must(ts.CreateRun(ctx, ion.Run{ProcedureID: proc.ID}))(t)
		first := must(ts.RunSteps(ctx, ion.ListOptions{Limit: 1}))(t).Items[0]
		must(ts.UpdateRunStep(ctx, ion.RunStepPatch{ID: first.ID, Etag: first.Etag, Status: ptr(ion.StatusComplete)}))(t)
		run = must(ts.Run(ctx, run.ID))(t)

		// Concurrent writers: every acknowledged create must be there after the restart.
		const writers, each = 8, 25
		var mu sync.Mutex
		var acked []ion.PartInventory
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for range writers {
			wg.Go(func() {
				for range each {
					inv, err := ts.CreatePartInventory(ctx, ion.PartInventory{PartID: p.ID, Quantity: 1})
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					acked = append(acked, inv)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("concurrent create: %v", err)
		}
		closed = true
		ok(t, stores.Close())

		reopened := h.open(t)
		t.Cleanup(func() { reopened.Close() })
		rc := reopened.Control()
		same(t, "organization", must(rc.Organization(ctx, org.ID))(t), org)
		same(t, "user", must(rc.User(ctx, org.ID, user.ID))(t), user)
		same(t, "API key", must(rc.APIKeyByClientID(ctx, key.ClientID))(t), key)
		if keys := must(rc.SigningKeys(ctx, env.Name))(t); len(keys) != 1 || keys[0].KID != "k1" {
			t.Fatalf("signing keys after reopen = %+v", keys)
		}
		rts := must(reopened.Tenant(ctx, org.TenantID()))(t)
		same(t, "updated part", must(rts.Part(ctx, p.ID))(t), p)
		_, err := rts.Part(ctx, gone.ID)
		wantErr(t, err, ion.ENOTFOUND, "")
		same(t, "run", must(rts.Run(ctx, run.ID))(t), run)
		page := must(rts.PartInventories(ctx, ion.ListOptions{Limit: writers * each}))(t)
		if page.TotalCount != writers*each || len(acked) != writers*each {
			t.Fatalf("%d inventories after reopen, %d acknowledged, want %d", page.TotalCount, len(acked), writers*each)
		}
		byID := map[ion.ID]ion.PartInventory{}
		for _, inv := range page.Items {
			byID[inv.ID] = inv
		}
		for _, inv := range acked {
			same(t, fmt.Sprint("inventory ", inv.ID), byID[inv.ID], inv)
		}
		// Ids are not reused after a restart.
		if again := must(rts.CreatePart(ctx, ion.Part{PartNumber: "new"}))(t); again.ID == gone.ID {
			t.Fatalf("a new part reused deleted id %d", gone.ID)
		}
	})
}
