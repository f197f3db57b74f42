package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// postgresURL returns ION_TEST_POSTGRES_URL, skipping the test when it is
// unset (.ci/run sets it).
func postgresURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("ION_TEST_POSTGRES_URL")
	if u == "" {
		t.Skip("ION_TEST_POSTGRES_URL is unset; set it (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run against PostgreSQL")
	}
	return u
}

// schemaPrefix returns a fresh PostgreSQL schema prefix for one test and
// drops every schema with it when the test ends.
func schemaPrefix(t *testing.T, pgURL string) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "it_rep_" + hex.EncodeToString(b[:]) + "_"
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, pgURL)
		if err != nil {
			t.Errorf("drop test schemas: %v", err)
			return
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, `SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)`, prefix)
		if err != nil {
			t.Errorf("list test schemas: %v", err)
			return
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Errorf("list test schemas: %v", err)
			return
		}
		for _, n := range names {
			// IF EXISTS: a replica that was just stopped may still be
			// dropping a schema a reset retired (see postgres.dropInBackground).
			if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{n}.Sanitize()+` CASCADE`); err != nil {
				t.Errorf("drop schema %s: %v", n, err)
			}
		}
	})
	return prefix
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TestTwoReplicasShareOnePostgres runs two real `ionbox serve` processes on
// one PostgreSQL database behind one public URL, as a load balancer would
// present them: what is created through one works through the other.
func TestTwoReplicasShareOnePostgres(t *testing.T) {
	t.Parallel()
	pg := postgresURL(t)
	prefix := schemaPrefix(t, pg)
	const publicURL = "http://ionbox.test"
	adminToken, hashKey := randomHex(32), randomHex(32)
	shared := []string{"--store", pg, "--store-schema", prefix, "--public-url", publicURL, "--admin-token", adminToken, "--hash-key", hashKey}
	r1 := startProcess(t, t.TempDir(), shared...)
	r2 := startProcess(t, t.TempDir(), shared...)

	// Each bundle talks to one replica, whatever host the URL names.
	via := func(p *process) *bundle {
		dialer := &net.Dialer{}
		client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, p.addr)
		}}}
		return &bundle{t: t, url: publicURL, adminToken: adminToken, client: client}
	}
	b1, b2 := via(r1), via(r2)

	c := b1.newCredential("Acme") // organization, user, API key and token through replica 1
	d := b2.mustGQL(c.token, `{ currentUser { email organization { domain } } }`, nil)
	if dig(d, "currentUser", "email") != c.email {
		t.Fatalf("replica 2 with replica 1's token: %v", d)
	}
	tok2 := b2.exchange(publicURL+"/realms/api-keys/protocol/openid-connect/token", c.clientID, c.secret)
	part := id(dig(b1.mustGQL(tok2, `mutation($input: CreatePartInput!) { createPart(input: $input) { part { id } } }`,
		map[string]any{"input": map[string]any{"partNumber": "REPLICA-1", "description": "written through replica 1"}}), "createPart", "part", "id"))
	d = b2.mustGQL(c.token, `query($id: ID!) { part(id: $id) { partNumber description } }`, map[string]any{"id": part})
	if dig(d, "part", "description") != "written through replica 1" {
		t.Fatalf("replica 2 reading replica 1's write: %v", d)
	}
	var orgs struct{ Organizations []struct{ Domain string } }
	b2.admin("GET", "/admin/v1/organizations", nil, &orgs)
	if len(orgs.Organizations) != 1 || orgs.Organizations[0].Domain != c.domain {
		t.Fatalf("replica 2's organizations: %+v", orgs)
	}

	sb := b1.newSandbox(c.orgID, "acme-replicated") // provisioned through replica 1
	tok := b2.exchange(sb.tokenURL, sb.clientID, sb.secret)
	sbx := b2.at(sb.baseURL)
	sbx.mustGQL(tok, `mutation($input: CreatePartInput!) { createPart(input: $input) { part { id } } }`,
		map[string]any{"input": map[string]any{"partNumber": "SBX-1"}})
	d = b1.at(sb.baseURL).mustGQL(sb.token, `{ parts { edges { node { partNumber } } pageInfo { totalCount } } }`, nil)
	if dig(d, "parts", "pageInfo", "totalCount") != float64(1) || dig(d, "parts", "edges", 0, "node", "partNumber") != "SBX-1" {
		t.Fatalf("replica 1 reading the sandbox written through replica 2: %v", d)
	}
	if r := b2.gql(sb.token, `{ currentUser { id } }`, nil); r.code() != "ENVIRONMENT_MISMATCH" {
		t.Fatalf("sandbox token at production through replica 2: %s", r.Raw)
	}

	// A checkpoint through replica 1 and a reset through replica 2 are
	// seen through both.
	b1.admin("POST", "/admin/v1/sandboxes/acme-replicated/checkpoints", map[string]any{"name": "one-part"}, &struct{}{})
	sbx.mustGQL(tok, `mutation($input: CreatePartInput!) { createPart(input: $input) { part { id } } }`,
		map[string]any{"input": map[string]any{"partNumber": "SBX-2"}})
	for _, step := range []struct {
		body any
		want float64
	}{{map[string]any{"checkpoint": "one-part"}, 1}, {nil, 0}} {
		var reset struct{ State string }
		if status := b2.admin("POST", "/admin/v1/sandboxes/acme-replicated/reset", step.body, &reset); status != 200 || reset.State != "active" {
			t.Fatalf("reset %v through replica 2: HTTP %d %+v", step.body, status, reset)
		}
		d = b1.at(sb.baseURL).mustGQL(sb.token, `{ parts { pageInfo { totalCount } } }`, nil)
		if got := dig(d, "parts", "pageInfo", "totalCount"); got != step.want {
			t.Fatalf("replica 1 after reset %v through replica 2: %v parts, want %v", step.body, got, step.want)
		}
	}
}
