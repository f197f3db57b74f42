package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestQuickstart follows the README: organization, user and API key through
// the admin API, a token from the Keycloak-shaped endpoint, then currentUser
// and me with each Authorization header form ION clients send.
func TestQuickstart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.newCredential("Acme")
	for _, header := range []string{c.token, "Bearer " + c.token, "Token " + c.token, "bearer " + c.token} {
		d := b.mustGQL(header, `query Me { currentUser { id name email organization { id domain } } }`, nil)
		if got := dig(d, "currentUser", "email"); got != c.email {
			t.Errorf("currentUser.email with header %.12q… = %v, want %s", header, got, c.email)
		}
		if got := dig(d, "currentUser", "organization", "domain"); got != c.domain {
			t.Errorf("currentUser.organization.domain = %v, want %s", got, c.domain)
		}
	}
	d := b.mustGQL(c.token, `{ me { id permissionGroups { name } } }`, nil)
	if id(dig(d, "me", "id")) != c.userID {
		t.Errorf("me.id = %v, want %d", dig(d, "me", "id"), c.userID)
	}

	info, err := os.Stat(filepath.Join(b.dataDir, "admin-token"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("admin-token file: %v, mode %v; want mode 0600", err, info.Mode().Perm())
	}
}

func TestAuthFailuresAreReal401s(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.newCredential("Auth")
	for _, tc := range []struct {
		name, header, wantCode string
	}{
		{"missing", "", "UNAUTHENTICATED"},
		{"garbage", "Bearer not-a-token", ""},
		{"tampered", "Bearer " + c.token[:len(c.token)-4] + "AAAA", "INVALID_TOKEN"},
	} {
		r := b.gql(tc.header, `{ currentUser { id } }`, nil)
		if r.Status != http.StatusUnauthorized {
			t.Errorf("%s: HTTP %d, want 401: %s", tc.name, r.Status, r.Raw)
		}
		if tc.wantCode != "" && r.code() != tc.wantCode {
			t.Errorf("%s: code %q, want %q", tc.name, r.code(), tc.wantCode)
		}
		if r.Data != nil {
			t.Errorf("%s: data must be absent on 401: %s", tc.name, r.Raw)
		}
	}

	resp, err := http.PostForm(b.url+"/realms/api-keys/protocol/openid-connect/token",
		map[string][]string{"grant_type": {"client_credentials"}, "client_id": {c.clientID}, "client_secret": {c.secret + "x"}})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(raw), `"error":"unauthorized_client"`) {
		t.Errorf("wrong secret: HTTP %d %s; want 401 unauthorized_client", resp.StatusCode, raw)
	}
}

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	do := func(token, method, path, body string) (int, map[string]any, http.Header) {
		req, _ := http.NewRequest(method, b.url+path, bytes.NewBufferString(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m, resp.Header
	}
	for _, tc := range []struct {
		name, token, method, path, body string
		wantStatus                      int
		wantCode                        string
	}{
		{"no token", "", "GET", "/admin/v1/organizations", "", 401, "UNAUTHENTICATED"},
		{"wrong token", "nope-nope-nope-nope", "GET", "/admin/v1/organizations", "", 401, "UNAUTHENTICATED"},
		{"malformed json", b.adminToken, "POST", "/admin/v1/organizations", `{"name":`, 400, "BAD_REQUEST"},
		{"unknown field", b.adminToken, "POST", "/admin/v1/organizations", `{"name":"A","domain":"a.example","colour":"red"}`, 400, "BAD_REQUEST"},
		{"missing name", b.adminToken, "POST", "/admin/v1/organizations", `{"domain":"a.example"}`, 422, "VALIDATION_ERROR"},
		{"bad tier", b.adminToken, "POST", "/admin/v1/organizations", `{"name":"A","domain":"a.example","tier":"gold"}`, 422, "VALIDATION_ERROR"},
		{"bad org id", b.adminToken, "POST", "/admin/v1/organizations/abc/users", `{}`, 422, "VALIDATION_ERROR"},
		{"unknown org", b.adminToken, "POST", "/admin/v1/organizations/999/users", `{"name":"x","email":"x@y.example"}`, 404, "NOT_FOUND"},
		{"huge body", b.adminToken, "POST", "/admin/v1/organizations", `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "REQUEST_TOO_LARGE"},
		{"created", b.adminToken, "POST", "/admin/v1/organizations", `{"name":"A","domain":"a.example"}`, 201, ""},
		{"duplicate domain", b.adminToken, "POST", "/admin/v1/organizations", `{"name":"B","domain":"a.example"}`, 422, "VALIDATION_ERROR"},
	} {
		status, body, hdr := do(tc.token, tc.method, tc.path, tc.body)
		if status != tc.wantStatus {
			t.Errorf("%s: HTTP %d, want %d (%v)", tc.name, status, tc.wantStatus, body)
			continue
		}
		if tc.wantCode != "" {
			if body["code"] != tc.wantCode || body["detail"] == "" || hdr.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: problem %v (%s), want code %s with a detail", tc.name, body, hdr.Get("Content-Type"), tc.wantCode)
			}
		}
	}
	var list struct{ Organizations []struct{ Domain string } }
	b.admin("GET", "/admin/v1/organizations", nil, &list)
	if len(list.Organizations) != 1 || list.Organizations[0].Domain != "a.example" {
		t.Errorf("organizations after one create and one duplicate: %+v", list)
	}
}

func TestHealthAndDiscovery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for path, want := range map[string]string{
		"/healthz":                     `"ok"`,
		"/readyz":                      `"ready"`,
		"/.well-known/ion-environment": `"kind":"production"`,
		"/realms/api-keys/.well-known/openid-configuration": `"token_endpoint":"` + b.url + `/realms/api-keys/protocol/openid-connect/token"`,
		"/realms/api-keys/protocol/openid-connect/certs":    `"keys"`,
		"/schema.graphql": "createPart",
		"/metrics":        "go_goroutines",
	} {
		resp, err := http.Get(b.url + path)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(raw), want) {
			t.Errorf("GET %s: HTTP %d, body lacks %s: %.300s", path, resp.StatusCode, want, raw)
		}
	}
	resp, err := http.Get(b.url + "/sandboxes/nope/graphql")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(raw), "SANDBOX_NOT_FOUND") {
		t.Errorf("unknown sandbox: HTTP %d %s; want 404 SANDBOX_NOT_FOUND", resp.StatusCode, raw)
	}
}
