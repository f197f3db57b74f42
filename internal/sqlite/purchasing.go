package sqlite

import (
	"context"
	"fmt"
	"github.com/ionbox/ionbox/internal/sqlcol"
	"math"
	"strings"

	"github.com/ionbox/ionbox/ion"
)

var suppliers = newEntity(entity[ion.Supplier]{
	kind:    "supplier",
	plural:  "suppliers",
	table:   "suppliers",
	columns: sqlcol.MetaCols + ", t.name, t.attributes",
	fields: map[string]column{
		"name": {"t.name", kindText},
	},
	scan: func(sc scanner) (s ion.Supplier, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&s.Meta), &s.Name, sqlcol.JSONList[ion.Attribute]{Dst: &s.Attributes})...)
		return s, err
	},
	meta: func(s ion.Supplier) ion.Meta { return s.Meta },
})

var purchaseOrders = newEntity(entity[ion.PurchaseOrder]{
	kind:    "purchase order",
	plural:  "purchase orders",
	table:   "purchase_orders",
	columns: sqlcol.MetaCols + ", t.status, t.supplier_id, t.attributes",
	fields: map[string]column{
		"status":     {"t.status", kindEnum},
		"supplierId": {"t.supplier_id", kindInt},
	},
	scan: func(sc scanner) (p ion.PurchaseOrder, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&p.Meta), &p.Status, &p.SupplierID, sqlcol.JSONList[ion.Attribute]{Dst: &p.Attributes})...)
		return p, err
	},
	meta: func(p ion.PurchaseOrder) ion.Meta { return p.Meta },
})

var purchaseOrderLines = newEntity(entity[ion.PurchaseOrderLine]{
	kind:    "purchase order line",
	plural:  "purchase order lines",
	table:   "purchase_order_lines",
	notNull: []string{"purchaseOrderId", "partId"},
	columns: sqlcol.MetaCols + ", t.purchase_order_id, t.part_id, t.quantity, t.need_date, t.status, t.description",
	fields: map[string]column{
		"purchaseOrderId": {"t.purchase_order_id", kindInt},
		"partId":          {"t.part_id", kindInt},
		"quantity":        {"t.quantity", kindFloat},
		"needDate":        {"t.need_date", kindTime},
		"status":          {"t.status", kindEnum},
		"description":     {"t.description", kindText},
	},
	scan: func(sc scanner) (l ion.PurchaseOrderLine, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&l.Meta), &l.PurchaseOrderID, &l.PartID, &l.Quantity, sqlcol.Micros{Dst: &l.NeedDate}, &l.Status, &l.Description)...)
		return l, err
	},
	meta: func(l ion.PurchaseOrderLine) ion.Meta { return l.Meta },
})

// Statuses of purchase orders and their lines.
var poStatuses = []string{ion.PODraft, ion.POOrdered, ion.POApproved, ion.POReceived, ion.POCanceled, ion.POClosed}

// received says whether a purchase order (line) status means the goods
// arrived; until then the line's inventory is ON_ORDER.
func received(status string) bool { return status == ion.POReceived || status == ion.POClosed }

// maxSerialUnitsPerLine bounds the serial-tracked units one line creates
// (one inventory row each).
const maxSerialUnitsPerLine = 10000

// CreateSupplier creates a supplier.
func (s *TenantStore) CreateSupplier(ctx context.Context, sup ion.Supplier) (ion.Supplier, error) {
	return create(ctx, s, suppliers, func(tx *tx) (ion.ID, error) {
		sup.Name = strings.TrimSpace(sup.Name)
		if sup.Name == "" {
			return 0, ion.Invalid("name", "is required.")
		}
		if err := ion.CheckAttributes(sup.Attributes); err != nil {
			return 0, err
		}
		return tx.insert(`INSERT INTO suppliers (name, attributes, etag, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			sup.Name, sqlcol.EncodeList(sup.Attributes), ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
	})
}

// UpdateSupplier changes name or attributes.
func (s *TenantStore) UpdateSupplier(ctx context.Context, p ion.SupplierPatch) (ion.Supplier, error) {
	return change(ctx, s, suppliers, "update", p.ID, p.Etag, func(tx *tx, sup ion.Supplier) error {
		if p.Name != nil {
			if sup.Name = strings.TrimSpace(*p.Name); sup.Name == "" {
				return ion.Invalid("name", "must not be empty.")
			}
		}
		if p.Attributes != nil {
			sup.Attributes = *p.Attributes
		}
		if err := ion.CheckAttributes(sup.Attributes); err != nil {
			return err
		}
		_, err := tx.exec(`UPDATE suppliers SET name = ?, attributes = ?, etag = ?, updated_at = ? WHERE id = ?`,
			sup.Name, sqlcol.EncodeList(sup.Attributes), ion.NewEtag(), tx.nowMicros(), sup.ID)
		return err
	})
}

// DeleteSupplier deletes a supplier no purchase order names.
func (s *TenantStore) DeleteSupplier(ctx context.Context, id ion.ID, etag string) error {
	return remove(ctx, s, suppliers, id, etag, func(tx *tx, _ ion.Supplier) error {
		return checkUnreferenced(tx, "supplier", id, referrer{"purchase_orders", "supplier_id", "purchase orders"})
	})
}

// Supplier returns supplier id.
func (s *TenantStore) Supplier(ctx context.Context, id ion.ID) (ion.Supplier, error) {
	return get(ctx, s, suppliers, id)
}

// Suppliers lists suppliers.
func (s *TenantStore) Suppliers(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.Supplier], error) {
	return list(ctx, s, suppliers, opts)
}

// CreatePurchaseOrder creates a purchase order; Status defaults to DRAFT.
func (s *TenantStore) CreatePurchaseOrder(ctx context.Context, po ion.PurchaseOrder) (ion.PurchaseOrder, error) {
	return create(ctx, s, purchaseOrders, func(tx *tx) (ion.ID, error) {
		if po.Status == "" {
			po.Status = ion.PODraft
		}
		var err error
		if po.Status, err = ion.CheckEnum("status", po.Status, poStatuses...); err != nil {
			return 0, err
		}
		if err := optRef(tx, "suppliers", "supplier", "supplierId", po.SupplierID); err != nil {
			return 0, err
		}
		if err := ion.CheckAttributes(po.Attributes); err != nil {
			return 0, err
		}
		return tx.insert(`INSERT INTO purchase_orders (status, supplier_id, attributes, etag, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
			po.Status, sqlcol.Nullable(po.SupplierID), sqlcol.EncodeList(po.Attributes), ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
	})
}

// UpdatePurchaseOrder changes status, supplier or attributes. Receiving
// (RECEIVED or CLOSED) takes the lines' inventory off ON_ORDER.
func (s *TenantStore) UpdatePurchaseOrder(ctx context.Context, p ion.PurchaseOrderPatch) (ion.PurchaseOrder, error) {
	return change(ctx, s, purchaseOrders, "update", p.ID, p.Etag, func(tx *tx, po ion.PurchaseOrder) error {
		oldStatus := po.Status
		if p.Status != nil {
			var err error
			if po.Status, err = ion.CheckEnum("status", *p.Status, poStatuses...); err != nil {
				return err
			}
		}
		if p.SupplierID != nil {
			if err := ref(tx, "suppliers", "supplier", "supplierId", *p.SupplierID); err != nil {
				return err
			}
			po.SupplierID = p.SupplierID
		}
		if p.Attributes != nil {
			po.Attributes = *p.Attributes
		}
		if err := ion.CheckAttributes(po.Attributes); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE purchase_orders SET status = ?, supplier_id = ?, attributes = ?, etag = ?, updated_at = ? WHERE id = ?`,
			po.Status, sqlcol.Nullable(po.SupplierID), sqlcol.EncodeList(po.Attributes), ion.NewEtag(), tx.nowMicros(), po.ID); err != nil {
			return err
		}
		if po.Status != oldStatus {
			return rederiveInventoryWhere(tx, "i.purchase_order_line_id IN (SELECT id FROM purchase_order_lines WHERE purchase_order_id = ?)", po.ID)
		}
		return nil
	})
}

// DeletePurchaseOrder deletes the order, its lines and their inventory;
// CONFLICT (nothing deleted) if any line was received or any of that
// inventory is in use.
func (s *TenantStore) DeletePurchaseOrder(ctx context.Context, id ion.ID, etag string) error {
	return remove(ctx, s, purchaseOrders, id, etag, func(tx *tx, po ion.PurchaseOrder) error {
		lines, err := purchaseOrderLines.all(tx.ctx, tx, "t.purchase_order_id = ?", id)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if err := deleteLine(tx, po, l); err != nil {
				return err
			}
		}
		return nil
	})
}

// PurchaseOrder returns purchase order id.
func (s *TenantStore) PurchaseOrder(ctx context.Context, id ion.ID) (ion.PurchaseOrder, error) {
	return get(ctx, s, purchaseOrders, id)
}

// PurchaseOrders lists purchase orders.
func (s *TenantStore) PurchaseOrders(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.PurchaseOrder], error) {
	return list(ctx, s, purchaseOrders, opts)
}

// CreatePurchaseOrderLine creates a line and, in the same transaction, the
// inventory it orders, linked to it: for a serial-tracked part one unit per
// piece with serial numbers PO<order>-L<line>-<n>; for a lot-tracked part
// one row with lot number PO<order>-L<line>; otherwise one row. Status
// defaults to ORDERED.
func (s *TenantStore) CreatePurchaseOrderLine(ctx context.Context, l ion.PurchaseOrderLine) (ion.PurchaseOrderLine, error) {
	return create(ctx, s, purchaseOrderLines, func(tx *tx) (ion.ID, error) {
		po, err := purchaseOrders.get(tx.ctx, tx, l.PurchaseOrderID)
		if err != nil {
			return 0, asInvalidRef("purchaseOrderId", err)
		}
		part, err := parts.get(tx.ctx, tx, l.PartID)
		if err != nil {
			return 0, asInvalidRef("partId", err)
		}
		if err := checkLineQuantity(part, l.Quantity); err != nil {
			return 0, err
		}
		if l.Status == "" {
			l.Status = ion.POOrdered
		}
		if l.Status, err = ion.CheckEnum("status", l.Status, poStatuses...); err != nil {
			return 0, err
		}
		id, err := tx.insert(`INSERT INTO purchase_order_lines (purchase_order_id, part_id, quantity, need_date, status, description,
			etag, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			l.PurchaseOrderID, l.PartID, l.Quantity, sqlcol.NullMicros(l.NeedDate), l.Status, l.Description, ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
		if err != nil {
			return 0, err
		}
		l.ID = id
		return id, orderInventory(tx, po, l, part)
	})
}

// checkLineQuantity: > 0, and whole pieces for serial-tracked parts.
func checkLineQuantity(part ion.Part, q float64) error {
	if err := ion.CheckPositive("quantity", q); err != nil {
		return err
	}
	if part.TrackingType != nil && *part.TrackingType == ion.TrackingSerial {
		if q != math.Trunc(q) {
			return ion.Invalid("quantity", "part %d is serial-tracked, so order whole units (got %v).", part.ID, q)
		}
		if q > maxSerialUnitsPerLine {
			return ion.Invalid("quantity", "at most %d serial-tracked units per line (got %v); split the order into several lines.", maxSerialUnitsPerLine, q)
		}
	}
	return nil
}

// orderInventory brings the inventory of line l in line with its quantity:
// it creates what is missing and, for a smaller quantity, removes unused
// units (CONFLICT if they are in use).
func orderInventory(tx *tx, po ion.PurchaseOrder, l ion.PurchaseOrderLine, part ion.Part) error {
	have, err := partInventories.all(tx.ctx, tx, "t.purchase_order_line_id = ?", l.ID)
	if err != nil {
		return err
	}
	onOrder := !received(l.Status) && !received(po.Status)
	tracking := ""
	if part.TrackingType != nil {
		tracking = *part.TrackingType
	}
	if tracking != ion.TrackingSerial {
		if len(have) > 0 {
			inv := have[0]
			if inv.Quantity == l.Quantity {
				return nil
			}
			if err := checkUnreferenced(tx, "part inventory", inv.ID, inventoryReferrers...); err != nil {
				return err
			}
			if err := track(tx, partInventories, inv.ID); err != nil {
				return err
			}
			if _, err := tx.exec(`UPDATE part_inventories SET quantity = ?, etag = ?, updated_at = ? WHERE id = ?`,
				l.Quantity, ion.NewEtag(), tx.nowMicros(), inv.ID); err != nil {
				return err
			}
			return rederiveInventory(tx, inv.ID)
		}
		inv := ion.PartInventory{PartID: part.ID, Quantity: l.Quantity, PurchaseOrderLineID: &l.ID}
		if tracking == ion.TrackingLot {
			lot := fmt.Sprintf("PO%d-L%d", po.ID, l.ID)
			inv.LotNumber = &lot
		}
		id, err := insertInventory(tx, inv, part, onOrder)
		if err != nil {
			return err
		}
		return trackCreated(tx, partInventories, id)
	}
	want := int(l.Quantity)
	for _, inv := range have[min(want, len(have)):] {
		if err := checkUnreferenced(tx, "part inventory", inv.ID, inventoryReferrers...); err != nil {
			return err
		}
		if err := track(tx, partInventories, inv.ID); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM part_inventories WHERE id = ?`, inv.ID); err != nil {
			return err
		}
	}
	for n := len(have) + 1; len(have) < want; n++ {
		serial := fmt.Sprintf("PO%d-L%d-%d", po.ID, l.ID, n)
		var taken int
		if err := tx.queryRow(`SELECT count(*) FROM part_inventories WHERE part_id = ? AND serial_number = ?`, part.ID, serial).Scan(&taken); err != nil {
			return err
		}
		if taken > 0 {
			continue
		}
		inv := ion.PartInventory{PartID: part.ID, SerialNumber: &serial, Quantity: 1, PurchaseOrderLineID: &l.ID}
		id, err := insertInventory(tx, inv, part, onOrder)
		if err != nil {
			return err
		}
		inv.ID = id
		if err := trackCreated(tx, partInventories, id); err != nil {
			return err
		}
		have = append(have, inv)
	}
	return nil
}

// lineOnOrder says whether inventory of the line is still on order.
func lineOnOrder(tx *tx, l ion.PurchaseOrderLine) (bool, error) {
	var poStatus string
	if err := tx.queryRow(`SELECT status FROM purchase_orders WHERE id = ?`, l.PurchaseOrderID).Scan(&poStatus); err != nil {
		return false, err
	}
	return !received(l.Status) && !received(poStatus), nil
}

// UpdatePurchaseOrderLine changes the line. A new quantity resizes its
// inventory (see orderInventory); a new status re-derives it.
func (s *TenantStore) UpdatePurchaseOrderLine(ctx context.Context, p ion.PurchaseOrderLinePatch) (ion.PurchaseOrderLine, error) {
	return change(ctx, s, purchaseOrderLines, "update", p.ID, p.Etag, func(tx *tx, l ion.PurchaseOrderLine) error {
		po, err := purchaseOrders.get(tx.ctx, tx, l.PurchaseOrderID)
		if err != nil {
			return err
		}
		part, err := parts.get(tx.ctx, tx, l.PartID)
		if err != nil {
			return err
		}
		oldStatus, oldQuantity := l.Status, l.Quantity
		if p.Quantity != nil {
			if err := checkLineQuantity(part, *p.Quantity); err != nil {
				return err
			}
			l.Quantity = *p.Quantity
		}
		if p.Status != nil {
			if l.Status, err = ion.CheckEnum("status", *p.Status, poStatuses...); err != nil {
				return err
			}
		}
		if p.NeedDate != nil {
			l.NeedDate = p.NeedDate
		}
		if p.Description != nil {
			l.Description = *p.Description
		}
		if _, err := tx.exec(`UPDATE purchase_order_lines SET quantity = ?, need_date = ?, status = ?, description = ?, etag = ?, updated_at = ? WHERE id = ?`,
			l.Quantity, sqlcol.NullMicros(l.NeedDate), l.Status, l.Description, ion.NewEtag(), tx.nowMicros(), l.ID); err != nil {
			return err
		}
		if l.Quantity != oldQuantity {
			if err := orderInventory(tx, po, l, part); err != nil {
				return err
			}
		}
		if l.Status != oldStatus {
			return rederiveInventoryWhere(tx, "i.purchase_order_line_id = ?", l.ID)
		}
		return nil
	})
}

// DeletePurchaseOrderLine deletes the line and its inventory; CONFLICT if
// it was received or that inventory is in use.
func (s *TenantStore) DeletePurchaseOrderLine(ctx context.Context, id ion.ID, etag string) error {
	return remove(ctx, s, purchaseOrderLines, id, etag, func(tx *tx, l ion.PurchaseOrderLine) error {
		po, err := purchaseOrders.get(tx.ctx, tx, l.PurchaseOrderID)
		if err != nil {
			return err
		}
		return deleteLine(tx, po, l)
	})
}

// deleteLine deletes line l's inventory and the line itself.
func deleteLine(tx *tx, po ion.PurchaseOrder, l ion.PurchaseOrderLine) error {
	if received(l.Status) || received(po.Status) {
		return ion.Errorf(ion.ECONFLICT, "purchase order line %d cannot be deleted: it has been received and its inventory is in stock.", l.ID)
	}
	have, err := partInventories.all(tx.ctx, tx, "t.purchase_order_line_id = ?", l.ID)
	if err != nil {
		return err
	}
	for _, inv := range have {
		if err := checkUnreferenced(tx, "part inventory", inv.ID, inventoryReferrers...); ion.ErrorCode(err) == ion.ECONFLICT {
			return ion.Errorf(ion.ECONFLICT, "purchase order line %d cannot be deleted: %s", l.ID, ion.ErrorMessage(err))
		} else if err != nil {
			return err
		}
	}
	if err := trackWhere(tx, partInventories, "t.purchase_order_line_id = ?", l.ID); err != nil {
		return err
	}
	if err := track(tx, purchaseOrderLines, l.ID); err != nil {
		return err
	}
	if _, err := tx.exec(`DELETE FROM part_inventories WHERE purchase_order_line_id = ?`, l.ID); err != nil {
		return err
	}
	_, err = tx.exec(`DELETE FROM purchase_order_lines WHERE id = ?`, l.ID)
	return err
}

// PurchaseOrderLine returns line id.
func (s *TenantStore) PurchaseOrderLine(ctx context.Context, id ion.ID) (ion.PurchaseOrderLine, error) {
	return get(ctx, s, purchaseOrderLines, id)
}

// PurchaseOrderLines lists lines.
func (s *TenantStore) PurchaseOrderLines(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.PurchaseOrderLine], error) {
	return list(ctx, s, purchaseOrderLines, opts)
}
