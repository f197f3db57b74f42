package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/ionbox/ionbox/internal/sqlcol"
	"github.com/ionbox/ionbox/ion"
)

var _ ion.BulkStore = (*TenantStore)(nil)

// cancelStepsSQL cancels a run's unfinished steps, each with a new etag.
const cancelStepsSQL = `UPDATE run_steps SET status = 'CANCELED', etag = ` + newEtagSQL + `, updated_at = ? WHERE run_id = ? AND status NOT IN ('COMPLETE', 'CANCELED')`

// The Idempotency-Key step of a bulk call records its whole answer (a
// list, so no object id of its own); a replay returns it as it was.
const (
	bulkInventoriesKind = "part inventories"
	bulkRunsKind        = "runs"
)

// AdjustPartInventories recounts, transfers and scraps many inventory rows
// in one transaction: all of them or none.
func (s *TenantStore) AdjustPartInventories(ctx context.Context, adjustments []ion.InventoryAdjustment, dryRun bool) ([]ion.PartInventory, error) {
	if err := ion.CheckAdjustments(adjustments); err != nil {
		return nil, err
	}
	// Keyed replay: the call committed before, so its recorded answer is
	// the answer, and nothing is written again.
	if out, ok, err := ion.ReplayedResult[[]ion.PartInventory](ctx); ok {
		return out, err
	}
	var out []ion.PartInventory
	err := s.update(ctx, "adjust part inventories", func(tx *tx) error {
		for i, a := range adjustments {
			row := fmt.Sprintf("adjustments[%d]", i)
			inv, err := partInventories.get(tx.ctx, tx, a.ID)
			if err != nil {
				return ion.InRow(row, err)
			}
			if err := ion.CheckEtag(partInventories.kind, inv.Meta, a.Etag); err != nil {
				return ion.InRow(row, err)
			}
			part, err := parts.get(tx.ctx, tx, inv.PartID)
			if err != nil {
				return err
			}
			next, err := ion.ApplyAdjustment(inv, part.TrackingType, a)
			if err != nil {
				return ion.InRow(row, err)
			}
			if _, err := locationAvailable(tx, next.LocationID); err != nil {
				return ion.InRow(row, err)
			}
			// One webhook event per changed row (its derived status, which
			// rederiveInventory may rewrite, included): a dry run rolls the
			// events back with the rows.
			if err := trackRead(tx, partInventories, inv.ID, inv); err != nil {
				return err
			}
			if _, err := tx.exec(`UPDATE part_inventories SET quantity = ?, location_id = ?, quantity_scrapped = ?, etag = ?, updated_at = ? WHERE id = ?`,
				next.Quantity, sqlcol.Nullable(next.LocationID), next.QuantityScrapped, ion.NewEtag(), tx.nowMicros(), inv.ID); err != nil {
				return err
			}
			if err := rederiveInventory(tx, inv.ID); err != nil {
				return err
			}
		}
		out = make([]ion.PartInventory, 0, len(adjustments))
		for _, a := range adjustments {
			inv, err := partInventories.get(tx.ctx, tx, a.ID)
			if err != nil {
				return err
			}
			out = append(out, inv)
		}
		tx.setResult(bulkInventoriesKind, 0, out)
		if dryRun {
			return ion.ErrDryRun
		}
		return nil
	})
	if dryRun && errors.Is(err, ion.ErrDryRun) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CancelRuns cancels the selected runs in one transaction.
func (s *TenantStore) CancelRuns(ctx context.Context, in ion.CancelRunsInput) ([]ion.Run, error) {
	if err := ion.CheckCancelRunsInput(in); err != nil {
		return nil, err
	}
	if out, ok, err := ion.ReplayedResult[[]ion.Run](ctx); ok {
		return out, err
	}
	var out []ion.Run
	err := s.update(ctx, "cancel runs", func(tx *tx) error {
		opts, err := ion.CancelableRunSelection(in, func(id ion.ID) (ion.Run, error) { return runs.get(tx.ctx, tx, id) })
		if err != nil {
			return err
		}
		page, err := runs.list(tx.ctx, tx, opts, nil, nil)
		if err != nil {
			return err
		}
		if page.TotalCount > ion.MaxBulkObjects {
			return ion.Invalid("filters", "select %d runs to cancel; the limit is %d per call. Narrow the filters.", page.TotalCount, ion.MaxBulkObjects)
		}
		for _, r := range page.Items {
			// One webhook event per canceled run and per step canceled
			// with it; the linked inventory, when its derived status
			// changes, is tracked by rederiveInventory.
			if err := trackWhere(tx, runSteps, "t.run_id = ?", r.ID); err != nil {
				return err
			}
			if err := track(tx, runs, r.ID); err != nil {
				return err
			}
			if _, err := tx.exec(cancelStepsSQL, tx.nowMicros(), r.ID); err != nil {
				return err
			}
			if _, err := tx.exec(`UPDATE runs SET status = 'CANCELED', etag = ?, updated_at = ? WHERE id = ?`, ion.NewEtag(), tx.nowMicros(), r.ID); err != nil {
				return err
			}
			if err := rederiveLinkedInventory(tx, r); err != nil {
				return err
			}
		}
		out = make([]ion.Run, 0, len(page.Items))
		for _, r := range page.Items {
			r, err := runs.get(tx.ctx, tx, r.ID)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		tx.setResult(bulkRunsKind, 0, out)
		if in.DryRun {
			return ion.ErrDryRun
		}
		return nil
	})
	if in.DryRun && errors.Is(err, ion.ErrDryRun) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}
