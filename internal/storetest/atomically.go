package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ionbox/ionbox/ion"
)

// testAtomically checks ControlStore.Atomically: the calls made with its
// context commit together or not at all, reads inside see the writes
// before them, a failed call inside leaves nothing behind, and nested
// calls join the outer transaction; writes made with an ion.Deferrable
// context commit with the rest, are seen by reads after them, and fail the
// whole transaction if they fail, whether they come last or not.
func testAtomically(t *testing.T, h *harness) {
	t.Run("CommitsTogether", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		ctx := b.ctx
		must(b.control.EnsureEnvironment(ctx, ion.Environment{Name: "sbx-commit", Kind: ion.EnvSandbox}))(t)
		var org ion.Organization
		var user ion.User
		err := b.control.Atomically(ctx, func(ctx context.Context) error {
			var err error
			if org, err = b.control.CreateOrganization(ctx, ion.Organization{Environment: "sbx-commit", Name: "Batch"}); err != nil {
				return err
			}
			// A read inside sees the write before it.
			if _, err := b.control.Organization(ctx, org.ID); err != nil {
				return err
			}
			if user, err = b.control.CreateUser(ctx, ion.User{OrganizationID: org.ID, Name: "A", Email: "a@batch.example", Active: true}); err != nil {
				return err
			}
			// A failed call inside is undone alone; the batch goes on.
			_, err = b.control.CreateUser(ctx, ion.User{OrganizationID: org.ID, Name: "A again", Email: "a@batch.example", Active: true})
			if err == nil {
				t.Errorf("a second user with the same email was created inside the batch")
			}
			// A nested batch joins this one.
			return b.control.Atomically(ctx, func(ctx context.Context) error {
				_, err := b.control.User(ctx, org.ID, user.ID)
				return err
			})
		})
		if err != nil {
			t.Fatalf("Atomically: %v", err)
		}
		same(t, "organization after the batch", must(b.control.Organization(ctx, org.ID))(t), org)
		same(t, "user after the batch", must(b.control.User(ctx, org.ID, user.ID))(t), user)
		users := must(b.control.Users(ctx, org.ID, ion.ListOptions{Limit: 10}))(t)
		if users.TotalCount != 1 {
			t.Fatalf("organization has %d users after the batch, want 1 (the failed duplicate undone)", users.TotalCount)
		}
		if _, err := b.stores.Tenant(ctx, org.TenantID()); err != nil {
			t.Fatalf("the organization's tenant after the batch: %v", err)
		}
	})

	t.Run("RollsBackTogether", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		ctx := b.ctx
		must(b.control.EnsureEnvironment(ctx, ion.Environment{Name: "sbx-rollback", Kind: ion.EnvSandbox}))(t)
		stop := errors.New("stop here")
		var org ion.Organization
		err := b.control.Atomically(ctx, func(ctx context.Context) error {
			var err error
			if org, err = b.control.CreateOrganization(ctx, ion.Organization{Environment: "sbx-rollback", Name: "Gone"}); err != nil {
				return err
			}
			if _, err := b.control.CreateUser(ctx, ion.User{OrganizationID: org.ID, Name: "B", Email: "b@gone.example", Active: true}); err != nil {
				return err
			}
			return stop
		})
		if !errors.Is(err, stop) {
			t.Fatalf("Atomically = %v, want fn's own error back", err)
		}
		_, err = b.control.Organization(ctx, org.ID)
		wantErr(t, err, ion.ENOTFOUND, "")
		if orgs := must(b.control.Organizations(ctx, "sbx-rollback"))(t); len(orgs) != 0 {
			t.Fatalf("organizations after a rolled-back batch = %+v, want none", orgs)
		}
		// The store still takes writes afterwards.
		must(b.control.CreateOrganization(ctx, ion.Organization{Environment: "sbx-rollback", Name: "Kept"}))(t)
		// Outside the batch, the tenant may be left (the caller removes it,
		// as provisioning does); removing it is not an error either way.
		if err := b.stores.DeleteTenant(ctx, org.TenantID()); err != nil {
			t.Fatalf("removing the rolled-back organization's tenant: %v", err)
		}
	})

	t.Run("DeferrableWrites", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		ctx := b.ctx
		must(b.control.EnsureEnvironment(ctx, ion.Environment{Name: "sbx-deferred", Kind: ion.EnvSandbox}))(t)
		key := ion.SigningKey{KID: "k1", Environment: "sbx-deferred", Algorithm: "ES256", PrivateJWK: []byte("{}")}
		event := ion.SandboxEvent{Sandbox: "sbx-deferred", Kind: ion.EventRequested, Actor: "operator", Detail: "deferred"}
		var org ion.Organization
		err := b.control.Atomically(ctx, func(ctx context.Context) error {
			if err := b.control.AddSigningKey(ion.Deferrable(ctx), key); err != nil {
				return err
			}
			if _, err := b.control.AddSandboxEvent(ion.Deferrable(ctx), event); err != nil {
				return err
			}
			// A read after them sees them.
			if keys := must(b.control.SigningKeys(ctx, "sbx-deferred"))(t); len(keys) != 1 {
				t.Errorf("signing keys read inside the batch = %+v, want the one added", keys)
			}
			var err error
			if org, err = b.control.CreateOrganization(ctx, ion.Organization{Environment: "sbx-deferred", Name: "Deferred"}); err != nil {
				return err
			}
			// The last statement before the commit.
			_, err = b.control.AddSandboxEvent(ion.Deferrable(ctx), event)
			return err
		})
		if err != nil {
			t.Fatalf("Atomically: %v", err)
		}
		if keys := must(b.control.SigningKeys(ctx, "sbx-deferred"))(t); len(keys) != 1 || keys[0].KID != "k1" {
			t.Fatalf("signing keys after the batch = %+v, want k1", keys)
		}
		if events := must(b.control.SandboxEvents(ctx, "sbx-deferred"))(t); len(events) != 2 {
			t.Fatalf("events after the batch = %+v, want the two added", events)
		}
		must(b.control.Organization(ctx, org.ID))(t)

		// A deferrable write that fails fails the batch, followed by
		// other writes or not: nothing of it commits.
		for _, last := range []bool{false, true} {
			var gone ion.Organization
			err := b.control.Atomically(ctx, func(ctx context.Context) error {
				var err error
				if gone, err = b.control.CreateOrganization(ctx, ion.Organization{Environment: "sbx-deferred", Name: "Gone"}); err != nil {
					return err
				}
				bad := ion.SigningKey{KID: "k2", Environment: "no-such-environment", Algorithm: "ES256", PrivateJWK: []byte("{}")}
				if err := b.control.AddSigningKey(ion.Deferrable(ctx), bad); err != nil {
					return err
				}
				if last {
					return nil
				}
				_, err = b.control.CreateUser(ctx, ion.User{OrganizationID: gone.ID, Name: "C", Email: "c@gone.example", Active: true})
				return err
			})
			if err == nil {
				t.Fatalf("Atomically with a failing deferrable write (last %v) succeeded", last)
			}
			if !strings.Contains(err.Error(), "no-such-environment") {
				t.Errorf("Atomically = %v, want the failed write's error, naming its environment", err)
			}
			_, err = b.control.Organization(ctx, gone.ID)
			wantErr(t, err, ion.ENOTFOUND, "")
			if err := b.stores.DeleteTenant(ctx, gone.TenantID()); err != nil {
				t.Fatalf("removing the rolled-back organization's tenant: %v", err)
			}
		}
		// The store still takes writes afterwards.
		must(b.control.CreateOrganization(ctx, ion.Organization{Environment: "sbx-deferred", Name: "Kept"}))(t)
	})
}
