package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bundle is a running server and an HTTP client for it.
type bundle struct {
	t          *testing.T
	url        string
	adminToken string
	dataDir    string
	running    *Running
	client     *http.Client // http.DefaultClient unless a test dials by Host
}

// setup starts a real server on a free port with its own data directory.
func setup(t *testing.T) *bundle {
	t.Helper()
	return setupWith(t, Config{})
}

// setupWith starts a real server with cfg; Addr, DataDir and Logger are
// filled in.
func setupWith(t *testing.T, cfg Config) *bundle {
	t.Helper()
	dir := t.TempDir()
	cfg.Addr, cfg.DataDir = "127.0.0.1:0", dir
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Errorf("stop server: %v", err)
		}
	})
	return &bundle{t: t, url: r.URL, adminToken: r.AdminToken, dataDir: dir, running: r, client: http.DefaultClient}
}

// admin calls the admin API and decodes a 2xx answer into out.
func (b *bundle) admin(method, path string, body, out any) int {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, b.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+b.adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			b.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	if resp.StatusCode >= 300 && out != nil {
		b.t.Fatalf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode
}

// credential is an organization, a user in it and a token that acts as them.
type credential struct {
	orgID, userID        int64
	clientID, secret     string
	token, domain, email string
}

// newCredential creates an organization, an admin user and an API key
// through the admin API, and exchanges the key for a token.
func (b *bundle) newCredential(name string) credential {
	b.t.Helper()
	var org struct{ ID int64 }
	domain := strings.ToLower(name) + ".example"
	b.admin("POST", "/admin/v1/organizations", map[string]string{"name": name, "domain": domain}, &org)
	var user struct{ ID int64 }
	email := "dev@" + domain
	b.admin("POST", fmt.Sprintf("/admin/v1/organizations/%d/users", org.ID), map[string]any{"name": name + " Dev", "email": email}, &user)
	var key struct{ ClientID, ClientSecret, TokenURL string }
	b.admin("POST", fmt.Sprintf("/admin/v1/organizations/%d/api-keys", org.ID), map[string]any{"userId": user.ID}, &key)
	c := credential{orgID: org.ID, userID: user.ID, clientID: key.ClientID, secret: key.ClientSecret, domain: domain, email: email}
	c.token = b.exchange(key.TokenURL, c.clientID, c.secret)
	return c
}

// exchange runs the client-credentials grant as the vendor scripts do: a
// form body with audience set to the API URL.
func (b *bundle) exchange(tokenURL, clientID, secret string) string {
	b.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "audience": {b.url}}
	resp, err := b.client.PostForm(tokenURL, form)
	if err != nil {
		b.t.Fatalf("token: %v", err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(raw, &tok) != nil || tok.AccessToken == "" {
		b.t.Fatalf("token endpoint: HTTP %d: %s", resp.StatusCode, raw)
	}
	return tok.AccessToken
}

// gqlResult is a GraphQL answer.
type gqlResult struct {
	Status int
	Data   map[string]any
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	}
	Raw string
}

// code is the first error's extensions.code, or "".
func (r gqlResult) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// gql posts one operation with the bare token in Authorization, as the
// vendor scripts send it.
func (b *bundle) gql(token, query string, vars map[string]any) gqlResult {
	b.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest("POST", b.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("graphql: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := gqlResult{Status: resp.StatusCode, Raw: string(raw)}
	if err := json.Unmarshal(raw, &r); err != nil {
		b.t.Fatalf("graphql answer is not JSON (HTTP %d): %s", resp.StatusCode, raw)
	}
	return r
}

// mustGQL fails the test on any GraphQL error.
func (b *bundle) mustGQL(token, query string, vars map[string]any) map[string]any {
	b.t.Helper()
	r := b.gql(token, query, vars)
	if r.Status != 200 || len(r.Errors) > 0 {
		b.t.Fatalf("graphql failed (HTTP %d): %s\nquery: %s\nvars: %v", r.Status, r.Raw, query, vars)
	}
	return r.Data
}

// at returns a copy of b that talks to another base URL (a sandbox's).
func (b *bundle) at(baseURL string) *bundle {
	c := *b
	c.url = strings.TrimRight(baseURL, "/")
	return &c
}

// sandbox is a provisioned sandbox and one service account's credential.
type sandboxCred struct {
	name, baseURL, tokenURL string
	clientID, secret, token string
}

// newSandbox requests a blank sandbox for organization orgID through the
// admin API (auto-approved) and exchanges its service account's credential.
func (b *bundle) newSandbox(orgID int64, name string) sandboxCred {
	b.t.Helper()
	var res struct {
		Status      string
		Sandbox     struct{ Name, BaseURL, TokenURL string }
		Credentials []struct{ ServiceAccount, ClientID, ClientSecret string }
	}
	b.admin("POST", "/admin/v1/sandbox-requests", map[string]any{
		"organizationId": orgID, "name": name, "reason": "build the ERP integration", "integration": "erp",
		"shape": "blank", "members": []map[string]string{{"name": "Dev", "email": "dev@" + name + ".example"}},
		"serviceAccounts": []map[string]string{{"name": "erp-sync"}},
	}, &res)
	if res.Status != "provisioned" || len(res.Credentials) != 1 {
		b.t.Fatalf("sandbox request: %+v", res)
	}
	sb := sandboxCred{name: name, baseURL: res.Sandbox.BaseURL, tokenURL: res.Sandbox.TokenURL,
		clientID: res.Credentials[0].ClientID, secret: res.Credentials[0].ClientSecret}
	sb.token = b.exchange(sb.tokenURL, sb.clientID, sb.secret)
	return sb
}

// dig walks a decoded JSON value: dig(v, "createPart", "part", "id").
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// id reads a JSON number id.
func id(v any) int64 {
	f, ok := v.(float64)
	if !ok {
		return 0
	}
	return int64(f)
}

// tryGQL posts one operation and returns its data, or an error when the
// server cannot be reached or answered with errors.
func tryGQL(baseURL, token, query string, vars map[string]any) (map[string]any, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest("POST", baseURL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := loadClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests {
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return nil, rateLimitedError{retryAfter: time.Duration(max(secs, 1)) * time.Second}
	}
	var r struct {
		Data   map[string]any
		Errors []any
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if len(r.Errors) > 0 {
		return nil, fmt.Errorf("graphql errors: %v", r.Errors)
	}
	return r.Data, nil
}

// rateLimitedError is tryGQL's error for a 429: the caller may retry
// after retryAfter, as a well-behaved client does.
type rateLimitedError struct{ retryAfter time.Duration }

func (e rateLimitedError) Error() string {
	return fmt.Sprintf("rate limited; retry after %v", e.retryAfter)
}

// loadClient keeps an idle connection for each concurrent client of a load
// test instead of opening a new one per request.
var loadClient = &http.Client{Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}}
