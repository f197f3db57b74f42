package server

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestCLIQuickstart runs the README's quick start with the real binary: org,
// user and API key through `ionbox … create`, then a token and currentUser.
func TestCLIQuickstart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		// The CLI reads the admin token from --data, as in the README.
		cmd.Env = append(cmd.Environ(), "IONBOX_URL="+b.url, "IONBOX_DATA="+b.dataDir, "IONBOX_ADMIN_TOKEN=")
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("ionbox %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		return string(out)
	}
	out := run("org", "create", "--name", "Acme", "--domain", "acme.example")
	if !regexp.MustCompile(`(?m)^1\s+Acme\s+acme\.example\s+standard$`).MatchString(out) {
		t.Fatalf("org create printed:\n%s", out)
	}
	out = run("user", "create", "--org", "1", "--name", "Ada Lovelace", "--email", "ada@acme.example")
	if !regexp.MustCompile(`(?m)^1\s+Ada Lovelace\s+ada@acme\.example\s+admin$`).MatchString(out) {
		t.Fatalf("user create printed:\n%s", out)
	}
	out = run("apikey", "create", "--org", "1", "--user", "1")
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, "=")
		vars[k] = v
	}
	if !strings.HasPrefix(vars["ION_CLIENT_SECRET"], "ion_prod_") || vars["ION_TOKEN_URL"] != b.url+"/realms/api-keys/protocol/openid-connect/token" {
		t.Fatalf("apikey create printed:\n%s", out)
	}
	tok := b.exchange(vars["ION_TOKEN_URL"], vars["ION_CLIENT_ID"], vars["ION_CLIENT_SECRET"])
	d := b.mustGQL("Bearer "+tok, `{ currentUser { id name email organization { id domain } } }`, nil)
	if dig(d, "currentUser", "email") != "ada@acme.example" || dig(d, "currentUser", "organization", "domain") != "acme.example" {
		t.Fatalf("currentUser: %v", d)
	}
	if out := run("org", "list", "--json"); !strings.Contains(out, `"domain": "acme.example"`) {
		t.Fatalf("org list --json printed:\n%s", out)
	}

	// The sandbox verbs: request (blank, provisioned at once), list, show,
	// checkpoint, reset, checkpoints, delete-checkpoint, events, request
	// (seeded), requests, extend, credentials, delete.
	out = run("sandbox", "request", "--org", "1", "--name", "acme-cli", "--reason", "CLI test",
		"--member", "Ada Lovelace:ada@acme.example", "--service-account", "ci")
	if !strings.Contains(out, ": provisioned") || !regexp.MustCompile(`(?m)^acme-cli\s+active\s+blank\s+`+regexp.QuoteMeta(b.url)+`/sandboxes/acme-cli`).MatchString(out) ||
		!regexp.MustCompile(`service account ci: ION_CLIENT_ID=\S+ ION_CLIENT_SECRET=ion_sbx_\S+`).MatchString(out) {
		t.Fatalf("sandbox request printed:\n%s", out)
	}
	if out := run("sandbox", "list"); !strings.Contains(out, "acme-cli") {
		t.Fatalf("sandbox list printed:\n%s", out)
	}
	if out := run("sandbox", "show", "acme-cli", "--json"); !strings.Contains(out, `"state": "active"`) {
		t.Fatalf("sandbox show --json printed:\n%s", out)
	}
	if out := run("sandbox", "checkpoint", "acme-cli", "before-import"); !strings.Contains(out, "before-import") {
		t.Fatalf("sandbox checkpoint printed:\n%s", out)
	}
	if out := run("sandbox", "reset", "acme-cli", "--checkpoint", "before-import"); !regexp.MustCompile(`(?m)^acme-cli\s+active\s+before-import`).MatchString(out) {
		t.Fatalf("sandbox reset printed:\n%s", out)
	}
	if out := run("sandbox", "checkpoints", "acme-cli"); !regexp.MustCompile(`(?m)^before-import\s+\d{4}-`).MatchString(out) {
		t.Fatalf("sandbox checkpoints printed:\n%s", out)
	}
	if out := run("sandbox", "delete-checkpoint", "acme-cli", "before-import"); !strings.Contains(out, "deleted checkpoint before-import") {
		t.Fatalf("sandbox delete-checkpoint printed:\n%s", out)
	}
	if out := run("sandbox", "events", "acme-cli"); !regexp.MustCompile(`(?m)\sreset\s+operator\s+to before-import`).MatchString(out) ||
		!strings.Contains(out, "checkpoint-deleted") {
		t.Fatalf("sandbox events printed:\n%s", out)
	}
	out = run("sandbox", "request", "--org", "1", "--name", "acme-demo", "--shape", "seeded", "--size", "small", "--service-account", "ci")
	if !regexp.MustCompile(`(?m)^acme-demo\s+active\s+seeded\s+`).MatchString(out) {
		t.Fatalf("seeded sandbox request printed:\n%s", out)
	}
	if out := run("sandbox", "requests"); !regexp.MustCompile(`(?m)^\d+\s+1\s+acme-demo\s+seeded \(small\)\s+provisioned\s+operator`).MatchString(out) {
		t.Fatalf("sandbox requests printed:\n%s", out)
	}
	if out := run("sandbox", "extend", "acme-cli", "--pinned", "--json"); !strings.Contains(out, `"pinned": true`) {
		t.Fatalf("sandbox extend printed:\n%s", out)
	}
	if out := run("sandbox", "credentials", "acme-cli", "--service-account", "ci-2"); !strings.Contains(out, "ION_CLIENT_SECRET=ion_sbx_") {
		t.Fatalf("sandbox credentials printed:\n%s", out)
	}
	if out := run("sandbox", "delete", "acme-cli"); !strings.Contains(out, "deleted acme-cli") {
		t.Fatalf("sandbox delete printed:\n%s", out)
	}

	// A wrong admin token is a clear error, not a stack trace.
	cmd := exec.Command(bin, "org", "list", "--url", b.url, "--admin-token", "wrong-token-wrong-token")
	msg, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "admin API needs") {
		t.Fatalf("wrong admin token: err %v, output:\n%s", err, msg)
	}
}
