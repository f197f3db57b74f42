package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

// TestUnmodifiedIONClientAgainstSandbox drives a sandbox the way ION's
// published Python helper (utilities/api.py) does, without changing any of
// its assumptions: HTTPS; the token endpoint at the root of the auth host
// (https://<auth-host>/realms/api-keys/protocol/openid-connect/token) with
// a form body whose audience is the API URL; the GraphQL URL built as
// urljoin(api_url, "graphql"); and the bare token in Authorization. Only
// the host names change: the sandbox's host-based URL serves as both auth
// host and API host, over a certificate from the local CA.
func TestUnmodifiedIONClientAgainstSandbox(t *testing.T) {
	t.Parallel()
	b := setupWith(t, Config{SandboxDomain: "sandbox.test", TLSSelfSigned: true})
	if !strings.HasPrefix(b.url, "https://") || b.running.CAFile == "" {
		t.Fatalf("server URL %s, CA file %q: want HTTPS with a local CA", b.url, b.running.CAFile)
	}
	caPEM, err := os.ReadFile(b.running.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA file holds no certificate")
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(b.url, "https://"))
	dialer := &net.Dialer{}
	// The client trusts only the local CA (as SSL_CERT_FILE would make it)
	// and resolves every name to the server, as DNS would.
	b.client = &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, "127.0.0.1:"+port)
		},
	}}
	prod := b.newCredential("Acme")
	sb := b.newSandbox(prod.orgID, "acme-erp-dev")
	b.at(sb.baseURL).mustGQL(sb.token, `mutation($input: CreatePartInput!) { createPart(input: $input) { part { id } } }`,
		map[string]any{"input": map[string]any{"partNumber": "SANDBOX-ONLY-1", "description": "made in the sandbox"}})
	b.mustGQL(prod.token, `mutation($input: CreatePartInput!) { createPart(input: $input) { part { id } } }`,
		map[string]any{"input": map[string]any{"partNumber": "PROD-ONLY-1", "description": "made in production"}})

	// The helper's configuration: an auth server and an API URL.
	authServer := "acme-erp-dev.sandbox.test:" + port
	apiURL := "https://acme-erp-dev.sandbox.test:" + port + "/"

	// get_access_token(): POST the form to the auth server's root realm path.
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {sb.clientID},
		"client_secret": {sb.secret}, "audience": {apiURL},
	}
	resp, err := b.client.PostForm("https://"+authServer+"/realms/api-keys/protocol/openid-connect/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	accessToken, _ := tok["access_token"].(string)
	if resp.StatusCode != 200 || accessToken == "" {
		t.Fatalf("token: HTTP %d %v", resp.StatusCode, tok)
	}

	// urljoin(api_url, "graphql"), then the bare token header.
	base, _ := url.Parse(apiURL)
	graphqlURL := base.ResolveReference(&url.URL{Path: "graphql"}).String()
	if graphqlURL != "https://acme-erp-dev.sandbox.test:"+port+"/graphql" {
		t.Fatalf("urljoin gave %s", graphqlURL)
	}
	body := `{"query": "query GetParts($filters: PartsInputFilters, $first: Int) { parts(filters: $filters, first: $first) { edges { node { id partNumber description quantity } } } }", "variables": {"filters": {"partNumber": {"ilike": "%ONLY%"}}, "first": 10}}`
	req, _ := http.NewRequest("POST", graphqlURL, strings.NewReader(body))
	req.Header.Set("Authorization", accessToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err = b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Data struct {
			Parts struct {
				Edges []struct {
					Node struct{ PartNumber string }
				}
			}
		}
		Errors []any
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(out.Errors) > 0 || len(out.Data.Parts.Edges) != 1 || out.Data.Parts.Edges[0].Node.PartNumber != "SANDBOX-ONLY-1" {
		t.Fatalf("GetParts through the unmodified client: HTTP %d %+v; want the sandbox's part only", resp.StatusCode, out)
	}
}
