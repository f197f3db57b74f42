package graphql

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/ionbox/ionbox/internal/capture"
	"github.com/ionbox/ionbox/internal/graphql/model"
	"github.com/ionbox/ionbox/ion"
)

// webhookEnvironment returns the environment of the operation's actor:
// its kind decides which delivery modes a receiver may have.
func webhookEnvironment(ctx context.Context) (ion.Environment, error) {
	st, err := stateFrom(ctx)
	if err != nil {
		return ion.Environment{}, err
	}
	return st.stores.Control().Environment(ctx, st.actor.Environment)
}

// checkDeliveryMode refuses SINK in production, where every receiver is
// LIVE (ION-API.md §6), and returns the mode to store: a sandbox receiver
// without one gets its environment's default (SINK unless the operator
// said otherwise).
func checkDeliveryMode(env ion.Environment, mode *string, creating bool) (*string, error) {
	if env.Kind != ion.EnvSandbox {
		if mode != nil && strings.EqualFold(*mode, ion.DeliverySink) {
			return nil, ion.Invalid("deliveryMode", "production receivers are always LIVE; SINK is available in sandboxes, where it is the default.")
		}
		if creating {
			live := ion.DeliveryLive
			return &live, nil
		}
		return mode, nil
	}
	if mode == nil && creating {
		m := ion.DeliverySink
		if env.WebhookMode == ion.WebhookLive {
			m = ion.DeliveryLive
		}
		return &m, nil
	}
	return mode, nil
}

func headersIn(in []model.WebhookHeaderInput) []ion.WebhookHeader {
	out := make([]ion.WebhookHeader, len(in))
	for i, h := range in {
		out[i] = ion.WebhookHeader{Key: h.Key, Value: h.Value}
	}
	return out
}

// canonicalResourceFilters rewrites resource filter values to their
// singular spelling, so that {resource: {eq: "RUNS"}} matches RUN events.
func canonicalResourceFilters(filters []ion.Filter) []ion.Filter {
	canon := func(v any) any {
		if s, ok := v.(string); ok {
			if c, ok := ion.CanonicalResource(s); ok {
				return c
			}
		}
		return v
	}
	for i, f := range filters {
		if f.Field != "resource" {
			continue
		}
		if list, ok := f.Value.([]any); ok {
			for j := range list {
				list[j] = canon(list[j])
			}
			continue
		}
		filters[i].Value = canon(f.Value)
	}
	return filters
}

// listWebhookDeliveries is listTenant for the delivery log, with resource
// filters canonicalized.
func listWebhookDeliveries(ctx context.Context, r *Resolver, p pageArgs, filters any, sort []*string) (*model.Connection[ion.WebhookDelivery], error) {
	ts, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	return paginate(ctx, tenantLister(ts, ion.TenantStore.WebhookDeliveries), p, r.limits.MaxPageSize,
		canonicalResourceFilters(filtersFrom(filters)), sortFrom(sort))
}

// firedEventData is the data of a fireWebhookEvent event: the object's
// current state as data.new when it exists, else just its id.
func firedEventData(ctx context.Context, ts ion.TenantStore, resource string, id ion.ID) ([]byte, error) {
	var obj any
	var err error
	switch resource {
	case ion.ResourcePart:
		obj, err = ts.Part(ctx, id)
	case ion.ResourcePartInventory:
		obj, err = ts.PartInventory(ctx, id)
	case ion.ResourceMBomItem:
		obj, err = ts.MBomItem(ctx, id)
	case ion.ResourceLocation:
		obj, err = ts.Location(ctx, id)
	case ion.ResourceProcedure:
		obj, err = ts.Procedure(ctx, id)
	case ion.ResourceStep:
		obj, err = ts.Step(ctx, id)
	case ion.ResourceRun:
		obj, err = ts.Run(ctx, id)
	case ion.ResourceRunStep:
		obj, err = ts.RunStep(ctx, id)
	case ion.ResourceBuildRequirement:
		obj, err = ts.BuildRequirement(ctx, id)
	case ion.ResourceABomInstallation:
		obj, err = ts.AbomInstallation(ctx, id)
	case ion.ResourceIssue:
		obj, err = ts.Issue(ctx, id)
	case ion.ResourceSupplier:
		obj, err = ts.Supplier(ctx, id)
	case ion.ResourcePurchaseOrder:
		obj, err = ts.PurchaseOrder(ctx, id)
	case ion.ResourcePurchaseOrderLine:
		obj, err = ts.PurchaseOrderLine(ctx, id)
	}
	newObj := capture.Object{"id": json.RawMessage(itoa(id))}
	switch {
	case ion.ErrorCode(err) == ion.ENOTFOUND || obj == nil:
	case err != nil:
		return nil, err
	default:
		if newObj, err = capture.Of(obj); err != nil {
			return nil, err
		}
	}
	return capture.Change{New: newObj, ChangedFields: []string{}}.Marshal()
}

func itoa(id ion.ID) string {
	b, _ := json.Marshal(id)
	return string(b)
}

// changeWebhookHeaders applies change to a receiver's headers. Without an
// etag the receiver as read now is changed (a concurrent change still
// answers CONFLICT rather than being overwritten).
func changeWebhookHeaders(ctx context.Context, id ion.ID, etag *string, change func([]ion.WebhookHeader) ([]ion.WebhookHeader, error)) (*model.WebhookReceiverPayload, error) {
	ts, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := ts.WebhookReceiver(ctx, id)
	if err != nil {
		return nil, err
	}
	tag := cur.Etag
	if etag != nil && *etag != "" {
		tag = *etag
	}
	headers, err := change(cur.Headers)
	if err != nil {
		return nil, err
	}
	rcv, err := ts.UpdateWebhookReceiver(ctx, ion.WebhookReceiverPatch{ID: id, Etag: tag, Headers: &headers})
	if err != nil {
		return nil, err
	}
	return &model.WebhookReceiverPayload{WebhookReceiver: &rcv}, nil
}

// canonicalEnumFilter rewrites resource names in an enum filter to their
// singular spelling.
func canonicalEnumFilter(f *model.EnumFilterInput) {
	canon := func(p *string) {
		if p == nil {
			return
		}
		if c, ok := ion.CanonicalResource(*p); ok {
			*p = c
		}
	}
	canon(f.Eq)
	canon(f.Neq)
	for i := range f.In {
		canon(&f.In[i])
	}
	for i := range f.NotIn {
		canon(&f.NotIn[i])
	}
}
