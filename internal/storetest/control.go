package storetest

import (
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

func testControl(t *testing.T, h *harness) {
	t.Run("Environments", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		ctx := b.ctx
		first := must(b.control.EnsureEnvironment(ctx, ion.Environment{Name: "acme-erp-dev", Kind: ion.EnvSandbox}))(t)
		if first.Kind != ion.EnvSandbox || first.State != "active" || first.CreatedAt.IsZero() || first.WebhookMode != ion.WebhookSink {
			t.Fatalf("ensured environment = %+v, want kind sandbox, state active, webhooks to the sink, a creation time", first)
		}
		prod := must(b.control.EnsureEnvironment(ctx, ion.Environment{Name: "production", Kind: ion.EnvProduction}))(t)
		if prod.WebhookMode != ion.WebhookLive {
			t.Fatalf("production webhook mode = %q, want %q", prod.WebhookMode, ion.WebhookLive)
		}
		policies := must(b.control.EnsureEnvironment(ctx, ion.Environment{Name: "tuned", Kind: ion.EnvSandbox,
			RateLimitPolicy: `{"rps":50}`, FeaturePolicy: `{"preview":["bulk-operations"]}`}))(t)
		same(t, "policy slots read back", must(b.control.Environment(ctx, "tuned"))(t), policies)
		if policies.RateLimitPolicy != `{"rps":50}` || policies.FeaturePolicy != `{"preview":["bulk-operations"]}` {
			t.Fatalf("policy slots = %+v", policies)
		}
		again := must(b.control.EnsureEnvironment(ctx, ion.Environment{Name: "acme-erp-dev", Kind: ion.EnvSandbox, State: "dormant"}))(t)
		same(t, "environment ensured twice", again, first)
		same(t, "environment read", must(b.control.Environment(ctx, "acme-erp-dev"))(t), first)

		_, err := b.control.Environment(ctx, "nope")
		wantErr(t, err, ion.ENOTFOUND, "")
		for _, env := range []ion.Environment{
			{Name: "", Kind: ion.EnvSandbox},
			{Name: "Bad Name", Kind: ion.EnvSandbox},
			{Name: "../escape", Kind: ion.EnvSandbox},
		} {
			_, err := b.control.EnsureEnvironment(ctx, env)
			wantErr(t, err, ion.EVALIDATION, "name")
		}
		_, err = b.control.EnsureEnvironment(ctx, ion.Environment{Name: "weird", Kind: "staging"})
		wantErr(t, err, ion.EVALIDATION, "kind")
	})

	t.Run("Organizations", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		ctx := b.ctx
		if b.org.ID == 0 || b.org.Tier != ion.TierStandard || b.org.CreatedAt.IsZero() {
			t.Fatalf("created organization = %+v, want an id, tier standard and a creation time", b.org)
		}
		same(t, "organization read", must(b.control.Organization(ctx, b.org.ID))(t), b.org)

		// Domains are unique per environment, ignoring case.
		_, err := b.control.CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Copy", Domain: "ACME.example"})
		wantErr(t, err, ion.EVALIDATION, "domain")
		must(b.control.EnsureEnvironment(ctx, ion.Environment{Name: "sbx", Kind: ion.EnvSandbox}))(t)
		other := must(b.control.CreateOrganization(ctx, ion.Organization{Environment: "sbx", Name: "Acme sandbox", Domain: "acme.example", Tier: ion.TierEnterprise}))(t)

		_, err = b.control.CreateOrganization(ctx, ion.Organization{Environment: "missing", Name: "X"})
		wantErr(t, err, ion.EVALIDATION, "environment")
		_, err = b.control.CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: " "})
		wantErr(t, err, ion.EVALIDATION, "name")
		_, err = b.control.CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "X", Tier: "gold"})
		wantErr(t, err, ion.EVALIDATION, "tier")

		same(t, "production organizations", must(b.control.Organizations(ctx, ion.ProductionEnvironment))(t), []ion.Organization{b.org})
		same(t, "sandbox organizations", must(b.control.Organizations(ctx, "sbx"))(t), []ion.Organization{other})
		_, err = b.control.Organization(ctx, other.ID+100)
		wantErr(t, err, ion.ENOTFOUND, "")

		// The organization's tenant exists and is empty.
		ts := must(b.stores.Tenant(ctx, other.TenantID()))(t)
		if page := must(ts.Parts(ctx, ion.ListOptions{Limit: 10}))(t); page.TotalCount != 0 {
			t.Fatalf("new tenant has %d parts, want 0", page.TotalCount)
		}
		_, err = b.stores.Tenant(ctx, ion.TenantIDFor("sbx", other.ID+100))
		wantErr(t, err, ion.ENOTFOUND, "")
		wantErr(t, b.stores.CreateTenant(ctx, other.TenantID()), ion.ECONFLICT, "")
		wantErr(t, b.stores.CreateTenant(ctx, "../../etc/passwd"), ion.EVALIDATION, "")
		_, err = b.stores.Tenant(ctx, "a/b")
		wantErr(t, err, ion.EVALIDATION, "")
		ok(t, b.stores.CreateTenant(ctx, "free-standing"))
		must(b.stores.Tenant(ctx, "free-standing"))(t)
	})

	t.Run("Users", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		ctx := b.ctx
		ada := must(b.control.CreateUser(ctx, ion.User{OrganizationID: b.org.ID, Name: "Ada", Email: "ada@acme.example", Active: true, Roles: []string{"admin"}}))(t)
		etagOK(t, ada.Etag)
		if ada.ID == 0 || !ada.Active || ada.CreatedAt.IsZero() || !ada.CreatedAt.Equal(ada.UpdatedAt) {
			t.Fatalf("created user = %+v", ada)
		}
		same(t, "user read", must(b.control.User(ctx, b.org.ID, ada.ID))(t), ada)

		_, err := b.control.CreateUser(ctx, ion.User{OrganizationID: b.org.ID, Name: "Ada 2", Email: "ADA@acme.example"})
		wantErr(t, err, ion.EVALIDATION, "email")
		_, err = b.control.CreateUser(ctx, ion.User{OrganizationID: b.org.ID, Name: "No mail", Email: "nomail"})
		wantErr(t, err, ion.EVALIDATION, "email")
		_, err = b.control.CreateUser(ctx, ion.User{OrganizationID: b.org.ID + 100, Name: "Lost", Email: "lost@acme.example"})
		wantErr(t, err, ion.EVALIDATION, "organizationId")

		// The same email in another organization is a different user.
		other := must(b.control.CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Other"}))(t)
		twin := must(b.control.CreateUser(ctx, ion.User{OrganizationID: other.ID, Name: "Ada", Email: "ada@acme.example"}))(t)
		_, err = b.control.User(ctx, b.org.ID, twin.ID)
		wantErr(t, err, ion.ENOTFOUND, "")

		bob := must(b.control.CreateUser(ctx, ion.User{OrganizationID: b.org.ID, Name: "Bob", Email: "bob@acme.example", ServiceAccount: true}))(t)
		page := must(b.control.Users(ctx, b.org.ID, ion.ListOptions{Limit: 10}))(t)
		same(t, "users", page, ion.Page[ion.User]{Items: []ion.User{ada, bob}, TotalCount: 2})
		page = must(b.control.Users(ctx, b.org.ID, ion.ListOptions{Limit: 10, Filters: []ion.Filter{{Field: "email", Op: ion.OpEq, Value: "bob@acme.example"}}}))(t)
		same(t, "users by email", page, ion.Page[ion.User]{Items: []ion.User{bob}, TotalCount: 1})

		off := must(b.control.SetUserActive(ctx, b.org.ID, ada.ID, false))(t)
		if off.Active || off.Etag == ada.Etag {
			t.Fatalf("deactivated user = %+v, want inactive with a new etag", off)
		}
		same(t, "deactivated user read", must(b.control.User(ctx, b.org.ID, ada.ID))(t), off)
		_, err = b.control.SetUserActive(ctx, other.ID, ada.ID, true)
		wantErr(t, err, ion.ENOTFOUND, "")
	})

	t.Run("APIKeys", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		ctx := b.ctx
		ada := must(b.control.CreateUser(ctx, ion.User{OrganizationID: b.org.ID, Name: "Ada", Email: "ada@acme.example", Active: true}))(t)
		key := ion.APIKey{ClientID: newUUID(), OrganizationID: b.org.ID, UserID: ada.ID, Enabled: true, SecretHash: []byte("hash-1"), SecretHint: "ion_prod_…abcd"}
		created := must(b.control.CreateAPIKey(ctx, key))(t)
		etagOK(t, created.Etag)
		if created.Environment != ion.ProductionEnvironment || created.ID == 0 {
			t.Fatalf("created key = %+v, want the organization's environment and an id", created)
		}
		same(t, "key by client id", must(b.control.APIKeyByClientID(ctx, key.ClientID))(t), created)

		_, err := b.control.APIKeyByClientID(ctx, newUUID())
		wantErr(t, err, ion.ENOTFOUND, "")
		_, err = b.control.CreateAPIKey(ctx, key)
		wantErr(t, err, ion.ECONFLICT, "")
		bad := key
		bad.ClientID = "not-a-uuid"
		_, err = b.control.CreateAPIKey(ctx, bad)
		wantErr(t, err, ion.EVALIDATION, "clientId")
		other := must(b.control.CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Other"}))(t)
		stranger := must(b.control.CreateUser(ctx, ion.User{OrganizationID: other.ID, Name: "S", Email: "s@other.example"}))(t)
		bad = key
		bad.ClientID, bad.UserID = newUUID(), stranger.ID
		_, err = b.control.CreateAPIKey(ctx, bad)
		wantErr(t, err, ion.EVALIDATION, "userId")
		bad = key
		bad.ClientID, bad.Environment = newUUID(), "sbx"
		_, err = b.control.CreateAPIKey(ctx, bad)
		wantErr(t, err, ion.EVALIDATION, "environment")

		second := must(b.control.CreateAPIKey(ctx, ion.APIKey{ClientID: newUUID(), OrganizationID: b.org.ID, UserID: ada.ID, SecretHash: []byte("hash-2")}))(t)
		must(b.control.CreateAPIKey(ctx, ion.APIKey{ClientID: newUUID(), OrganizationID: other.ID, UserID: stranger.ID, SecretHash: []byte("hash-3")}))(t)
		same(t, "keys of the organization", must(b.control.APIKeys(ctx, b.org.ID, ion.ListOptions{Limit: 10}))(t),
			ion.Page[ion.APIKey]{Items: []ion.APIKey{created, second}, TotalCount: 2})
		same(t, "enabled keys", must(b.control.APIKeys(ctx, b.org.ID, ion.ListOptions{Limit: 10, Filters: []ion.Filter{{Field: "enabled", Op: ion.OpEq, Value: true}}}))(t),
			ion.Page[ion.APIKey]{Items: []ion.APIKey{created}, TotalCount: 1})

		// A stale etag changes nothing.
		_, err = b.control.UpdateAPIKey(ctx, key.ClientID, second.Etag, ptr(false), []byte("x"), "x")
		wantErr(t, err, ion.ECONFLICT, "")
		same(t, "key after a stale update", must(b.control.APIKeyByClientID(ctx, key.ClientID))(t), created)

		disabled := must(b.control.UpdateAPIKey(ctx, key.ClientID, created.Etag, ptr(false), nil, ""))(t)
		if disabled.Enabled || disabled.Etag == created.Etag || string(disabled.SecretHash) != "hash-1" {
			t.Fatalf("disabled key = %+v, want disabled, new etag, same secret", disabled)
		}
		rotated := must(b.control.UpdateAPIKey(ctx, key.ClientID, disabled.Etag, nil, []byte("hash-9"), "ion_prod_…9999"))(t)
		if rotated.Enabled || string(rotated.SecretHash) != "hash-9" || rotated.SecretHint != "ion_prod_…9999" {
			t.Fatalf("rotated key = %+v, want still disabled with the new secret", rotated)
		}
		same(t, "rotated key read", must(b.control.APIKeyByClientID(ctx, key.ClientID))(t), rotated)

		wantErr(t, b.control.DeleteAPIKey(ctx, key.ClientID, created.Etag), ion.ECONFLICT, "")
		must(b.control.APIKeyByClientID(ctx, key.ClientID))(t)
		ok(t, b.control.DeleteAPIKey(ctx, key.ClientID, rotated.Etag))
		_, err = b.control.APIKeyByClientID(ctx, key.ClientID)
		wantErr(t, err, ion.ENOTFOUND, "")
		wantErr(t, b.control.DeleteAPIKey(ctx, key.ClientID, rotated.Etag), ion.ENOTFOUND, "")
	})

	t.Run("SigningKeys", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		ctx := b.ctx
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		older := ion.SigningKey{KID: "k1", Environment: ion.ProductionEnvironment, Algorithm: "ES256", PrivateJWK: []byte(`{"kty":"EC"}`), CreatedAt: t0}
		newer := ion.SigningKey{KID: "k2", Environment: ion.ProductionEnvironment, Algorithm: "ES256", PrivateJWK: []byte(`{"kty":"EC","n":2}`), CreatedAt: t0.Add(time.Hour)}
		ok(t, b.control.AddSigningKey(ctx, older))
		ok(t, b.control.AddSigningKey(ctx, newer))
		wantErr(t, b.control.AddSigningKey(ctx, older), ion.ECONFLICT, "")
		wantErr(t, b.control.AddSigningKey(ctx, ion.SigningKey{KID: "k3", Environment: "missing", Algorithm: "ES256", PrivateJWK: []byte("{}")}), ion.EVALIDATION, "environment")
		wantErr(t, b.control.AddSigningKey(ctx, ion.SigningKey{Environment: ion.ProductionEnvironment, Algorithm: "ES256", PrivateJWK: []byte("{}")}), ion.EVALIDATION, "kid")
		same(t, "signing keys", must(b.control.SigningKeys(ctx, ion.ProductionEnvironment))(t), []ion.SigningKey{newer, older})

		retired := t0.Add(2 * time.Hour)
		ok(t, b.control.RetireSigningKey(ctx, ion.ProductionEnvironment, "k1", retired))
		older.RetiredAt = &retired
		same(t, "signing keys after retiring", must(b.control.SigningKeys(ctx, ion.ProductionEnvironment))(t), []ion.SigningKey{newer, older})
		wantErr(t, b.control.RetireSigningKey(ctx, ion.ProductionEnvironment, "k9", retired), ion.ENOTFOUND, "")
		same(t, "signing keys of another environment", must(b.control.SigningKeys(ctx, "sbx"))(t), []ion.SigningKey{})
	})
}
