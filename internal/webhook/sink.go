package webhook

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// StreamEvent is one SINK delivery as the sink stream sends it (the data of
// an SSE event named "webhook"; its SSE id is DeliveryID): the exact body
// and the headers a live delivery would carry, signed when streamed.
type StreamEvent struct {
	DeliveryID     ion.ID            `json:"deliveryId"`
	WebhookID      string            `json:"webhookId"`
	ReceiverID     ion.ID            `json:"receiverId"`
	SubscriptionID ion.ID            `json:"subscriptionId"`
	Resource       string            `json:"resource"`
	Action         string            `json:"action"`
	CreatedAt      time.Time         `json:"createdAt"`
	Headers        map[string]string `json:"headers"`
	Body           string            `json:"body"`
}

// SinkStreamConfig configures the sink stream handler.
type SinkStreamConfig struct {
	// Tenants opens a tenant's webhook store (required).
	Tenants TenantWebhooks
	// PollEvery is how often the stream looks for new deliveries; default
	// 250 ms.
	PollEvery time.Duration
	// Heartbeat is how often an idle stream sends a comment, so that
	// proxies keep it open; default 15 s.
	Heartbeat time.Duration
	// Done ends every stream (the server is stopping).
	Done <-chan struct{}
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// SinkStream serves GET {sandbox base}/webhooks/stream: Server-Sent Events,
// one "webhook" event per SINK delivery of the caller's organization,
// oldest first. The caller must be authenticated (ion.ActorFrom) by the
// HTTP layer, with the sandbox's own token as for /graphql.
//
// Without Last-Event-ID (or ?after=ID) the stream starts with the next
// delivery; ?after=0 replays every recorded one. ?receiverId=ID keeps one
// receiver's deliveries.
type SinkStream struct {
	cfg SinkStreamConfig
}

// NewSinkStream returns the handler.
func NewSinkStream(cfg SinkStreamConfig) (*SinkStream, error) {
	if cfg.Tenants == nil {
		return nil, fmt.Errorf("webhook: SinkStreamConfig.Tenants is required")
	}
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = 250 * time.Millisecond
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &SinkStream{cfg: cfg}, nil
}

func streamError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{"message": msg, "extensions": map[string]string{"code": code}}}})
}

func (s *SinkStream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	actor, ok := ion.ActorFrom(r.Context())
	if !ok {
		streamError(w, http.StatusUnauthorized, ion.EUNAUTHENTICATED, "The sink stream needs the sandbox's access token: Authorization: Bearer <token>.")
		return
	}
	if actor.Environment == ion.ProductionEnvironment {
		streamError(w, http.StatusNotFound, ion.ENOTFOUND, "Production has no webhook sink: its receivers are always live. Stream a sandbox's sink at <sandbox base URL>/webhooks/stream.")
		return
	}
	q := r.URL.Query()
	var receiver ion.ID
	if v := q.Get("receiverId"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			streamError(w, http.StatusBadRequest, ion.EVALIDATION, fmt.Sprintf("receiverId %q is not a receiver id (a positive integer).", v))
			return
		}
		receiver = n
	}
	after := int64(-1)
	for _, v := range []string{r.Header.Get("Last-Event-ID"), q.Get("after")} {
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			streamError(w, http.StatusBadRequest, ion.EVALIDATION, fmt.Sprintf("Last-Event-ID / after %q is not a delivery id (a non-negative integer).", v))
			return
		}
		after = n
		break
	}
	tenant := ion.TenantIDFor(actor.Environment, actor.Organization.ID)
	store, err := s.cfg.Tenants(r.Context(), tenant)
	if err != nil {
		s.cfg.Logger.Error("sink stream: open tenant", "tenant", tenant, "err", err)
		streamError(w, http.StatusInternalServerError, ion.EINTERNAL, "The sink could not be opened; try again.")
		return
	}
	filters := []ion.Filter{{Field: "status", Op: ion.OpEq, Value: ion.DeliveryRecorded}}
	if receiver != 0 {
		filters = append(filters, ion.Filter{Field: "receiverId", Op: ion.OpEq, Value: receiver})
	}
	if after < 0 {
		last, err := store.WebhookDeliveries(r.Context(), ion.ListOptions{Filters: filters, Sort: []ion.SortKey{{Field: "id", Desc: true}}, Limit: 1})
		if err != nil {
			s.cfg.Logger.Error("sink stream: newest delivery", "tenant", tenant, "err", err)
			streamError(w, http.StatusInternalServerError, ion.EINTERNAL, "The sink could not be read; try again.")
			return
		}
		after = 0
		if len(last.Items) > 0 {
			after = last.Items[0].ID
		}
	}

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The first line tells the client where the stream starts, so that it
	// can resume from there even before any event arrives.
	fmt.Fprintf(w, "retry: 1000\n: sink of %s after delivery %d\n\n", EnvironmentOf(tenant).Label(), after)
	if err := rc.Flush(); err != nil {
		return
	}
	receivers := map[ion.ID]ion.WebhookReceiver{}
	poll := time.NewTicker(s.cfg.PollEvery)
	defer poll.Stop()
	lastWrite := time.Now()
	for {
		page, err := store.WebhookDeliveries(r.Context(), ion.ListOptions{
			Filters: append(filters, ion.Filter{Field: "id", Op: ion.OpGt, Value: after}), Limit: 100})
		if err != nil {
			if r.Context().Err() == nil {
				s.cfg.Logger.Warn("sink stream: read deliveries", "tenant", tenant, "err", err)
			}
			return
		}
		if len(page.Items) == 0 && after > 0 {
			// A reset rewinds the tenant's delivery ids: if nothing at or
			// below our position exists any more, follow the new ids.
			newest, err := store.WebhookDeliveries(r.Context(), ion.ListOptions{Filters: filters, Sort: []ion.SortKey{{Field: "id", Desc: true}}, Limit: 1})
			if err == nil && (len(newest.Items) == 0 || newest.Items[0].ID < after) {
				after = 0
				if len(newest.Items) > 0 {
					after = newest.Items[0].ID
				}
			}
		}
		for _, d := range page.Items {
			rcv, ok := receivers[d.ReceiverID]
			if !ok {
				rcv, err = store.WebhookReceiver(r.Context(), d.ReceiverID)
				if err != nil {
					// A deleted receiver's recorded deliveries are still
					// shown, signed with no secret.
					rcv = ion.WebhookReceiver{}
				}
				receivers[d.ReceiverID] = rcv
			}
			ev, err := StreamEventFor(tenant, d, rcv, time.Now())
			if err != nil {
				s.cfg.Logger.Error("sink stream: render", "tenant", tenant, "delivery", d.ID, "err", err)
				after = d.ID
				continue
			}
			data, _ := json.Marshal(ev)
			if _, err := fmt.Fprintf(w, "id: %d\nevent: webhook\ndata: %s\n\n", d.ID, data); err != nil {
				return
			}
			after = d.ID
		}
		if len(page.Items) > 0 {
			if err := rc.Flush(); err != nil {
				return
			}
			lastWrite = time.Now()
			if len(page.Items) == 100 {
				continue
			}
		}
		if time.Since(lastWrite) >= s.cfg.Heartbeat {
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
			lastWrite = time.Now()
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.cfg.Done:
			return
		case <-poll.C:
		}
	}
}

// StreamEventFor renders delivery d as the sink stream sends it, signed as
// of sentAt.
func StreamEventFor(tenant string, d ion.WebhookDelivery, rcv ion.WebhookReceiver, sentAt time.Time) (StreamEvent, error) {
	signed, err := Sign(tenant, d, rcv, sentAt)
	if err != nil {
		return StreamEvent{}, err
	}
	hs := make(map[string]string, len(signed.Headers))
	for k, v := range signed.Headers {
		hs[k] = strings.Join(v, ", ")
	}
	return StreamEvent{
		DeliveryID: d.ID, WebhookID: WebhookID(tenant, d), ReceiverID: d.ReceiverID, SubscriptionID: d.SubscriptionID,
		Resource: d.Event.Resource, Action: d.Event.Action, CreatedAt: d.CreatedAt, Headers: hs, Body: string(signed.Body),
	}, nil
}
