package server

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver, to fill a tenant file fast

	"github.com/ionbox/ionbox/internal/sqlite"
	"github.com/ionbox/ionbox/ion"
)

// TestSnapshotSandboxThroughCLI runs a snapshot sandbox end to end with
// the real binary and server: production data with sensitive values, a
// snapshot request that waits for approval, `ionbox sandbox approve`, and
// the sandbox's GraphQL answering with the same parts, ids and part
// numbers, and none of the sensitive values.
func TestSnapshotSandboxThroughCLI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(cmd.Environ(), "IONBOX_URL="+b.url, "IONBOX_DATA="+b.dataDir, "IONBOX_ADMIN_TOKEN=")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("ionbox %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
		}
		return string(out), stderr.String()
	}
	prod := b.newCredential("Acme")
	const secret = "zqxcanary-customer-Initech-programme"
	var ids []int64
	for i := range 3 {
		d := b.mustGQL("Bearer "+prod.token, `mutation($in: CreatePartInput!) { createPart(input: $in) { part { id } } }`,
			map[string]any{"in": map[string]any{"partNumber": fmt.Sprintf("PN-%d", i), "description": secret,
				"attributes": []map[string]string{{"key": "buyerEmail", "type": "STRING", "value": "jane@" + secret + ".example"}}}})
		ids = append(ids, id(dig(d, "createPart", "part", "id")))
	}

	out, _ := run("sandbox", "request", "--org", fmt.Sprint(prod.orgID), "--name", "acme-snap", "--shape", "snapshot",
		"--reason", "reproduce a production bug", "--service-account", "erp-sync")
	m := regexp.MustCompile(`request (\d+): pending`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("a snapshot request did not wait for approval:\n%s", out)
	}
	out, _ = run("sandbox", "approve", m[1], "--note", "compliance ok")
	creds := regexp.MustCompile(`ION_CLIENT_ID=(\S+) ION_CLIENT_SECRET=(\S+)`).FindStringSubmatch(out)
	if !strings.Contains(out, "provisioned") || creds == nil {
		t.Fatalf("approve printed:\n%s", out)
	}
	if out, _ := run("sandbox", "show", "acme-snap"); !strings.Contains(out, "active") || !strings.Contains(out, "snapshot") {
		t.Fatalf("show printed:\n%s", out)
	}

	sb := b.at(b.url + "/sandboxes/acme-snap")
	tok := b.exchange(sb.url+"/realms/api-keys/protocol/openid-connect/token", creds[1], creds[2])
	d := sb.mustGQL("Bearer "+tok, `{ parts(sort: [ID_ASC]) { edges { node { id partNumber description attributes { key value } } } } }`, nil)
	edges, _ := dig(d, "parts", "edges").([]any)
	if len(edges) != 3 {
		t.Fatalf("the sandbox has %d parts; want the 3 of production: %v", len(edges), d)
	}
	for i, e := range edges {
		if got := id(dig(e, "node", "id")); got != ids[i] || dig(e, "node", "partNumber") != fmt.Sprintf("PN-%d", i) {
			t.Errorf("part %d is %v; want id %d, PN-%d", i, dig(e, "node"), ids[i], i)
		}
	}
	if body := fmt.Sprint(d); strings.Contains(body, "zqxcanary") {
		t.Fatalf("the sandbox answers with production's sensitive values: %s", body)
	}
	// Production is untouched.
	d = b.mustGQL("Bearer "+prod.token, `{ parts(first: 1) { edges { node { description } } } }`, nil)
	if dig(d, "parts", "edges", 0, "node", "description") != secret {
		t.Fatalf("production's part changed: %v", d)
	}
}

// TestRestartRemovesInterruptedSnapshot starts a server on a data directory
// as a crash midway through a snapshot leaves it (the sandbox in state
// provisioning, its organization and tenant file, a half-built copy in a
// temporary file) and checks that nothing of that sandbox survives the
// start, that its request is pending again, and that approving it then
// provisions it.
func TestRestartRemovesInterruptedSnapshot(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	control := st.Control()
	if _, err := control.EnsureEnvironment(ctx, ion.Environment{Name: ion.ProductionEnvironment, Kind: ion.EnvProduction, State: "active"}); err != nil {
		t.Fatal(err)
	}
	prod, err := control.CreateOrganization(ctx, ion.Organization{Environment: ion.ProductionEnvironment, Name: "Acme", Domain: "acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	req, err := control.CreateSandboxRequest(ctx, ion.SandboxRequest{OrganizationID: prod.ID, Name: "acme-snap", Shape: ion.ShapeSnapshot,
		ServiceAccounts: []ion.ServiceAccount{{Name: "erp"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := control.CreateSandbox(ctx, ion.Sandbox{Name: "acme-snap", RequestID: req.ID, SourceOrganizationID: prod.ID,
		Shape: ion.ShapeSnapshot, State: ion.SandboxProvisioning}); err != nil {
		t.Fatal(err)
	}
	org, err := control.CreateOrganization(ctx, ion.Organization{Environment: "acme-snap", Name: "Acme", Domain: "acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	if err := control.SetSandboxOrganization(ctx, "acme-snap", org.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	half := filepath.Join(dir, "templates", ".spare.tmp-0123456789abcdef")
	if err := os.WriteFile(half, []byte("zqxcanary half-built copy"), 0o600); err != nil {
		t.Fatal(err)
	}

	r, err := Start(ctx, Config{Addr: "127.0.0.1:0", DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	b := &bundle{t: t, url: r.URL, adminToken: r.AdminToken, dataDir: dir, running: r, client: http.DefaultClient}
	if code := b.admin("GET", "/admin/v1/sandboxes/acme-snap", nil, nil); code != http.StatusNotFound {
		t.Fatalf("GET the interrupted sandbox: HTTP %d; want 404", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "tenants", org.TenantID()+".db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the interrupted sandbox's tenant file is still there (%v)", err)
	}
	if _, err := os.Stat(half); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the half-built copy is still there (%v)", err)
	}
	var res struct {
		Status  string
		Sandbox struct{ State string }
	}
	b.admin("POST", fmt.Sprintf("/admin/v1/sandbox-requests/%d/approve", req.ID), map[string]string{}, &res)
	if res.Status != "provisioned" || res.Sandbox.State != "active" {
		t.Fatalf("approving the request again: %+v", res)
	}
}

// TestSnapshotProgressAndUnreachable approves a snapshot of a 200,000-part
// organization and, while the approval runs, polls the admin API and the
// sandbox's GraphQL URL: the sandbox is provisioning, with its progress in
// GET /admin/v1/sandboxes/{name}, and GraphQL answers 503 until the copy is
// verified and in place.
func TestSnapshotProgressAndUnreachable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	prod := b.newCredential("Acme")
	db, err := sql.Open("sqlite", "file:"+filepath.Join(b.dataDir, "tenants", fmt.Sprintf("production-org-%d.db", prod.orgID))+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`INSERT INTO parts (part_number, revision, description, part_type, status, attributes, etag, created_at, updated_at)
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
		SELECT 'PN-' || i, 'A', 'secret description ' || i, 'PART', 'RELEASED', '[]', printf('%032x', i), 0, 0 FROM n`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	var req struct{ ID int64 }
	b.admin("POST", "/admin/v1/sandbox-requests", map[string]any{"organizationId": prod.orgID, "name": "big", "shape": "snapshot",
		"serviceAccounts": []map[string]string{{"name": "erp"}}}, &req)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var res struct{ Status string }
		b.admin("POST", fmt.Sprintf("/admin/v1/sandbox-requests/%d/approve", req.ID), map[string]string{}, &res)
		if res.Status != "provisioned" {
			t.Errorf("approve: %+v", res)
		}
	}()
	type progress struct {
		Phase       string
		Done, Total int64
	}
	seen := map[string]bool{}
	for polling := true; polling; {
		select {
		case <-done:
			polling = false
			continue
		case <-time.After(5 * time.Millisecond):
		}
		var sb struct {
			State    string
			Progress *progress
		}
		if code := b.admin("GET", "/admin/v1/sandboxes/big", nil, nil); code == http.StatusNotFound {
			continue // not made yet
		}
		b.admin("GET", "/admin/v1/sandboxes/big", nil, &sb)
		if sb.Progress == nil {
			continue
		}
		// Total is 0 until the rows are counted.
		if sb.State != "provisioning" || (sb.Progress.Total != 200000 && sb.Progress.Total != 0) || sb.Progress.Done > sb.Progress.Total {
			t.Errorf("while copying: state %s, progress %+v", sb.State, *sb.Progress)
		}
		seen[sb.Progress.Phase] = true
		resp, err := http.Post(b.url+"/sandboxes/big/graphql", "application/json", strings.NewReader(`{"query":"{ parts { edges { node { id } } } }"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("the sandbox's GraphQL answered %d while it was being copied; want 503 with Retry-After", resp.StatusCode)
		}
	}
	if !seen["copying"] {
		t.Fatalf("never saw the copy's progress (phases seen: %v)", seen)
	}
	var sb struct {
		State    string
		Progress *progress
	}
	b.admin("GET", "/admin/v1/sandboxes/big", nil, &sb)
	if sb.State != "active" || sb.Progress != nil {
		t.Fatalf("after approval: %+v", sb)
	}
}
