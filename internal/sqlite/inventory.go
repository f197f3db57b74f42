package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"github.com/ionbox/ionbox/internal/sqlcol"
	"strings"

	"github.com/ionbox/ionbox/ion"
)

var partInventories = newEntity(entity[ion.PartInventory]{
	kind:    "part inventory",
	plural:  "part inventories",
	table:   "part_inventories",
	notNull: []string{"partId"},
	columns: sqlcol.MetaCols + ", t.part_id, t.serial_number, t.lot_number, t.quantity, t.quantity_available, t.quantity_installed," +
		" t.quantity_scrapped, t.location_id, t.unit_of_measure_id, t.cost, t.status, t.purchase_order_line_id, t.attributes",
	fields: map[string]column{
		"partId":              {"t.part_id", kindInt},
		"serialNumber":        {"t.serial_number", kindText},
		"lotNumber":           {"t.lot_number", kindText},
		"quantity":            {"t.quantity", kindFloat},
		"quantityAvailable":   {"t.quantity_available", kindFloat},
		"quantityInstalled":   {"t.quantity_installed", kindFloat},
		"quantityScrapped":    {"t.quantity_scrapped", kindFloat},
		"locationId":          {"t.location_id", kindInt},
		"unitOfMeasureId":     {"t.unit_of_measure_id", kindInt},
		"cost":                {"t.cost", kindFloat},
		"status":              {"t.status", kindEnum},
		"purchaseOrderLineId": {"t.purchase_order_line_id", kindInt},
	},
	scan: func(sc scanner) (i ion.PartInventory, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&i.Meta), &i.PartID, &i.SerialNumber, &i.LotNumber, &i.Quantity, &i.QuantityAvailable,
			&i.QuantityInstalled, &i.QuantityScrapped, &i.LocationID, &i.UnitOfMeasureID, &i.Cost, &i.Status,
			&i.PurchaseOrderLineID, sqlcol.JSONList[ion.Attribute]{Dst: &i.Attributes})...)
		return i, err
	},
	meta: func(i ion.PartInventory) ion.Meta { return i.Meta },
})

// CreatePartInventory creates inventory of a part. The part's tracking
// type decides what it needs (ion.ValidateTracking); serial numbers are
// unique per part; the status is derived.
func (s *TenantStore) CreatePartInventory(ctx context.Context, inv ion.PartInventory) (ion.PartInventory, error) {
	return create(ctx, s, partInventories, func(tx *tx) (ion.ID, error) {
		part, err := parts.get(tx.ctx, tx, inv.PartID)
		if err != nil {
			return 0, asInvalidRef("partId", err)
		}
		onOrder := false
		if inv.PurchaseOrderLineID != nil {
			line, err := purchaseOrderLines.get(tx.ctx, tx, *inv.PurchaseOrderLineID)
			if err != nil {
				return 0, asInvalidRef("purchaseOrderLineId", err)
			}
			if line.PartID != inv.PartID {
				return 0, ion.Invalid("purchaseOrderLineId", "purchase order line %d orders part %d, not part %d.", line.ID, line.PartID, inv.PartID)
			}
			if onOrder, err = lineOnOrder(tx, line); err != nil {
				return 0, err
			}
		}
		return insertInventory(tx, inv, part, onOrder)
	})
}

// insertInventory checks and inserts a new inventory row of part. A new
// row has no installations and no runs, so its status follows from its own
// fields, whether it is on order and its location.
func insertInventory(tx *tx, inv ion.PartInventory, part ion.Part, onOrder bool) (ion.ID, error) {
	inv.SerialNumber, inv.LotNumber = trimmed(inv.SerialNumber), trimmed(inv.LotNumber)
	if err := ion.ValidateTracking(part.TrackingType, inv.SerialNumber, inv.LotNumber, inv.Quantity); err != nil {
		return 0, err
	}
	if err := checkSerialFree(tx, part.ID, inv.SerialNumber, 0); err != nil {
		return 0, err
	}
	locAvailable, err := locationAvailable(tx, inv.LocationID)
	if err != nil {
		return 0, err
	}
	if err := optRef(tx, "units_of_measurement", "unit of measurement", "unitOfMeasureId", inv.UnitOfMeasureID); err != nil {
		return 0, err
	}
	if err := ion.CheckFinite("cost", inv.Cost); err != nil {
		return 0, err
	}
	if err := ion.CheckAttributes(inv.Attributes); err != nil {
		return 0, err
	}
	status := ion.DeriveInventoryStatus(ion.InventoryFacts{Quantity: inv.Quantity, OnOrder: onOrder, LocationAvailable: locAvailable})
	return tx.insert(`INSERT INTO part_inventories (part_id, serial_number, lot_number, quantity, location_id, unit_of_measure_id, cost,
		status, purchase_order_line_id, attributes, etag, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		part.ID, sqlcol.Nullable(inv.SerialNumber), sqlcol.Nullable(inv.LotNumber), inv.Quantity, sqlcol.Nullable(inv.LocationID), sqlcol.Nullable(inv.UnitOfMeasureID),
		sqlcol.Nullable(inv.Cost), status, sqlcol.Nullable(inv.PurchaseOrderLineID), sqlcol.EncodeList(inv.Attributes), ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
}

// locationAvailable checks the optional location reference and returns its
// availability (nil without a location).
func locationAvailable(tx *tx, id *ion.ID) (*bool, error) {
	if id == nil {
		return nil, nil
	}
	var available bool
	err := tx.queryRow(`SELECT available FROM locations WHERE id = ?`, *id).Scan(&available)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ion.Invalid("locationId", "location %d not found.", *id)
	}
	return &available, err
}

// checkSerialFree refuses a serial number another inventory (other than
// self) of the part already has.
func checkSerialFree(tx *tx, partID ion.ID, serial *string, self ion.ID) error {
	if serial == nil {
		return nil
	}
	var other ion.ID
	err := tx.queryRow(`SELECT id FROM part_inventories WHERE part_id = ? AND serial_number = ? AND id <> ?`, partID, *serial, self).Scan(&other)
	if err == nil {
		return ion.Invalid("serialNumber", "%q is already used by part inventory %d of part %d; serial numbers are unique per part.", *serial, other, partID)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return err
}

// trimmed returns nil for a missing or blank string, else the trimmed one.
func trimmed(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	if t == "" {
		return nil
	}
	return &t
}

// UpdatePartInventory changes the fields the patch sets (an empty serial or
// lot number clears it) and re-applies the tracking rules. The part of an
// inventory never changes.
func (s *TenantStore) UpdatePartInventory(ctx context.Context, p ion.PartInventoryPatch) (ion.PartInventory, error) {
	return change(ctx, s, partInventories, "update", p.ID, p.Etag, func(tx *tx, inv ion.PartInventory) error {
		part, err := parts.get(tx.ctx, tx, inv.PartID)
		if err != nil {
			return err
		}
		if p.SerialNumber != nil {
			inv.SerialNumber = trimmed(p.SerialNumber)
		}
		if p.LotNumber != nil {
			inv.LotNumber = trimmed(p.LotNumber)
		}
		if p.Quantity != nil {
			inv.Quantity = *p.Quantity
		}
		if p.LocationID != nil {
			inv.LocationID = p.LocationID
		}
		if p.UnitOfMeasureID != nil {
			inv.UnitOfMeasureID = p.UnitOfMeasureID
		}
		if p.Cost != nil {
			inv.Cost = p.Cost
		}
		if p.Attributes != nil {
			inv.Attributes = *p.Attributes
		}
		if err := ion.ValidateTracking(part.TrackingType, inv.SerialNumber, inv.LotNumber, inv.Quantity); err != nil {
			return err
		}
		if err := checkSerialFree(tx, part.ID, inv.SerialNumber, inv.ID); err != nil {
			return err
		}
		if _, err := locationAvailable(tx, inv.LocationID); err != nil {
			return err
		}
		if err := optRef(tx, "units_of_measurement", "unit of measurement", "unitOfMeasureId", inv.UnitOfMeasureID); err != nil {
			return err
		}
		if err := ion.CheckFinite("cost", inv.Cost); err != nil {
			return err
		}
		if err := ion.CheckAttributes(inv.Attributes); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE part_inventories SET serial_number = ?, lot_number = ?, quantity = ?, location_id = ?,
			unit_of_measure_id = ?, cost = ?, attributes = ?, etag = ?, updated_at = ? WHERE id = ?`,
			sqlcol.Nullable(inv.SerialNumber), sqlcol.Nullable(inv.LotNumber), inv.Quantity, sqlcol.Nullable(inv.LocationID),
			sqlcol.Nullable(inv.UnitOfMeasureID), sqlcol.Nullable(inv.Cost), sqlcol.EncodeList(inv.Attributes), ion.NewEtag(), tx.nowMicros(), inv.ID); err != nil {
			return err
		}
		return rederiveInventory(tx, inv.ID)
	})
}

// inventoryReferrers are what keeps an inventory from being deleted.
var inventoryReferrers = []referrer{
	{"abom_installations", "part_inventory_id", "aBOM installations (it is installed)"},
	{"build_requirements", "part_inventory_id", "build requirements"},
	{"runs", "part_inventory_id", "runs"},
	{"issues", "part_inventory_id", "issues"},
}

// DeletePartInventory deletes inventory that is not installed and that no
// build requirement, run or issue references.
func (s *TenantStore) DeletePartInventory(ctx context.Context, id ion.ID, etag string) error {
	return remove(ctx, s, partInventories, id, etag, func(tx *tx, _ ion.PartInventory) error {
		return checkUnreferenced(tx, "part inventory", id, inventoryReferrers...)
	})
}

// PartInventory returns inventory id.
func (s *TenantStore) PartInventory(ctx context.Context, id ion.ID) (ion.PartInventory, error) {
	return get(ctx, s, partInventories, id)
}

// PartInventories lists inventory.
func (s *TenantStore) PartInventories(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.PartInventory], error) {
	return list(ctx, s, partInventories, opts)
}

// checkInventoryFitsTracking refuses a tracking type that some inventory of
// the part does not satisfy.
func checkInventoryFitsTracking(tx *tx, partID ion.ID, trackingType *string) error {
	rows, err := tx.query(`SELECT id, serial_number, lot_number, quantity FROM part_inventories WHERE part_id = ? ORDER BY id`, partID)
	if err != nil {
		return err
	}
	defer rows.Close()
	tt := "untracked"
	if trackingType != nil {
		tt = *trackingType
	}
	for rows.Next() {
		var id ion.ID
		var serial, lot *string
		var qty float64
		if err := rows.Scan(&id, &serial, &lot, &qty); err != nil {
			return err
		}
		if err := ion.ValidateTracking(trackingType, serial, lot, qty); err != nil {
			return ion.Invalid("trackingType", "cannot become %s: part inventory %d does not fit (%s). Fix or remove that inventory first.",
				tt, id, ion.ErrorMessage(err))
		}
	}
	return rows.Err()
}

// openRunStatuses are the run statuses that hold an inventory as WIP.
const openRunStatuses = `('TODO', 'IN_PROGRESS', 'REDLINE', 'HOLD', 'FAILED')`

// Purchase order (line) statuses after which ordered inventory has arrived.
const receivedStatuses = `('RECEIVED', 'CLOSED')`

// inventoryFactsQuery reads, for inventory rows i matching a condition,
// the stored status and installed quantity and the inputs of
// ion.DeriveInventoryStatus. Archived runs do not hold inventory.
const inventoryFactsQuery = `SELECT i.id, i.status, i.quantity_installed, i.quantity, i.quantity_scrapped,
	coalesce((SELECT sum(a.quantity) FROM abom_installations a WHERE a.part_inventory_id = i.id), 0),
	EXISTS (SELECT 1 FROM abom_installations a WHERE a.part_inventory_id = i.id),
	EXISTS (SELECT 1 FROM runs r WHERE r.part_inventory_id = i.id AND r.archived = 0 AND r.status IN ` + openRunStatuses + `),
	EXISTS (SELECT 1 FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.purchase_order_id
		WHERE l.id = i.purchase_order_line_id AND l.status NOT IN ` + receivedStatuses + ` AND o.status NOT IN ` + receivedStatuses + `),
	loc.available
FROM part_inventories i LEFT JOIN locations loc ON loc.id = i.location_id WHERE `

// rederiveInventory recomputes the derived status (and installed quantity)
// of the given inventories, in the transaction that changed their inputs.
func rederiveInventory(tx *tx, ids ...ion.ID) error {
	if len(ids) == 0 {
		return nil
	}
	return rederiveInventoryWhere(tx, "i.id IN (SELECT value FROM json_each(?))", sqlcol.EncodeList(ids))
}

// rederiveInventoryWhere recomputes the status of the inventory rows i
// matching cond and rewrites (with a new etag) those whose status or
// installed quantity changed.
func rederiveInventoryWhere(tx *tx, cond string, args ...any) error {
	rows, err := tx.query(inventoryFactsQuery+cond, args...)
	if err != nil {
		return err
	}
	type derived struct {
		id        ion.ID
		status    string
		installed float64
	}
	var changed []derived
	for rows.Next() {
		var (
			id        ion.ID
			status    string
			installed float64
			f         ion.InventoryFacts
		)
		if err := rows.Scan(&id, &status, &installed, &f.Quantity, &f.QuantityScrapped, &f.QuantityInstalled,
			&f.HasInstallations, &f.InOpenRun, &f.OnOrder, &f.LocationAvailable); err != nil {
			rows.Close()
			return err
		}
		if s := ion.DeriveInventoryStatus(f); s != status || f.QuantityInstalled != installed {
			changed = append(changed, derived{id, s, f.QuantityInstalled})
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, d := range changed {
		if err := track(tx, partInventories, d.id); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE part_inventories SET status = ?, quantity_installed = ?, etag = ?, updated_at = ? WHERE id = ?`,
			d.status, d.installed, ion.NewEtag(), tx.nowMicros(), d.id); err != nil {
			return err
		}
	}
	return nil
}
