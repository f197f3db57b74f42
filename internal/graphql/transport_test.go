package graphql

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ionbox/ionbox/ion"
)

func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOptions{noActor: true})
	r := b.post(`{ currentUser { id } }`, nil)
	if r.status != http.StatusUnauthorized || r.code() != ion.EUNAUTHENTICATED {
		t.Fatalf("status %d body %s, want 401 UNAUTHENTICATED", r.status, r.raw)
	}
}

func TestGET(t *testing.T) {
	t.Parallel()
	b := setup(t)
	get := func(params url.Values) *gqlResponse {
		req, err := http.NewRequest(http.MethodGet, b.srv.URL+"/graphql?"+params.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return b.send(req)
	}
	r := get(url.Values{"query": {`query Me($n: Int) { currentUser { id } parts(first: $n) { totalCount } }`}, "variables": {`{"n": 1}`}, "operationName": {"Me"}})
	if r.status != http.StatusOK || r.code() != "" {
		t.Fatalf("GET query: %d %s", r.status, r.raw)
	}
	if diff := cmp.Diff(decodeJSON(t, `{"currentUser":{"id":1},"parts":{"totalCount":0}}`), r.Data); diff != "" {
		t.Errorf("GET data (-want +got):\n%s", diff)
	}

	r = get(url.Values{"query": {`mutation { createPart(input: {partNumber: "G-1"}) { part { id } } }`}})
	if r.status != http.StatusMethodNotAllowed || r.code() != ion.EBADREQUEST || r.header.Get("Allow") != "POST" {
		t.Errorf("GET mutation: %d %v %s", r.status, r.header, r.raw)
	}
	if !strings.Contains(r.Errors[0].Message, "send it with POST") {
		t.Errorf("GET mutation message %q", r.Errors[0].Message)
	}
	if calls := b.stores.calls(); calls["CreatePart"] != 0 {
		t.Errorf("a mutation over GET reached the store: %v", calls)
	}
	if r = get(url.Values{"query": {`{ currentUser { id } }`}, "variables": {`[1]`}}); r.status != http.StatusBadRequest || !strings.Contains(r.Errors[0].Message, "variables: must be a JSON object") {
		t.Errorf("GET bad variables: %d %s", r.status, r.raw)
	}
	if r = get(url.Values{}); r.status != http.StatusBadRequest || !strings.Contains(r.Errors[0].Message, "query: is required") {
		t.Errorf("GET without query: %d %s", r.status, r.raw)
	}
}

func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, c := range []struct {
		name, contentType, body string
		method                  string
		wantStatus              int
		wantCode, wantMessage   string
	}{
		{"malformed JSON", "application/json", `{"query": `, "", 400, ion.EBADREQUEST, "not valid JSON"},
		{"trailing garbage", "application/json", `{"query": "{ currentUser { id } }"} x`, "", 400, ion.EBADREQUEST, "unexpected data"},
		{"not an object", "application/json", `"{ currentUser { id } }"`, "", 400, ion.EBADREQUEST, "must be a JSON object"},
		{"query not a string", "application/json", `{"query": 5}`, "", 400, ion.EBADREQUEST, "query: must be a string"},
		{"variables not an object", "application/json", `{"query": "{ currentUser { id } }", "variables": [1]}`, "", 400, ion.EBADREQUEST, "variables: must be a JSON object"},
		{"operationName not a string", "application/json", `{"query": "{ currentUser { id } }", "operationName": {}}`, "", 400, ion.EBADREQUEST, "operationName: must be a string"},
		{"missing query", "application/json", `{"variables": {}}`, "", 400, ion.EBADREQUEST, "query: is required"},
		{"empty body", "application/json", ``, "", 400, ion.EBADREQUEST, "body is empty"},
		{"empty batch", "application/json", `[]`, "", 400, ion.EBADREQUEST, "batch is empty"},
		{"bad batch item", "application/json", `[{"query": "{ currentUser { id } }"}, {"query": 1}]`, "", 400, ion.EBADREQUEST, "Batch item 1: query: must be a string"},
		{"unknown content type", "text/plain", `{"query": "{ currentUser { id } }"}`, "", 415, ion.EBADREQUEST, "not supported"},
		{"PUT", "application/json", `{"query": "{ currentUser { id } }"}`, http.MethodPut, 405, ion.EBADREQUEST, "Method PUT is not allowed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			method := c.method
			if method == "" {
				method = http.MethodPost
			}
			req, err := http.NewRequest(method, b.srv.URL+"/graphql", strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", c.contentType)
			saved := b.t
			b.t = t
			r := b.send(req)
			b.t = saved
			if r.status != c.wantStatus || r.code() != c.wantCode || !strings.Contains(r.Errors[0].Message, c.wantMessage) {
				t.Errorf("got %d %s, want %d %s containing %q", r.status, r.raw, c.wantStatus, c.wantCode, c.wantMessage)
			}
			// Every non-200 answer is GraphQL-shaped: errors only.
			var shape map[string]json.RawMessage
			if err := json.Unmarshal(r.raw, &shape); err != nil || len(shape) != 1 || shape["errors"] == nil {
				t.Errorf("body %s is not {\"errors\": [...]}", r.raw)
			}
		})
	}
	// Graphene's clients also post the query itself as application/graphql,
	// and some send double-encoded variables.
	r := b.postRaw("application/graphql", []byte(`{ currentUser { id } }`))
	if r.status != 200 || r.code() != "" {
		t.Errorf("application/graphql: %d %s", r.status, r.raw)
	}
	r = b.postRaw("", []byte(`{"query": "query($n: Int) { parts(first: $n) { totalCount } }", "variables": "{\"n\": 2}"}`))
	if r.status != 200 || r.code() != "" {
		t.Errorf("no Content-Type, string variables: %d %s", r.status, r.raw)
	}
}

func TestGraphQLErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.run(t, []scenario{{
		name:        "parse error",
		query:       `{ parts { `,
		wantCode:    "GRAPHQL_PARSE_FAILED",
		wantMessage: "Expected Name",
	}, {
		name:        "unknown field",
		query:       `{ parts { edges { node { nope } } } }`,
		wantCode:    "GRAPHQL_VALIDATION_FAILED",
		wantMessage: `Cannot query field "nope" on type "Part"`,
	}, {
		name:        "wrong variable type",
		query:       `query($n: Int) { parts(first: $n) { totalCount } }`,
		variables:   `{"n": "ten"}`,
		wantCode:    "GRAPHQL_VALIDATION_FAILED",
		wantMessage: "cannot use string as Int",
	}, {
		name:        "unknown input field",
		query:       `mutation($input: CreatePartInput!) { createPart(input: $input) { part { id } } }`,
		variables:   `{"input": {"partNumber": "U-1", "colour": "red"}}`,
		wantCode:    "GRAPHQL_VALIDATION_FAILED",
		wantMessage: "unknown field",
	}, {
		name:        "missing required input field",
		query:       `mutation($input: CreatePartInput!) { createPart(input: $input) { part { id } } }`,
		variables:   `{"input": {"description": "no number"}}`,
		wantCode:    "GRAPHQL_VALIDATION_FAILED",
		wantMessage: "must be defined",
	}, {
		name:        "a bad enum value",
		query:       `mutation($input: CreatePartInput!) { createPart(input: $input) { part { id } } }`,
		variables:   `{"input": {"partNumber": "U-2", "trackingType": "BARCODE"}}`,
		wantCode:    "GRAPHQL_VALIDATION_FAILED",
		wantMessage: "BARCODE is not a valid TrackingTypeEnum",
	}, {
		name:        "not found, with path and partial data",
		query:       `{ part(id: 999) { id } currentUser { id } }`,
		wantCode:    ion.ENOTFOUND,
		wantMessage: "999",
		wantJSON:    `{"part":null,"currentUser":{"id":1}}`,
	}})
	r := b.post(`{ part(id: 999) { id } }`, nil)
	if got := r.Errors[0].Path; len(got) != 1 || got[0] != "part" {
		t.Errorf("path %v, want [part]", got)
	}
	if calls := b.stores.calls(); calls["CreatePart"] != 0 {
		t.Errorf("refused mutations reached the store: %v", calls)
	}
}

func TestBatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	batch := `[
		{"query": "mutation($n: String!) { createPart(input: {partNumber: $n}) { part { id partNumber } } }", "variables": {"n": "B-1"}},
		{"query": "{ parts { edges { node { partNumber } } } }"},
		{"query": "{ part(id: 42) { id } }"},
		{"query": "query Two { me { id } } query One { currentUser { email } }", "operationName": "One"}
	]`
	r := b.postRaw("application/json", []byte(batch))
	if r.status != http.StatusOK {
		t.Fatalf("status %d %s", r.status, r.raw)
	}
	var got []map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.raw))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("batch answer %s: %v", r.raw, err)
	}
	// extensions.cost: a mutation's root field adds 10 to its two objects;
	// parts without first may return 1000 nodes (requested 1 + 1000) but
	// returned one (actual 1 + 1). No cost budget is attached here, so no
	// throttleStatus.
	want := decodeJSON(t, `[
		{"data": {"createPart": {"part": {"id": 1, "partNumber": "B-1"}}},
		 "extensions": {"cost": {"requestedQueryCost": 12, "actualQueryCost": 12, "throttleStatus": null}}},
		{"data": {"parts": {"edges": [{"node": {"partNumber": "B-1"}}]}},
		 "extensions": {"cost": {"requestedQueryCost": 1001, "actualQueryCost": 2, "throttleStatus": null}}},
		{"data": {"part": null}, "errors": [{"message": "part 42 not found.", "path": ["part"], "locations": [{"line": 1, "column": 3}], "extensions": {"code": "NOT_FOUND"}}],
		 "extensions": {"cost": {"requestedQueryCost": 1, "actualQueryCost": 1, "throttleStatus": null}}},
		{"data": {"currentUser": {"email": "ada@acme.example"}},
		 "extensions": {"cost": {"requestedQueryCost": 1, "actualQueryCost": 1, "throttleStatus": null}}}
	]`)
	gotAny := decodeJSON(t, string(r.raw))
	if diff := cmp.Diff(want, gotAny); diff != "" {
		t.Errorf("batch (-want +got):\n%s", diff)
	}
}

func TestAutomaticPersistedQueries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	query := `{ currentUser { id email } }`
	sum := sha256.Sum256([]byte(query))
	hash := hex.EncodeToString(sum[:])
	ext := `"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "` + hash + `"}}`

	r := b.postRaw("application/json", []byte(`{`+ext+`}`))
	if r.status != 200 || r.code() != ion.EPERSISTEDNOTFOUND {
		t.Fatalf("unknown hash: %d %s", r.status, r.raw)
	}
	r = b.postRaw("application/json", []byte(`{"query": "`+query+`", `+ext+`}`))
	if r.status != 200 || r.code() != "" {
		t.Fatalf("register: %d %s", r.status, r.raw)
	}
	want := decodeJSON(t, `{"currentUser":{"id":1,"email":"ada@acme.example"}}`)
	r = b.postRaw("application/json", []byte(`{`+ext+`}`))
	if diff := cmp.Diff(want, r.Data); r.code() != "" || diff != "" {
		t.Fatalf("by hash: %s\n%s", r.raw, diff)
	}
	req, _ := http.NewRequest(http.MethodGet, b.srv.URL+"/graphql?"+url.Values{"extensions": {`{"persistedQuery": {"version": 1, "sha256Hash": "` + hash + `"}}`}}.Encode(), nil)
	if r = b.send(req); r.code() != "" || cmp.Diff(want, r.Data) != "" {
		t.Fatalf("by hash over GET: %s", r.raw)
	}
	r = b.postRaw("application/json", []byte(`{"query": "{ me { id } }", `+ext+`}`))
	if r.status != 200 || r.code() != ion.EBADREQUEST || !strings.Contains(r.Errors[0].Message, "hash does not match") {
		t.Errorf("mismatched hash: %d %s", r.status, r.raw)
	}
}

// TestClientGone: a request whose client has gone is abandoned quietly.
func TestClientGone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithCancel(ion.WithActor(t.Context(), b.actor))
	cancel()
	body := `[{"query": "{ currentUser { id } }"}, {"query": "{ parts { totalCount } }"}]`
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	if rec.Body.Len() != 0 && rec.Code != http.StatusOK {
		t.Errorf("answer to a gone client: %d %s", rec.Code, rec.Body)
	}
}
