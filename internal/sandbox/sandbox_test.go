package sandbox_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ionbox/ionbox/internal/sandbox"
	"github.com/ionbox/ionbox/ion"
)

func TestRequestProvisionsBlankSandbox(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := b.request("acme-erp-dev")
	in.TTLDays = ptr(7)
	in.Features = []string{"bulk-operations", "bulk-operations"}
	res := must(b.svc.Request(b.ctx, in))(t)

	// The request is decided, and says so.
	req := res.Request
	if req.ID == 0 || req.Status != ion.RequestProvisioned || req.Note != "auto-approved" || req.DecidedAt == nil || req.RequestedBy != "operator" {
		t.Fatalf("request = %+v, want provisioned, auto-approved, decided, by the operator", req)
	}
	same(t, "stored request", must(b.control.SandboxRequest(b.ctx, req.ID))(t), req)
	same(t, "request's features", req.Features, []string{"bulk-operations"})

	// The sandbox is active, in its own environment, with its own
	// organization mirroring production's.
	if res.Sandbox == nil {
		t.Fatal("no sandbox in the result")
	}
	sb := *res.Sandbox
	expires := t0.AddDate(0, 0, 7)
	same(t, "sandbox", sb, ion.Sandbox{Name: "acme-erp-dev", RequestID: req.ID, SourceOrganizationID: b.prod.ID, OrganizationID: sb.OrganizationID,
		Shape: ion.ShapeBlank, State: ion.SandboxActive, Features: []string{"bulk-operations"},
		CreatedAt: sb.CreatedAt, LastActivityAt: sb.LastActivityAt, ExpiresAt: &expires})
	same(t, "stored sandbox", must(b.control.Sandbox(b.ctx, sb.Name))(t), sb)
	env := must(b.control.Environment(b.ctx, sb.Name))(t)
	if env.Kind != ion.EnvSandbox || env.State != ion.SandboxActive {
		t.Fatalf("environment = %+v, want an active sandbox", env)
	}
	org := must(b.control.Organization(b.ctx, sb.OrganizationID))(t)
	same(t, "sandbox organization", org, ion.Organization{ID: sb.OrganizationID, Environment: sb.Name, Name: b.prod.Name, Domain: b.prod.Domain, Tier: b.prod.Tier, CreatedAt: org.CreatedAt})
	same(t, "sandboxes of the production organization", must(b.control.Sandboxes(b.ctx, b.prod.ID))(t), []ion.Sandbox{sb})

	// Members are active admins; service accounts are users too.
	type person struct {
		Name, Email    string
		Active, SA     bool
		Roles          []string
		OrganizationID ion.ID
	}
	var people []person
	for _, u := range must(b.control.Users(b.ctx, org.ID, ion.ListOptions{Limit: 10}))(t).Items {
		people = append(people, person{u.Name, u.Email, u.Active, u.ServiceAccount, u.Roles, u.OrganizationID})
	}
	admin := []string{"admin"}
	same(t, "users of the sandbox", people, []person{
		{"Ada Lovelace", "ada@acme.example", true, false, admin, org.ID},
		{"Bob", "bob@acme.example", true, false, admin, org.ID},
		{"erp-sync", "erp-sync@acme-erp-dev.service.ionbox.invalid", true, true, admin, org.ID},
		{"ci", "ci@acme-erp-dev.service.ionbox.invalid", true, true, admin, org.ID},
	})

	// One credential per service account: sandbox secrets that work at the
	// sandbox's issuer and act as that account, and only there.
	if len(res.Credentials) != 2 || res.Credentials[0].ServiceAccount != "erp-sync" || res.Credentials[1].ServiceAccount != "ci" {
		t.Fatalf("credentials = %+v, want erp-sync's and ci's", res.Credentials)
	}
	// Its signing key was made with it, not on its first token.
	keys := must(b.control.SigningKeys(b.ctx, sb.Name))(t)
	if len(keys) != 1 {
		t.Fatalf("the new sandbox has %d signing keys before its issuer is used, want 1", len(keys))
	}
	iss := b.issuer(t, sb.Name)
	if again := must(b.control.SigningKeys(b.ctx, sb.Name))(t); len(again) != 1 || again[0].KID != keys[0].KID {
		t.Fatalf("the issuer did not sign with the prepared key: keys %+v, prepared %+v", again, keys)
	}
	prodEnv := must(b.control.Environment(b.ctx, ion.ProductionEnvironment))(t)
	prodIss := must(b.auth.Issuer(b.ctx, prodEnv, "http://x"))(t)
	for _, c := range res.Credentials {
		if !strings.HasPrefix(c.ClientSecret, "ion_sbx_") {
			t.Fatalf("secret of %s = %q, want the ion_sbx_ prefix", c.ServiceAccount, c.ClientSecret)
		}
		tok := must(iss.ClientCredentialsToken(b.ctx, c.ClientID, c.ClientSecret))(t)
		actor := must(iss.AuthenticateToken(b.ctx, tok.AccessToken))(t)
		if actor.Environment != sb.Name || actor.Organization.ID != org.ID || actor.User.Name != c.ServiceAccount || !actor.User.ServiceAccount {
			t.Fatalf("token of %s acts as %+v", c.ServiceAccount, actor)
		}
		_, err := prodIss.ClientCredentialsToken(b.ctx, c.ClientID, c.ClientSecret)
		wantErr(t, err, ion.EENVMISMATCH, "")
	}
}

func TestSandboxDataIsSeparateFromProduction(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sb := *must(b.svc.Request(b.ctx, b.request("acme-erp-dev")))(t).Sandbox
	sbxID := ion.TenantIDFor(sb.Name, sb.OrganizationID)
	if sbxID == b.prod.TenantID() {
		t.Fatalf("the sandbox uses production's tenant %q", sbxID)
	}
	sbx := must(b.stores.Tenant(b.ctx, sbxID))(t)
	prod := must(b.stores.Tenant(b.ctx, b.prod.TenantID()))(t)
	inSbx := must(sbx.CreatePart(b.ctx, ion.Part{PartNumber: "only-in-sandbox"}))(t)
	inProd := must(prod.CreatePart(b.ctx, ion.Part{PartNumber: "only-in-production"}))(t)
	for _, tc := range []struct {
		name  string
		store ion.TenantStore
		want  ion.Part
	}{
		{"sandbox", sbx, inSbx},
		{"production", prod, inProd},
	} {
		page := must(tc.store.Parts(b.ctx, ion.ListOptions{Limit: 10}))(t)
		same(t, tc.name+"'s parts", page, ion.Page[ion.Part]{Items: []ion.Part{tc.want}, TotalCount: 1})
	}
}

func TestApproveAndReject(t *testing.T) {
	t.Parallel()
	b := setup(t, manualApproval)
	pending := must(b.svc.Request(b.ctx, b.request("to-approve")))(t)
	if pending.Request.Status != ion.RequestPending || pending.Sandbox != nil || pending.Credentials != nil {
		t.Fatalf("result without auto-approval = %+v, want a pending request only", pending)
	}
	_, err := b.control.Sandbox(b.ctx, "to-approve")
	wantErr(t, err, ion.ENOTFOUND, "")
	// A pending request holds its name.
	_, err = b.svc.Request(b.ctx, b.request("to-approve"))
	wantErr(t, err, ion.EVALIDATION, "name", "taken", "pick another")

	res := must(b.svc.Approve(b.ctx, pending.Request.ID, "  fine by me "))(t)
	if res.Request.Status != ion.RequestProvisioned || res.Request.Note != "fine by me" || res.Sandbox == nil || len(res.Credentials) != 2 {
		t.Fatalf("approved = %+v, want provisioned with the note, a sandbox and two credentials", res)
	}
	_, err = b.svc.Approve(b.ctx, pending.Request.ID, "")
	wantErr(t, err, ion.ECONFLICT, "")
	_, err = b.svc.Reject(b.ctx, pending.Request.ID, "")
	wantErr(t, err, ion.ECONFLICT, "")

	rej := must(b.svc.Request(b.ctx, b.request("to-reject")))(t).Request
	got := must(b.svc.Reject(b.ctx, rej.ID, "use the shared sandbox"))(t)
	if got.Status != ion.RequestRejected || got.Note != "use the shared sandbox" || got.DecidedAt == nil {
		t.Fatalf("rejected = %+v", got)
	}
	_, err = b.svc.Approve(b.ctx, rej.ID, "")
	wantErr(t, err, ion.ECONFLICT, "")
	_, err = b.control.Environment(b.ctx, "to-reject")
	wantErr(t, err, ion.ENOTFOUND, "")
	// A rejection frees the name.
	must(b.svc.Request(b.ctx, b.request("to-reject")))(t)

	_, err = b.svc.Approve(b.ctx, 9999, "")
	wantErr(t, err, ion.ENOTFOUND, "")
	_, err = b.svc.Reject(b.ctx, 9999, "")
	wantErr(t, err, ion.ENOTFOUND, "")
}

func TestNamesAreUnique(t *testing.T) {
	t.Parallel()
	b := setup(t)
	must(b.svc.Request(b.ctx, b.request("acme-erp-dev")))(t)
	_, err := b.svc.Request(b.ctx, b.request("acme-erp-dev"))
	wantErr(t, err, ion.EVALIDATION, "name", "taken", "pick another")

	// Of many concurrent requests for one name, exactly one gets it.
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = b.svc.Request(b.ctx, b.request("contested")) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch ion.ErrorCode(err) {
		case "":
			won++
		case ion.EVALIDATION:
		default:
			t.Fatalf("concurrent request: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent requests for one name succeeded, want 1", won)
	}
	if n := len(must(b.control.Sandboxes(b.ctx, 0))(t)); n != 2 {
		t.Fatalf("%d sandboxes, want 2", n)
	}
}

func TestConcurrentApprovalsProvisionOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, manualApproval)
	req := must(b.svc.Request(b.ctx, b.request("acme-erp-dev")))(t).Request
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = b.svc.Approve(b.ctx, req.ID, "") })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch ion.ErrorCode(err) {
		case "":
			won++
		case ion.ECONFLICT:
		default:
			t.Fatalf("concurrent approval: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent approvals succeeded, want 1", won)
	}
}

func TestRequestValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// An organization of a sandbox cannot ask for sandboxes.
	sbxOrg := must(b.svc.Request(b.ctx, b.request("existing")))(t).Sandbox.OrganizationID
	before := b.rowCounts(t)
	for _, tc := range []struct {
		name      string
		edit      func(r *ion.SandboxRequest)
		field     string
		fragments []string
	}{
		{"name not a DNS label", func(r *ion.SandboxRequest) { r.Name = "Acme ERP" }, "name", []string{"acme-erp-dev"}},
		{"empty name", func(r *ion.SandboxRequest) { r.Name = "" }, "name", nil},
		{"name too long", func(r *ion.SandboxRequest) { r.Name = strings.Repeat("a", 64) }, "name", nil},
		{"reserved name", func(r *ion.SandboxRequest) { r.Name = "production" }, "name", []string{"reserved"}},
		{"taken name", func(r *ion.SandboxRequest) { r.Name = "existing" }, "name", []string{"taken", "pick another"}},
		{"no organization", func(r *ion.SandboxRequest) { r.OrganizationID = 0 }, "organizationId", nil},
		{"unknown organization", func(r *ion.SandboxRequest) { r.OrganizationID = 9999 }, "organizationId", []string{"not found"}},
		{"sandbox organization", func(r *ion.SandboxRequest) { r.OrganizationID = sbxOrg }, "organizationId", []string{"production"}},
		{"unknown shape", func(r *ion.SandboxRequest) { r.Shape = "empty" }, "shape", []string{"blank"}},
		{"unknown seed size", func(r *ion.SandboxRequest) { r.Shape, r.Size = ion.ShapeSeeded, "huge" }, "size", []string{"small", "large"}},
		{"size of a blank sandbox", func(r *ion.SandboxRequest) { r.Size = "small" }, "size", []string{"seeded"}},
		{"member without a name", func(r *ion.SandboxRequest) { r.Members[1].Name = " " }, "members[1].name", nil},
		{"member without an email", func(r *ion.SandboxRequest) { r.Members[0].Email = "" }, "members[0].email", nil},
		{"member with a bad email", func(r *ion.SandboxRequest) { r.Members[0].Email = "ada at acme" }, "members[0].email", nil},
		{"member with a display name", func(r *ion.SandboxRequest) { r.Members[0].Email = "Ada <ada@acme.example>" }, "members[0].email", nil},
		{"member with a service account's email", func(r *ion.SandboxRequest) { r.Members[0].Email = "ci@existing.service.ionbox.invalid" }, "members[0].email", []string{"service accounts"}},
		{"members sharing an email", func(r *ion.SandboxRequest) { r.Members[1].Email = "ADA@acme.example" }, "members[1].email", []string{"members[0]"}},
		{"too many members", func(r *ion.SandboxRequest) {
			r.Members = slices.Repeat([]ion.Member{{Name: "x", Email: "x@acme.example"}}, 101)
		}, "members", nil},
		{"service account with capitals", func(r *ion.SandboxRequest) { r.ServiceAccounts[0].Name = "ERP" }, "serviceAccounts[0].name", []string{"erp-sync"}},
		{"service account starting with a hyphen", func(r *ion.SandboxRequest) { r.ServiceAccounts[1].Name = "-ci" }, "serviceAccounts[1].name", nil},
		{"service account name too long", func(r *ion.SandboxRequest) { r.ServiceAccounts[0].Name = strings.Repeat("a", 64) }, "serviceAccounts[0].name", nil},
		{"empty service account name", func(r *ion.SandboxRequest) { r.ServiceAccounts[0].Name = "" }, "serviceAccounts[0].name", nil},
		{"repeated service account", func(r *ion.SandboxRequest) { r.ServiceAccounts[1].Name = "erp-sync" }, "serviceAccounts[1].name", []string{"unique"}},
		{"too many service accounts", func(r *ion.SandboxRequest) {
			r.ServiceAccounts = nil
			for i := range 21 {
				r.ServiceAccounts = append(r.ServiceAccounts, ion.ServiceAccount{Name: strings.Repeat("a", i+1)})
			}
		}, "serviceAccounts", nil},
		{"ttl of zero days", func(r *ion.SandboxRequest) { r.TTLDays = ptr(0) }, "ttlDays", nil},
		{"negative ttl", func(r *ion.SandboxRequest) { r.TTLDays = ptr(-3) }, "ttlDays", nil},
		{"ttl beyond ten years", func(r *ion.SandboxRequest) { r.TTLDays = ptr(3651) }, "ttlDays", nil},
		{"feature not kebab-case", func(r *ion.SandboxRequest) { r.Features = []string{"bulk-operations", "Bulk_Ops"} }, "features[1]", []string{"kebab-case"}},
		{"empty feature", func(r *ion.SandboxRequest) { r.Features = []string{""} }, "features[0]", nil},
		{"unknown feature", func(r *ion.SandboxRequest) { r.Features = []string{"bulk-operations", "dark-mode"} }, "features[1]", []string{"not a feature flag", "\"bulk-operations\""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := b.request("fine-name")
			tc.edit(&r)
			_, err := b.svc.Request(b.ctx, r)
			wantErr(t, err, ion.EVALIDATION, tc.field, tc.fragments...)
		})
	}
	// Refused requests are not recorded and make nothing.
	same(t, "control rows after the refusals", b.rowCounts(t), before)

	// The limits themselves are fine.
	r := b.request("at-the-limits")
	r.TTLDays = ptr(1)
	r.Members, r.ServiceAccounts, r.Features = nil, []ion.ServiceAccount{{Name: strings.Repeat("a", 63)}}, nil
	must(b.svc.Request(b.ctx, r))(t)
}

// A failure at any step of provisioning leaves nothing of the sandbox
// behind, and the request pending, so that approving it again works.
func TestFailedProvisioningLeavesNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []injectedFailure{
		{"CreateSandbox", 1, false},
		{"AddSigningKey", 1, false},
		{"CreateOrganization", 1, false},
		{"SetSandboxOrganization", 1, false},
		{"CreateUser", 1, false},
		{"CreateUser", 3, false},
		{"CreateAPIKey", 1, false},
		{"CreateAPIKey", 2, false},
		{"DecideSandboxRequest", 1, false},
		{"CreateOrganization", 1, true},
		{"CreateAPIKey", 2, true},
	} {
		t.Run(tc.String(), func(t *testing.T) {
			t.Parallel()
			b := setup(t, manualApproval)
			req := must(b.svc.Request(b.ctx, b.request("acme-erp-dev")))(t).Request
			rows, files := b.rowCounts(t), b.tenantFiles(t)

			ctx := tc.inject(t, b)
			_, err := b.svc.Approve(ctx, req.ID, "")
			if err == nil {
				t.Fatal("provisioning succeeded despite the failure")
			}
			if !strings.Contains(err.Error(), `provisioning "acme-erp-dev"`) {
				t.Fatalf("error %q does not say what failed", err)
			}

			same(t, "control rows after the failure", b.rowCounts(t), rows)
			same(t, "tenant files after the failure", b.tenantFiles(t), files)
			_, err = b.control.Sandbox(b.ctx, "acme-erp-dev")
			wantErr(t, err, ion.ENOTFOUND, "")
			same(t, "request after the failure", must(b.control.SandboxRequest(b.ctx, req.ID))(t), req)

			res := must(b.svc.Approve(b.ctx, req.ID, "second try"))(t)
			if res.Request.Status != ion.RequestProvisioned || len(res.Credentials) != 2 {
				t.Fatalf("second approval = %+v", res)
			}
			iss := b.issuer(t, "acme-erp-dev")
			must(iss.ClientCredentialsToken(b.ctx, res.Credentials[1].ClientID, res.Credentials[1].ClientSecret))(t)
		})
	}
}

// An automatically approved request is stored in the transaction that
// makes the sandbox's records. If that transaction fails, nothing of the
// sandbox is left, the request is stored on its own, pending, and
// approving it works; if the request itself is refused, nothing is
// stored.
func TestFailedAutomaticProvisioningKeepsTheRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []injectedFailure{
		{"CreateSandbox", 1, false},
		{"CreateAPIKey", 2, false},
		{"DecideSandboxRequest", 1, false},
		{"CreateOrganization", 1, true},
	} {
		t.Run(tc.String(), func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(c *sandbox.Config) { c.OnLogError = func(err error) { t.Errorf("lifecycle log: %v", err) } })
			rows, files := b.rowCounts(t), b.tenantFiles(t)
			ctx := tc.inject(t, b)
			_, err := b.svc.Request(ctx, b.request("acme-erp-dev"))
			if err == nil || !strings.Contains(err.Error(), `provisioning "acme-erp-dev"`) {
				t.Fatalf("Request = %v, want the provisioning's failure", err)
			}
			_, err = b.control.Sandbox(b.ctx, "acme-erp-dev")
			wantErr(t, err, ion.ENOTFOUND, "")
			same(t, "tenant files after the failure", b.tenantFiles(t), files)
			reqs := must(b.control.SandboxRequests(b.ctx, 0))(t)
			if len(reqs) != 1 || reqs[0].Name != "acme-erp-dev" || reqs[0].Status != ion.RequestPending {
				t.Fatalf("requests after the failure = %+v, want acme-erp-dev pending", reqs)
			}
			// The request, and nothing else.
			rows["sandbox_requests"]++
			same(t, "control rows after the failure", b.rowCounts(t), rows)
			if ev := must(b.control.SandboxEvents(b.ctx, "acme-erp-dev"))(t); len(ev) != 1 || ev[0].Kind != ion.EventRequested {
				t.Fatalf("lifecycle log after the failure = %+v, want the request only", ev)
			}

			res := must(b.svc.Approve(b.ctx, reqs[0].ID, "second try"))(t)
			if res.Request.Status != ion.RequestProvisioned || len(res.Credentials) != 2 {
				t.Fatalf("approval after the failure = %+v", res)
			}
		})
	}
	t.Run("refused request", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		rows := b.rowCounts(t)
		b.control.failNext("CreateSandboxRequest", 1, nil)
		_, err := b.svc.Request(b.ctx, b.request("acme-erp-dev"))
		if err == nil || !strings.Contains(err.Error(), `request "acme-erp-dev"`) {
			t.Fatalf("Request = %v, want the request's failure", err)
		}
		same(t, "control rows after the failure", b.rowCounts(t), rows)
	})
}

// With the stores closed under it, provisioning fails cleanly.
func TestProvisioningWithClosedStores(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ok(t, b.stores.Close())
	_, err := b.svc.Request(b.ctx, b.request("acme-erp-dev"))
	if err == nil || ion.ErrorCode(err) != ion.EINTERNAL {
		t.Fatalf("request on closed stores: %v, want an internal error", err)
	}
}

func TestDeleteRemovesEverything(t *testing.T) {
	t.Parallel()
	b := setup(t)
	kept := *must(b.svc.Request(b.ctx, b.request("kept")))(t).Sandbox
	rowsBefore, filesBefore := b.rowCounts(t), b.tenantFiles(t)

	res := must(b.svc.Request(b.ctx, b.request("acme-erp-dev")))(t)
	sb := *res.Sandbox
	tenantID := ion.TenantIDFor(sb.Name, sb.OrganizationID)
	ts := must(b.stores.Tenant(b.ctx, tenantID))(t)
	must(ts.CreatePart(b.ctx, ion.Part{PartNumber: "doomed"}))(t) // the file now has its -wal and -shm
	iss := b.issuer(t, sb.Name)                                   // and the environment a signing key
	tok := must(iss.ClientCredentialsToken(b.ctx, res.Credentials[0].ClientID, res.Credentials[0].ClientSecret))(t)
	var files []string
	for _, f := range b.tenantFiles(t) {
		if strings.HasPrefix(f, tenantID+".db") {
			files = append(files, f)
		}
	}
	same(t, "the sandbox's tenant files", files, []string{tenantID + ".db", tenantID + ".db-shm", tenantID + ".db-wal"})
	if n := len(must(b.control.SigningKeys(b.ctx, sb.Name))(t)); n != 1 {
		t.Fatalf("%d signing keys, want 1", n)
	}

	ok(t, b.svc.Delete(b.ctx, sb.Name))

	_, err := b.control.Sandbox(b.ctx, sb.Name)
	wantErr(t, err, ion.ENOTFOUND, "")
	_, err = b.control.Environment(b.ctx, sb.Name)
	wantErr(t, err, ion.ENOTFOUND, "")
	_, err = b.control.Organization(b.ctx, sb.OrganizationID)
	wantErr(t, err, ion.ENOTFOUND, "")
	for _, c := range res.Credentials {
		_, err = b.control.APIKeyByClientID(b.ctx, c.ClientID)
		wantErr(t, err, ion.ENOTFOUND, "")
	}
	if _, err := iss.AuthenticateToken(b.ctx, tok.AccessToken); err == nil {
		t.Fatal("a token of the deleted sandbox still authenticates")
	}
	if _, ok := b.auth.Lookup(sb.Name); ok {
		t.Fatal("the deleted sandbox's issuer is still registered")
	}
	_, err = ts.Parts(b.ctx, ion.ListOptions{})
	wantErr(t, err, ion.ENOTFOUND, "")
	_, err = b.stores.Tenant(b.ctx, tenantID)
	wantErr(t, err, ion.ENOTFOUND, "")

	// What is left is production, the other sandbox and the requests.
	rowsBefore["sandbox_requests"]++
	same(t, "control rows after the delete", b.rowCounts(t), rowsBefore)
	same(t, "tenant files after the delete", b.tenantFiles(t), filesBefore)
	same(t, "sandboxes after the delete", must(b.control.Sandboxes(b.ctx, 0))(t), []ion.Sandbox{kept})

	// The name is free again, and the new sandbox's credentials work.
	again := must(b.svc.Request(b.ctx, b.request(sb.Name)))(t)
	iss = b.issuer(t, sb.Name)
	must(iss.ClientCredentialsToken(b.ctx, again.Credentials[0].ClientID, again.Credentials[0].ClientSecret))(t)

	wantErr(t, b.svc.Delete(b.ctx, "never-was"), ion.ENOTFOUND, "")
}

func TestAddCredential(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sb := *must(b.svc.Request(b.ctx, b.request("acme-erp-dev")))(t).Sandbox
	iss := b.issuer(t, sb.Name)
	users := func() int { return must(b.control.Users(b.ctx, sb.OrganizationID, ion.ListOptions{}))(t).TotalCount }
	before := users()

	// A new account is made on first use; an existing one gets another key.
	for _, tc := range []struct {
		account  string
		newUsers int
	}{
		{"reporting", 1},
		{"reporting", 0},
		{"erp-sync", 0},
	} {
		c := must(b.svc.AddCredential(b.ctx, sb.Name, tc.account))(t)
		if c.ServiceAccount != tc.account || !strings.HasPrefix(c.ClientSecret, "ion_sbx_") {
			t.Fatalf("credential = %+v", c)
		}
		tok := must(iss.ClientCredentialsToken(b.ctx, c.ClientID, c.ClientSecret))(t)
		actor := must(iss.AuthenticateToken(b.ctx, tok.AccessToken))(t)
		if actor.User.Name != tc.account || !actor.User.ServiceAccount || actor.Organization.ID != sb.OrganizationID {
			t.Fatalf("the credential of %s acts as %+v", tc.account, actor)
		}
		before += tc.newUsers
		same(t, "users after adding a credential for "+tc.account, users(), before)
	}
	keys := must(b.control.APIKeys(b.ctx, sb.OrganizationID, ion.ListOptions{}))(t).TotalCount
	same(t, "API keys", keys, 5)

	_, err := b.svc.AddCredential(b.ctx, sb.Name, "Not Valid")
	wantErr(t, err, ion.EVALIDATION, "serviceAccount")
	_, err = b.svc.AddCredential(b.ctx, "never-was", "ci")
	wantErr(t, err, ion.ENOTFOUND, "")
	// A deactivated account stays deactivated.
	page := must(b.control.Users(b.ctx, sb.OrganizationID, ion.ListOptions{Limit: 1, Filters: []ion.Filter{{Field: "name", Op: ion.OpEq, Value: "ci"}}}))(t)
	must(b.control.SetUserActive(b.ctx, sb.OrganizationID, page.Items[0].ID, false))(t)
	_, err = b.svc.AddCredential(b.ctx, sb.Name, "ci")
	wantErr(t, err, ion.EVALIDATION, "serviceAccount", "deactivated")
	// An expired sandbox's credentials are revoked; none are added.
	ok(t, b.control.SetSandboxState(b.ctx, sb.Name, ion.SandboxExpired))
	_, err = b.svc.AddCredential(b.ctx, sb.Name, "reporting")
	wantErr(t, err, ion.ECONFLICT, "")
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	full := sandbox.Config{Control: b.control, Stores: b.stores, APIKeys: b.auth}
	for field, edit := range map[string]func(c *sandbox.Config){
		"Control":        func(c *sandbox.Config) { c.Control = nil },
		"Stores":         func(c *sandbox.Config) { c.Stores = nil },
		"APIKeys":        func(c *sandbox.Config) { c.APIKeys = nil },
		"AutoApprove[1]": func(c *sandbox.Config) { c.AutoApprove = []string{"blank", "full"} },
	} {
		c := full
		edit(&c)
		if _, err := sandbox.New(c); err == nil || !strings.Contains(err.Error(), "Config."+field) {
			t.Errorf("New without a good %s: %v, want an error naming it", field, err)
		}
	}
	must(sandbox.New(full))(t)
}

// The tenant file of a new sandbox starts as a copy of the template, and
// nothing of it stays open once provisioned.
func TestProvisioningOpensNoTenant(t *testing.T) {
	t.Parallel()
	b := setup(t)
	open := b.stores.OpenTenants()
	sb := *must(b.svc.Request(b.ctx, b.request("acme-erp-dev")))(t).Sandbox
	if n := b.stores.OpenTenants(); n != open {
		t.Fatalf("%d tenants open after provisioning, want %d", n, open)
	}
	tmpl := must(os.ReadFile(filepath.Join(b.dir, "templates", "tenant.db")))(t)
	file := must(os.ReadFile(filepath.Join(b.dir, "tenants", ion.TenantIDFor(sb.Name, sb.OrganizationID)+".db")))(t)
	if !bytes.Equal(tmpl, file) {
		t.Fatal("the new tenant file is not a copy of the template")
	}
}
