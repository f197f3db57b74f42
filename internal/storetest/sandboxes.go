package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// sandboxRequest returns a valid request for the bundle's organization.
func (b *bundle) sandboxRequest(name string) ion.SandboxRequest {
	return ion.SandboxRequest{
		OrganizationID:  b.org.ID,
		Name:            name,
		Reason:          "ERP integration",
		Integration:     "acme-erp",
		Shape:           ion.ShapeBlank,
		Members:         []ion.Member{{Name: "Ada", Email: "ada@acme.example"}},
		ServiceAccounts: []ion.ServiceAccount{{Name: "erp-sync"}},
		Features:        []string{"bulk-operations"},
	}
}

func testSandboxes(t *testing.T, h *harness) {
	t.Run("Requests", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		ctx := b.ctx
		in := b.sandboxRequest("acme-erp-dev")
		in.TTLDays = ptr(14)
		first := must(b.control.CreateSandboxRequest(ctx, in))(t)
		if first.ID == 0 || first.Status != ion.RequestPending || first.RequestedBy != "operator" || first.CreatedAt.IsZero() || first.DecidedAt != nil {
			t.Fatalf("created request = %+v, want an id, pending, requested by the operator, a creation time, undecided", first)
		}
		want := in
		want.ID, want.Status, want.RequestedBy, want.CreatedAt = first.ID, ion.RequestPending, "operator", first.CreatedAt
		same(t, "created request", first, want)
		same(t, "request read", must(b.control.SandboxRequest(ctx, first.ID))(t), first)

		// Empty lists read back empty, not nil; RequestedBy is kept.
		bare := must(b.control.CreateSandboxRequest(ctx, ion.SandboxRequest{OrganizationID: b.org.ID, Name: "bare", Shape: ion.ShapeBlank, RequestedBy: "ada@acme.example"}))(t)
		same(t, "bare request", bare, ion.SandboxRequest{ID: bare.ID, OrganizationID: b.org.ID, Name: "bare", Shape: ion.ShapeBlank,
			Members: []ion.Member{}, ServiceAccounts: []ion.ServiceAccount{}, Features: []string{},
			Status: ion.RequestPending, RequestedBy: "ada@acme.example", CreatedAt: bare.CreatedAt})

		other := must(b.control.CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Other"}))(t)
		theirs := must(b.control.CreateSandboxRequest(ctx, ion.SandboxRequest{OrganizationID: other.ID, Name: "other-dev", Shape: ion.ShapeSeeded}))(t)
		same(t, "all requests, newest first", must(b.control.SandboxRequests(ctx, 0))(t), []ion.SandboxRequest{theirs, bare, first})
		same(t, "requests of one organization", must(b.control.SandboxRequests(ctx, b.org.ID))(t), []ion.SandboxRequest{bare, first})
		same(t, "requests of an organization without any", must(b.control.SandboxRequests(ctx, other.ID+100))(t), []ion.SandboxRequest{})
		_, err := b.control.SandboxRequest(ctx, theirs.ID+100)
		wantErr(t, err, ion.ENOTFOUND, "")
	})

	t.Run("RequestValidation", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		ctx := b.ctx
		must(b.control.CreateSandboxRequest(ctx, b.sandboxRequest("held-by-request")))(t)
		must(b.control.EnsureEnvironment(ctx, ion.Environment{Name: "held-by-env", Kind: ion.EnvSandbox}))(t)
		// The refusals run in parallel inside this group, which returns
		// once all of them have.
		t.Run("Refused", func(t *testing.T) {
			for _, tc := range []struct {
				name      string
				edit      func(r *ion.SandboxRequest)
				field     string
				fragments []string
			}{
				{"invalid name", func(r *ion.SandboxRequest) { r.Name = "Not A Label" }, "name", nil},
				{"name ending in a hyphen", func(r *ion.SandboxRequest) { r.Name = "dev-" }, "name", nil},
				{"reserved name", func(r *ion.SandboxRequest) { r.Name = ion.ProductionEnvironment }, "name", []string{"reserved"}},
				{"name of an environment", func(r *ion.SandboxRequest) { r.Name = "held-by-env" }, "name", []string{"taken", "pick another"}},
				{"name of the production environment", func(r *ion.SandboxRequest) { r.Name = "production" }, "name", nil},
				{"name of a pending request", func(r *ion.SandboxRequest) { r.Name = "held-by-request" }, "name", []string{"taken", "pick another"}},
				{"unknown shape", func(r *ion.SandboxRequest) { r.Shape = "empty" }, "shape", nil},
				{"missing shape", func(r *ion.SandboxRequest) { r.Shape = "" }, "shape", nil},
				{"unknown organization", func(r *ion.SandboxRequest) { r.OrganizationID += 100 }, "organizationId", nil},
				{"ttl of zero days", func(r *ion.SandboxRequest) { r.TTLDays = ptr(0) }, "ttlDays", nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					r := b.sandboxRequest("fine-name")
					tc.edit(&r)
					_, err := b.control.CreateSandboxRequest(ctx, r)
					wantErr(t, err, ion.EVALIDATION, tc.field)
					wantMessage(t, err, tc.fragments...)
				})
			}
		})
		same(t, "requests after refusals", len(must(b.control.SandboxRequests(ctx, 0))(t)), 1)
	})

	t.Run("Decisions", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		ctx := b.ctx
		approved := must(b.control.CreateSandboxRequest(ctx, b.sandboxRequest("approved")))(t)
		rejected := must(b.control.CreateSandboxRequest(ctx, b.sandboxRequest("rejected")))(t)
		for _, tc := range []struct {
			req    ion.SandboxRequest
			status string
			note   string
		}{
			{approved, ion.RequestProvisioned, "go ahead"},
			{rejected, ion.RequestRejected, "use the shared sandbox"},
		} {
			got := must(b.control.DecideSandboxRequest(ctx, tc.req.ID, tc.status, tc.note))(t)
			if got.Status != tc.status || got.Note != tc.note || got.DecidedAt == nil || got.DecidedAt.Before(got.CreatedAt) {
				t.Fatalf("decided request = %+v, want %s with note %q and a decision time", got, tc.status, tc.note)
			}
			same(t, "decided request read", must(b.control.SandboxRequest(ctx, tc.req.ID))(t), got)
			// A decided request stays decided.
			for _, again := range []string{ion.RequestProvisioned, ion.RequestRejected} {
				_, err := b.control.DecideSandboxRequest(ctx, tc.req.ID, again, "again")
				wantErr(t, err, ion.ECONFLICT, "")
			}
			same(t, "request after a second decision", must(b.control.SandboxRequest(ctx, tc.req.ID))(t), got)
		}
		// A decided request no longer holds its name.
		again := must(b.control.CreateSandboxRequest(ctx, b.sandboxRequest("rejected")))(t)

		_, err := b.control.DecideSandboxRequest(ctx, again.ID, ion.RequestPending, "")
		wantErr(t, err, ion.EVALIDATION, "status")
		_, err = b.control.DecideSandboxRequest(ctx, again.ID, "approved", "")
		wantErr(t, err, ion.EVALIDATION, "status")
		_, err = b.control.DecideSandboxRequest(ctx, again.ID+100, ion.RequestRejected, "")
		wantErr(t, err, ion.ENOTFOUND, "")
	})

	t.Run("Sandboxes", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		ctx := b.ctx
		req := must(b.control.CreateSandboxRequest(ctx, b.sandboxRequest("acme-erp-dev")))(t)
		expires := time.Date(2031, 2, 3, 4, 5, 6, 789000, time.UTC)
		// The sandbox may take the name its own pending request holds.
		sb := must(b.control.CreateSandbox(ctx, ion.Sandbox{Name: "acme-erp-dev", RequestID: req.ID, SourceOrganizationID: b.org.ID,
			OrganizationID: 999, Shape: ion.ShapeBlank, State: ion.SandboxProvisioning, Features: []string{"bulk-operations"}, ExpiresAt: &expires}))(t)
		if sb.CreatedAt.IsZero() || !sb.LastActivityAt.Equal(sb.CreatedAt) {
			t.Fatalf("created sandbox = %+v, want creation and last activity times, equal", sb)
		}
		same(t, "created sandbox", sb, ion.Sandbox{Name: "acme-erp-dev", RequestID: req.ID, SourceOrganizationID: b.org.ID,
			Shape: ion.ShapeBlank, State: ion.SandboxProvisioning, Features: []string{"bulk-operations"},
			CreatedAt: sb.CreatedAt, LastActivityAt: sb.CreatedAt, ExpiresAt: &expires})
		same(t, "sandbox read", must(b.control.Sandbox(ctx, sb.Name))(t), sb)
		env := must(b.control.Environment(ctx, sb.Name))(t)
		same(t, "sandbox environment", env, ion.Environment{Name: sb.Name, Kind: ion.EnvSandbox, State: ion.SandboxProvisioning, CreatedAt: sb.CreatedAt, WebhookMode: ion.WebhookSink})

		// Its own organization lives in its environment.
		own := must(b.control.CreateOrganization(ctx, ion.Organization{Environment: sb.Name, Name: b.org.Name, Domain: b.org.Domain}))(t)
		ok(t, b.control.SetSandboxOrganization(ctx, sb.Name, own.ID))
		wantErr(t, b.control.SetSandboxOrganization(ctx, sb.Name, b.org.ID), ion.EVALIDATION, "organizationId")
		wantErr(t, b.control.SetSandboxOrganization(ctx, sb.Name, own.ID+100), ion.EVALIDATION, "organizationId")
		wantErr(t, b.control.SetSandboxOrganization(ctx, "nope", own.ID), ion.ENOTFOUND, "")
		ok(t, b.control.SetSandboxState(ctx, sb.Name, ion.SandboxActive))
		sb.OrganizationID, sb.State = own.ID, ion.SandboxActive
		same(t, "sandbox after provisioning", must(b.control.Sandbox(ctx, sb.Name))(t), sb)
		same(t, "environment state", must(b.control.Environment(ctx, sb.Name))(t).State, ion.SandboxActive)
		wantErr(t, b.control.SetSandboxState(ctx, sb.Name, "asleep"), ion.EVALIDATION, "state")
		wantErr(t, b.control.SetSandboxState(ctx, "nope", ion.SandboxDormant), ion.ENOTFOUND, "")

		// Without a request or a state: state defaults to active, no expiry.
		other := must(b.control.CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Other"}))(t)
		plain := must(b.control.CreateSandbox(ctx, ion.Sandbox{Name: "beta-dev", SourceOrganizationID: other.ID, Shape: ion.ShapeSeeded, Pinned: true}))(t)
		same(t, "plain sandbox", plain, ion.Sandbox{Name: "beta-dev", SourceOrganizationID: other.ID, Shape: ion.ShapeSeeded,
			State: ion.SandboxActive, Features: []string{}, Pinned: true, CreatedAt: plain.CreatedAt, LastActivityAt: plain.CreatedAt})
		same(t, "plain sandbox environment state", must(b.control.Environment(ctx, plain.Name))(t).State, ion.SandboxActive)

		same(t, "all sandboxes, by name", must(b.control.Sandboxes(ctx, 0))(t), []ion.Sandbox{sb, plain})
		same(t, "sandboxes of one organization", must(b.control.Sandboxes(ctx, b.org.ID))(t), []ion.Sandbox{sb})
		same(t, "sandboxes of an organization without any", must(b.control.Sandboxes(ctx, other.ID+100))(t), []ion.Sandbox{})
		_, err := b.control.Sandbox(ctx, "nope")
		wantErr(t, err, ion.ENOTFOUND, "")
		// The sandbox's name is taken for requests and sandboxes alike.
		_, err = b.control.CreateSandboxRequest(ctx, b.sandboxRequest(sb.Name))
		wantErr(t, err, ion.EVALIDATION, "name")
		wantMessage(t, err, "taken", "pick another")
	})

	t.Run("CreateSandboxValidation", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		ctx := b.ctx
		held := must(b.control.CreateSandboxRequest(ctx, b.sandboxRequest("held-by-request")))(t)
		must(b.control.CreateSandbox(ctx, ion.Sandbox{Name: "existing", SourceOrganizationID: b.org.ID, Shape: ion.ShapeBlank}))(t)
		t.Run("Refused", func(t *testing.T) {
			for _, tc := range []struct {
				name      string
				edit      func(s *ion.Sandbox)
				field     string
				fragments []string
			}{
				{"invalid name", func(s *ion.Sandbox) { s.Name = "-dev" }, "name", nil},
				{"reserved name", func(s *ion.Sandbox) { s.Name = ion.ProductionEnvironment }, "name", nil},
				{"existing sandbox", func(s *ion.Sandbox) { s.Name = "existing" }, "name", []string{"taken", "pick another"}},
				{"another request's name", func(s *ion.Sandbox) { s.Name = "held-by-request" }, "name", []string{"taken", "pick another"}},
				{"unknown shape", func(s *ion.Sandbox) { s.Shape = "full" }, "shape", nil},
				{"unknown state", func(s *ion.Sandbox) { s.State = "asleep" }, "state", nil},
				{"unknown source organization", func(s *ion.Sandbox) { s.SourceOrganizationID += 100 }, "sourceOrganizationId", nil},
				{"unknown request", func(s *ion.Sandbox) { s.RequestID = held.ID + 100 }, "requestId", nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					s := ion.Sandbox{Name: "fine-name", SourceOrganizationID: b.org.ID, Shape: ion.ShapeBlank}
					tc.edit(&s)
					_, err := b.control.CreateSandbox(ctx, s)
					wantErr(t, err, ion.EVALIDATION, tc.field)
					wantMessage(t, err, tc.fragments...)
				})
			}
		})
		// Nothing was made by the refusals: no sandbox, no environment.
		same(t, "sandboxes", len(must(b.control.Sandboxes(ctx, 0))(t)), 1)
		_, err := b.control.Environment(ctx, "fine-name")
		wantErr(t, err, ion.ENOTFOUND, "")
	})

	t.Run("DeleteSandbox", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		ctx := b.ctx
		// Two sandboxes with an organization, users, API keys and signing
		// keys each; one is deleted, the other and production stay whole.
		type world struct {
			sb    ion.Sandbox
			org   ion.Organization
			users []ion.User
			keys  []ion.APIKey
		}
		prodUser := must(b.control.CreateUser(ctx, ion.User{OrganizationID: b.org.ID, Name: "Ada", Email: "ada@acme.example", Active: true}))(t)
		prodKey := must(b.control.CreateAPIKey(ctx, ion.APIKey{ClientID: newUUID(), OrganizationID: b.org.ID, UserID: prodUser.ID, Enabled: true, SecretHash: []byte("p")}))(t)
		ok(t, b.control.AddSigningKey(ctx, ion.SigningKey{KID: "prod", Environment: ion.ProductionEnvironment, Algorithm: "ES256", PrivateJWK: []byte("{}")}))
		build := func(name string) world {
			req := must(b.control.CreateSandboxRequest(ctx, b.sandboxRequest(name)))(t)
			w := world{sb: must(b.control.CreateSandbox(ctx, ion.Sandbox{Name: name, RequestID: req.ID, SourceOrganizationID: b.org.ID, Shape: ion.ShapeBlank}))(t)}
			w.org = must(b.control.CreateOrganization(ctx, ion.Organization{Environment: name, Name: "Acme", Domain: "acme.example"}))(t)
			ok(t, b.control.SetSandboxOrganization(ctx, name, w.org.ID))
			for _, u := range []ion.User{{Name: "Ada", Email: "ada@acme.example"}, {Name: "ci", Email: "ci@" + name + ".invalid", ServiceAccount: true}} {
				u.OrganizationID, u.Active = w.org.ID, true
				user := must(b.control.CreateUser(ctx, u))(t)
				w.users = append(w.users, user)
				w.keys = append(w.keys, must(b.control.CreateAPIKey(ctx, ion.APIKey{ClientID: newUUID(), OrganizationID: w.org.ID, UserID: user.ID, Enabled: true, SecretHash: []byte("s")}))(t))
			}
			ok(t, b.control.AddSigningKey(ctx, ion.SigningKey{KID: name + "-1", Environment: name, Algorithm: "ES256", PrivateJWK: []byte("{}")}))
			must(b.control.DecideSandboxRequest(ctx, req.ID, ion.RequestProvisioned, ""))(t)
			return w
		}
		gone, kept := build("gone-dev"), build("kept-dev")
		// A second organization in the environment goes too.
		extra := must(b.control.CreateOrganization(ctx, ion.Organization{Environment: gone.sb.Name, Name: "Extra"}))(t)

		ok(t, b.control.DeleteSandbox(ctx, gone.sb.Name))
		_, err := b.control.Sandbox(ctx, gone.sb.Name)
		wantErr(t, err, ion.ENOTFOUND, "")
		_, err = b.control.Environment(ctx, gone.sb.Name)
		wantErr(t, err, ion.ENOTFOUND, "")
		for _, id := range []ion.ID{gone.org.ID, extra.ID} {
			_, err = b.control.Organization(ctx, id)
			wantErr(t, err, ion.ENOTFOUND, "")
		}
		same(t, "organizations of the deleted environment", must(b.control.Organizations(ctx, gone.sb.Name))(t), []ion.Organization{})
		for _, u := range gone.users {
			_, err = b.control.User(ctx, gone.org.ID, u.ID)
			wantErr(t, err, ion.ENOTFOUND, "")
		}
		for _, k := range gone.keys {
			_, err = b.control.APIKeyByClientID(ctx, k.ClientID)
			wantErr(t, err, ion.ENOTFOUND, "")
		}
		same(t, "signing keys of the deleted environment", must(b.control.SigningKeys(ctx, gone.sb.Name))(t), []ion.SigningKey{})
		wantErr(t, b.control.DeleteSandbox(ctx, gone.sb.Name), ion.ENOTFOUND, "")
		wantErr(t, b.control.DeleteSandbox(ctx, "never-was"), ion.ENOTFOUND, "")

		// The other sandbox and production are untouched.
		same(t, "kept sandbox", must(b.control.Sandbox(ctx, kept.sb.Name))(t).OrganizationID, kept.org.ID)
		same(t, "sandboxes", must(b.control.Sandboxes(ctx, 0))(t)[0].Name, kept.sb.Name)
		same(t, "kept organization", must(b.control.Organization(ctx, kept.org.ID))(t), kept.org)
		for i, u := range kept.users {
			same(t, "kept user", must(b.control.User(ctx, kept.org.ID, u.ID))(t), u)
			same(t, "kept key", must(b.control.APIKeyByClientID(ctx, kept.keys[i].ClientID))(t), kept.keys[i])
		}
		same(t, "kept signing keys", len(must(b.control.SigningKeys(ctx, kept.sb.Name))(t)), 1)
		same(t, "production organization", must(b.control.Organization(ctx, b.org.ID))(t), b.org)
		same(t, "production key", must(b.control.APIKeyByClientID(ctx, prodKey.ClientID))(t), prodKey)
		same(t, "production signing keys", len(must(b.control.SigningKeys(ctx, ion.ProductionEnvironment))(t)), 1)

		// Requests stay as history, and the name is free again.
		same(t, "requests after the delete", len(must(b.control.SandboxRequests(ctx, b.org.ID))(t)), 2)
		again := must(b.control.CreateSandboxRequest(ctx, b.sandboxRequest(gone.sb.Name)))(t)
		must(b.control.CreateSandbox(ctx, ion.Sandbox{Name: gone.sb.Name, RequestID: again.ID, SourceOrganizationID: b.org.ID, Shape: ion.ShapeBlank}))(t)
		same(t, "organizations of the new sandbox", must(b.control.Organizations(ctx, gone.sb.Name))(t), []ion.Organization{})
	})

	t.Run("DeleteTenant", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		ctx := b.ctx
		must(b.ts.CreatePart(ctx, ion.Part{PartNumber: "doomed"}))(t)
		ok(t, b.stores.DeleteTenant(ctx, b.org.TenantID()))
		// Old handles and new lookups alike answer NOT_FOUND.
		_, err := b.ts.Parts(ctx, ion.ListOptions{Limit: 1})
		wantErr(t, err, ion.ENOTFOUND, "")
		_, err = b.ts.CreatePart(ctx, ion.Part{PartNumber: "after"})
		wantErr(t, err, ion.ENOTFOUND, "")
		_, err = b.stores.Tenant(ctx, b.org.TenantID())
		wantErr(t, err, ion.ENOTFOUND, "")
		// Deleting it again, or one that never was, is not an error.
		ok(t, b.stores.DeleteTenant(ctx, b.org.TenantID()))
		ok(t, b.stores.DeleteTenant(ctx, "never-was"))
		wantErr(t, b.stores.DeleteTenant(ctx, "../escape"), ion.EVALIDATION, "")
		// The id can be created again, empty.
		ok(t, b.stores.CreateTenant(ctx, b.org.TenantID()))
		fresh := must(b.stores.Tenant(ctx, b.org.TenantID()))(t)
		same(t, "parts of the recreated tenant", must(fresh.Parts(ctx, ion.ListOptions{Limit: 1}))(t).TotalCount, 0)
		// An idle, closed tenant is deleted as well as an open one.
		ok(t, b.stores.CreateTenant(ctx, "closed-one"))
		ok(t, b.stores.DeleteTenant(ctx, "closed-one"))
		_, err = b.stores.Tenant(ctx, "closed-one")
		wantErr(t, err, ion.ENOTFOUND, "")
	})

	t.Run("DeleteTenantUnderLoad", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		ctx := b.ctx
		other := must(b.control.CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Other"}))(t)
		bystander := must(b.stores.Tenant(ctx, other.TenantID()))(t)
		// Writers and readers run while the tenant is deleted: each call
		// either succeeds (it ran before) or answers NOT_FOUND, never
		// anything else; a neighbouring tenant is unaffected.
		const workers = 8
		started := make(chan struct{}, workers)
		errs := make(chan error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := 0; ; i++ {
					var err error
					if w%2 == 0 {
						_, err = b.ts.CreatePart(ctx, ion.Part{PartNumber: fmt.Sprintf("p-%d-%d", w, i)})
					} else {
						_, err = b.ts.Parts(ctx, ion.ListOptions{Limit: 5})
					}
					if i == 0 {
						started <- struct{}{}
					}
					if ion.ErrorCode(err) == ion.ENOTFOUND {
						return
					}
					if err != nil {
						errs <- fmt.Errorf("worker %d call %d: %w", w, i, err)
						return
					}
				}
			})
		}
		for range workers {
			<-started
		}
		ok(t, b.stores.DeleteTenant(ctx, b.org.TenantID()))
		wg.Wait()
		close(errs)
		var all []error
		for err := range errs {
			all = append(all, err)
		}
		ok(t, errors.Join(all...))
		must(bystander.CreatePart(ctx, ion.Part{PartNumber: "still-here"}))(t)
		_, err := b.stores.Tenant(ctx, b.org.TenantID())
		wantErr(t, err, ion.ENOTFOUND, "")
	})
}
