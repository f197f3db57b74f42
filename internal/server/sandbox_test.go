package server

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSandboxProvisioningAndDiscovery requests a blank sandbox through the
// admin API and checks what its owner gets: a base URL, credentials of the
// sandbox kind, its own issuer and organization, and a clean delete.
func TestSandboxProvisioningAndDiscovery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	prod := b.newCredential("Acme")
	sb := b.newSandbox(prod.orgID, "acme-erp-dev")

	if want := b.url + "/sandboxes/acme-erp-dev"; sb.baseURL != want {
		t.Errorf("sandbox base URL = %s, want %s", sb.baseURL, want)
	}
	if !strings.HasPrefix(sb.secret, "ion_sbx_") || !strings.HasPrefix(prod.secret, "ion_prod_") {
		t.Errorf("secret prefixes: sandbox %.10s…, production %.10s…", sb.secret, prod.secret)
	}
	var env map[string]any
	resp, err := http.Get(sb.baseURL + "/.well-known/ion-environment")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&env)
	resp.Body.Close()
	for k, want := range map[string]any{"kind": "sandbox", "name": "acme-erp-dev", "baseUrl": sb.baseURL, "webhookMode": "sink",
		"issuer": sb.baseURL + "/realms/api-keys", "tokenUrl": sb.tokenURL, "graphqlUrl": sb.baseURL + "/graphql", "state": "active"} {
		if env[k] != want {
			t.Errorf("ion-environment %s = %v, want %v", k, env[k], want)
		}
	}
	s := b.at(sb.baseURL)
	d := s.mustGQL(sb.token, `{ currentUser { name organization { id domain } } }`, nil)
	if dig(d, "currentUser", "name") != "erp-sync" || dig(d, "currentUser", "organization", "domain") != "acme.example" {
		t.Errorf("sandbox currentUser: %v", d)
	}
	if id(dig(d, "currentUser", "organization", "id")) == prod.orgID {
		t.Errorf("the sandbox shares production's organization id %d", prod.orgID)
	}

	var list struct {
		Sandboxes []struct{ Name, State, BaseURL string }
	}
	b.admin("GET", "/admin/v1/sandboxes", nil, &list)
	if len(list.Sandboxes) != 1 || list.Sandboxes[0].Name != "acme-erp-dev" || list.Sandboxes[0].State != "active" {
		t.Errorf("GET /admin/v1/sandboxes: %+v", list)
	}
	if status := b.admin("POST", "/admin/v1/sandbox-requests", map[string]any{"organizationId": prod.orgID, "name": "acme-erp-dev"}, nil); status != 422 {
		t.Errorf("duplicate sandbox name: HTTP %d, want 422", status)
	}
	if status := b.admin("POST", "/admin/v1/sandbox-requests", map[string]any{"organizationId": prod.orgID, "name": "Bad_Name"}, nil); status != 422 {
		t.Errorf("invalid sandbox name: HTTP %d, want 422", status)
	}

	if status := b.admin("DELETE", "/admin/v1/sandboxes/acme-erp-dev", nil, nil); status != 204 {
		t.Fatalf("delete sandbox: HTTP %d", status)
	}
	r := s.gql(sb.token, `{ currentUser { id } }`, nil)
	if r.Status != 404 || r.code() != "SANDBOX_NOT_FOUND" {
		t.Errorf("deleted sandbox: HTTP %d %s, want 404 SANDBOX_NOT_FOUND", r.Status, r.Raw)
	}
}

// TestEnvironmentMismatchMessages checks the 401 an integration developer
// gets for a credential of the wrong environment, word for word, in every
// direction, at /graphql and at the token endpoint. The README's
// troubleshooting section quotes these messages.
func TestEnvironmentMismatchMessages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	prod := b.newCredential("Acme")
	dev := b.newSandbox(prod.orgID, "acme-erp-dev")
	other := b.newSandbox(prod.orgID, "acme-mes-test")

	graphql := []struct {
		name, base, token, want string
	}{
		{"production token at a sandbox", dev.baseURL, prod.token,
			`This token was issued by environment "production"; this is sandbox "acme-erp-dev". Use this sandbox's credentials.`},
		{"sandbox token at production", b.url, dev.token,
			`This token was issued by sandbox "acme-erp-dev"; this is environment "production". Use production credentials.`},
		{"sandbox token at another sandbox", other.baseURL, dev.token,
			`This token was issued by sandbox "acme-erp-dev"; this is sandbox "acme-mes-test". Use this sandbox's credentials.`},
	}
	for _, tc := range graphql {
		r := b.at(tc.base).gql("Bearer "+tc.token, `{ currentUser { id } }`, nil)
		if r.Status != 401 || r.code() != "ENVIRONMENT_MISMATCH" || len(r.Errors) == 0 || r.Errors[0].Message != tc.want {
			t.Errorf("%s: HTTP %d %s\nwant 401 ENVIRONMENT_MISMATCH %q", tc.name, r.Status, r.Raw, tc.want)
		}
	}

	tokenEndpoint := []struct {
		name, tokenURL, clientID, secret, want string
	}{
		{"production secret at a sandbox", dev.tokenURL, prod.clientID, prod.secret,
			`This client secret was issued by environment "production"; this is sandbox "acme-erp-dev". Use this sandbox's credentials.`},
		{"sandbox secret at production", b.url + "/realms/api-keys/protocol/openid-connect/token", dev.clientID, dev.secret,
			`This client secret was issued by sandbox "acme-erp-dev"; this is environment "production". Use production credentials.`},
		{"sandbox credential at another sandbox", other.tokenURL, dev.clientID, dev.secret,
			`This client id was issued by sandbox "acme-erp-dev"; this is sandbox "acme-mes-test". Use this sandbox's credentials.`},
	}
	for _, tc := range tokenEndpoint {
		resp, err := http.PostForm(tc.tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {tc.clientID}, "client_secret": {tc.secret}})
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 401 || body.Error != "unauthorized_client" || body.Description != tc.want {
			t.Errorf("%s: HTTP %d %+v\nwant 401 unauthorized_client %q", tc.name, resp.StatusCode, body, tc.want)
		}
	}
}

// TestChainInSandbox runs the core issue's end-to-end chain inside a
// sandbox through its path-based base URL and, with --sandbox-domain, its
// host-based one, and checks production saw none of it.
func TestChainInSandbox(t *testing.T) {
	t.Parallel()
	b := setupWith(t, Config{SandboxDomain: "sandbox.test"})
	prod := b.newCredential("Acme")

	_, port, _ := net.SplitHostPort(strings.TrimPrefix(b.url, "http://"))
	// Dial every *.sandbox.test host to the server, as DNS would.
	dialer := &net.Dialer{}
	hostClient := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, "127.0.0.1:"+port)
	}}}
	b.client = hostClient

	hostSB := b.newSandbox(prod.orgID, "acme-host")
	if want := "http://acme-host.sandbox.test:" + port; hostSB.baseURL != want {
		t.Fatalf("host-based base URL = %s, want %s", hostSB.baseURL, want)
	}
	runChain(t, b.at(hostSB.baseURL), hostSB.token)

	pathSB := b.newSandbox(prod.orgID, "acme-path")
	// Path-based URLs serve the same sandbox as its host-based ones.
	runChain(t, b.at(b.url+"/sandboxes/acme-path"), pathSB.token)

	if r := b.gql(prod.token, `{ parts { pageInfo { totalCount } } runs { pageInfo { totalCount } } }`, nil); dig(r.Data, "parts", "pageInfo", "totalCount") != float64(0) || dig(r.Data, "runs", "pageInfo", "totalCount") != float64(0) {
		t.Errorf("production sees sandbox data: %s", r.Raw)
	}
	resp, err := hostClient.Get("http://nope.sandbox.test:" + port + "/graphql")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(raw), "SANDBOX_NOT_FOUND") {
		t.Errorf("unknown sandbox host: HTTP %d %s", resp.StatusCode, raw)
	}
}
