package ion

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
)

// MaxBulkObjects is how many objects one bulk operation may change: enough
// for a stock count or a line shutdown, small enough that the one
// transaction stays short.
const MaxBulkObjects = 1000

// InventoryAdjustment is one row of adjustPartInventories: at least one of
// Quantity (a recount: the new quantity), LocationID (a transfer) and
// ScrapQuantity (how much more to scrap, at most what is available after
// the recount).
type InventoryAdjustment struct {
	ID            ID
	Etag          string
	Quantity      *float64
	LocationID    *ID
	ScrapQuantity *float64
}

// CancelRunsInput selects the runs cancelRuns cancels: those with the
// given IDs (every one must exist and not be COMPLETE) and matching
// Filters (combined with AND; a COMPLETE or CANCELED run matched only by
// the filters is skipped). At least one of IDs and Filters is required, so
// that an empty input never cancels every run.
type CancelRunsInput struct {
	IDs     []ID
	Filters []Filter
	DryRun  bool
}

// BulkStore is the tenant store's bulk operations. Each runs in ONE
// transaction: either every object changes or none does (a stale etag or a
// broken rule on any row answers its error, naming the row, and nothing is
// written). With dryRun the transaction runs to the end and is rolled
// back, so the answer is exactly what the call would have done.
//
// Webhooks: a call records one event per object it changed (each row, each
// run, each run step canceled with it, each inventory whose derived status
// changed), in its transaction; a refused call or a dry run records none.
// Idempotency-Key: a keyed call is one step whose recorded result is the
// whole answer, so a replay returns that answer and writes nothing; a
// keyed dry run records no step (it wrote nothing), so a retry runs again.
type BulkStore interface {
	// AdjustPartInventories applies adjustments in order and returns the
	// inventories as they are (or would be) afterwards, in the same order.
	// VALIDATION_ERROR naming adjustments[i] for: no adjustments or more
	// than MaxBulkObjects; the same id twice; none of quantity, locationId,
	// scrapQuantity; a quantity breaking the tracking rules
	// (ValidateTracking); an unknown location; a scrapQuantity that is not
	// positive or is more than is available. NOT_FOUND for an unknown id;
	// CONFLICT for a stale etag.
	AdjustPartInventories(ctx context.Context, adjustments []InventoryAdjustment, dryRun bool) ([]PartInventory, error)
	// CancelRuns cancels the selected runs as CancelRun does and returns
	// them as they are (or would be) afterwards, by id; runs already
	// CANCELED are not in the answer. VALIDATION_ERROR for an empty
	// selection input, a COMPLETE run named in ids (naming ids[i]), an
	// unknown filter field, or a selection of more than MaxBulkObjects
	// runs; NOT_FOUND naming ids[i] for an unknown id.
	CancelRuns(ctx context.Context, in CancelRunsInput) ([]Run, error)
}

// ErrDryRun is what a store returns from inside a dry run's transaction
// to roll it back; it never reaches a caller.
var ErrDryRun = errors.New("dry run: roll back")

// CheckAdjustments checks what can be checked of adjustments before any
// row is read.
func CheckAdjustments(adjustments []InventoryAdjustment) error {
	if len(adjustments) == 0 {
		return Invalid("adjustments", "must list at least one adjustment.")
	}
	if len(adjustments) > MaxBulkObjects {
		return Invalid("adjustments", "lists %d adjustments; the limit is %d per call. Split them into several calls.", len(adjustments), MaxBulkObjects)
	}
	seen := make(map[ID]int, len(adjustments))
	for i, a := range adjustments {
		field := fmt.Sprintf("adjustments[%d]", i)
		if j, dup := seen[a.ID]; dup {
			return Invalid(field, "part inventory %d is also adjustments[%d]; adjust each row once per call.", a.ID, j)
		}
		seen[a.ID] = i
		if a.Quantity == nil && a.LocationID == nil && a.ScrapQuantity == nil {
			return Invalid(field, "sets none of quantity, locationId and scrapQuantity; set at least one.")
		}
		if a.ScrapQuantity != nil {
			if q := *a.ScrapQuantity; math.IsNaN(q) || math.IsInf(q, 0) || q <= 0 {
				return Invalid(field+".scrapQuantity", "must be a number greater than 0 (got %v).", q)
			}
		}
	}
	return nil
}

// ApplyAdjustment applies a to inv (a row read in the transaction, whose
// part has trackingType) and checks the rules that need no other row:
// the tracking rules of the new quantity, and that the scrap fits in what
// is available after the recount.
func ApplyAdjustment(inv PartInventory, trackingType *string, a InventoryAdjustment) (PartInventory, error) {
	if a.Quantity != nil {
		inv.Quantity = *a.Quantity
		if err := ValidateTracking(trackingType, inv.SerialNumber, inv.LotNumber, inv.Quantity); err != nil {
			return inv, err
		}
	}
	if a.LocationID != nil {
		inv.LocationID = a.LocationID
	}
	if a.ScrapQuantity != nil {
		available := inv.Quantity - inv.QuantityInstalled - inv.QuantityScrapped
		if *a.ScrapQuantity > available+1e-9 {
			return inv, Invalid("scrapQuantity", "%v is more than the %v available to scrap (quantity %v, installed %v, already scrapped %v).",
				*a.ScrapQuantity, math.Max(0, available), inv.Quantity, inv.QuantityInstalled, inv.QuantityScrapped)
		}
		inv.QuantityScrapped += *a.ScrapQuantity
	}
	return inv, nil
}

// InRow prefixes err's message with the row it is about (e.g.
// "adjustments[3]."), keeping its code; other errors are wrapped.
func InRow(row string, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return fmt.Errorf("%s: %w", row, err)
	}
	msg := e.Message
	if e.Code == EVALIDATION && !strings.HasPrefix(msg, row) {
		return &Error{Code: e.Code, Message: row + "." + msg}
	}
	return &Error{Code: e.Code, Message: row + ": " + msg}
}

// CheckCancelRunsInput checks the selection before any row is read.
func CheckCancelRunsInput(in CancelRunsInput) error {
	if len(in.IDs) == 0 && len(in.Filters) == 0 {
		return Invalid("input", "select the runs to cancel with ids, filters or both; an empty selection would cancel every run.")
	}
	if len(in.IDs) > MaxBulkObjects {
		return Invalid("ids", "lists %d runs; the limit is %d per call.", len(in.IDs), MaxBulkObjects)
	}
	return nil
}

// CancelableRunSelection checks the runs named by in.IDs (read with get)
// and returns the list options that select the runs CancelRuns cancels:
// in.Filters, the ids if any, and not already COMPLETE or CANCELED, by id,
// at most MaxBulkObjects+1 of them (so that a store can tell a selection
// over the limit).
func CancelableRunSelection(in CancelRunsInput, get func(ID) (Run, error)) (ListOptions, error) {
	filters := append([]Filter(nil), in.Filters...)
	if len(in.IDs) > 0 {
		ids := make([]any, 0, len(in.IDs))
		for i, id := range in.IDs {
			row := fmt.Sprintf("ids[%d]", i)
			r, err := get(id)
			if err != nil {
				return ListOptions{}, InRow(row, err)
			}
			if r.Status == StatusComplete {
				return ListOptions{}, Invalid(row, "run %d is COMPLETE; a completed run cannot be canceled. Leave it out of ids.", id)
			}
			ids = append(ids, int64(id))
		}
		filters = append(filters, Filter{Field: "id", Op: OpIn, Value: ids})
	}
	filters = append(filters, Filter{Field: "status", Op: OpNotIn, Value: []any{StatusComplete, StatusCanceled}})
	return ListOptions{Filters: filters, Sort: []SortKey{{Field: "id"}}, Limit: MaxBulkObjects + 1}, nil
}
