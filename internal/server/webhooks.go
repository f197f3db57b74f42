package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/ionbox/ionbox/internal/webhook"
	"github.com/ionbox/ionbox/ion"
)

// webhookDelivery is the server's half of webhooks that runs beside
// requests: the dispatcher that sends LIVE deliveries and the sink stream.
type webhookDelivery struct {
	dispatcher *webhook.Dispatcher // nil when the store keeps no outbox
	stream     http.Handler
}

// newWebhookDelivery builds the dispatcher and the sink stream over stores.
// done ends the sink streams when the server stops.
func newWebhookDelivery(cfg Config, stores ion.Stores, done <-chan struct{}) (*webhookDelivery, error) {
	log := cfg.Logger
	tenants := func(ctx context.Context, tenant string) (ion.WebhookStore, error) {
		ts, err := stores.Tenant(ctx, tenant)
		if err != nil {
			return nil, err
		}
		ws, ok := any(ts).(ion.WebhookStore)
		if !ok {
			return nil, fmt.Errorf("tenant store %T keeps no webhook outbox", ts)
		}
		return ws, nil
	}
	stream, err := webhook.NewSinkStream(webhook.SinkStreamConfig{Tenants: tenants, Done: done, Logger: log})
	if err != nil {
		return nil, err
	}
	w := &webhookDelivery{stream: stream}
	registry, ok := any(stores.Control()).(ion.WebhookRegistry)
	if !ok {
		log.Warn("webhook delivery is off: the store keeps no webhook registry", "store", fmt.Sprintf("%T", stores.Control()))
		return w, nil
	}
	if cfg.AllowPrivateWebhooks {
		log.Warn("--allow-private-webhooks: webhook receivers on loopback and private addresses are allowed (local development only)")
	}
	d, err := webhook.New(webhook.Config{
		Tenants:   tenants,
		Registry:  registry,
		Sender:    webhook.NewSender(webhook.SenderConfig{Guard: webhook.Guard{AllowPrivate: cfg.AllowPrivateWebhooks}}),
		Now:       cfg.Now,
		PollEvery: cfg.WebhookPollEvery,
		Logger:    log.With("component", "webhooks"),
	})
	if err != nil {
		return nil, fmt.Errorf("webhook dispatcher: %w", err)
	}
	w.dispatcher = d
	// Whichever part of the store learns of commits tells the dispatcher,
	// so that a delivery goes out without waiting for the next poll.
	for _, n := range []any{stores, stores.Control()} {
		if notifier, ok := n.(ion.WebhookNotifier); ok {
			notifier.OnWebhookQueued(d.Wake)
			break
		}
	}
	return w, nil
}

func (w *webhookDelivery) start(ctx context.Context) {
	if w.dispatcher != nil {
		w.dispatcher.Start(ctx)
	}
}

func (w *webhookDelivery) wait() {
	if w.dispatcher != nil {
		w.dispatcher.Wait()
	}
}
