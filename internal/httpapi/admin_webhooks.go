package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// webhookEventJSON is one entry of a sandbox's webhook log: an event as
// one receiver got it (or, from a sink, would have). The receiver's
// response body is never stored, so never shown.
type webhookEventJSON struct {
	ID             ion.ID          `json:"id"`
	EventID        ion.ID          `json:"eventId"`
	WebhookID      ion.ID          `json:"webhookId"`
	SubscriptionID ion.ID          `json:"subscriptionId"`
	Resource       string          `json:"resource"`
	Action         string          `json:"action"`
	ObjectID       ion.ID          `json:"objectId"`
	Timestamp      time.Time       `json:"timestamp"`
	DeliveryMode   string          `json:"deliveryMode"`
	Status         string          `json:"status"`
	Attempts       int             `json:"attempts"`
	LastStatusCode int             `json:"lastStatusCode,omitempty"`
	LastError      string          `json:"lastError,omitempty"`
	DeliveredAt    *time.Time      `json:"deliveredAt,omitempty"`
	Data           json.RawMessage `json:"data"`
}

// webhookEvents answers GET /admin/v1/sandboxes/{name}/webhook-events: the
// sandbox's delivery log (its sink, and live deliveries), oldest first.
// Query parameters filter it: resource (plural spellings too), action,
// receiverId, status, since and until (RFC 3339, on the event time), limit
// (default 100, at most 1000) and offset.
func (s *Server) webhookEvents(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	sb, err := s.cfg.Control.Sandbox(r.Context(), name)
	if err != nil {
		writeProblem(w, s.log, s.sandboxError(name, err))
		return
	}
	opts, err := webhookLogOptions(r)
	if err != nil {
		writeProblem(w, s.log, err)
		return
	}
	if sb.State == ion.SandboxExpired {
		writeProblem(w, s.log, ion.Errorf(ion.ECONFLICT, "Sandbox %q has expired; its webhook log was deleted with its data.", name))
		return
	}
	ts, err := s.cfg.Stores.Tenant(r.Context(), ion.TenantIDFor(name, sb.OrganizationID))
	if err != nil {
		writeProblem(w, s.log, err)
		return
	}
	page, err := ts.WebhookDeliveries(r.Context(), opts)
	if err != nil {
		writeProblem(w, s.log, err)
		return
	}
	out := make([]webhookEventJSON, 0, len(page.Items))
	for _, d := range page.Items {
		data := json.RawMessage(d.Event.Data)
		if !json.Valid(data) {
			data = json.RawMessage("null")
		}
		out = append(out, webhookEventJSON{
			ID: d.ID, EventID: d.Event.ID, WebhookID: d.ReceiverID, SubscriptionID: d.SubscriptionID,
			Resource: d.Event.Resource, Action: d.Event.Action, ObjectID: d.Event.ObjectID, Timestamp: d.Event.Timestamp,
			DeliveryMode: d.Mode, Status: d.Status, Attempts: d.Attempts, LastStatusCode: d.LastStatusCode,
			LastError: d.LastError, DeliveredAt: d.DeliveredAt, Data: data,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out, "totalCount": page.TotalCount})
}

// webhookLogOptions reads the log's filters from the query string.
func webhookLogOptions(r *http.Request) (ion.ListOptions, error) {
	q := r.URL.Query()
	opts := ion.ListOptions{Limit: 100}
	if v := q.Get("resource"); v != "" {
		res, ok := ion.CanonicalResource(v)
		if !ok {
			return opts, ion.Invalid("resource", "%q is not a webhook resource (PART, RUN, RUN_STEP, SANDBOX, …).", v)
		}
		opts.Filters = append(opts.Filters, ion.Filter{Field: "resource", Op: ion.OpEq, Value: res})
	}
	if v := q.Get("action"); v != "" {
		opts.Filters = append(opts.Filters, ion.Filter{Field: "action", Op: ion.OpEq, Value: v})
	}
	if v := q.Get("status"); v != "" {
		opts.Filters = append(opts.Filters, ion.Filter{Field: "status", Op: ion.OpEq, Value: v})
	}
	if v := q.Get("receiverId"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return opts, ion.Invalid("receiverId", "%q is not an id.", v)
		}
		opts.Filters = append(opts.Filters, ion.Filter{Field: "receiverId", Op: ion.OpEq, Value: id})
	}
	for _, p := range []struct{ param, op string }{{"since", ion.OpGte}, {"until", ion.OpLt}} {
		v := q.Get(p.param)
		if v == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return opts, ion.Invalid(p.param, "%q is not an RFC 3339 time such as 2026-11-26T10:00:00Z.", v)
		}
		opts.Filters = append(opts.Filters, ion.Filter{Field: "timestamp", Op: p.op, Value: at})
	}
	for _, p := range []struct {
		param string
		dst   *int
		max   int
	}{{"limit", &opts.Limit, 1000}, {"offset", &opts.Offset, -1}} {
		v := q.Get(p.param)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || (p.max > 0 && n > p.max) {
			if p.max > 0 {
				return opts, ion.Invalid(p.param, "must be a number from 0 to %d (got %q).", p.max, v)
			}
			return opts, ion.Invalid(p.param, "must be a number of 0 or more (got %q).", v)
		}
		*p.dst = n
	}
	return opts, nil
}
