package graphql

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/ionbox/ionbox/internal/graphql/model"
	"github.com/ionbox/ionbox/ion"
)

// Read-ahead of a connection's page (or of the object of a field such as
// part(id)).
//
// A connection resolver knows its whole page before any field of a node
// runs. So it reads, level by level, what the query selects below the nodes
// (parts → their inventory → each inventory's location …) with one store
// call per loader and level, and primes the loaders with it. The fields then
// answer at once instead of each waiting loaderWait for a batch to fill, and
// when everything below the connection is primed, nothing there can wait for
// a sibling, so its lists are marshaled without a goroutine per element (see
// generated/lists.go and requestState.InOrder).
//
// A field is read ahead through its entry in fieldPrimers. Fields that gqlgen
// resolves without a resolver (struct fields) never wait; a resolver field
// without an entry, or a read that fails, leaves the page as it was before:
// its fields load through the batching loaders and report their own errors.

// fieldKey names a field of an object type.
type fieldKey struct{ object, field string }

// fieldPrimers are the resolver fields that can be read ahead.
var fieldPrimers = map[fieldKey]fieldPrimer{
	{"Part", "revisedFrom"}:     referenceTo(func(l *loaders) *loader[ion.Part] { return &l.part }, func(p *ion.Part) *ion.ID { return p.RevisedFromID }),
	{"Part", "quantity"}:        valueOf(func(l *loaders) *loader[float64] { return &l.partQuantity }, func(p *ion.Part) ion.ID { return p.ID }),
	{"Part", "attributes"}:      computed{},
	{"Part", "mbom"}:            childrenOf(func(l *loaders) *loader[[]ion.MBomItem] { return &l.mbomByParent }, func(p *ion.Part) ion.ID { return p.ID }),
	{"Part", "partsInventory"}:  childrenOf(func(l *loaders) *loader[[]ion.PartInventory] { return &l.inventoriesByPart }, func(p *ion.Part) ion.ID { return p.ID }),
	{"Part", "partInventories"}: childrenOf(func(l *loaders) *loader[[]ion.PartInventory] { return &l.inventoriesByPart }, func(p *ion.Part) ion.ID { return p.ID }),
	{"Part", "runs"}:            childrenOf(func(l *loaders) *loader[[]ion.Run] { return &l.runsByPart }, func(p *ion.Part) ion.ID { return p.ID }),

	{"PartInventory", "part"}:              referenceTo(func(l *loaders) *loader[ion.Part] { return &l.part }, func(i *ion.PartInventory) *ion.ID { return &i.PartID }),
	{"PartInventory", "location"}:          referenceTo(func(l *loaders) *loader[ion.Location] { return &l.location }, func(i *ion.PartInventory) *ion.ID { return i.LocationID }),
	{"PartInventory", "unitOfMeasure"}:     referenceTo(func(l *loaders) *loader[ion.UnitOfMeasurement] { return &l.unitOfMeasurement }, func(i *ion.PartInventory) *ion.ID { return i.UnitOfMeasureID }),
	{"PartInventory", "purchaseOrderLine"}: referenceTo(func(l *loaders) *loader[ion.PurchaseOrderLine] { return &l.purchaseOrderLine }, func(i *ion.PartInventory) *ion.ID { return i.PurchaseOrderLineID }),
	{"PartInventory", "runs"}:              childrenOf(func(l *loaders) *loader[[]ion.Run] { return &l.runsByInventory }, func(i *ion.PartInventory) ion.ID { return i.ID }),
	{"PartInventory", "installed"}:         computed{},
	{"PartInventory", "kitted"}:            computed{},
	{"PartInventory", "received"}:          computed{},
	{"PartInventory", "attributes"}:        computed{},
	{"PartInventory", "createdById"}:       computed{},

	{"MBomItem", "part"}:        referenceTo(func(l *loaders) *loader[ion.Part] { return &l.part }, func(m *ion.MBomItem) *ion.ID { return &m.PartID }),
	{"MBomItem", "parent"}:      referenceTo(func(l *loaders) *loader[ion.Part] { return &l.part }, func(m *ion.MBomItem) *ion.ID { return &m.ParentID }),
	{"MBomItem", "substitutes"}: childrenOf(func(l *loaders) *loader[[]ion.MBomSubstitute] { return &l.substitutesByMBomItem }, func(m *ion.MBomItem) ion.ID { return m.ID }),

	{"Location", "entityId"}:        computed{},
	{"Location", "partInventories"}: childrenOf(func(l *loaders) *loader[[]ion.PartInventory] { return &l.inventoriesByLocation }, func(l *ion.Location) ion.ID { return l.ID }),

	{"Procedure", "familyId"}:   computed{},
	{"Procedure", "attributes"}: computed{},
	{"Procedure", "steps"}:      childrenOf(func(l *loaders) *loader[[]ion.Step] { return &l.stepsByProcedure }, func(p *ion.Procedure) ion.ID { return p.ID }),

	{"Step", "procedure"}:    referenceTo(func(l *loaders) *loader[ion.Procedure] { return &l.procedure }, func(s *ion.Step) *ion.ID { return &s.ProcedureID }),
	{"Step", "parent"}:       referenceTo(func(l *loaders) *loader[ion.Step] { return &l.step }, func(s *ion.Step) *ion.ID { return s.ParentID }),
	{"Step", "slateContent"}: computed{},
	{"Step", "steps"}:        childrenOf(func(l *loaders) *loader[[]ion.Step] { return &l.stepsByParent }, func(s *ion.Step) ion.ID { return s.ID }),
	{"Step", "fields"}:       childrenOf(func(l *loaders) *loader[[]ion.StepField] { return &l.fieldsByStep }, func(s *ion.Step) ion.ID { return s.ID }),
	{"Step", "entityId"}:     computed{},

	{"Run", "procedure"}:     referenceTo(func(l *loaders) *loader[ion.Procedure] { return &l.procedure }, func(r *ion.Run) *ion.ID { return &r.ProcedureID }),
	{"Run", "part"}:          referenceTo(func(l *loaders) *loader[ion.Part] { return &l.part }, func(r *ion.Run) *ion.ID { return r.PartID }),
	{"Run", "partInventory"}: referenceTo(func(l *loaders) *loader[ion.PartInventory] { return &l.partInventory }, func(r *ion.Run) *ion.ID { return r.PartInventoryID }),
	{"Run", "steps"}:         childrenOf(func(l *loaders) *loader[[]ion.RunStep] { return &l.runStepsByRun }, func(r *ion.Run) ion.ID { return r.ID }),
	{"Run", "attributes"}:    computed{},

	{"RunStep", "run"}:         referenceTo(func(l *loaders) *loader[ion.Run] { return &l.run }, func(s *ion.RunStep) *ion.ID { return &s.RunID }),
	{"RunStep", "fields"}:      childrenOf(func(l *loaders) *loader[[]ion.RunStepField] { return &l.fieldsByRunStep }, func(s *ion.RunStep) ion.ID { return s.ID }),
	{"RunStep", "steps"}:       childrenOf(func(l *loaders) *loader[[]ion.RunStep] { return &l.runStepsByParent }, func(s *ion.RunStep) ion.ID { return s.ID }),
	{"RunStep", "entityId"}:    computed{},
	{"RunStep", "createdById"}: computed{},

	{"PurchaseOrder", "supplier"}:           referenceTo(func(l *loaders) *loader[ion.Supplier] { return &l.supplier }, func(o *ion.PurchaseOrder) *ion.ID { return o.SupplierID }),
	{"PurchaseOrder", "lines"}:              childrenOf(func(l *loaders) *loader[[]ion.PurchaseOrderLine] { return &l.linesByPurchaseOrder }, func(o *ion.PurchaseOrder) ion.ID { return o.ID }),
	{"PurchaseOrder", "purchaseOrderLines"}: childrenOf(func(l *loaders) *loader[[]ion.PurchaseOrderLine] { return &l.linesByPurchaseOrder }, func(o *ion.PurchaseOrder) ion.ID { return o.ID }),
	{"PurchaseOrder", "attributes"}:         computed{},

	{"PurchaseOrderLine", "purchaseOrder"}:   referenceTo(func(l *loaders) *loader[ion.PurchaseOrder] { return &l.purchaseOrder }, func(o *ion.PurchaseOrderLine) *ion.ID { return &o.PurchaseOrderID }),
	{"PurchaseOrderLine", "part"}:            referenceTo(func(l *loaders) *loader[ion.Part] { return &l.part }, func(o *ion.PurchaseOrderLine) *ion.ID { return &o.PartID }),
	{"PurchaseOrderLine", "partInventories"}: childrenOf(func(l *loaders) *loader[[]ion.PartInventory] { return &l.inventoriesByLine }, func(o *ion.PurchaseOrderLine) ion.ID { return o.ID }),
}

// A fieldPrimer reads ahead one resolver field of an object type P.
type fieldPrimer interface {
	// prime caches the field's values for objs (a []*P) in the operation's
	// loaders. It returns the objects those values hold, for the next level
	// (a []*C, or nil for a field without objects), and whether every value
	// was cached.
	prime(p *prefetch, objs any) (objects any, ok bool)
	// below reads ahead what fc (the field) selects on objects, the result
	// of prime, and reports whether all of it is cached.
	below(p *prefetch, fc *graphql.FieldContext, objects any) bool
}

// prefetch is one read-ahead.
type prefetch struct {
	ctx context.Context
	op  *graphql.OperationContext
	l   *loaders
}

// primeConnection reads ahead, for the page conn of the connection field
// being resolved, what the query selects below its nodes.
func primeConnection[T any](ctx context.Context, conn *model.Connection[T]) {
	if conn == nil {
		return
	}
	nodes := make([]*T, len(conn.Edges))
	for i, e := range conn.Edges {
		nodes[i] = e.Node
	}
	readAhead(ctx, func(p *prefetch, fc *graphql.FieldContext) bool {
		covered := true
		for _, f := range collect(p.op, fc.Field) {
			child, err := fc.Child(ctx, f)
			switch {
			case err != nil:
				covered = false
			case f.Name != "edges":
				covered = !mayWait(ctx, p.op, child, 0) && covered
			default:
				for _, g := range collect(p.op, f) {
					edgeField, err := child.Child(ctx, g)
					switch {
					case err != nil:
						covered = false
					case g.Name == "node":
						covered = primeObjects(p, edgeField, nodes) && covered
					default:
						covered = !mayWait(ctx, p.op, edgeField, 0) && covered
					}
				}
			}
		}
		return covered
	})
}

// primeObject reads ahead what the query selects below obj, the object the
// field being resolved answers.
func primeObject[T any](ctx context.Context, obj *T) {
	if obj == nil {
		return
	}
	readAhead(ctx, func(p *prefetch, fc *graphql.FieldContext) bool {
		return primeObjects(p, fc, []*T{obj})
	})
}

// readAhead runs walk, the read-ahead below the field being resolved, and
// when it reports everything below the field cached, marks the field so that
// the lists below it are marshaled in order.
func readAhead(ctx context.Context, walk func(*prefetch, *graphql.FieldContext) bool) {
	fc := graphql.GetFieldContext(ctx)
	st, err := stateFrom(ctx)
	if fc == nil || err != nil {
		return
	}
	p := &prefetch{ctx: ctx, op: graphql.GetOperationContext(ctx), l: st.currentLoaders()}
	if walk(p, fc) {
		st.markReadAhead(fc)
	}
}

// primeObjects reads ahead what fc (a field whose values are objs) selects
// on objs and reports whether everything below that can wait is cached.
func primeObjects[T any](p *prefetch, fc *graphql.FieldContext, objs []*T) bool {
	covered := true
	for _, f := range collect(p.op, fc.Field) {
		if f.Name == "__typename" {
			continue
		}
		child, err := fc.Child(p.ctx, f)
		if err != nil {
			covered = false
			continue
		}
		if !child.IsResolver && !child.IsMethod {
			covered = !mayWait(p.ctx, p.op, child, 0) && covered
			continue
		}
		fp := fieldPrimers[fieldKey{child.Object, f.Name}]
		if fp == nil || len(f.Definition.Arguments) > 0 {
			covered = false // a field this file does not know, or one whose arguments it would ignore
			continue
		}
		objects, ok := fp.prime(p, objs)
		covered = ok && covered
		if len(f.Selections) > 0 {
			covered = fp.below(p, child, objects) && covered
		}
	}
	return covered
}

// mayWait reports whether resolving what fc's field selects can run a
// resolver (or a method, which may take a context too): the only code that
// can wait for a loader's batch. fc.Child, the executor's own description of
// each field, tells which fields are resolved how.
func mayWait(ctx context.Context, op *graphql.OperationContext, fc *graphql.FieldContext, depth int) bool {
	if len(fc.Field.Selections) == 0 {
		return false
	}
	if fc.Child == nil || fc.Field.Definition == nil || depth > maxWaitDepth {
		return true
	}
	for _, f := range collect(op, fc.Field) {
		if f.Name == "__typename" {
			continue
		}
		child, err := fc.Child(ctx, f)
		if err != nil || child.IsResolver || child.IsMethod || mayWait(ctx, op, child, depth+1) {
			return true
		}
	}
	return false
}

// maxWaitDepth bounds mayWait's walk; the operation's depth limit is far
// below it.
const maxWaitDepth = 64

// collect returns the fields selected on f's value. It passes the value's
// type name as the type that fragments must apply to, as the executor does
// (every type of this schema is a plain object), so that both share gqlgen's
// cache of collected fields.
func collect(op *graphql.OperationContext, f graphql.CollectedField) []graphql.CollectedField {
	if f.Definition == nil {
		return nil
	}
	return graphql.CollectFields(op, f.Selections, []string{f.Definition.Type.Name()})
}

// childList is a list field read by a loader of children keyed by the
// parent's id.
type childList[P, C any] struct {
	loader func(*loaders) *loader[[]C]
	id     func(*P) ion.ID
}

func childrenOf[P, C any](l func(*loaders) *loader[[]C], id func(*P) ion.ID) fieldPrimer {
	return childList[P, C]{loader: l, id: id}
}

func (c childList[P, C]) prime(p *prefetch, objs any) (any, bool) {
	parents := objs.([]*P)
	ids := make([]ion.ID, len(parents))
	for i, o := range parents {
		ids[i] = c.id(o)
	}
	lists, ok := c.loader(p.l).prime(p.ctx, distinctIDs(ids))
	n := 0
	for _, list := range lists {
		n += len(list)
	}
	children := make([]*C, 0, n)
	for _, list := range lists {
		for i := range list {
			children = append(children, &list[i])
		}
	}
	return children, ok
}

func (c childList[P, C]) below(p *prefetch, fc *graphql.FieldContext, objects any) bool {
	return primeObjects(p, fc, objects.([]*C))
}

// reference is an object field read by a loader of objects by id; a nil id
// is null and needs nothing.
type reference[P, C any] struct {
	loader func(*loaders) *loader[C]
	id     func(*P) *ion.ID
}

func referenceTo[P, C any](l func(*loaders) *loader[C], id func(*P) *ion.ID) fieldPrimer {
	return reference[P, C]{loader: l, id: id}
}

func (r reference[P, C]) prime(p *prefetch, objs any) (any, bool) {
	var ids []ion.ID
	for _, o := range objs.([]*P) {
		if id := r.id(o); id != nil {
			ids = append(ids, *id)
		}
	}
	values, ok := r.loader(p.l).prime(p.ctx, distinctIDs(ids))
	objects := make([]*C, len(values))
	for i := range values {
		objects[i] = &values[i]
	}
	return objects, ok
}

func (r reference[P, C]) below(p *prefetch, fc *graphql.FieldContext, objects any) bool {
	return primeObjects(p, fc, objects.([]*C))
}

// value is a scalar field read by a loader keyed by the object's id.
type value[P, V any] struct {
	loader func(*loaders) *loader[V]
	id     func(*P) ion.ID
}

func valueOf[P, V any](l func(*loaders) *loader[V], id func(*P) ion.ID) fieldPrimer {
	return value[P, V]{loader: l, id: id}
}

func (v value[P, V]) prime(p *prefetch, objs any) (any, bool) {
	parents := objs.([]*P)
	ids := make([]ion.ID, len(parents))
	for i, o := range parents {
		ids[i] = v.id(o)
	}
	_, ok := v.loader(p.l).prime(p.ctx, distinctIDs(ids))
	return nil, ok
}

func (value[P, V]) below(*prefetch, *graphql.FieldContext, any) bool { return true }

// computed is a resolver field that only computes from its object, so it
// never waits; what it returns has no resolver fields below it either.
type computed struct{}

func (computed) prime(*prefetch, any) (any, bool) { return nil, true }

func (computed) below(p *prefetch, fc *graphql.FieldContext, _ any) bool {
	return !mayWait(p.ctx, p.op, fc, 0)
}

// distinctIDs returns ids without repeats, in their first order.
func distinctIDs(ids []ion.ID) []ion.ID {
	out := make([]ion.ID, 0, len(ids))
	seen := make(map[ion.ID]struct{}, len(ids))
	for _, id := range ids {
		if _, dup := seen[id]; !dup {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}
