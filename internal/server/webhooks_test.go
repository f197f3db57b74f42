package server

import (
	"testing"
)

// webhookLog is the admin API's answer for a sandbox's webhook log.
type webhookLog struct {
	Events []struct {
		ID, EventID, WebhookID, ObjectID int64
		Resource, Action, Status         string
		DeliveryMode                     string
		Data                             map[string]any
	}
	TotalCount int
}

// TestSandboxSinkThroughGraphQLAndAdminAPI: a sandbox receiver made through
// GraphQL defaults to the sink; changes made through GraphQL show in the
// admin API's webhook log; a reset keeps the receiver and is announced once.
func TestSandboxSinkThroughGraphQLAndAdminAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	prod := b.newCredential("Acme")
	sb := b.newSandbox(prod.orgID, "acme-hooks")
	s := b.at(sb.baseURL)
	base := "/admin/v1/sandboxes/acme-hooks/webhook-events"

	rcv := s.mustGQL(sb.token, `mutation { createWebhookReceiver(input: {name: "ERP", url: "https://erp.example/hook"}) {
		webhookReceiver { id deliveryMode } } }`, nil)
	rid := dig(rcv, "createWebhookReceiver", "webhookReceiver", "id")
	if mode := dig(rcv, "createWebhookReceiver", "webhookReceiver", "deliveryMode"); mode != "SINK" {
		t.Fatalf("sandbox receiver mode %v, want SINK", mode)
	}
	for _, sub := range []string{"PARTS", "SANDBOX"} {
		action := "CREATE"
		if sub == "SANDBOX" {
			action = "UPDATE"
		}
		s.mustGQL(sb.token, `mutation($r: ID!, $res: ResourceEnum!, $a: WebhookSubscriptionActions!) {
			createWebhookSubscription(input: {receiverId: $r, resource: $res, action: $a}) { webhookSubscription { id } } }`,
			map[string]any{"r": rid, "res": sub, "a": action})
	}
	createPart(t, s, sb.token, "P-1")

	var log webhookLog
	if status := b.admin("GET", base+"?resource=parts", nil, &log); status != 200 {
		t.Fatalf("webhook log: HTTP %d", status)
	}
	if log.TotalCount != 1 || log.Events[0].Resource != "PART" || log.Events[0].Action != "CREATE" || log.Events[0].Status != "SINK" ||
		log.Events[0].WebhookID != id(rid) || dig(log.Events[0].Data, "new", "partNumber") != "P-1" {
		t.Fatalf("webhook log = %+v, want the part's creation in the sink", log)
	}

	b.admin("POST", "/admin/v1/sandboxes/acme-hooks/reset", nil, &struct{}{})
	log = webhookLog{}
	b.admin("GET", base+"?resource=SANDBOX", nil, &log)
	if log.TotalCount != 1 || log.Events[0].Action != "sandbox.reset" || dig(log.Events[0].Data, "new", "resetTo") != "baseline" {
		t.Fatalf("webhook log after a reset = %+v, want one sandbox.reset", log)
	}
	after := s.mustGQL(sb.token, `{ webhookReceivers { totalCount } webhookEvents { totalCount } parts { totalCount } }`, nil)
	if dig(after, "webhookReceivers", "totalCount") != 1.0 || dig(after, "webhookEvents", "totalCount") != 2.0 || dig(after, "parts", "totalCount") != 0.0 {
		t.Fatalf("after the reset: %v, want the receiver and both events kept, no parts", after)
	}

	for _, tc := range []struct {
		name, path string
		want       int
	}{
		{"unknown sandbox", "/admin/v1/sandboxes/nope/webhook-events", 404},
		{"unknown resource", base + "?resource=widgets", 422},
		{"bad time", base + "?since=yesterday", 422},
		{"limit too large", base + "?limit=5000", 422},
		{"empty window", base + "?since=2100-01-01T00:00:00Z", 200},
	} {
		if got := b.admin("GET", tc.path, nil, nil); got != tc.want {
			t.Errorf("%s: HTTP %d, want %d", tc.name, got, tc.want)
		}
	}
}
