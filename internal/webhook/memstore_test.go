package webhook

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/ionbox/ionbox/ion"
)

// memStore is a small in-memory ion.WebhookStore and ion.WebhookRegistry
// for the dispatcher's unit tests; the end-to-end tests in internal/server
// run the real stores.
type memStore struct {
	mu         sync.Mutex
	receivers  map[ion.ID]*ion.WebhookReceiver
	deliveries []*ion.WebhookDelivery
	leased     map[ion.ID]time.Time
	finished   []ion.DeliveryOutcome
	batches    []int // sizes of FinishWebhookDeliveries calls
	nextID     ion.ID
}

func newMemStore() *memStore {
	return &memStore{receivers: map[ion.ID]*ion.WebhookReceiver{}, leased: map[ion.ID]time.Time{}}
}

var errUnused = errors.New("not used by these tests")

func (m *memStore) addReceiver(r ion.WebhookReceiver) ion.WebhookReceiver {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	r.ID = m.nextID
	if r.Status == "" {
		r.Status = ion.ReceiverActive
	}
	m.receivers[r.ID] = &r
	return r
}

// queue records one PENDING delivery of a PART CREATE event to receiver.
func (m *memStore) queue(receiver ion.ID, objectID ion.ID, now time.Time) ion.WebhookDelivery {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	d := &ion.WebhookDelivery{
		ID: m.nextID, SubscriptionID: 900 + receiver, ReceiverID: receiver, Mode: ion.DeliveryLive, Status: ion.DeliveryPending,
		NextAttemptAt: now, CreatedAt: now,
		Event: ion.WebhookEvent{ID: 5000 + m.nextID, Resource: ion.ResourcePart, Action: ion.ActionCreate, ObjectID: objectID, Timestamp: now,
			Data: []byte(`{"new":{"id":1},"old":null,"changed_fields":["id"]}`)},
	}
	m.deliveries = append(m.deliveries, d)
	return *d
}

func (m *memStore) delivery(id ion.ID) ion.WebhookDelivery {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range m.deliveries {
		if d.ID == id {
			return *d
		}
	}
	return ion.WebhookDelivery{}
}

func (m *memStore) receiver(id ion.ID) ion.WebhookReceiver {
	m.mu.Lock()
	defer m.mu.Unlock()
	return *m.receivers[id]
}

func (m *memStore) WebhookReceiver(_ context.Context, id ion.ID) (ion.WebhookReceiver, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.receivers[id]
	if !ok {
		return ion.WebhookReceiver{}, ion.Errorf(ion.ENOTFOUND, "no receiver %d", id)
	}
	return *r, nil
}

func (m *memStore) ClaimWebhookDeliveries(_ context.Context, now time.Time, lease time.Duration, limit int) ([]ion.WebhookDelivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ion.WebhookDelivery
	for _, d := range m.deliveries {
		if len(out) >= limit {
			break
		}
		if d.Status != ion.DeliveryPending || d.NextAttemptAt.After(now) || m.leased[d.ID].After(now) {
			continue
		}
		m.leased[d.ID] = now.Add(lease)
		out = append(out, *d)
	}
	return out, nil
}

func (m *memStore) FinishWebhookDelivery(_ context.Context, o ion.DeliveryOutcome) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finished = append(m.finished, o)
	i := slices.IndexFunc(m.deliveries, func(d *ion.WebhookDelivery) bool { return d.ID == o.DeliveryID })
	if i < 0 {
		return ion.Errorf(ion.ENOTFOUND, "no delivery %d", o.DeliveryID)
	}
	d := m.deliveries[i]
	delete(m.leased, d.ID)
	d.Attempts++
	at := o.AttemptedAt
	d.LastAttemptAt, d.LastStatusCode, d.LastError = &at, o.StatusCode, o.Error
	r := m.receivers[d.ReceiverID]
	switch {
	case o.Delivered:
		d.Status, d.DeliveredAt = ion.DeliveryDelivered, &at
		if r != nil {
			r.FailingSince = nil
		}
	case o.NextAttemptAt != nil:
		d.NextAttemptAt = *o.NextAttemptAt
	default:
		d.Status = ion.DeliveryFailed
	}
	if r != nil && !o.Delivered {
		if r.FailingSince == nil {
			r.FailingSince = &at
		}
		if o.DisableReceiver {
			r.Status, r.LastError = ion.ReceiverDisabled, o.Error
		}
	}
	return nil
}

func (m *memStore) FinishWebhookDeliveries(ctx context.Context, outcomes []ion.DeliveryOutcome) ([]error, error) {
	m.mu.Lock()
	m.batches = append(m.batches, len(outcomes))
	m.mu.Unlock()
	errs := make([]error, len(outcomes))
	for i, o := range outcomes {
		errs[i] = m.FinishWebhookDelivery(ctx, o)
	}
	return errs, nil
}

func (m *memStore) SetWebhookTenant(context.Context, string, bool) error { return errUnused }
func (m *memStore) WebhookTenants(context.Context) ([]string, error) {
	return []string{"production-org-1"}, nil
}

func (m *memStore) CreateWebhookReceiver(context.Context, ion.WebhookReceiver) (ion.WebhookReceiver, error) {
	return ion.WebhookReceiver{}, errUnused
}
func (m *memStore) UpdateWebhookReceiver(context.Context, ion.WebhookReceiverPatch) (ion.WebhookReceiver, error) {
	return ion.WebhookReceiver{}, errUnused
}
func (m *memStore) DeleteWebhookReceiver(context.Context, ion.ID, string) error { return errUnused }
func (m *memStore) WebhookReceivers(context.Context, ion.ListOptions) (ion.Page[ion.WebhookReceiver], error) {
	return ion.Page[ion.WebhookReceiver]{}, errUnused
}
func (m *memStore) CreateWebhookSubscription(context.Context, ion.WebhookSubscription) (ion.WebhookSubscription, error) {
	return ion.WebhookSubscription{}, errUnused
}
func (m *memStore) DeleteWebhookSubscription(context.Context, ion.ID, string) error { return errUnused }
func (m *memStore) WebhookSubscriptions(context.Context, ion.ListOptions) (ion.Page[ion.WebhookSubscription], error) {
	return ion.Page[ion.WebhookSubscription]{}, errUnused
}
func (m *memStore) WebhookDeliveries(context.Context, ion.ListOptions) (ion.Page[ion.WebhookDelivery], error) {
	return ion.Page[ion.WebhookDelivery]{}, errUnused
}
func (m *memStore) RecordWebhookEvent(context.Context, ion.WebhookEvent) ([]ion.WebhookDelivery, error) {
	return nil, errUnused
}

var (
	_ ion.WebhookStore    = (*memStore)(nil)
	_ ion.WebhookRegistry = (*memStore)(nil)
)
