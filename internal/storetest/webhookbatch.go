package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// testWebhookBatch: FinishWebhookDeliveries records many attempts in one
// transaction exactly as one FinishWebhookDelivery each would, refusing
// only the outcomes FinishWebhookDelivery would refuse.
func testWebhookBatch(t *testing.T, h *harness) {
	t.Run("FinishManyAsOne", func(t *testing.T) {
		t.Parallel()
		// The same outcomes recorded one by one and as one batch, on two
		// tenants, leave the same deliveries and receivers.
		type result struct {
			deliveries []ion.WebhookDelivery
			receivers  []ion.WebhookReceiver
			errs       []string
			registered bool
		}
		// One clock for both runs, far enough ahead that both runs'
		// deliveries are due.
		now := time.Now().UTC().Add(time.Minute).Truncate(time.Microsecond)
		run := func(batch bool) (r result) {
			t.Run(map[bool]string{false: "OneByOne", true: "Batched"}[batch], func(t *testing.T) {
				b := h.setup(t)
				ok1 := must(b.ts.CreateWebhookReceiver(b.ctx, ion.WebhookReceiver{Name: "ok", URL: "https://ok.example/", SharedSecret: "s1", DeliveryMode: ion.DeliveryLive}))(t)
				gone := must(b.ts.CreateWebhookReceiver(b.ctx, ion.WebhookReceiver{Name: "gone", URL: "https://gone.example/", SharedSecret: "s2", DeliveryMode: ion.DeliveryLive}))(t)
				for _, r := range []ion.WebhookReceiver{ok1, gone} {
					must(b.ts.CreateWebhookSubscription(b.ctx, ion.WebhookSubscription{ReceiverID: r.ID, Resource: "PART", Action: "CREATE"}))(t)
				}
				for i := range 4 {
					must(b.ts.CreatePart(b.ctx, ion.Part{PartNumber: fmt.Sprintf("P-%d", i)}))(t)
				}
				claimed := must(b.ts.ClaimWebhookDeliveries(b.ctx, now, time.Minute, 100))(t)
				if len(claimed) != 8 {
					t.Fatalf("claimed %d deliveries, want 8", len(claimed))
				}
				var toOK, toGone []ion.ID
				for _, d := range claimed {
					if d.ReceiverID == ok1.ID {
						toOK = append(toOK, d.ID)
					} else {
						toGone = append(toGone, d.ID)
					}
				}
				at, retry := now.Add(time.Second), now.Add(time.Hour)
				outcomes := []ion.DeliveryOutcome{
					{DeliveryID: toOK[0], AttemptedAt: at, StatusCode: 200, Delivered: true},
					{DeliveryID: toOK[1], AttemptedAt: at, StatusCode: 500, Error: "HTTP 500", NextAttemptAt: &retry},
					{DeliveryID: toOK[2], AttemptedAt: at, StatusCode: 400, Error: "HTTP 400"},                // given up
					{DeliveryID: toOK[0], AttemptedAt: at, StatusCode: 200, Delivered: true},                  // finished already: CONFLICT
					{DeliveryID: 9999, AttemptedAt: at, Delivered: true},                                      // NOT_FOUND
					{DeliveryID: toOK[3], AttemptedAt: at.Add(time.Second), StatusCode: 200, Delivered: true}, // clears the failure
					{DeliveryID: toGone[0], AttemptedAt: at, StatusCode: 410, Error: "HTTP 410 Gone", DisableReceiver: true},
				}
				if batch {
					errs := must(b.ts.FinishWebhookDeliveries(b.ctx, outcomes))(t)
					if len(errs) != len(outcomes) {
						t.Fatalf("%d errors for %d outcomes", len(errs), len(outcomes))
					}
					for _, err := range errs {
						r.errs = append(r.errs, ion.ErrorCode(err))
					}
				} else {
					for _, o := range outcomes {
						r.errs = append(r.errs, ion.ErrorCode(b.ts.FinishWebhookDelivery(b.ctx, o)))
					}
				}
				r.deliveries = must(b.ts.WebhookDeliveries(b.ctx, ion.ListOptions{Limit: 100}))(t).Items
				for i := range r.deliveries {
					// When the changes were made differs between the runs.
					r.deliveries[i].CreatedAt, r.deliveries[i].Event.Timestamp, r.deliveries[i].Event.Data = time.Time{}, time.Time{}, nil
				}
				r.receivers = must(b.ts.WebhookReceivers(b.ctx, ion.ListOptions{Limit: 100}))(t).Items
				for i := range r.receivers {
					// Etags and updatedAt are new on every write; the rest must match.
					r.receivers[i].Etag, r.receivers[i].CreatedAt, r.receivers[i].UpdatedAt = "", time.Time{}, time.Time{}
				}
				r.registered = slices.Contains(must(b.control.WebhookTenants(b.ctx))(t), b.org.TenantID())
			})
			return r
		}
		one, batch := run(false), run(true)
		same(t, "errors", batch.errs, []string{"", "", "", ion.ECONFLICT, ion.ENOTFOUND, "", ""})
		same(t, "errors one by one", one.errs, batch.errs)
		same(t, "deliveries", batch.deliveries, one.deliveries)
		same(t, "receivers", batch.receivers, one.receivers)
		if !batch.registered || !one.registered {
			t.Errorf("tenant registered: %v one by one, %v batched; want true (receiver ok is still active)", one.registered, batch.registered)
		}
		var gone ion.WebhookReceiver
		for _, r := range batch.receivers {
			if r.Name == "gone" {
				gone = r
			}
		}
		if gone.Status != ion.ReceiverDisabled || gone.LastError != "HTTP 410 Gone" {
			t.Errorf("receiver after a batched 410: %+v", gone)
		}
		statuses := map[string]int{}
		for _, d := range batch.deliveries {
			statuses[d.Status]++
		}
		// ok: 2 delivered, 1 to retry, 1 given up; gone: 1 failed (410),
		// 3 still leased.
		same(t, "delivery statuses", statuses, map[string]int{ion.DeliveryDelivered: 2, ion.DeliveryPending: 4, ion.DeliveryFailed: 2})
	})

	t.Run("EmptyBatch", func(t *testing.T) {
		t.Parallel()
		b := h.setup(t)
		errs := must(b.ts.FinishWebhookDeliveries(b.ctx, nil))(t)
		if len(errs) != 0 {
			t.Fatalf("errors %v for no outcomes", errs)
		}
	})
}
