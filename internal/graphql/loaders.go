package graphql

import (
	"context"
	"slices"
	"time"

	"github.com/vikstrous/dataloadgen"

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
// on 20 runs another.
type loaders struct {
	part              *dataloadgen.Loader[ion.ID, ion.Part]
	mbomItem          *dataloadgen.Loader[ion.ID, ion.MBomItem]
	location          *dataloadgen.Loader[ion.ID, ion.Location]
	unitOfMeasurement *dataloadgen.Loader[ion.ID, ion.UnitOfMeasurement]
	partInventory     *dataloadgen.Loader[ion.ID, ion.PartInventory]
	procedure         *dataloadgen.Loader[ion.ID, ion.Procedure]
	step              *dataloadgen.Loader[ion.ID, ion.Step]
	run               *dataloadgen.Loader[ion.ID, ion.Run]
	runStep           *dataloadgen.Loader[ion.ID, ion.RunStep]
	buildRequirement  *dataloadgen.Loader[ion.ID, ion.BuildRequirement]
	supplier          *dataloadgen.Loader[ion.ID, ion.Supplier]
	purchaseOrder     *dataloadgen.Loader[ion.ID, ion.PurchaseOrder]
	purchaseOrderLine *dataloadgen.Loader[ion.ID, ion.PurchaseOrderLine]
	user              *dataloadgen.Loader[ion.ID, ion.User]

	partQuantity *dataloadgen.Loader[ion.ID, float64]

	mbomByParent               *dataloadgen.Loader[ion.ID, []ion.MBomItem]
	substitutesByMBomItem      *dataloadgen.Loader[ion.ID, []ion.MBomSubstitute]
	inventoriesByPart          *dataloadgen.Loader[ion.ID, []ion.PartInventory]
	inventoriesByLocation      *dataloadgen.Loader[ion.ID, []ion.PartInventory]
	inventoriesByLine          *dataloadgen.Loader[ion.ID, []ion.PartInventory]
	runsByPart                 *dataloadgen.Loader[ion.ID, []ion.Run]
	runsByInventory            *dataloadgen.Loader[ion.ID, []ion.Run]
	stepsByProcedure           *dataloadgen.Loader[ion.ID, []ion.Step]
	stepsByParent              *dataloadgen.Loader[ion.ID, []ion.Step]
	fieldsByStep               *dataloadgen.Loader[ion.ID, []ion.StepField]
	runStepsByRun              *dataloadgen.Loader[ion.ID, []ion.RunStep]
	runStepsByParent           *dataloadgen.Loader[ion.ID, []ion.RunStep]
	fieldsByRunStep            *dataloadgen.Loader[ion.ID, []ion.RunStepField]
	requirementsByInventory    *dataloadgen.Loader[ion.ID, []ion.BuildRequirement]
	installationsByRequirement *dataloadgen.Loader[ion.ID, []ion.AbomInstallation]
	installationsByInventory   *dataloadgen.Loader[ion.ID, []ion.AbomInstallation]
	linesByPurchaseOrder       *dataloadgen.Loader[ion.ID, []ion.PurchaseOrderLine]
	teamsByUser                *dataloadgen.Loader[ion.ID, []ion.Team]
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
			return fetchByID(ctx, list, "user", ids, func(v *ion.User) ion.ID { return v.ID })
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
			teams, err := fetchAll(ctx, tenantLister(ts, ion.TenantStore.Teams), nil, nil)
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

func newLoader[V any](fetch func(ctx context.Context, ids []ion.ID) ([]V, []error)) *dataloadgen.Loader[ion.ID, V] {
	return dataloadgen.NewLoader(fetch, dataloadgen.WithWait(loaderWait), dataloadgen.WithBatchCapacity(loaderCapacity))
}

// tenantMethod is a TenantStore list method as a method expression, e.g.
// ion.TenantStore.Parts.
type tenantMethod[T any] func(ion.TenantStore, context.Context, ion.ListOptions) (ion.Page[T], error)

func tenantLister[T any](ts ion.TenantStore, m tenantMethod[T]) lister[T] {
	return func(ctx context.Context, opts ion.ListOptions) (ion.Page[T], error) { return m(ts, ctx, opts) }
}

// byID makes a loader of objects by id; a missing id answers NOT_FOUND
// naming kind.
func byID[T any](st *requestState, kind string, m tenantMethod[T], id func(*T) ion.ID) *dataloadgen.Loader[ion.ID, T] {
	return newLoader(func(ctx context.Context, ids []ion.ID) ([]T, []error) {
		ts, err := st.tenantStore(ctx)
		if err != nil {
			return nil, []error{err}
		}
		return fetchByID(ctx, tenantLister(ts, m), kind, ids, id)
	})
}

func fetchByID[T any](ctx context.Context, list lister[T], kind string, ids []ion.ID, id func(*T) ion.ID) ([]T, []error) {
	items, err := fetchAll(ctx, list, []ion.Filter{{Field: "id", Op: ion.OpIn, Value: idValues(ids)}}, nil)
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
func children[T any](st *requestState, m tenantMethod[T], field string, sort []ion.SortKey, parent func(*T) *ion.ID) *dataloadgen.Loader[ion.ID, []T] {
	return newLoader(func(ctx context.Context, ids []ion.ID) ([][]T, []error) {
		ts, err := st.tenantStore(ctx)
		if err != nil {
			return nil, []error{err}
		}
		items, err := fetchAll(ctx, tenantLister(ts, m), []ion.Filter{{Field: field, Op: ion.OpIn, Value: idValues(ids)}}, sort)
		if err != nil {
			return nil, []error{err}
		}
		groups := make(map[ion.ID][]T, len(ids))
		for _, v := range items {
			if p := parent(&v); p != nil {
				groups[*p] = append(groups[*p], v)
			}
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

// fetchAll reads every object that matches, a chunk at a time.
func fetchAll[T any](ctx context.Context, list lister[T], filters []ion.Filter, sort []ion.SortKey) ([]T, error) {
	var out []T
	for {
		page, err := list(ctx, ion.ListOptions{Filters: filters, Sort: sort, Offset: len(out), Limit: fetchChunk})
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if len(page.Items) == 0 || len(out) >= page.TotalCount {
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
func optional[T any](ctx context.Context, l *dataloadgen.Loader[ion.ID, T], id *ion.ID) (*T, error) {
	if id == nil {
		return nil, nil
	}
	return one(l.Load(ctx, *id))
}
