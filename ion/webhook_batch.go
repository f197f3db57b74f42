package ion

import "context"

// WebhookBatchFinisher records many delivery attempts in one transaction.
// A dispatcher whose attempts finish close together records them with one
// commit instead of one each: on SQLite, whose single writer commits one
// transaction at a time, that is what bounds attempts per second.
type WebhookBatchFinisher interface {
	// FinishWebhookDeliveries records each outcome as
	// FinishWebhookDelivery would, in order, in one transaction. The
	// answer has one entry per outcome: nil when recorded, else the
	// NOT_FOUND or CONFLICT (already finished) FinishWebhookDelivery
	// would have answered, which does not stop the others. An error of
	// the call itself means none was recorded.
	FinishWebhookDeliveries(ctx context.Context, outcomes []DeliveryOutcome) ([]error, error)
}
