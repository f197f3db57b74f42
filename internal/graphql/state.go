package graphql

import (
	"context"
	"errors"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"github.com/ionbox/ionbox/ion"
)

// requestState is what one GraphQL operation's resolvers share: the actor,
// the actor's tenant store (opened on first use, so an operation that never
// reaches a resolver never touches a store) and the operation's dataloaders.
type requestState struct {
	actor  ion.Actor
	stores ion.Stores
	// op is the operation, once it is parsed and validated; fields is what
	// it selects on each object type, worked out on first use (fields.go).
	op     *graphql.OperationContext
	fields operationFields

	mu      sync.Mutex
	tenant  ion.TenantStore
	loaders *loaders
	// plainLists tells, per selection of a list field, whether it selects
	// no resolver field (see InOrder).
	plainLists map[selectionKey]bool
	// readAhead are the fields below which everything that could wait was
	// read ahead (see readAhead).
	readAhead []*graphql.FieldContext
}

type stateKey struct{}

func newRequestState(actor ion.Actor, stores ion.Stores) *requestState {
	st := &requestState{actor: actor, stores: stores}
	st.loaders = newLoaders(st)
	return st
}

func withState(ctx context.Context, st *requestState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

var errNoState = errors.New("graphql: resolver called outside a request of this package's handler")

func stateFrom(ctx context.Context) (*requestState, error) {
	st, ok := ctx.Value(stateKey{}).(*requestState)
	if !ok {
		return nil, errNoState
	}
	return st, nil
}

// tenantStore returns the actor's tenant store, opening it once.
func (st *requestState) tenantStore(ctx context.Context) (ion.TenantStore, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.tenant != nil {
		return st.tenant, nil
	}
	ts, err := st.stores.Tenant(ctx, st.actor.Organization.TenantID())
	if err != nil {
		return nil, err
	}
	st.tenant = ts
	return ts, nil
}

// currentLoaders returns the loaders to use now.
func (st *requestState) currentLoaders() *loaders {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.loaders
}

// resetLoaders drops every cached load. It runs before each root field of a
// mutation, so that what one mutation field selects never shows data cached
// before an earlier one wrote.
func (st *requestState) resetLoaders() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.loaders = newLoaders(st)
}
