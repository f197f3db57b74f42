package graphql

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/vikstrous/dataloadgen"

	"github.com/ionbox/ionbox/internal/limit"
	"github.com/ionbox/ionbox/ion"
)

// Loader tuning. Sibling fields are resolved concurrently, so a short wait
// collects a whole level of a query into one batch; the capacity keeps an
// "id in (…)" list within what a store can bind in one statement.
const (
	loaderWait     = 5 * time.Millisecond
	loaderCapacity = 1000
	// fetchChunk is the page size used to read every child of a batch.
	fetchChunk = 1000
)

// loaders batch the parent→child and id lookups of one operation: "part" on
// 50 inventories is one store call (a ListOptions filter id in […]), "steps"
// on 20 runs another. A connection primes them for its page (prefetch.go),
// so that its fields do not wait for a batch at all.
type loaders struct {
	part              loader[ion.Part]
	mbomItem          loader[ion.MBomItem]
	location          loader[ion.Location]
	unitOfMeasurement loader[ion.UnitOfMeasurement]
	partInventory     loader[ion.PartInventory]
	procedure         loader[ion.Procedure]
	step              loader[ion.Step]
	run               loader[ion.Run]
	runStep           loader[ion.RunStep]
	buildRequirement  loader[ion.BuildRequirement]
	supplier          loader[ion.Supplier]
	purchaseOrder     loader[ion.PurchaseOrder]
	purchaseOrderLine loader[ion.PurchaseOrderLine]
	user              loader[ion.User]

	partQuantity loader[float64]

	mbomByParent               loader[[]ion.MBomItem]
	substitutesByMBomItem      loader[[]ion.MBomSubstitute]
	inventoriesByPart          loader[[]ion.PartInventory]
	inventoriesByLocation      loader[[]ion.PartInventory]
	inventoriesByLine          loader[[]ion.PartInventory]
	runsByPart                 loader[[]ion.Run]
	runsByInventory            loader[[]ion.Run]
	stepsByProcedure           loader[[]ion.Step]
	stepsByParent              loader[[]ion.Step]
	fieldsByStep               loader[[]ion.StepField]
	runStepsByRun              loader[[]ion.RunStep]
	runStepsByParent           loader[[]ion.RunStep]
	fieldsByRunStep            loader[[]ion.RunStepField]
	requirementsByInventory    loader[[]ion.BuildRequirement]
	installationsByRequirement loader[[]ion.AbomInstallation]
	installationsByInventory   loader[[]ion.AbomInstallation]
	linesByPurchaseOrder       loader[[]ion.PurchaseOrderLine]
	teamsByUser                loader[[]ion.Team]
}

// byPosition orders steps as a procedure or run shows them.
var byPosition = []ion.SortKey{{Field: "position"}}

func newLoaders(st *requestState) *loaders {
	return &loaders{
		part:              byID(st, "part", ion.TenantStore.Parts, func(v *ion.Part) ion.ID { return v.ID }),
		mbomItem:          byID(st, "mBOM item", ion.TenantStore.MBomItems, func(v *ion.MBomItem) ion.ID { return v.ID }),
		location:          byID(st, "location", ion.TenantStore.Locations, func(v *ion.Location) ion.ID { return v.ID }),
		unitOfMeasurement: byID(st, "unit of measurement", ion.TenantStore.UnitsOfMeasurement, func(v *ion.UnitOfMeasurement) ion.ID { return v.ID }),
		partInventory:     byID(st, "part inventory", ion.TenantStore.PartInventories, func(v *ion.PartInventory) ion.ID { return v.ID }),
		procedure:         byID(st, "procedure", ion.TenantStore.Procedures, func(v *ion.Procedure) ion.ID { return v.ID }),
		step:              byID(st, "step", ion.TenantStore.Steps, func(v *ion.Step) ion.ID { return v.ID }),
		run:               byID(st, "run", ion.TenantStore.Runs, func(v *ion.Run) ion.ID { return v.ID }),
		runStep:           byID(st, "run step", ion.TenantStore.RunSteps, func(v *ion.RunStep) ion.ID { return v.ID }),
		buildRequirement:  byID(st, "build requirement", ion.TenantStore.BuildRequirements, func(v *ion.BuildRequirement) ion.ID { return v.ID }),
		supplier:          byID(st, "supplier", ion.TenantStore.Suppliers, func(v *ion.Supplier) ion.ID { return v.ID }),
		purchaseOrder:     byID(st, "purchase order", ion.TenantStore.PurchaseOrders, func(v *ion.PurchaseOrder) ion.ID { return v.ID }),
		purchaseOrderLine: byID(st, "purchase order line", ion.TenantStore.PurchaseOrderLines, func(v *ion.PurchaseOrderLine) ion.ID { return v.ID }),
		user: newLoader(func(ctx context.Context, ids []ion.ID) ([]ion.User, []error) {
			orgID := st.actor.Organization.ID
			list := func(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.User], error) {
				return st.stores.Control().Users(ctx, orgID, opts)
			}
			return fetchByID(ctx, list, "user", ids, nil, func(v *ion.User) ion.ID { return v.ID })
		}),

		partQuantity: newLoader(func(ctx context.Context, ids []ion.ID) ([]float64, []error) {
			ts, err := st.tenantStore(ctx)
			if err != nil {
				return nil, []error{err}
			}
			sums, err := ts.PartQuantities(ctx, ids)
			if err != nil {
				return nil, []error{err}
			}
			out := make([]float64, len(ids))
			for i, id := range ids {
				out[i] = sums[id]
			}
			return out, nil
		}),

		mbomByParent:               children(st, ion.TenantStore.MBomItems, "parentId", nil, func(v *ion.MBomItem) *ion.ID { return &v.ParentID }),
		substitutesByMBomItem:      children(st, ion.TenantStore.MBomSubstitutes, "mbomItemId", nil, func(v *ion.MBomSubstitute) *ion.ID { return &v.MBomItemID }),
		inventoriesByPart:          children(st, ion.TenantStore.PartInventories, "partId", nil, func(v *ion.PartInventory) *ion.ID { return &v.PartID }),
		inventoriesByLocation:      children(st, ion.TenantStore.PartInventories, "locationId", nil, func(v *ion.PartInventory) *ion.ID { return v.LocationID }),
		inventoriesByLine:          children(st, ion.TenantStore.PartInventories, "purchaseOrderLineId", nil, func(v *ion.PartInventory) *ion.ID { return v.PurchaseOrderLineID }),
		runsByPart:                 children(st, ion.TenantStore.Runs, "partId", nil, func(v *ion.Run) *ion.ID { return v.PartID }),
		runsByInventory:            children(st, ion.TenantStore.Runs, "partInventoryId", nil, func(v *ion.Run) *ion.ID { return v.PartInventoryID }),
		stepsByProcedure:           children(st, ion.TenantStore.Steps, "procedureId", byPosition, func(v *ion.Step) *ion.ID { return &v.ProcedureID }),
		stepsByParent:              children(st, ion.TenantStore.Steps, "parentId", byPosition, func(v *ion.Step) *ion.ID { return v.ParentID }),
		fieldsByStep:               children(st, ion.TenantStore.StepFields, "stepId", nil, func(v *ion.StepField) *ion.ID { return &v.StepID }),
		runStepsByRun:              children(st, ion.TenantStore.RunSteps, "runId", byPosition, func(v *ion.RunStep) *ion.ID { return &v.RunID }),
		runStepsByParent:           children(st, ion.TenantStore.RunSteps, "parentId", byPosition, func(v *ion.RunStep) *ion.ID { return v.ParentID }),
		fieldsByRunStep:            children(st, ion.TenantStore.RunStepFields, "runStepId", nil, func(v *ion.RunStepField) *ion.ID { return &v.RunStepID }),
		requirementsByInventory:    children(st, ion.TenantStore.BuildRequirements, "partInventoryId", nil, func(v *ion.BuildRequirement) *ion.ID { return &v.PartInventoryID }),
		installationsByRequirement: children(st, ion.TenantStore.AbomInstallations, "buildRequirementId", nil, func(v *ion.AbomInstallation) *ion.ID { return &v.BuildRequirementID }),
		installationsByInventory:   children(st, ion.TenantStore.AbomInstallations, "partInventoryId", nil, func(v *ion.AbomInstallation) *ion.ID { return &v.PartInventoryID }),
		linesByPurchaseOrder:       children(st, ion.TenantStore.PurchaseOrderLines, "purchaseOrderId", nil, func(v *ion.PurchaseOrderLine) *ion.ID { return &v.PurchaseOrderID }),

		// Teams hold their members' ids; an organization has few teams, so
		// one read of all of them answers every user's teams.
		teamsByUser: newLoader(func(ctx context.Context, userIDs []ion.ID) ([][]ion.Team, []error) {
			ts, err := st.tenantStore(ctx)
			if err != nil {
				return nil, []error{err}
			}
			teams, err := fetchAll(ctx, tenantLister(ts, ion.TenantStore.Teams), nil, nil, nil)
			if err != nil {
				return nil, []error{err}
			}
			out := make([][]ion.Team, len(userIDs))
			for i, uid := range userIDs {
				out[i] = []ion.Team{}
				for _, t := range teams {
					if slices.Contains(t.UserIDs, uid) {
						out[i] = append(out[i], t)
					}
				}
			}
			return out, nil
		}),
	}
}

// batchFunc reads the values of a batch of keys: one value per key, and
// either no errors, one error per key, or a single error for the batch.
type batchFunc[V any] func(ctx context.Context, ids []ion.ID) ([]V, []error)

// loader is one kind of loader of an operation. Values come from what the
// operation primed (see prime) or else from a dataloadgen.Loader, which is
// made on first use: an operation uses a few of the thirty kinds, and
// making all of them for every request was a measurable part of a small one.
type loader[V any] struct {
	fetch batchFunc[V]
	once  sync.Once
	l     *dataloadgen.Loader[ion.ID, V]

	mu     sync.Mutex
	primed map[ion.ID]V
}

func newLoader[V any](fetch batchFunc[V]) loader[V] {
	return loader[V]{fetch: func(ctx context.Context, ids []ion.ID) ([]V, []error) {
		// A sandbox request steps aside here while production is served.
		limit.Yield(ctx)
		return fetch(ctx, ids)
	}}
}

func (z *loader[V]) get() *dataloadgen.Loader[ion.ID, V] {
	z.once.Do(func() {
		z.l = dataloadgen.NewLoader(z.fetch, dataloadgen.WithWait(loaderWait), dataloadgen.WithBatchCapacity(loaderCapacity))
	})
	return z.l
}

// Load returns the value of id: the primed one at once, else one loaded
// in a batch with the other loads of the next loaderWait and cached for the
// rest of the operation.
func (z *loader[V]) Load(ctx context.Context, id ion.ID) (V, error) {
	z.mu.Lock()
	v, ok := z.primed[id]
	z.mu.Unlock()
	if ok {
		return v, nil
	}
	return z.get().Load(ctx, id)
}

// LoadAll returns the values of ids, in order, as Load would.
func (z *loader[V]) LoadAll(ctx context.Context, ids []ion.ID) ([]V, error) {
	if values, ok := z.cached(ids); ok {
		return values, nil
	}
	return z.get().LoadAll(ctx, ids)
}

// prime reads the values of ids that are not primed yet with one batch now,
// in the caller, and keeps them for Load. It returns the primed values of
// ids, in order (without those that could not be read), and whether all of
// them are primed. A read ahead of a whole page
// or level (see prefetch.go) is what lets the fields below answer at once
// instead of each waiting loaderWait for a batch to fill.
//
// Priming is an optimization only: a batch that fails (or panics) keeps
// nothing, and a key whose value failed stays unprimed, so the fields that
// need it load as if prime had not run and report their errors where they
// always did.
func (z *loader[V]) prime(ctx context.Context, ids []ion.ID) ([]V, bool) {
	if values, ok := z.cached(ids); ok {
		return values, true
	}
	missing := z.unprimed(ids)
	values, errs, ok := safeBatch(ctx, z.fetch, missing)
	if ok && len(values) == len(missing) {
		z.mu.Lock()
		if z.primed == nil {
			z.primed = make(map[ion.ID]V, len(missing))
		}
		for i, id := range missing {
			if i >= len(errs) || errs[i] == nil {
				z.primed[id] = values[i]
			}
		}
		z.mu.Unlock()
	}
	return z.cached(ids)
}

// cached returns the primed values of ids, in order (without the others),
// and whether all of them are primed.
func (z *loader[V]) cached(ids []ion.ID) ([]V, bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	out := make([]V, 0, len(ids))
	all := true
	for _, id := range ids {
		if v, ok := z.primed[id]; ok {
			out = append(out, v)
		} else {
			all = false
		}
	}
	return out, all
}

// unprimed returns the ids not primed yet, without repeats.
func (z *loader[V]) unprimed(ids []ion.ID) []ion.ID {
	z.mu.Lock()
	defer z.mu.Unlock()
	out := make([]ion.ID, 0, len(ids))
	seen := make(map[ion.ID]struct{}, len(ids))
	for _, id := range ids {
		_, dup := seen[id]
		_, done := z.primed[id]
		if !dup && !done {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}

// safeBatch runs fetch; ok is false if it panicked.
func safeBatch[V any](ctx context.Context, fetch batchFunc[V], ids []ion.ID) (values []V, errs []error, ok bool) {
	defer func() {
		if recover() != nil {
			values, errs, ok = nil, nil, false
		}
	}()
	values, errs = fetch(ctx, ids)
	return values, errs, true
}

// tenantMethod is a TenantStore list method as a method expression, e.g.
// ion.TenantStore.Parts.
type tenantMethod[T any] func(ion.TenantStore, context.Context, ion.ListOptions) (ion.Page[T], error)

func tenantLister[T any](ts ion.TenantStore, m tenantMethod[T]) lister[T] {
	return func(ctx context.Context, opts ion.ListOptions) (ion.Page[T], error) { return m(ts, ctx, opts) }
}

// byID makes a loader of objects by id; a missing id answers NOT_FOUND
// naming kind.
func byID[T any](st *requestState, kind string, m tenantMethod[T], id func(*T) ion.ID) loader[T] {
	return newLoader(func(ctx context.Context, ids []ion.ID) ([]T, []error) {
		ts, err := st.tenantStore(ctx)
		if err != nil {
			return nil, []error{err}
		}
		return fetchByID(ctx, tenantLister(ts, m), kind, ids, fieldsOf[T](st), id)
	})
}

// fetchByID reads the objects of ids (their fields, see ListOptions.Fields).
func fetchByID[T any](ctx context.Context, list lister[T], kind string, ids []ion.ID, fields []string, id func(*T) ion.ID) ([]T, []error) {
	items, err := fetchAll(ctx, list, []ion.Filter{{Field: "id", Op: ion.OpIn, Value: idValues(ids)}}, nil, fields)
	if err != nil {
		return nil, []error{err}
	}
	found := make(map[ion.ID]*T, len(items))
	for i := range items {
		found[id(&items[i])] = &items[i]
	}
	out := make([]T, len(ids))
	errs := make([]error, len(ids))
	for i, k := range ids {
		if v, ok := found[k]; ok {
			out[i] = *v
		} else {
			errs[i] = ion.NotFound(kind, k)
		}
	}
	return out, errs
}

// children makes a loader of the objects whose field (a parent id) is the
// key, in sort order (then id); a parent without children gets an empty list.
//
// The objects are read ordered by parent first, so that each parent's
// children are one run of the result and its list is a window of it: no
// object is copied again, which mattered for pages of big objects.
func children[T any](st *requestState, m tenantMethod[T], field string, sort []ion.SortKey, parent func(*T) *ion.ID) loader[[]T] {
	byParent := append([]ion.SortKey{{Field: field}}, sort...)
	return newLoader(func(ctx context.Context, ids []ion.ID) ([][]T, []error) {
		ts, err := st.tenantStore(ctx)
		if err != nil {
			return nil, []error{err}
		}
		fields := fieldsOf[T](st)
		if fields != nil && !slices.Contains(fields, field) {
			fields = append(fields, field) // the grouping below reads it
		}
		items, err := fetchAll(ctx, tenantLister(ts, m), []ion.Filter{{Field: field, Op: ion.OpIn, Value: idValues(ids)}}, byParent, fields)
		if err != nil {
			return nil, []error{err}
		}
		groups := make(map[ion.ID][]T, len(ids))
		for start := 0; start < len(items); {
			p := parent(&items[start])
			end := start + 1
			for end < len(items) && sameID(parent(&items[end]), p) {
				end++
			}
			switch run := items[start:end:end]; {
			case p == nil:
			case groups[*p] == nil:
				// The full slice expression keeps an append to one
				// parent's list from overwriting the next one's.
				groups[*p] = run
			default: // a store that did not keep a parent's children together
				groups[*p] = append(groups[*p], run...)
			}
			start = end
		}
		out := make([][]T, len(ids))
		for i, k := range ids {
			out[i] = groups[k]
			if out[i] == nil {
				out[i] = []T{}
			}
		}
		return out, nil
	})
}

func sameID(a, b *ion.ID) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// fetchAll reads every object that matches (its fields, see
// ListOptions.Fields), a chunk at a time, without counting them: a chunk
// shorter than fetchChunk is the last.
func fetchAll[T any](ctx context.Context, list lister[T], filters []ion.Filter, sort []ion.SortKey, fields []string) ([]T, error) {
	var out []T
	for {
		page, err := list(ctx, ion.ListOptions{Filters: filters, Sort: sort, Offset: len(out), Limit: fetchChunk, Fields: fields, SkipTotal: true})
		if err != nil {
			return nil, err
		}
		if out == nil && len(page.Items) < fetchChunk {
			return page.Items, nil // one chunk held them all, as it mostly does
		}
		out = append(out, page.Items...)
		if len(page.Items) < fetchChunk {
			return out, nil
		}
	}
}

func idValues(ids []ion.ID) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// loadersFrom returns the operation's current loaders. The handler always
// sets them; a resolver run elsewhere panics, which the executor turns into
// an internal error.
func loadersFrom(ctx context.Context) *loaders {
	st, err := stateFrom(ctx)
	if err != nil {
		panic(err)
	}
	return st.currentLoaders()
}

// one adapts a loader result to a resolver's pointer result.
func one[T any](v T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// optional loads the object a nullable id names, or answers null.
func optional[T any](ctx context.Context, l *loader[T], id *ion.ID) (*T, error) {
	if id == nil {
		return nil, nil
	}
	return one(l.Load(ctx, *id))
}
