package sqlite

import (
	"context"
	"github.com/ionbox/ionbox/internal/sqlcol"

	"github.com/ionbox/ionbox/ion"
)

var buildRequirements = newEntity(entity[ion.BuildRequirement]{
	kind:    "build requirement",
	plural:  "build requirements",
	table:   "build_requirements",
	notNull: []string{"partId", "partInventoryId"},
	columns: sqlcol.MetaCols + ", t.part_id, t.part_inventory_id, t.quantity_per_parent, t.origin_mbom_item_id",
	fields: map[string]column{
		"partId":                         {"t.part_id", kindInt},
		"partInventoryId":                {"t.part_inventory_id", kindInt},
		"quantityPerParentPartInventory": {"t.quantity_per_parent", kindFloat},
		"originMbomItemId":               {"t.origin_mbom_item_id", kindInt},
	},
	scan: func(sc scanner) (b ion.BuildRequirement, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&b.Meta), &b.PartID, &b.PartInventoryID, &b.QuantityPerParentPartInventory, &b.OriginMBomItemID)...)
		return b, err
	},
	meta: func(b ion.BuildRequirement) ion.Meta { return b.Meta },
})

var abomInstallations = newEntity(entity[ion.AbomInstallation]{
	kind:    "aBOM installation",
	plural:  "aBOM installations",
	table:   "abom_installations",
	notNull: []string{"buildRequirementId", "partInventoryId"},
	columns: sqlcol.MetaCols + ", t.build_requirement_id, t.part_inventory_id, t.quantity",
	fields: map[string]column{
		"buildRequirementId": {"t.build_requirement_id", kindInt},
		"partInventoryId":    {"t.part_inventory_id", kindInt},
		"quantity":           {"t.quantity", kindFloat},
	},
	scan: func(sc scanner) (a ion.AbomInstallation, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&a.Meta), &a.BuildRequirementID, &a.PartInventoryID, &a.Quantity)...)
		return a, err
	},
	meta: func(a ion.AbomInstallation) ion.Meta { return a.Meta },
})

// CreateBuildRequirement says that parent inventory PartInventoryID needs
// QuantityPerParentPartInventory (> 0) of PartID installed. With an
// OriginMBomItemID, PartID defaults to that item's part and must equal it.
func (s *TenantStore) CreateBuildRequirement(ctx context.Context, b ion.BuildRequirement) (ion.BuildRequirement, error) {
	return create(ctx, s, buildRequirements, func(tx *tx) (ion.ID, error) {
		if err := ion.CheckPositive("quantityPerParentPartInventory", b.QuantityPerParentPartInventory); err != nil {
			return 0, err
		}
		if err := ref(tx, "part_inventories", "part inventory", "partInventoryId", b.PartInventoryID); err != nil {
			return 0, err
		}
		if b.OriginMBomItemID != nil {
			item, err := mbomItems.get(tx.ctx, tx, *b.OriginMBomItemID)
			if err != nil {
				return 0, asInvalidRef("originMbomItemId", err)
			}
			if b.PartID == 0 {
				b.PartID = item.PartID
			} else if b.PartID != item.PartID {
				return 0, ion.Invalid("partId", "is %d but mBOM item %d is for part %d.", b.PartID, item.ID, item.PartID)
			}
		}
		if err := ref(tx, "parts", "part", "partId", b.PartID); err != nil {
			return 0, err
		}
		return tx.insert(`INSERT INTO build_requirements (part_id, part_inventory_id, quantity_per_parent, origin_mbom_item_id, etag, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			b.PartID, b.PartInventoryID, b.QuantityPerParentPartInventory, sqlcol.Nullable(b.OriginMBomItemID), ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
	})
}

// DeleteBuildRequirement deletes a requirement nothing is installed against.
func (s *TenantStore) DeleteBuildRequirement(ctx context.Context, id ion.ID, etag string) error {
	return remove(ctx, s, buildRequirements, id, etag, func(tx *tx, _ ion.BuildRequirement) error {
		return checkUnreferenced(tx, "build requirement", id, referrer{"abom_installations", "build_requirement_id", "aBOM installations"})
	})
}

// BuildRequirement returns requirement id.
func (s *TenantStore) BuildRequirement(ctx context.Context, id ion.ID) (ion.BuildRequirement, error) {
	return get(ctx, s, buildRequirements, id)
}

// BuildRequirements lists requirements.
func (s *TenantStore) BuildRequirements(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.BuildRequirement], error) {
	return list(ctx, s, buildRequirements, opts)
}

// CreateAbomInstallation installs Quantity of a child inventory against a
// build requirement and re-derives the child's status (INSTALLED once all
// of it is installed). The child must be of the required part or an mBOM
// substitute of the requirement's origin item; it must not be the parent or
// contain it; it is installed in one place at a time; the quantity must be
// available and must not take the requirement over its quantity.
func (s *TenantStore) CreateAbomInstallation(ctx context.Context, a ion.AbomInstallation) (ion.AbomInstallation, error) {
	return create(ctx, s, abomInstallations, func(tx *tx) (ion.ID, error) {
		if err := ion.CheckPositive("quantity", a.Quantity); err != nil {
			return 0, err
		}
		req, err := buildRequirements.get(tx.ctx, tx, a.BuildRequirementID)
		if err != nil {
			return 0, asInvalidRef("buildRequirementId", err)
		}
		child, err := partInventories.get(tx.ctx, tx, a.PartInventoryID)
		if err != nil {
			return 0, asInvalidRef("partInventoryId", err)
		}
		if child.ID == req.PartInventoryID {
			return 0, ion.Invalid("partInventoryId", "part inventory %d cannot be installed into itself.", child.ID)
		}
		if err := checkInstallablePart(tx, req, child); err != nil {
			return 0, err
		}
		var cycle bool
		if err := tx.queryRow(`WITH RECURSIVE up(id) AS (
				SELECT ?
				UNION SELECT br.part_inventory_id FROM abom_installations i
				JOIN build_requirements br ON br.id = i.build_requirement_id JOIN up ON i.part_inventory_id = up.id
			) SELECT EXISTS (SELECT 1 FROM up WHERE id = ?)`, req.PartInventoryID, child.ID).Scan(&cycle); err != nil {
			return 0, err
		}
		if cycle {
			return 0, ion.Invalid("partInventoryId", "part inventory %d already contains part inventory %d; installing it there would make a cycle.", child.ID, req.PartInventoryID)
		}
		var existing ion.ID
		err = tx.queryRow(`SELECT id FROM abom_installations WHERE part_inventory_id = ?`, child.ID).Scan(&existing)
		if err == nil {
			return 0, ion.Invalid("partInventoryId", "part inventory %d is already installed (aBOM installation %d); delete that installation first.", child.ID, existing)
		} else if !isNoRows(err) {
			return 0, err
		}
		if a.Quantity > child.QuantityAvailable {
			return 0, ion.Invalid("quantity", "%v is more than the %v available on part inventory %d.", a.Quantity, child.QuantityAvailable, child.ID)
		}
		var installed float64
		if err := tx.queryRow(`SELECT coalesce(sum(quantity), 0) FROM abom_installations WHERE build_requirement_id = ?`, req.ID).Scan(&installed); err != nil {
			return 0, err
		}
		if installed+a.Quantity > req.QuantityPerParentPartInventory {
			return 0, ion.Invalid("quantity", "installing %v would exceed build requirement %d: it needs %v and %v is installed already.",
				a.Quantity, req.ID, req.QuantityPerParentPartInventory, installed)
		}
		id, err := tx.insert(`INSERT INTO abom_installations (build_requirement_id, part_inventory_id, quantity, etag, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, req.ID, child.ID, a.Quantity, ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
		if err != nil {
			return 0, err
		}
		return id, rederiveInventory(tx, child.ID)
	})
}

// checkInstallablePart: the child is of the required part or of an mBOM
// substitute of the requirement's origin item.
func checkInstallablePart(tx *tx, req ion.BuildRequirement, child ion.PartInventory) error {
	if child.PartID == req.PartID {
		return nil
	}
	if req.OriginMBomItemID != nil {
		var n int
		if err := tx.queryRow(`SELECT count(*) FROM mbom_substitutes WHERE mbom_item_id = ? AND part_id = ?`,
			*req.OriginMBomItemID, child.PartID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
	return ion.Invalid("partInventoryId", "part inventory %d is of part %d, but build requirement %d needs part %d or an mBOM substitute of it.",
		child.ID, child.PartID, req.ID, req.PartID)
}

// DeleteAbomInstallation uninstalls: the child inventory's status is
// derived again.
func (s *TenantStore) DeleteAbomInstallation(ctx context.Context, id ion.ID, etag string) error {
	return s.update(ctx, "delete aBOM installation", func(tx *tx) error {
		a, err := abomInstallations.get(tx.ctx, tx, id)
		if err != nil {
			return err
		}
		if err := ion.CheckEtag("aBOM installation", a.Meta, etag); err != nil {
			return err
		}
		tx.setResult("aBOM installation", id, nil)
		if err := track(tx, abomInstallations, id); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM abom_installations WHERE id = ?`, id); err != nil {
			return err
		}
		return rederiveInventory(tx, a.PartInventoryID)
	})
}

// AbomInstallation returns installation id.
func (s *TenantStore) AbomInstallation(ctx context.Context, id ion.ID) (ion.AbomInstallation, error) {
	return get(ctx, s, abomInstallations, id)
}

// AbomInstallations lists installations.
func (s *TenantStore) AbomInstallations(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.AbomInstallation], error) {
	return list(ctx, s, abomInstallations, opts)
}
