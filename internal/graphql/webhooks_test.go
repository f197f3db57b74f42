package graphql

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ionbox/ionbox/internal/auth"
	"github.com/ionbox/ionbox/internal/sqlite"
	"github.com/ionbox/ionbox/ion"
)

// setupEnvironment is setup with the actor in environment env of kind
// (production, or a sandbox whose webhooks default to the sink).
func setupEnvironment(t *testing.T, env, kind string) *bundle {
	t.Helper()
	ctx := t.Context()
	raw, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatalf("open stores: %v", err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	control := raw.Control()
	if _, err := control.EnsureEnvironment(ctx, ion.Environment{Name: env, Kind: kind, State: "active", WebhookMode: ion.DefaultWebhookMode(kind)}); err != nil {
		t.Fatalf("environment: %v", err)
	}
	org, err := control.CreateOrganization(ctx, ion.Organization{Environment: env, Name: "Acme", Domain: "acme.example", Tier: ion.TierStandard})
	if err != nil {
		t.Fatalf("organization: %v", err)
	}
	user, err := control.CreateUser(ctx, ion.User{OrganizationID: org.ID, Name: "Ada", Email: "ada@acme.example", Active: true, Roles: []string{"admin"}})
	if err != nil {
		t.Fatalf("user: %v", err)
	}
	keys, err := auth.New(auth.Config{Control: control, HashKey: bytes.Repeat([]byte("k"), 32)})
	if err != nil {
		t.Fatalf("auth: %v", err)
	}
	stores := &countingStores{Stores: raw, counts: map[string]int{}}
	h, err := NewHandler(Config{Stores: stores, APIKeys: keys, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	actor := ion.Actor{Environment: env, Organization: org, User: user}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(ion.WithActor(r.Context(), actor)))
	}))
	t.Cleanup(srv.Close)
	ts, err := raw.Tenant(ctx, org.TenantID())
	if err != nil {
		t.Fatalf("tenant: %v", err)
	}
	return &bundle{t: t, h: h, srv: srv, stores: stores, actor: actor, ts: ts}
}

// path reads a value out of decoded data: path(data, "a", "b", 0, "c").
func path(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

const createReceiver = `mutation($input: CreateWebhookReceiverInput!) {
  createWebhookReceiver(input: $input) { webhookReceiver { id _etag name url sharedSecret expectedResponseCode deliveryMode status headers { key value } } }
}`

func TestWebhookDeliveryModeByEnvironment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		kind      string
		mode      any // deliveryMode in the input; nil leaves it out
		wantMode  string
		wantCode  string
		wantField string
	}{
		{"production defaults to LIVE", ion.EnvProduction, nil, "LIVE", "", ""},
		{"production accepts LIVE", ion.EnvProduction, "LIVE", "LIVE", "", ""},
		{"production refuses SINK", ion.EnvProduction, "SINK", "", ion.EVALIDATION, "deliveryMode"},
		{"sandbox defaults to SINK", ion.EnvSandbox, nil, "SINK", "", ""},
		{"sandbox may go LIVE", ion.EnvSandbox, "live", "LIVE", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := ion.ProductionEnvironment
			if tc.kind == ion.EnvSandbox {
				env = "acme-dev"
			}
			b := setupEnvironment(t, env, tc.kind)
			input := map[string]any{"url": "https://hooks.example/in"}
			if tc.mode != nil {
				input["deliveryMode"] = tc.mode
			}
			r := b.post(createReceiver, map[string]any{"input": input})
			if tc.wantCode != "" {
				if r.code() != tc.wantCode || !strings.HasPrefix(r.Errors[0].Message, tc.wantField+": ") {
					t.Fatalf("answer %s, want %s naming %s", r.raw, tc.wantCode, tc.wantField)
				}
				return
			}
			if len(r.Errors) > 0 {
				t.Fatalf("answer %s", r.raw)
			}
			rcv := path(r.Data, "createWebhookReceiver", "webhookReceiver")
			if got := str(path(rcv, "deliveryMode")); got != tc.wantMode {
				t.Fatalf("deliveryMode %s, want %s (%s)", got, tc.wantMode, r.raw)
			}
			if len(str(path(rcv, "sharedSecret"))) < 32 || str(path(rcv, "expectedResponseCode")) != "200" || str(path(rcv, "status")) != "ACTIVE" {
				t.Fatalf("receiver %s, want a generated secret, 200, ACTIVE", r.raw)
			}
		})
	}
}

func TestWebhookProductionRules(t *testing.T) {
	t.Parallel()
	b := setupEnvironment(t, ion.ProductionEnvironment, ion.EnvProduction)
	rcv := path(b.mustData(createReceiver, map[string]any{"input": map[string]any{"url": "https://hooks.example/in"}}), "createWebhookReceiver", "webhookReceiver")
	r := b.post(`mutation($id: ID!, $etag: String!) { updateWebhookReceiver(input: {id: $id, etag: $etag, deliveryMode: SINK}) { webhookReceiver { id } } }`,
		map[string]any{"id": path(rcv, "id"), "etag": path(rcv, "_etag")})
	if r.code() != ion.EVALIDATION || !strings.HasPrefix(r.Errors[0].Message, "deliveryMode: ") {
		t.Fatalf("switching a production receiver to SINK: %s, want VALIDATION_ERROR naming deliveryMode", r.raw)
	}
	r = b.post(`mutation { fireWebhookEvent(input: {resource: PART, action: CREATE, objectId: 1}) { webhookEvents { id } } }`, nil)
	if r.code() != ion.EFORBIDDEN || !strings.Contains(r.Errors[0].Message, "sandboxes only") {
		t.Fatalf("fireWebhookEvent in production: %s, want FORBIDDEN saying sandboxes only", r.raw)
	}
	// A LIVE production receiver's events are PENDING for the dispatcher.
	b.mustData(`mutation($r: ID!) { createWebhookSubscription(input: {receiverId: $r, resource: PARTS, action: CREATE}) { webhookSubscription { id } } }`,
		map[string]any{"r": path(rcv, "id")})
	b.mustData(`mutation { createPart(input: {partNumber: "P-1"}) { part { id } } }`, nil)
	ev := b.mustData(`{ webhookEvents { totalCount edges { node { status deliveryMode attempts payload } } } }`, nil)
	node := path(ev, "webhookEvents", "edges", 0, "node")
	if str(path(node, "status")) != "PENDING" || str(path(node, "deliveryMode")) != "LIVE" || !strings.Contains(str(path(node, "payload")), `"environment":"production"`) {
		t.Fatalf("production event %v, want PENDING LIVE with environment production", node)
	}
}

func TestWebhookSandboxSinkLog(t *testing.T) {
	t.Parallel()
	b := setupEnvironment(t, "acme-dev", ion.EnvSandbox)
	rcv := path(b.mustData(createReceiver, map[string]any{"input": map[string]any{"name": "ERP", "url": "https://erp.example/hook",
		"sharedSecret": "s3cret-s3cret", "headers": []any{map[string]any{"key": "X-Team", "value": "erp"}}}}), "createWebhookReceiver", "webhookReceiver")
	if str(path(rcv, "sharedSecret")) != "s3cret-s3cret" || str(path(rcv, "headers", 0, "key")) != "X-Team" || str(path(rcv, "deliveryMode")) != "SINK" {
		t.Fatalf("receiver %v", rcv)
	}
	rid := path(rcv, "id")
	// Plural resources in literals and in variables, enums in any case.
	sub := b.mustData(`mutation($r: ID!) { createWebhookSubscription(input: {receiverId: $r, resource: PARTS, action: CREATE}) {
		webhookSubscription { id resource action receiverId receiver { name } } } }`, map[string]any{"r": rid})
	if s := path(sub, "createWebhookSubscription", "webhookSubscription"); str(path(s, "resource")) != "PART" || str(path(s, "receiver", "name")) != "ERP" {
		t.Fatalf("subscription %v, want PART of receiver ERP", s)
	}
	b.mustData(`mutation($r: ID!, $res: ResourceEnum!) { createWebhookSubscription(input: {receiverId: $r, resource: $res, action: UPDATE}) { webhookSubscription { id } } }`,
		map[string]any{"r": rid, "res": "part_inventories"})
	r := b.post(`mutation($r: ID!) { createWebhookSubscription(input: {receiverId: $r, resource: PART, action: CREATE}) { webhookSubscription { id } } }`, map[string]any{"r": rid})
	if r.code() != ion.EVALIDATION {
		t.Fatalf("duplicate subscription: %s, want VALIDATION_ERROR", r.raw)
	}

	part := path(b.mustData(`mutation { createPart(input: {partNumber: "P-1", description: "bolt"}) { part { id } } }`, nil), "createPart", "part", "id")
	const events = `query($f: WebhookEventsInputFilters) { webhookEvents(filters: $f) { totalCount edges { node {
		id eventId webhookId receiverId resource action objectId timestamp payload data status deliveryMode attempts lastStatusCode lastError } } } }`
	got := b.mustData(events, map[string]any{"f": map[string]any{"resource": map[string]any{"eq": "PARTS"}, "action": map[string]any{"eq": "CREATE"}}})
	if n := str(path(got, "webhookEvents", "totalCount")); n != "1" {
		t.Fatalf("%s PART CREATE events, want 1: %v", n, got)
	}
	node := path(got, "webhookEvents", "edges", 0, "node")
	if str(path(node, "status")) != "SINK" || str(path(node, "objectId")) != str(part) || str(path(node, "webhookId")) != str(rid) || str(path(node, "resource")) != "PART" {
		t.Fatalf("event %v, want a SINK PART event about part %v for receiver %v", node, part, rid)
	}
	var payload struct {
		EventID     json.Number `json:"event_id"`
		ID          json.Number `json:"id"`
		Environment string      `json:"environment"`
		Data        struct {
			New map[string]any `json:"new"`
		} `json:"data"`
	}
	dec := json.NewDecoder(strings.NewReader(str(path(node, "payload"))))
	dec.UseNumber()
	if err := dec.Decode(&payload); err != nil {
		t.Fatalf("payload %v: %v", path(node, "payload"), err)
	}
	if payload.Environment != "sandbox/acme-dev" || payload.ID.String() != str(part) || payload.EventID.String() != str(path(node, "eventId")) ||
		payload.Data.New["partNumber"] != "P-1" || payload.Data.New["description"] != "bolt" {
		t.Fatalf("payload %+v", payload)
	}

	// Filters: status, receiver, a time range after the event, and none.
	for _, tc := range []struct {
		name    string
		filters map[string]any
		want    string
	}{
		{"by status", map[string]any{"status": map[string]any{"eq": "sink"}}, "1"},
		{"by receiver", map[string]any{"receiverId": map[string]any{"eq": rid}}, "1"},
		{"other receiver", map[string]any{"webhookId": map[string]any{"eq": 999}}, "0"},
		{"after the event", map[string]any{"timestamp": map[string]any{"gt": "2100-01-01T00:00:00Z"}}, "0"},
		{"before now", map[string]any{"timestamp": map[string]any{"lt": "2100-01-01T00:00:00Z"}}, "1"},
		{"other resource", map[string]any{"resource": map[string]any{"eq": "RUN"}}, "0"},
	} {
		if n := str(path(b.mustData(events, map[string]any{"f": tc.filters}), "webhookEvents", "totalCount")); n != tc.want {
			t.Errorf("%s: %s events, want %s", tc.name, n, tc.want)
		}
	}

	// fireWebhookEvent sends the object's current state.
	fired := b.mustData(`mutation($id: ID!) { fireWebhookEvent(input: {resource: PARTS, action: CREATE, objectId: $id}) {
		webhookEvents { resource action objectId data status } } }`, map[string]any{"id": part})
	fe := path(fired, "fireWebhookEvent", "webhookEvents", 0)
	if str(path(fe, "resource")) != "PART" || str(path(fe, "status")) != "SINK" || !strings.Contains(str(path(fe, "data")), `"partNumber":"P-1"`) {
		t.Fatalf("fired event %v, want PART CREATE with the part's state", fired)
	}
	if n := str(path(b.mustData(`{ webhookEvents { totalCount } }`, nil), "webhookEvents", "totalCount")); n != "2" {
		t.Fatalf("%s events after firing one, want 2", n)
	}
	if n := str(path(b.mustData(`mutation { fireWebhookEvent(input: {resource: RUN, action: DELETE, objectId: 5}) { webhookEvents { id } } }`, nil),
		"fireWebhookEvent", "webhookEvents")); n != "[]" {
		t.Fatalf("an event nobody subscribed to was delivered: %s", n)
	}
}

func TestWebhookReceiverHeadersAndLists(t *testing.T) {
	t.Parallel()
	b := setupEnvironment(t, "acme-dev", ion.EnvSandbox)
	rcv := path(b.mustData(createReceiver, map[string]any{"input": map[string]any{"url": "https://erp.example/hook"}}), "createWebhookReceiver", "webhookReceiver")
	rid := path(rcv, "id")
	const add = `mutation($r: ID!, $k: String!, $v: String!) { addHeaderToWebhookReceiver(input: {receiverId: $r, key: $k, value: $v}) { webhookReceiver { _etag headers { key value } } } }`
	const remove = `mutation($r: ID!, $k: String!) { removeHeaderFromWebhookReceiver(input: {receiverId: $r, key: $k}) { webhookReceiver { headers { key } } } }`
	b.mustData(add, map[string]any{"r": rid, "k": "X-A", "v": "1"})
	h := b.mustData(add, map[string]any{"r": rid, "k": "X-B", "v": "2"})
	if got := str(path(h, "addHeaderToWebhookReceiver", "webhookReceiver", "headers")); got != `[{"key":"X-A","value":"1"},{"key":"X-B","value":"2"}]` {
		t.Fatalf("headers %s", got)
	}
	for _, tc := range []struct {
		name      string
		query     string
		vars      map[string]any
		wantField string
	}{
		{"duplicate header", add, map[string]any{"r": rid, "k": "x-a", "v": "3"}, "key"},
		{"reserved header", add, map[string]any{"r": rid, "k": "webhook-signature", "v": "x"}, "headers"},
		{"missing header", remove, map[string]any{"r": rid, "k": "X-C"}, "key"},
	} {
		r := b.post(tc.query, tc.vars)
		if r.code() != ion.EVALIDATION || !strings.HasPrefix(r.Errors[0].Message, tc.wantField+": ") {
			t.Errorf("%s: %s, want VALIDATION_ERROR naming %s", tc.name, r.raw, tc.wantField)
		}
	}
	if got := str(path(b.mustData(remove, map[string]any{"r": rid, "k": "x-a"}), "removeHeaderFromWebhookReceiver", "webhookReceiver", "headers")); got != `[{"key":"X-B"}]` {
		t.Fatalf("headers after removing X-A: %s", got)
	}

	sub := path(b.mustData(`mutation($r: ID!) { createWebhookSubscription(input: {receiverId: $r, resource: RUN_STEPS, action: UPDATE}) { webhookSubscription { id _etag } } }`,
		map[string]any{"r": rid}), "createWebhookSubscription", "webhookSubscription")
	list := b.mustData(`{ webhookReceivers(first: 10) { totalCount edges { node { id subscriptions { resource action } } } }
		webhookSubscriptions(filters: {resource: {eq: "RUN_STEPS"}}) { totalCount } }`, nil)
	if str(path(list, "webhookReceivers", "totalCount")) != "1" || str(path(list, "webhookReceivers", "edges", 0, "node", "subscriptions")) != `[{"action":"UPDATE","resource":"RUN_STEP"}]` ||
		str(path(list, "webhookSubscriptions", "totalCount")) != "1" {
		t.Fatalf("lists %v", list)
	}
	b.mustData(`mutation($id: ID!, $etag: String!) { deleteWebhookSubscription(id: $id, etag: $etag) { id } }`, map[string]any{"id": path(sub, "id"), "etag": path(sub, "_etag")})
	cur := path(b.mustData(`query($id: ID!) { webhookReceiver(id: $id) { _etag } }`, map[string]any{"id": rid}), "webhookReceiver", "_etag")
	b.mustData(`mutation($id: ID!, $etag: String!) { deleteWebhookReceiver(id: $id, etag: $etag) { id } }`, map[string]any{"id": rid, "etag": cur})
	if got := b.mustData(`{ webhookReceivers { totalCount } webhookSubscriptions { totalCount } }`, nil); str(path(got, "webhookReceivers", "totalCount")) != "0" {
		t.Fatalf("after deleting: %v", got)
	}
}
