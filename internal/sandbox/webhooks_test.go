package sandbox_test

import (
	"encoding/json"
	"testing"

	"github.com/ionbox/ionbox/ion"
)

// sandboxEvents lists the SANDBOX events of a tenant's delivery log.
func sandboxEvents(t *testing.T, b *bundle, ts ion.TenantStore) []ion.WebhookDelivery {
	t.Helper()
	return must(ts.WebhookDeliveries(b.ctx, ion.ListOptions{Limit: 100, Filters: []ion.Filter{{Field: "resource", Op: ion.OpEq, Value: ion.ResourceSandbox}}}))(t).Items
}

func TestResetKeepsWebhooksAndAnnouncesItself(t *testing.T) {
	t.Parallel()
	b, _ := setupClock(t)
	sb := *must(b.svc.Request(b.ctx, b.request("acme-erp-dev")))(t).Sandbox
	ts := b.sandboxTenant(t, sb)
	rcv := must(ts.CreateWebhookReceiver(b.ctx, ion.WebhookReceiver{URL: "https://erp.example/hook"}))(t)
	for _, sub := range []ion.WebhookSubscription{
		{ReceiverID: rcv.ID, Resource: ion.ResourcePart, Action: ion.ActionCreate},
		{ReceiverID: rcv.ID, Resource: ion.ResourceSandbox, Action: ion.ActionUpdate},
	} {
		must(ts.CreateWebhookSubscription(b.ctx, sub))(t)
	}
	for _, pn := range []string{"a", "b", "c"} {
		must(ts.CreatePart(b.ctx, ion.Part{PartNumber: pn}))(t)
	}

	must(b.svc.Reset(b.ctx, sb.Name, ""))(t)
	same(t, "parts after the reset", partNumbers(t, b, ts), []string{})
	same(t, "receiver after the reset", must(ts.WebhookReceiver(b.ctx, rcv.ID))(t), rcv)
	if n := must(ts.WebhookSubscriptions(b.ctx, ion.ListOptions{}))(t).TotalCount; n != 2 {
		t.Fatalf("%d subscriptions after the reset, want 2", n)
	}
	// One event for the reset, none per restored (deleted) row; the three
	// PART CREATE events from before stay in the log.
	evs := sandboxEvents(t, b, ts)
	if len(evs) != 1 || evs[0].Event.Action != ion.EventSandboxReset || evs[0].Status != ion.DeliveryRecorded || !evs[0].Event.Timestamp.Equal(t0) {
		t.Fatalf("sandbox events after a reset = %+v, want one sandbox.reset recorded at t0", evs)
	}
	var data struct {
		New map[string]any `json:"new"`
	}
	ok(t, json.Unmarshal(evs[0].Event.Data, &data))
	if data.New["sandbox"] != sb.Name || data.New["resetTo"] != "baseline" {
		t.Fatalf("sandbox.reset data = %s", evs[0].Event.Data)
	}
	if n := must(ts.WebhookDeliveries(b.ctx, ion.ListOptions{}))(t).TotalCount; n != 4 {
		t.Fatalf("%d deliveries in the log, want 3 part creations and the reset", n)
	}
}

func TestDormancyIsAnnounced(t *testing.T) {
	t.Parallel()
	b, clock := setupClock(t)
	sb := *must(b.svc.Request(b.ctx, b.request("acme-erp-dev")))(t).Sandbox
	ts := b.sandboxTenant(t, sb)
	rcv := must(ts.CreateWebhookReceiver(b.ctx, ion.WebhookReceiver{URL: "https://erp.example/hook"}))(t)
	must(ts.CreateWebhookSubscription(b.ctx, ion.WebhookSubscription{ReceiverID: rcv.ID, Resource: "SANDBOX", Action: "UPDATE"}))(t)
	clock.advance(30 * day)
	must(b.svc.Sweep(b.ctx, clock.Now()))(t)
	must(b.svc.Sweep(b.ctx, clock.Now()))(t) // once only
	evs := sandboxEvents(t, b, ts)
	if len(evs) != 1 || evs[0].Event.Action != ion.EventSandboxDormant {
		t.Fatalf("sandbox events after going dormant = %+v, want one sandbox.dormant", evs)
	}
}
