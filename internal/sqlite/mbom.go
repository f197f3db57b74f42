package sqlite

import (
	"context"
	"github.com/ionbox/ionbox/internal/sqlcol"

	"github.com/ionbox/ionbox/ion"
)

var mbomItems = newEntity(entity[ion.MBomItem]{
	kind:    "mBOM item",
	plural:  "mBOM items",
	table:   "mbom_items",
	notNull: []string{"partId", "parentId"},
	columns: sqlcol.MetaCols + ", t.part_id, t.parent_id, t.quantity",
	fields: map[string]column{
		"partId":   {"t.part_id", kindInt},
		"parentId": {"t.parent_id", kindInt},
		"quantity": {"t.quantity", kindFloat},
	},
	scan: func(sc scanner) (m ion.MBomItem, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&m.Meta), &m.PartID, &m.ParentID, &m.Quantity)...)
		return m, err
	},
	meta: func(m ion.MBomItem) ion.Meta { return m.Meta },
})

var mbomSubstitutes = newEntity(entity[ion.MBomSubstitute]{
	kind:    "mBOM substitute",
	plural:  "mBOM substitutes",
	table:   "mbom_substitutes",
	notNull: []string{"mbomItemId", "partId"},
	columns: sqlcol.MetaCols + ", t.mbom_item_id, t.part_id",
	fields: map[string]column{
		"mbomItemId": {"t.mbom_item_id", kindInt},
		"partId":     {"t.part_id", kindInt},
	},
	scan: func(sc scanner) (m ion.MBomSubstitute, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&m.Meta), &m.MBomItemID, &m.PartID)...)
		return m, err
	},
	meta: func(m ion.MBomSubstitute) ion.Meta { return m.Meta },
})

// CreateMBomItem says that ParentID needs Quantity of PartID. Quantity > 0;
// the part must not already contain the parent (directly or further down),
// which would make the mBOM a cycle.
func (s *TenantStore) CreateMBomItem(ctx context.Context, m ion.MBomItem) (ion.MBomItem, error) {
	return create(ctx, s, mbomItems, func(tx *tx) (ion.ID, error) {
		if err := ion.CheckPositive("quantity", m.Quantity); err != nil {
			return 0, err
		}
		if err := ref(tx, "parts", "part", "partId", m.PartID); err != nil {
			return 0, err
		}
		if err := ref(tx, "parts", "part", "parentId", m.ParentID); err != nil {
			return 0, err
		}
		if m.PartID == m.ParentID {
			return 0, ion.Invalid("partId", "part %d cannot be an mBOM item of itself.", m.PartID)
		}
		var cycle bool
		err := tx.queryRow(`WITH RECURSIVE below(id) AS (
				SELECT part_id FROM mbom_items WHERE parent_id = ?
				UNION
				SELECT m.part_id FROM mbom_items m JOIN below b ON m.parent_id = b.id
			) SELECT EXISTS (SELECT 1 FROM below WHERE id = ?)`, m.PartID, m.ParentID).Scan(&cycle)
		if err != nil {
			return 0, err
		}
		if cycle {
			return 0, ion.Invalid("partId", "part %d already contains part %d in its mBOM; adding it under %d would make a cycle.", m.PartID, m.ParentID, m.ParentID)
		}
		return tx.insert(`INSERT INTO mbom_items (part_id, parent_id, quantity, etag, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
			m.PartID, m.ParentID, m.Quantity, ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
	})
}

// UpdateMBomItem changes the quantity (> 0).
func (s *TenantStore) UpdateMBomItem(ctx context.Context, p ion.MBomItemPatch) (ion.MBomItem, error) {
	return change(ctx, s, mbomItems, "update", p.ID, p.Etag, func(tx *tx, m ion.MBomItem) error {
		if p.Quantity != nil {
			if err := ion.CheckPositive("quantity", *p.Quantity); err != nil {
				return err
			}
			m.Quantity = *p.Quantity
		}
		_, err := tx.exec(`UPDATE mbom_items SET quantity = ?, etag = ?, updated_at = ? WHERE id = ?`, m.Quantity, ion.NewEtag(), tx.nowMicros(), m.ID)
		return err
	})
}

// DeleteMBomItem deletes an item and its substitutes, unless a build
// requirement was made from it (CONFLICT).
func (s *TenantStore) DeleteMBomItem(ctx context.Context, id ion.ID, etag string) error {
	return remove(ctx, s, mbomItems, id, etag, func(tx *tx, _ ion.MBomItem) error {
		return checkUnreferenced(tx, "mBOM item", id, referrer{"build_requirements", "origin_mbom_item_id", "build requirements"})
	})
}

// MBomItem returns mBOM item id.
func (s *TenantStore) MBomItem(ctx context.Context, id ion.ID) (ion.MBomItem, error) {
	return get(ctx, s, mbomItems, id)
}

// MBomItems lists mBOM items.
func (s *TenantStore) MBomItems(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.MBomItem], error) {
	return list(ctx, s, mbomItems, opts)
}

// CreateMBomSubstitute allows PartID in place of the item's part. A part is
// a substitute of an item at most once and never of its own item.
func (s *TenantStore) CreateMBomSubstitute(ctx context.Context, m ion.MBomSubstitute) (ion.MBomSubstitute, error) {
	return create(ctx, s, mbomSubstitutes, func(tx *tx) (ion.ID, error) {
		item, err := mbomItems.get(tx.ctx, tx, m.MBomItemID)
		if err != nil {
			return 0, asInvalidRef("mbomItemId", err)
		}
		if err := ref(tx, "parts", "part", "partId", m.PartID); err != nil {
			return 0, err
		}
		if item.PartID == m.PartID {
			return 0, ion.Invalid("partId", "part %d is the mBOM item's own part, not a substitute.", m.PartID)
		}
		var n int
		if err := tx.queryRow(`SELECT count(*) FROM mbom_substitutes WHERE mbom_item_id = ? AND part_id = ?`, m.MBomItemID, m.PartID).Scan(&n); err != nil {
			return 0, err
		}
		if n > 0 {
			return 0, ion.Invalid("partId", "part %d is already a substitute of mBOM item %d.", m.PartID, m.MBomItemID)
		}
		return tx.insert(`INSERT INTO mbom_substitutes (mbom_item_id, part_id, etag, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			m.MBomItemID, m.PartID, ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
	})
}

// DeleteMBomSubstitute deletes a substitute.
func (s *TenantStore) DeleteMBomSubstitute(ctx context.Context, id ion.ID, etag string) error {
	return remove(ctx, s, mbomSubstitutes, id, etag, nil)
}

// MBomSubstitutes lists substitutes.
func (s *TenantStore) MBomSubstitutes(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.MBomSubstitute], error) {
	return list(ctx, s, mbomSubstitutes, opts)
}
