package webhook

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/ionbox/ionbox/ion"
)

func testDelivery() ion.WebhookDelivery {
	at := time.Date(2026, 11, 26, 18, 0, 0, 123000000, time.UTC)
	return ion.WebhookDelivery{
		ID: 77, SubscriptionID: 42, ReceiverID: 7, Mode: ion.DeliveryLive, Status: ion.DeliveryPending, CreatedAt: at,
		Event: ion.WebhookEvent{ID: 123456, Resource: ion.ResourceRun, Action: ion.ActionUpdate, ObjectID: 1234, Timestamp: at,
			Data: []byte(`{"new":{"id":1234,"status":"COMPLETE"},"old":{"status":"IN_PROGRESS"},"changed_fields":["status"]}`)},
	}
}

func TestSignVerifiesWithBothSchemes(t *testing.T) {
	t.Parallel()
	secret := "s3cret-shared"
	rcv := ion.WebhookReceiver{SharedSecret: secret, Headers: []ion.WebhookHeader{
		{Key: "Authorization", Value: "Bearer consumer-token"},
		{Key: "x-ion-signature", Value: "forged"}, // may not replace ionbox's own
		{Key: "Content-Type", Value: "text/plain"},
	}}
	for _, tc := range []struct {
		name, tenant, wantEnv string
		wantTestRun           string
	}{
		{"production", "production-org-3", "production", ""},
		{"sandbox", "acme-erp-dev-org-1", "sandbox/acme-erp-dev", "1"},
		{"sandbox whose name contains -org-", "x-org-2-org-1", "sandbox/x-org-2", "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := Sign(tc.tenant, testDelivery(), rcv, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			wh, _ := standardwebhooks.NewWebhookRaw([]byte(secret))
			if err := wh.Verify(s.Body, s.Headers); err != nil {
				t.Errorf("standard webhooks Verify: %v", err)
			}
			if got, want := s.Headers.Get(HeaderSignature), SignatureHex([]byte(secret), s.Body); got != want {
				t.Errorf("x-ion-signature = %q, want %q", got, want)
			}
			if other, _ := standardwebhooks.NewWebhookRaw([]byte("another secret")); other.Verify(s.Body, s.Headers) == nil {
				t.Error("a signature verified with the wrong secret")
			}
			if got := s.Headers.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := s.Headers.Get("Authorization"); got != "Bearer consumer-token" {
				t.Errorf("custom header Authorization = %q", got)
			}
			if got := s.Headers.Get(HeaderTestRun); got != tc.wantTestRun {
				t.Errorf("X-Test-Run = %q, want %q", got, tc.wantTestRun)
			}
			wantEnvHeader := ""
			if tc.wantTestRun != "" {
				wantEnvHeader = tc.wantEnv
			}
			if got := s.Headers.Get(HeaderEnvironment); got != wantEnvHeader {
				t.Errorf("ION-Environment = %q, want %q", got, wantEnvHeader)
			}
			var body map[string]any
			if err := json.Unmarshal(s.Body, &body); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"event_id": 123456.0, "subscription_id": 42.0, "receiver_id": 7.0, "resource": "RUN", "action": "UPDATE",
				"id": 1234.0, "timestamp": "2026-11-26T18:00:00.123Z", "environment": tc.wantEnv,
				"data": map[string]any{"new": map[string]any{"id": 1234.0, "status": "COMPLETE"}, "old": map[string]any{"status": "IN_PROGRESS"},
					"changed_fields": []any{"status"}},
			}
			if diff := cmp.Diff(want, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWebhookIDIsStablePerDeliveryAndUniqueAcrossResets(t *testing.T) {
	t.Parallel()
	d := testDelivery()
	a, _ := Sign("production-org-1", d, ion.WebhookReceiver{SharedSecret: "k"}, time.Now())
	b, _ := Sign("production-org-1", d, ion.WebhookReceiver{SharedSecret: "k"}, time.Now().Add(time.Hour))
	if a.Headers.Get("webhook-id") != b.Headers.Get("webhook-id") {
		t.Errorf("webhook-id changed between attempts: %q, %q", a.Headers.Get("webhook-id"), b.Headers.Get("webhook-id"))
	}
	if a.Headers.Get("webhook-timestamp") == b.Headers.Get("webhook-timestamp") {
		t.Error("webhook-timestamp did not follow the attempt time")
	}
	reused := d
	reused.CreatedAt = d.CreatedAt.Add(time.Minute) // same id after a sandbox reset
	other := d
	other.ID++
	ids := map[string]string{
		"first":         WebhookID("production-org-1", d),
		"id reused":     WebhookID("production-org-1", reused),
		"next delivery": WebhookID("production-org-1", other),
		"other tenant":  WebhookID("production-org-2", d),
	}
	seen := map[string]string{}
	for name, id := range ids {
		if prev, dup := seen[id]; dup {
			t.Errorf("%s and %s share webhook-id %s", name, prev, id)
		}
		seen[id] = name
	}
}

func TestSignRejectsCorruptData(t *testing.T) {
	t.Parallel()
	d := testDelivery()
	d.Event.Data = []byte(`{"new":`)
	if _, err := Sign("production-org-1", d, ion.WebhookReceiver{SharedSecret: "k"}, time.Now()); err == nil {
		t.Fatal("Sign accepted invalid JSON data")
	}
	d.Event.Data = nil
	s, err := Sign("production-org-1", d, ion.WebhookReceiver{SharedSecret: "k"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Data map[string]any }
	_ = json.Unmarshal(s.Body, &body)
	if _, ok := body.Data["changed_fields"]; !ok {
		t.Errorf("empty data rendered as %s", s.Body)
	}
}
