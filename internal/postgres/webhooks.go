// Code generated from internal/sqlite/webhooks.go by `go test ./internal/postgres -run TestStoreCopies -update-copies`; DO NOT EDIT.

package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ionbox/ionbox/internal/capture"
	"github.com/ionbox/ionbox/internal/sqlcol"
	"github.com/ionbox/ionbox/ion"
)

var (
	_ ion.WebhookStore    = (*TenantStore)(nil)
	_ ion.WebhookRegistry = (*ControlStore)(nil)
	_ ion.WebhookNotifier = (*Stores)(nil)
)

// resourceOfTable names the webhook resource of each business table whose
// changes are captured; tables not listed (units, fields, teams) fire
// nothing.
var resourceOfTable = map[string]string{
	"parts":                ion.ResourcePart,
	"part_inventories":     ion.ResourcePartInventory,
	"mbom_items":           ion.ResourceMBomItem,
	"locations":            ion.ResourceLocation,
	"procedures":           ion.ResourceProcedure,
	"steps":                ion.ResourceStep,
	"runs":                 ion.ResourceRun,
	"run_steps":            ion.ResourceRunStep,
	"build_requirements":   ion.ResourceBuildRequirement,
	"abom_installations":   ion.ResourceABomInstallation,
	"issues":               ion.ResourceIssue,
	"suppliers":            ion.ResourceSupplier,
	"purchase_orders":      ion.ResourcePurchaseOrder,
	"purchase_order_lines": ion.ResourcePurchaseOrderLine,
}

// activeSubscription is a subscription of an active receiver, as a write
// transaction matches its changes against them.
type activeSubscription struct {
	id, receiverID   ion.ID
	resource, action string
	mode             string
}

// trackedObject is one business object a transaction may change: its state
// when first touched and how to read its state at commit.
type trackedObject struct {
	resource string
	id       ion.ID
	before   capture.Object
	load     func() (capture.Object, error)
}

// changeCapture is a write transaction's record of the objects it touched.
// The active subscriptions are read once, on the first touch, inside the
// transaction (so another writer's new subscription is never missed), and
// a resource nobody subscribes to costs nothing more.
type changeCapture struct {
	loaded  bool
	subs    []activeSubscription
	wanted  map[string]bool
	objects []*trackedObject
	seen    map[string]*trackedObject
	// queuedLive is set when a PENDING delivery was written, so that the
	// store tells dispatchers after the commit.
	queuedLive bool
}

func (tx *tx) changes() (*changeCapture, error) {
	if tx.capture == nil {
		tx.capture = &changeCapture{seen: map[string]*trackedObject{}, wanted: map[string]bool{}}
	}
	c := tx.capture
	if c.loaded {
		return c, nil
	}
	rows, err := tx.query(`SELECT s.id, s.receiver_id, s.resource, s.action, r.delivery_mode FROM webhook_subscriptions s
		JOIN webhook_receivers r ON r.id = s.receiver_id WHERE r.status = 'ACTIVE' ORDER BY s.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s activeSubscription
		if err := rows.Scan(&s.id, &s.receiverID, &s.resource, &s.action, &s.mode); err != nil {
			return nil, err
		}
		c.subs = append(c.subs, s)
		c.wanted[s.resource] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	c.loaded = true
	return c, nil
}

// matching returns the subscriptions an event of resource and action goes
// to. Events outside CREATE/UPDATE/DELETE (sandbox.reset) go to every
// subscription of their resource.
func (c *changeCapture) matching(resource, action string) []activeSubscription {
	anyAction := action != ion.ActionCreate && action != ion.ActionUpdate && action != ion.ActionDelete
	var out []activeSubscription
	for _, s := range c.subs {
		if s.resource == resource && (anyAction || s.action == action) {
			out = append(out, s)
		}
	}
	return out
}

// track notes that the transaction may change object id of e, keeping its
// current state for the event's "old". Tracking more than changes is
// harmless: an object whose etag did not change records nothing.
func track[T any](tx *tx, e *entity[T], id ion.ID) error {
	return trackState(tx, e, id, false, nil)
}

// trackRead is track for an object the transaction has just read as cur,
// which saves reading it again.
func trackRead[T any](tx *tx, e *entity[T], id ion.ID, cur T) error {
	return trackState(tx, e, id, false, &cur)
}

// trackCreated notes an object the transaction has just inserted.
func trackCreated[T any](tx *tx, e *entity[T], id ion.ID) error {
	return trackState(tx, e, id, true, nil)
}

func trackState[T any](tx *tx, e *entity[T], id ion.ID, created bool, cur *T) error {
	resource, ok := resourceOfTable[e.table]
	if !ok {
		return nil
	}
	c, err := tx.changes()
	if err != nil || !c.wanted[resource] {
		return err
	}
	key := e.table + "/" + itoa(id)
	if _, ok := c.seen[key]; ok {
		return nil
	}
	load := func() (capture.Object, error) {
		v, err := e.get(tx.ctx, tx, id)
		if ion.ErrorCode(err) == ion.ENOTFOUND {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return capture.Of(v)
	}
	t := &trackedObject{resource: resource, id: id, load: load}
	switch {
	case cur != nil:
		if t.before, err = capture.Of(*cur); err != nil {
			return err
		}
	case !created:
		if t.before, err = load(); err != nil {
			return err
		}
	}
	c.seen[key] = t
	c.objects = append(c.objects, t)
	return nil
}

// trackWhere tracks every object of e matching cond (over alias t).
func trackWhere[T any](tx *tx, e *entity[T], cond string, args ...any) error {
	return trackRows(tx, e, false, cond, args...)
}

// trackCreatedWhere tracks every object of e matching cond that the
// transaction has just inserted.
func trackCreatedWhere[T any](tx *tx, e *entity[T], cond string, args ...any) error {
	return trackRows(tx, e, true, cond, args...)
}

func trackRows[T any](tx *tx, e *entity[T], created bool, cond string, args ...any) error {
	resource, ok := resourceOfTable[e.table]
	if !ok {
		return nil
	}
	c, err := tx.changes()
	if err != nil || !c.wanted[resource] {
		return err
	}
	rows, err := tx.query("SELECT t.id FROM "+e.table+" t WHERE "+cond, args...)
	if err != nil {
		return err
	}
	var ids []ion.ID
	for rows.Next() {
		var id ion.ID
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, id := range ids {
		if err := trackState(tx, e, id, created, nil); err != nil {
			return err
		}
	}
	return nil
}

// flushChanges records, before the commit, one event per tracked object
// that changed and one delivery per matching subscription; queued says
// whether a PENDING delivery was written.
func (tx *tx) flushChanges(queued *bool) error {
	c := tx.capture
	if c == nil {
		return nil
	}
	defer func() { *queued = c.queuedLive }()
	for _, t := range c.objects {
		after, err := t.load()
		if err != nil {
			return err
		}
		action := ion.ActionUpdate
		switch {
		case t.before == nil && after == nil:
			continue
		case t.before == nil:
			action = ion.ActionCreate
		case after == nil:
			action = ion.ActionDelete
		case string(t.before["_etag"]) == string(after["_etag"]):
			continue // not written
		}
		subs := c.matching(t.resource, action)
		if len(subs) == 0 {
			continue
		}
		change, _ := capture.Diff(t.before, after)
		data, err := change.Marshal()
		if err != nil {
			return err
		}
		if _, err := tx.recordEvent(ion.WebhookEvent{Resource: t.resource, Action: action, ObjectID: t.id, Timestamp: tx.now, Data: data}, subs); err != nil {
			return err
		}
	}
	c.objects, c.seen = nil, map[string]*trackedObject{}
	return nil
}

// recordEvent writes an event and its deliveries to subs.
func (tx *tx) recordEvent(ev ion.WebhookEvent, subs []activeSubscription) ([]ion.ID, error) {
	if len(subs) == 0 {
		return nil, nil
	}
	eventID, err := tx.insert(`INSERT INTO webhook_events (resource, action, object_id, at, data) VALUES (?, ?, ?, ?, ?)`,
		ev.Resource, ev.Action, ev.ObjectID, sqlcol.ToMicros(ev.Timestamp), string(ev.Data))
	if err != nil {
		return nil, err
	}
	ids := make([]ion.ID, 0, len(subs))
	for _, s := range subs {
		status := ion.DeliveryRecorded
		if s.mode == ion.DeliveryLive {
			status = ion.DeliveryPending
			tx.capture.queuedLive = true
		}
		id, err := tx.insert(`INSERT INTO webhook_deliveries (event_id, subscription_id, receiver_id, mode, status, next_attempt_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, eventID, s.id, s.receiverID, s.mode, status, tx.nowMicros(), tx.nowMicros())
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func itoa(id ion.ID) string {
	var b [20]byte
	return string(appendInt(b[:0], id))
}

func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}

// webhookNotifier holds the functions OnWebhookQueued registered.
type webhookNotifier struct {
	mu  sync.Mutex
	fns []func(tenant string)
}

// OnWebhookQueued registers fn to be called, after a commit, with the id of
// a tenant that has new PENDING deliveries. fn must not block.
func (s *Stores) OnWebhookQueued(fn func(tenant string)) {
	s.webhooks.mu.Lock()
	defer s.webhooks.mu.Unlock()
	s.webhooks.fns = append(s.webhooks.fns, fn)
}

func (s *Stores) notifyWebhookQueued(tenant string) {
	s.webhooks.mu.Lock()
	fns := slices.Clone(s.webhooks.fns)
	s.webhooks.mu.Unlock()
	for _, fn := range fns {
		fn(tenant)
	}
}

var webhookReceivers = newEntity(entity[ion.WebhookReceiver]{
	kind:    "webhook receiver",
	plural:  "webhook receivers",
	table:   "webhook_receivers",
	columns: sqlcol.MetaCols + ", t.name, t.url, t.shared_secret, t.expected_response_code, t.headers, t.delivery_mode, t.status, t.last_error, t.failing_since",
	fields: map[string]column{
		"name":         {"t.name", kindText},
		"url":          {"t.url", kindText},
		"deliveryMode": {"t.delivery_mode", kindEnum},
		"status":       {"t.status", kindEnum},
	},
	scan: func(sc scanner) (r ion.WebhookReceiver, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&r.Meta), &r.Name, &r.URL, &r.SharedSecret, &r.ExpectedResponseCode,
			sqlcol.JSONList[ion.WebhookHeader]{Dst: &r.Headers}, &r.DeliveryMode, &r.Status, &r.LastError, sqlcol.Micros{Dst: &r.FailingSince})...)
		return r, err
	},
	meta: func(r ion.WebhookReceiver) ion.Meta { return r.Meta },
})

var webhookSubscriptions = newEntity(entity[ion.WebhookSubscription]{
	kind:    "webhook subscription",
	plural:  "webhook subscriptions",
	table:   "webhook_subscriptions",
	columns: sqlcol.MetaCols + ", t.receiver_id, t.resource, t.action",
	fields: map[string]column{
		"receiverId": {"t.receiver_id", kindInt},
		"resource":   {"t.resource", kindEnum},
		"action":     {"t.action", kindEnum},
	},
	scan: func(sc scanner) (s ion.WebhookSubscription, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&s.Meta), &s.ReceiverID, &s.Resource, &s.Action)...)
		return s, err
	},
	meta: func(s ion.WebhookSubscription) ion.Meta { return s.Meta },
})

// webhookDeliveries reads deliveries joined with their events; the table is
// a subquery so that the list machinery filters on event columns too.
var webhookDeliveries = newEntity(entity[ion.WebhookDelivery]{
	kind:   "webhook delivery",
	plural: "webhook events",
	table: `(SELECT d.*, e.resource, e.action, e.object_id, e.at, e.data FROM webhook_deliveries d
		JOIN webhook_events e ON e.id = d.event_id)`,
	columns: "t.id, t.event_id, t.resource, t.action, t.object_id, t.at, t.data, t.subscription_id, t.receiver_id, t.mode, t.status," +
		" t.attempts, t.next_attempt_at, t.last_attempt_at, t.last_status_code, t.last_error, t.delivered_at, t.created_at",
	fields: map[string]column{
		"eventId":        {"t.event_id", kindInt},
		"resource":       {"t.resource", kindEnum},
		"action":         {"t.action", kindText},
		"objectId":       {"t.object_id", kindInt},
		"timestamp":      {"t.at", kindTime},
		"subscriptionId": {"t.subscription_id", kindInt},
		"receiverId":     {"t.receiver_id", kindInt},
		"webhookId":      {"t.receiver_id", kindInt},
		"mode":           {"t.mode", kindEnum},
		"status":         {"t.status", kindEnum},
		"attempts":       {"t.attempts", kindInt},
		"nextAttemptAt":  {"t.next_attempt_at", kindTime},
	},
	scan: func(sc scanner) (d ion.WebhookDelivery, err error) {
		var data string
		err = sc.Scan(&d.ID, &d.Event.ID, &d.Event.Resource, &d.Event.Action, &d.Event.ObjectID, sqlcol.Micros{Dst: &d.Event.Timestamp}, &data,
			&d.SubscriptionID, &d.ReceiverID, &d.Mode, &d.Status, &d.Attempts, sqlcol.Micros{Dst: &d.NextAttemptAt},
			sqlcol.Micros{Dst: &d.LastAttemptAt}, &d.LastStatusCode, &d.LastError, sqlcol.Micros{Dst: &d.DeliveredAt}, sqlcol.Micros{Dst: &d.CreatedAt})
		d.Event.Data = []byte(data)
		return d, err
	},
})

// newSharedSecret makes a secret for a receiver created without one.
func newSharedSecret() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// normalizeReceiver checks a receiver's fields and fills defaults.
func normalizeReceiver(r *ion.WebhookReceiver) (err error) {
	r.Name = strings.TrimSpace(r.Name)
	r.URL = strings.TrimSpace(r.URL)
	if err := ion.CheckWebhookURL(r.URL); err != nil {
		return err
	}
	if r.Name == "" {
		r.Name = r.URL
	}
	if r.SharedSecret == "" {
		r.SharedSecret = newSharedSecret()
	}
	if r.ExpectedResponseCode == 0 {
		r.ExpectedResponseCode = 200
	}
	if r.ExpectedResponseCode < 100 || r.ExpectedResponseCode > 599 {
		return ion.Invalid("expectedResponseCode", "must be an HTTP status code between 100 and 599 (got %d).", r.ExpectedResponseCode)
	}
	if err := ion.CheckWebhookHeaders(r.Headers); err != nil {
		return err
	}
	if r.Headers == nil {
		r.Headers = []ion.WebhookHeader{}
	}
	if r.DeliveryMode == "" {
		r.DeliveryMode = ion.DeliverySink
	}
	if r.DeliveryMode, err = ion.CheckEnum("deliveryMode", r.DeliveryMode, ion.DeliveryLive, ion.DeliverySink); err != nil {
		return err
	}
	if r.Status == "" {
		r.Status = ion.ReceiverActive
	}
	r.Status, err = ion.CheckEnum("status", r.Status, ion.ReceiverActive, ion.ReceiverDisabled)
	return err
}

// CreateWebhookReceiver creates an ACTIVE receiver. DeliveryMode defaults
// to SINK (the safe default; the GraphQL layer sets LIVE in production),
// ExpectedResponseCode to 200, and an empty SharedSecret is generated.
func (s *TenantStore) CreateWebhookReceiver(ctx context.Context, in ion.WebhookReceiver) (ion.WebhookReceiver, error) {
	in.Status = ion.ReceiverActive
	in.LastError, in.FailingSince = "", nil
	out, err := create(ctx, s, webhookReceivers, func(tx *tx) (ion.ID, error) {
		if err := normalizeReceiver(&in); err != nil {
			return 0, err
		}
		return tx.insert(`INSERT INTO webhook_receivers (name, url, shared_secret, expected_response_code, headers, delivery_mode, status,
			etag, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			in.Name, in.URL, in.SharedSecret, in.ExpectedResponseCode, sqlcol.EncodeList(in.Headers), in.DeliveryMode, in.Status,
			ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
	})
	if err != nil {
		return out, err
	}
	return out, s.refreshWebhookRegistry(ctx)
}

// UpdateWebhookReceiver changes the fields the patch sets. Setting Status
// to ACTIVE re-enables the receiver and clears LastError and FailingSince.
func (s *TenantStore) UpdateWebhookReceiver(ctx context.Context, p ion.WebhookReceiverPatch) (ion.WebhookReceiver, error) {
	out, err := change(ctx, s, webhookReceivers, "update", p.ID, p.Etag, func(tx *tx, r ion.WebhookReceiver) error {
		if p.Name != nil {
			r.Name = *p.Name
		}
		if p.URL != nil {
			r.URL = *p.URL
		}
		if p.SharedSecret != nil {
			if strings.TrimSpace(*p.SharedSecret) == "" {
				return ion.Invalid("sharedSecret", "must not be empty; omit it to keep the current secret.")
			}
			r.SharedSecret = *p.SharedSecret
		}
		if p.ExpectedResponseCode != nil {
			r.ExpectedResponseCode = *p.ExpectedResponseCode
			if r.ExpectedResponseCode == 0 {
				r.ExpectedResponseCode = 200
			}
		}
		if p.Headers != nil {
			r.Headers = *p.Headers
		}
		if p.DeliveryMode != nil {
			if *p.DeliveryMode == "" {
				return ion.Invalid("deliveryMode", "must be LIVE or SINK.")
			}
			r.DeliveryMode = *p.DeliveryMode
		}
		if p.Status != nil {
			if *p.Status == "" {
				return ion.Invalid("status", "must be ACTIVE or DISABLED.")
			}
			r.Status = *p.Status
		}
		if err := normalizeReceiver(&r); err != nil {
			return err
		}
		if p.Status != nil && r.Status == ion.ReceiverActive {
			r.LastError, r.FailingSince = "", nil
		}
		_, err := tx.exec(`UPDATE webhook_receivers SET name = ?, url = ?, shared_secret = ?, expected_response_code = ?, headers = ?,
			delivery_mode = ?, status = ?, last_error = ?, failing_since = ?, etag = ?, updated_at = ? WHERE id = ?`,
			r.Name, r.URL, r.SharedSecret, r.ExpectedResponseCode, sqlcol.EncodeList(r.Headers), r.DeliveryMode, r.Status,
			r.LastError, sqlcol.NullMicros(r.FailingSince), ion.NewEtag(), tx.nowMicros(), r.ID)
		return err
	})
	if err != nil {
		return out, err
	}
	return out, s.refreshWebhookRegistry(ctx)
}

// DeleteWebhookReceiver deletes a receiver, its subscriptions and its
// pending deliveries; the log of finished ones stays.
func (s *TenantStore) DeleteWebhookReceiver(ctx context.Context, id ion.ID, etag string) error {
	err := remove(ctx, s, webhookReceivers, id, etag, func(tx *tx, _ ion.WebhookReceiver) error {
		_, err := tx.exec(`DELETE FROM webhook_deliveries WHERE receiver_id = ? AND status = 'PENDING'`, id)
		return err
	})
	if err != nil {
		return err
	}
	return s.refreshWebhookRegistry(ctx)
}

// WebhookReceiver returns receiver id.
func (s *TenantStore) WebhookReceiver(ctx context.Context, id ion.ID) (ion.WebhookReceiver, error) {
	return get(ctx, s, webhookReceivers, id)
}

// WebhookReceivers lists receivers.
func (s *TenantStore) WebhookReceivers(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.WebhookReceiver], error) {
	return list(ctx, s, webhookReceivers, opts)
}

// refreshWebhookRegistry tells the control store whether this tenant has
// an active LIVE receiver, after a change that may have altered that.
func (s *TenantStore) refreshWebhookRegistry(ctx context.Context) error {
	var live bool
	err := s.view(ctx, "webhook registry", func(q queryer) error {
		return q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_receivers WHERE status = 'ACTIVE' AND delivery_mode = 'LIVE')`).Scan(&live)
	})
	if err != nil {
		return err
	}
	return s.stores.Control().SetWebhookTenant(ctx, s.id, live)
}

// CreateWebhookSubscription subscribes a receiver to one (resource,
// action); the resource may be spelled in plural or any case.
func (s *TenantStore) CreateWebhookSubscription(ctx context.Context, in ion.WebhookSubscription) (ion.WebhookSubscription, error) {
	return create(ctx, s, webhookSubscriptions, func(tx *tx) (ion.ID, error) {
		if err := ion.NormalizeWebhookSubscription(&in); err != nil {
			return 0, err
		}
		if err := ref(tx, "webhook_receivers", "webhook receiver", "receiverId", in.ReceiverID); err != nil {
			return 0, err
		}
		var other ion.ID
		err := tx.queryRow(`SELECT id FROM webhook_subscriptions WHERE receiver_id = ? AND resource = ? AND action = ?`,
			in.ReceiverID, in.Resource, in.Action).Scan(&other)
		if err == nil {
			return 0, ion.Invalid("action", "receiver %d already subscribes to %s %s (subscription %d).", in.ReceiverID, in.Resource, in.Action, other)
		}
		if !isNoRows(err) {
			return 0, err
		}
		return tx.insert(`INSERT INTO webhook_subscriptions (receiver_id, resource, action, etag, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
			in.ReceiverID, in.Resource, in.Action, ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
	})
}

// DeleteWebhookSubscription deletes a subscription; its deliveries stay in
// the log, and pending ones are still attempted.
func (s *TenantStore) DeleteWebhookSubscription(ctx context.Context, id ion.ID, etag string) error {
	return remove(ctx, s, webhookSubscriptions, id, etag, nil)
}

// WebhookSubscriptions lists subscriptions.
func (s *TenantStore) WebhookSubscriptions(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.WebhookSubscription], error) {
	return list(ctx, s, webhookSubscriptions, opts)
}

// WebhookDeliveries lists the delivery log, newest last unless sorted.
func (s *TenantStore) WebhookDeliveries(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.WebhookDelivery], error) {
	return list(ctx, s, webhookDeliveries, opts)
}

// RecordWebhookEvent records a synthetic event and its deliveries to every
// matching subscription of an active receiver. Timestamp defaults to now
// and Data to {}.
func (s *TenantStore) RecordWebhookEvent(ctx context.Context, ev ion.WebhookEvent) ([]ion.WebhookDelivery, error) {
	if err := ion.NormalizeWebhookEvent(&ev); err != nil {
		return nil, err
	}
	var ids []ion.ID
	err := s.update(ctx, "record webhook event", func(tx *tx) error {
		c, err := tx.changes()
		if err != nil {
			return err
		}
		if ev.Timestamp.IsZero() {
			ev.Timestamp = tx.now
		}
		ids, err = tx.recordEvent(ev, c.matching(ev.Resource, ev.Action))
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.deliveriesByID(ctx, ids)
}

func (s *TenantStore) deliveriesByID(ctx context.Context, ids []ion.ID) ([]ion.WebhookDelivery, error) {
	out := make([]ion.WebhookDelivery, 0, len(ids))
	for _, id := range ids {
		d, err := get(ctx, s, webhookDeliveries, id)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// ClaimWebhookDeliveries leases up to limit due PENDING LIVE deliveries of
// active receivers until now+lease, oldest due first.
func (s *TenantStore) ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]ion.WebhookDelivery, error) {
	if limit <= 0 {
		return nil, ion.Invalid("limit", "must be positive (got %d).", limit)
	}
	if lease <= 0 {
		return nil, ion.Invalid("lease", "must be positive (got %s).", lease)
	}
	var ids []ion.ID
	err := s.update(ctx, "claim webhook deliveries", func(tx *tx) error {
		ids = ids[:0]
		rows, err := tx.query(`SELECT d.id FROM webhook_deliveries d JOIN webhook_receivers r ON r.id = d.receiver_id
			WHERE d.status = 'PENDING' AND d.mode = 'LIVE' AND d.next_attempt_at <= ? AND r.status = 'ACTIVE'
			ORDER BY d.next_attempt_at, d.id LIMIT ?`+claimLock, sqlcol.ToMicros(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id ion.ID
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.exec(`UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?`, sqlcol.ToMicros(now.Add(lease)), id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.deliveriesByID(ctx, ids)
}

// FinishWebhookDelivery records one attempt: the delivery becomes
// DELIVERED, PENDING again at NextAttemptAt, or FAILED; the receiver's
// FailingSince starts at its first failure and clears (with LastError) on
// a success, and DisableReceiver disables it with Error as LastError.
func (s *TenantStore) FinishWebhookDelivery(ctx context.Context, o ion.DeliveryOutcome) error {
	disabled := false
	err := s.update(ctx, "finish webhook delivery", func(tx *tx) error {
		var err error
		disabled, err = finishDelivery(tx, o)
		return err
	})
	if err != nil || !disabled {
		return err
	}
	return s.refreshWebhookRegistry(ctx)
}

// FinishWebhookDeliveries records many attempts in one transaction, each
// as FinishWebhookDelivery does, so that a dispatcher finishing many
// attempts at once pays for one commit instead of one each.
func (s *TenantStore) FinishWebhookDeliveries(ctx context.Context, outcomes []ion.DeliveryOutcome) ([]error, error) {
	var errs []error
	disabled := false
	err := s.update(ctx, "finish webhook deliveries", func(tx *tx) error {
		errs, disabled = make([]error, len(outcomes)), false
		for i, o := range outcomes {
			off, err := finishDelivery(tx, o)
			var ie *ion.Error
			if errors.As(err, &ie) {
				// Refused before it wrote anything: the others still count.
				errs[i] = ie
				continue
			}
			if err != nil {
				return fmt.Errorf("delivery %d: %w", o.DeliveryID, err)
			}
			disabled = disabled || off
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if disabled {
		if err := s.refreshWebhookRegistry(ctx); err != nil {
			return errs, err
		}
	}
	return errs, nil
}

// finishDelivery records attempt o in tx and reports whether it disabled
// the receiver. Its application errors (NOT_FOUND, CONFLICT) come before
// any write, so a batch can refuse one outcome and record the rest.
func finishDelivery(tx *tx, o ion.DeliveryOutcome) (disabled bool, err error) {
	var receiverID ion.ID
	var status string
	err = tx.queryRow(`SELECT receiver_id, status FROM webhook_deliveries WHERE id = ?`, o.DeliveryID).Scan(&receiverID, &status)
	if isNoRows(err) {
		return false, ion.NotFound("webhook delivery", o.DeliveryID)
	}
	if err != nil {
		return false, err
	}
	if status != ion.DeliveryPending {
		return false, ion.Errorf(ion.ECONFLICT, "webhook delivery %d is %s, not PENDING; it was finished already.", o.DeliveryID, status)
	}
	at := o.AttemptedAt.UTC()
	if at.IsZero() {
		at = tx.now
	}
	next, newStatus := sqlcol.ToMicros(at), ion.DeliveryFailed
	var deliveredAt any
	switch {
	case o.Delivered:
		newStatus, deliveredAt = ion.DeliveryDelivered, sqlcol.ToMicros(at)
	case o.NextAttemptAt != nil:
		newStatus, next = ion.DeliveryPending, sqlcol.ToMicros(*o.NextAttemptAt)
	}
	if _, err := tx.exec(`UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = ?, last_attempt_at = ?,
		last_status_code = ?, last_error = ?, delivered_at = ? WHERE id = ?`,
		newStatus, next, sqlcol.ToMicros(at), o.StatusCode, o.Error, deliveredAt, o.DeliveryID); err != nil {
		return false, err
	}
	switch {
	case o.Delivered:
		_, err = tx.exec(`UPDATE webhook_receivers SET failing_since = NULL, last_error = '' WHERE id = ? AND status = 'ACTIVE'`, receiverID)
	case o.DisableReceiver:
		disabled = true
		_, err = tx.exec(`UPDATE webhook_receivers SET status = 'DISABLED', last_error = ?, failing_since = coalesce(failing_since, ?),
			etag = ?, updated_at = ? WHERE id = ?`, o.Error, sqlcol.ToMicros(at), ion.NewEtag(), tx.nowMicros(), receiverID)
	default:
		// Only an active receiver's: a disabled one keeps the error that
		// says why it was disabled, which a delivery finished later (one
		// claimed before the disable, failed as "the receiver is disabled")
		// must not overwrite.
		_, err = tx.exec(`UPDATE webhook_receivers SET last_error = ?, failing_since = coalesce(failing_since, ?) WHERE id = ? AND status = 'ACTIVE'`,
			o.Error, sqlcol.ToMicros(at), receiverID)
	}
	return disabled, err
}

// SetWebhookTenant records whether tenant has an active LIVE receiver.
func (c *ControlStore) SetWebhookTenant(ctx context.Context, tenant string, live bool) error {
	return c.db.update(ctx, "set webhook tenant", func(tx *tx) error {
		if !live {
			_, err := tx.exec(`DELETE FROM webhook_tenants WHERE tenant = ?`, tenant)
			return err
		}
		_, err := tx.exec(`INSERT INTO webhook_tenants (tenant, updated_at) VALUES (?, ?)
			ON CONFLICT (tenant) DO UPDATE SET updated_at = excluded.updated_at`, tenant, tx.nowMicros())
		return err
	})
}

// WebhookTenants lists the tenants with an active LIVE receiver.
func (c *ControlStore) WebhookTenants(ctx context.Context) ([]string, error) {
	out := []string{}
	err := c.db.view(ctx, "webhook tenants", func(q queryer) error {
		rows, err := q.QueryContext(ctx, `SELECT tenant FROM webhook_tenants ORDER BY tenant`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t string
			if err := rows.Scan(&t); err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, err
}

// webhookTables are the tables a restore keeps from the tenant's current
// data, parents first: webhook configuration survives a reset, and so do
// the event log and the deliveries still owed (at-least-once), whose ids
// must keep growing because receivers dedupe by them.
var webhookTables = []string{"webhook_receivers", "webhook_subscriptions", "webhook_events", "webhook_deliveries"}
