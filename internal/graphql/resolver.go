package graphql

import (
	"context"
	"encoding/json"
	"hash/crc32"
	"strings"

	"github.com/ionbox/ionbox/internal/graphql/model"
	"github.com/ionbox/ionbox/ion"
)

// Resolver is the root of the resolvers. It holds what every resolver
// shares; what is per operation (the actor, its tenant store, dataloaders)
// travels in the context (see requestState).
type Resolver struct {
	stores  ion.Stores
	apiKeys ion.APIKeyService
	limits  Limits
	// sandboxes serves ionbox's sandbox additions; nil refuses them.
	sandboxes Sandboxes
}

// tenant returns the tenant store of the operation's actor.
func tenant(ctx context.Context) (ion.TenantStore, error) {
	st, err := stateFrom(ctx)
	if err != nil {
		return nil, err
	}
	return st.tenantStore(ctx)
}

// actorOf returns the operation's actor.
func actorOf(ctx context.Context) (ion.Actor, error) {
	st, err := stateFrom(ctx)
	if err != nil {
		return ion.Actor{}, err
	}
	return st.actor, nil
}

// listTenant answers a connection field over one of the tenant's lists and
// reads ahead what the query selects below the page's nodes.
func listTenant[T any](ctx context.Context, r *Resolver, m tenantMethod[T], p pageArgs, filters any, sort []*string) (*model.Connection[T], error) {
	ts, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	conn, err := paginate(ctx, tenantLister(ts, m), p, r.limits.MaxPageSize, filtersFrom(filters), sortFrom(sort))
	if err != nil {
		return nil, err
	}
	primeConnection(ctx, conn)
	return conn, nil
}

// getTenant answers a singular query field, x(id: ID!), and reads ahead what
// the query selects below the object.
func getTenant[T any](ctx context.Context, m func(ion.TenantStore, context.Context, ion.ID) (T, error), id ion.ID) (*T, error) {
	ts, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	obj, err := one(m(ts, ctx, id))
	if err != nil {
		return nil, err
	}
	primeObject(ctx, obj)
	return obj, nil
}

// deleteTenant answers a deleteX(id, etag) mutation.
func deleteTenant(ctx context.Context, m func(ion.TenantStore, context.Context, ion.ID, string) error, id ion.ID, etag string) (*model.DeletePayload, error) {
	ts, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	if err := m(ts, ctx, id, etag); err != nil {
		return nil, err
	}
	return &model.DeletePayload{ID: id}, nil
}

// requireEtag returns the etag an update input carries as etag or _etag.
func requireEtag(etag, underscore *string) (string, error) {
	switch {
	case etag != nil && underscore != nil && *etag != *underscore:
		return "", ion.Invalid("etag", "etag and _etag differ; send the object's current _etag once.")
	case etag != nil && *etag != "":
		return *etag, nil
	case underscore != nil && *underscore != "":
		return *underscore, nil
	}
	return "", ion.Invalid("etag", "is required; send the object's current _etag.")
}

func attributesIn(in []model.AttributeInput) []ion.Attribute {
	out := make([]ion.Attribute, len(in))
	for i, a := range in {
		out[i] = ion.Attribute{Key: a.Key, Type: deref(a.Type), Value: deref(a.Value)}
	}
	return out
}

// attributesPatch is nil (unchanged) when the input has no attributes.
func attributesPatch(in []model.AttributeInput) *[]ion.Attribute {
	if in == nil {
		return nil
	}
	out := attributesIn(in)
	return &out
}

// attributesOut shows attributes with their owner's etag.
func attributesOut(attrs []ion.Attribute, etag string) []model.Attribute {
	out := make([]model.Attribute, len(attrs))
	for i, a := range attrs {
		out[i] = model.Attribute{Key: a.Key, Type: a.Type, Value: a.Value, Etag: etag}
	}
	return out
}

// jsonText encodes an input JSON value (Slate rich text, a field value) as
// the JSON text the store keeps; nil stays nil.
func jsonText(field string, v any) (*string, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, ion.Invalid(field, "is not a JSON value: %v", err)
	}
	s := string(b)
	return &s, nil
}

// jsonValue shows stored JSON text as a JSON value; text that is not JSON
// (written before it had to be) shows as a string.
func jsonValue(s *string) any {
	if s == nil {
		return nil
	}
	if json.Valid([]byte(*s)) {
		return json.RawMessage(*s)
	}
	return *s
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func int64Ptr(p *int) *int64 {
	if p == nil {
		return nil
	}
	v := int64(*p)
	return &v
}

func ptr[T any](v T) *T { return &v }

// stepContent is a step's content: content when given, else slateContent
// (ION's Slate JSON rich text) as JSON text.
func stepContent(content *string, slate any) (*string, error) {
	if content != nil {
		return content, nil
	}
	return jsonText("slateContent", slate)
}

// slateContent shows a step's content as Slate JSON when it holds a JSON
// array or object, else null.
func slateContent(content string) any {
	s := strings.TrimSpace(content)
	if (strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{")) && json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	return nil
}

// roleID is a stable id for a role, which ionbox knows by name only.
func roleID(name string) ion.ID {
	return int64(crc32.ChecksumIEEE([]byte(name)) & 0x7fffffff)
}

// currentUser reads the actor's user afresh, so that currentUser shows what
// the control store holds now.
func (r *Resolver) currentUser(ctx context.Context) (*ion.User, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	return one(r.stores.Control().User(ctx, a.Organization.ID, a.User.ID))
}

// organizationAPIKey reads an API key of the actor's organization; another
// organization's key answers NOT_FOUND exactly like a missing one.
func (r *Resolver) organizationAPIKey(ctx context.Context, a ion.Actor, clientID string) (ion.APIKey, error) {
	key, err := r.stores.Control().APIKeyByClientID(ctx, clientID)
	if err == nil && key.OrganizationID != a.Organization.ID {
		err = ion.Errorf(ion.ENOTFOUND, "API key %s not found.", clientID)
	}
	return key, err
}
