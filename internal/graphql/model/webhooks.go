package model

import "github.com/ionbox/ionbox/ion"

// The webhook connection and edge types of the schema. A WebhookEvent node
// is one delivery (ion.WebhookDelivery) with its event.
type (
	WebhookReceiverConnection     = Connection[ion.WebhookReceiver]
	WebhookReceiverEdge           = Edge[ion.WebhookReceiver]
	WebhookSubscriptionConnection = Connection[ion.WebhookSubscription]
	WebhookSubscriptionEdge       = Edge[ion.WebhookSubscription]
	WebhookEventConnection        = Connection[ion.WebhookDelivery]
	WebhookEventEdge              = Edge[ion.WebhookDelivery]
)
