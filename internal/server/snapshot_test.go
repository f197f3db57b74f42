package server

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
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
