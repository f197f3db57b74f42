package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// gqlResp is one GraphQL answer with its headers.
type gqlResp struct {
	gqlResult
	Header     http.Header
	Extensions map[string]any
}

// post sends one operation to base with token ("" for none) and decodes
// the answer, headers included.
func (b *bundle) post(base, token, query string, vars map[string]any) gqlResp {
	b.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest("POST", base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("graphql: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := gqlResp{gqlResult: gqlResult{Status: resp.StatusCode, Raw: string(raw)}, Header: resp.Header}
	if err := json.Unmarshal(raw, &out.gqlResult); err != nil {
		b.t.Fatalf("graphql answer is not JSON (HTTP %d): %s", resp.StatusCode, raw)
	}
	var ext struct{ Extensions map[string]any }
	_ = json.Unmarshal(raw, &ext)
	out.Extensions = ext.Extensions
	return out
}

// newSandboxWith requests a sandbox with extra request fields (features,
// rateLimit) and returns its service account's credential.
func (b *bundle) newSandboxWith(orgID int64, name string, extra map[string]any) sandboxCred {
	b.t.Helper()
	req := map[string]any{
		"organizationId": orgID, "name": name, "reason": "rehearse bulk operations", "shape": "blank",
		"serviceAccounts": []map[string]string{{"name": "erp-sync"}},
	}
	for k, v := range extra {
		req[k] = v
	}
	var res struct {
		Status      string
		Sandbox     struct{ Name, BaseURL, TokenURL string }
		Credentials []struct{ ServiceAccount, ClientID, ClientSecret string }
	}
	b.admin("POST", "/admin/v1/sandbox-requests", req, &res)
	if res.Status != "provisioned" || len(res.Credentials) != 1 {
		b.t.Fatalf("sandbox request: %+v", res)
	}
	sb := sandboxCred{name: name, baseURL: res.Sandbox.BaseURL, tokenURL: res.Sandbox.TokenURL,
		clientID: res.Credentials[0].ClientID, secret: res.Credentials[0].ClientSecret}
	sb.token = b.exchange(sb.tokenURL, sb.clientID, sb.secret)
	return sb
}

const (
	createInventory = `mutation($n: String!) {
		createPart(input: {partNumber: $n}) { part { id } }
	}`
	adjustMutation = `mutation($in: AdjustPartInventoriesInput!) {
		adjustPartInventories(input: $in) { dryRun partInventories { id quantity locationId status _etag } }
	}`
	cancelMutation = `mutation($in: CancelRunsInput!) {
		cancelRuns(input: $in) { count dryRun runs { id status } }
	}`
)

// inventoryRow creates a part and one inventory row of quantity 10 and
// returns the row's id and etag.
func (b *bundle) inventoryRow(base, token, partNumber string) (int64, string) {
	b.t.Helper()
	bb := b.at(base)
	part := id(dig(bb.mustGQL("Bearer "+token, createInventory, map[string]any{"n": partNumber}), "createPart", "part", "id"))
	inv := bb.mustGQL("Bearer "+token, `mutation($p: ID!) { createPartInventory(input: {partId: $p, quantity: 10}) { partInventory { id _etag } } }`,
		map[string]any{"p": part})
	return id(dig(inv, "createPartInventory", "partInventory", "id")), dig(inv, "createPartInventory", "partInventory", "_etag").(string)
}

func featuresOf(t *testing.T, b *bundle, base, token string) []string {
	t.Helper()
	r := b.post(base, token, `{ features }`, nil)
	if r.Status != 200 || len(r.Errors) > 0 {
		t.Fatalf("features: HTTP %d: %s", r.Status, r.Raw)
	}
	var out []string
	for _, f := range dig(r.Data, "features").([]any) {
		out = append(out, f.(string))
	}
	return out
}

// TestBulkOperationsFeatureFlag: the same mutation answers
// FEATURE_DISABLED in standard-tier production and in a sandbox without the
// preview flag, succeeds in a sandbox requested with it, and starts
// succeeding in a running sandbox once the operator turns the flag on.
func TestBulkOperationsFeatureFlag(t *testing.T) {
	t.Parallel()
	b := setup(t)
	prod := b.newCredential("Acme")
	preview := b.newSandboxWith(prod.orgID, "acme-preview", map[string]any{"features": []string{"bulk-operations"}})
	plain := b.newSandboxWith(prod.orgID, "acme-plain", nil)

	parts := 0
	adjust := func(base, token string) gqlResp {
		parts++
		invID, etag := b.inventoryRow(base, token, fmt.Sprintf("P-%d", parts))
		return b.post(base, token, adjustMutation, map[string]any{"in": map[string]any{
			"adjustments": []map[string]any{{"id": invID, "etag": etag, "quantity": 7}}}})
	}
	disabled := []struct {
		name, base, token string
		wantMessage       []string
	}{
		{"standard-tier production", b.url, prod.token, []string{`"bulk-operations"`, "preview", "sandbox"}},
		{"sandbox without the flag", plain.baseURL, plain.token, []string{`"bulk-operations"`, "PUT /admin/v1/sandboxes/acme-plain/features"}},
	}
	for _, c := range disabled {
		r := adjust(c.base, c.token)
		if r.Status != 200 || r.code() != "FEATURE_DISABLED" || dig(r.Data, "adjustPartInventories") != nil {
			t.Fatalf("%s: HTTP %d: %s, want FEATURE_DISABLED", c.name, r.Status, r.Raw)
		}
		for _, m := range c.wantMessage {
			if !strings.Contains(r.Errors[0].Message, m) {
				t.Errorf("%s: message %q does not say %q", c.name, r.Errors[0].Message, m)
			}
		}
		cr := b.post(c.base, c.token, cancelMutation, map[string]any{"in": map[string]any{"ids": []int{1}}})
		if cr.code() != "FEATURE_DISABLED" {
			t.Errorf("%s: cancelRuns answered %s", c.name, cr.Raw)
		}
		if got := featuresOf(t, b, c.base, c.token); len(got) != 0 {
			t.Errorf("%s: features %v, want none", c.name, got)
		}
		if h := r.Header.Values("ION-Features"); len(h) != 1 || h[0] != "" {
			t.Errorf("%s: ION-Features %q, want present and empty", c.name, h)
		}
	}

	r := adjust(preview.baseURL, preview.token)
	if r.Status != 200 || len(r.Errors) > 0 || dig(r.Data, "adjustPartInventories", "partInventories", 0, "quantity") != 7.0 {
		t.Fatalf("sandbox with the preview flag: HTTP %d: %s", r.Status, r.Raw)
	}
	if got := r.Header.Get("ION-Features"); got != "bulk-operations" {
		t.Errorf("ION-Features %q, want bulk-operations", got)
	}
	if got := featuresOf(t, b, preview.baseURL, preview.token); !slices.Equal(got, []string{"bulk-operations"}) {
		t.Errorf("features %v", got)
	}

	// Turned on for the running sandbox: no restart, same credentials.
	var sb struct{ Features []string }
	b.admin("PUT", "/admin/v1/sandboxes/acme-plain/features", map[string]any{"features": []string{"bulk-operations"}}, &sb)
	if !slices.Equal(sb.Features, []string{"bulk-operations"}) {
		t.Fatalf("sandbox after PUT features: %+v", sb)
	}
	if r := adjust(plain.baseURL, plain.token); len(r.Errors) > 0 {
		t.Fatalf("after turning the flag on: %s", r.Raw)
	}
	var env struct{ Features []string }
	resp, err := http.Get(plain.baseURL + "/.well-known/ion-environment")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&env)
	resp.Body.Close()
	if !slices.Equal(env.Features, []string{"bulk-operations"}) || resp.Header.Get("ION-Features") != "bulk-operations" {
		t.Errorf("well-known features %v, header %q", env.Features, resp.Header.Get("ION-Features"))
	}
	// And off again.
	b.admin("PUT", "/admin/v1/sandboxes/acme-plain/features", map[string]any{"features": []string{}}, &sb)
	if r := adjust(plain.baseURL, plain.token); r.code() != "FEATURE_DISABLED" {
		t.Fatalf("after turning the flag off: %s", r.Raw)
	}

	// Only declared preview flags can be chosen.
	for _, bad := range []struct {
		path string
		body map[string]any
	}{
		{"/admin/v1/sandboxes/acme-plain/features", map[string]any{"features": []string{"dark-mode"}}},
		{"/admin/v1/sandboxes/acme-plain/features", map[string]any{}},
		{"/admin/v1/sandbox-requests", map[string]any{"organizationId": prod.orgID, "name": "acme-bad", "features": []string{"dark-mode"}}},
	} {
		method := "PUT"
		if strings.HasSuffix(bad.path, "requests") {
			method = "POST"
		}
		if code := b.admin(method, bad.path, bad.body, nil); code != http.StatusUnprocessableEntity {
			t.Errorf("%s %s %v: HTTP %d, want 422", method, bad.path, bad.body, code)
		}
	}
}

// TestBulkOperationsOverHTTP: all-or-nothing on a stale etag, dry runs
// change nothing, cancelRuns by filter.
func TestBulkOperationsOverHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	prod := b.newCredential("Acme")
	sb := b.newSandboxWith(prod.orgID, "acme-bulk", map[string]any{"features": []string{"bulk-operations"}})
	s := b.at(sb.baseURL)
	tok := "Bearer " + sb.token
	id1, etag1 := b.inventoryRow(sb.baseURL, sb.token, "A-1")
	id2, etag2 := b.inventoryRow(sb.baseURL, sb.token, "A-2")
	readBack := func() string {
		d := s.mustGQL(tok, `query($a: ID!, $b: ID!) { a: partInventory(id: $a) { quantity quantityScrapped status _etag } b: partInventory(id: $b) { quantity quantityScrapped status _etag } }`,
			map[string]any{"a": id1, "b": id2})
		j, _ := json.Marshal(d)
		return string(j)
	}
	before := readBack()

	// The second row's etag is stale: CONFLICT naming it, and the first
	// row, valid on its own, is not written either.
	r := b.post(sb.baseURL, sb.token, adjustMutation, map[string]any{"in": map[string]any{"adjustments": []map[string]any{
		{"id": id1, "etag": etag1, "quantity": 3},
		{"id": id2, "etag": etag1, "scrapQuantity": 1},
	}}})
	if r.code() != "CONFLICT" || !strings.Contains(r.Errors[0].Message, "adjustments[1]") {
		t.Fatalf("stale etag: %s", r.Raw)
	}
	if got := readBack(); got != before {
		t.Fatalf("after a refused call: %s, want %s", got, before)
	}

	// A dry run reports the outcome and changes nothing.
	in := map[string]any{"adjustments": []map[string]any{
		{"id": id1, "etag": etag1, "quantity": 3},
		{"id": id2, "etag": etag2, "scrapQuantity": 10},
	}, "dryRun": true}
	r = b.post(sb.baseURL, sb.token, adjustMutation, map[string]any{"in": in})
	if len(r.Errors) > 0 || dig(r.Data, "adjustPartInventories", "dryRun") != true ||
		dig(r.Data, "adjustPartInventories", "partInventories", 0, "quantity") != 3.0 ||
		dig(r.Data, "adjustPartInventories", "partInventories", 1, "status") != "SCRAPPED" {
		t.Fatalf("dry run: %s", r.Raw)
	}
	if got := readBack(); got != before {
		t.Fatalf("after a dry run: %s, want %s", got, before)
	}
	// The same call for real.
	in["dryRun"] = false
	r = b.post(sb.baseURL, sb.token, adjustMutation, map[string]any{"in": in})
	if len(r.Errors) > 0 || dig(r.Data, "adjustPartInventories", "partInventories", 1, "status") != "SCRAPPED" {
		t.Fatalf("adjust: %s", r.Raw)
	}
	if got := readBack(); got == before || !strings.Contains(got, `"quantity":3`) {
		t.Fatalf("after the real call: %s", got)
	}

	// Runs: two TODO runs canceled by filter, dry run first.
	proc := id(dig(s.mustGQL(tok, `mutation { createProcedure(input: {title: "Assemble"}) { procedure { id } } }`, nil), "createProcedure", "procedure", "id"))
	s.mustGQL(tok, `mutation($p: ID!) { createStep(input: {procedureId: $p, title: "Only"}) { step { id } } }`, map[string]any{"p": proc})
	for range 2 {
		s.mustGQL(tok, `mutation($p: ID!) { createRun(input: {procedureId: $p}) { run { id } } }`, map[string]any{"p": proc})
	}
	sel := map[string]any{"filters": map[string]any{"status": map[string]any{"eq": "TODO"}}, "dryRun": true}
	r = b.post(sb.baseURL, sb.token, cancelMutation, map[string]any{"in": sel})
	if len(r.Errors) > 0 || dig(r.Data, "cancelRuns", "count") != 2.0 || dig(r.Data, "cancelRuns", "runs", 0, "status") != "CANCELED" {
		t.Fatalf("cancelRuns dry run: %s", r.Raw)
	}
	todo := func() float64 {
		return dig(s.mustGQL(tok, `{ runs(filters: {status: {eq: "TODO"}}) { totalCount } }`, nil), "runs", "totalCount").(float64)
	}
	if n := todo(); n != 2 {
		t.Fatalf("%v TODO runs after a dry run, want 2", n)
	}
	sel["dryRun"] = false
	r = b.post(sb.baseURL, sb.token, cancelMutation, map[string]any{"in": sel})
	if len(r.Errors) > 0 || dig(r.Data, "cancelRuns", "count") != 2.0 {
		t.Fatalf("cancelRuns: %s", r.Raw)
	}
	if n := todo(); n != 0 {
		t.Fatalf("%v TODO runs after canceling them, want 0", n)
	}
}
