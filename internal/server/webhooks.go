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
	dispatcher *webhook.Dispatcher
	stream     http.Handler
}

// newWebhookDelivery builds the dispatcher and the sink stream over stores.
// done ends the sink streams when the server stops.
func newWebhookDelivery(cfg Config, stores ion.Stores, done <-chan struct{}) (*webhookDelivery, error) {
	log := cfg.Logger
	tenants := func(ctx context.Context, tenant string) (ion.WebhookStore, error) {
		return stores.Tenant(ctx, tenant)
	}
	stream, err := webhook.NewSinkStream(webhook.SinkStreamConfig{Tenants: tenants, Done: done, Logger: log})
	if err != nil {
		return nil, err
	}
	w := &webhookDelivery{stream: stream}
	if cfg.AllowPrivateWebhooks {
		log.Warn("--allow-private-webhooks: webhook receivers on loopback and private addresses are allowed (local development only)")
	}
	d, err := webhook.New(webhook.Config{
		Tenants:     tenants,
		Registry:    stores.Control(),
		Sender:      webhook.NewSender(webhook.SenderConfig{Guard: webhook.Guard{AllowPrivate: cfg.AllowPrivateWebhooks}}),
		Now:         cfg.Now,
		PollEvery:   cfg.WebhookPollEvery,
		FinishBatch: cfg.WebhookFinishBatch,
		Logger:      log.With("component", "webhooks"),
	})
	if err != nil {
		return nil, fmt.Errorf("webhook dispatcher: %w", err)
	}
	w.dispatcher = d
	// A store that learns of its commits tells the dispatcher, so that a
	// delivery goes out without waiting for the next poll.
	if notifier, ok := stores.(ion.WebhookNotifier); ok {
		notifier.OnWebhookQueued(d.Wake)
	}
	return w, nil
}

func (w *webhookDelivery) start(ctx context.Context) { w.dispatcher.Start(ctx) }

func (w *webhookDelivery) wait() { w.dispatcher.Wait() }
