package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"github.com/ionbox/ionbox/internal/sqlcol"
	"strings"

	"github.com/ionbox/ionbox/ion"
)

var parts = newEntity(entity[ion.Part]{
	kind:   "part",
	plural: "parts",
	table:  "parts",
	columns: sqlcol.MetaCols + ", t.part_number, t.revision, t.description, t.part_type, t.tracking_type, t.status," +
		" t.sourcing_strategy, t.cost, t.lead_time, t.revised_from_id, t.attributes",
	fields: map[string]column{
		"partNumber":       {"t.part_number", kindText},
		"revision":         {"t.revision", kindText},
		"description":      {"t.description", kindText},
		"partType":         {"t.part_type", kindEnum},
		"trackingType":     {"t.tracking_type", kindEnum},
		"status":           {"t.status", kindEnum},
		"sourcingStrategy": {"t.sourcing_strategy", kindEnum},
		"cost":             {"t.cost", kindFloat},
		"leadTime":         {"t.lead_time", kindInt},
		"revisedFromId":    {"t.revised_from_id", kindInt},
		// Vendor scripts filter {"isLatestRevision": {"eq": true}}: no
		// revision of the same part number sorts after this one.
		"isLatestRevision": {`(NOT EXISTS (SELECT 1 FROM parts p2 WHERE p2.part_number = t.part_number AND
			(length(p2.revision) > length(t.revision) OR (length(p2.revision) = length(t.revision) AND p2.revision > t.revision))))`, kindBool},
	},
	scan: func(sc scanner) (p ion.Part, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&p.Meta), &p.PartNumber, &p.Revision, &p.Description, &p.PartType, &p.TrackingType, &p.Status,
			&p.SourcingStrategy, &p.Cost, &p.LeadTime, &p.RevisedFromID, sqlcol.JSONList[ion.Attribute]{Dst: &p.Attributes})...)
		return p, err
	},
	meta: func(p ion.Part) ion.Meta { return p.Meta },
})

// CreatePart creates a part. Revision defaults to "A" (stored uppercase),
// PartType to PART and Status to RELEASED; (partNumber, revision) is unique.
func (s *TenantStore) CreatePart(ctx context.Context, p ion.Part) (ion.Part, error) {
	return create(ctx, s, parts, func(tx *tx) (ion.ID, error) {
		return insertPart(tx, p)
	})
}

func insertPart(tx *tx, p ion.Part) (ion.ID, error) {
	p.PartNumber = strings.TrimSpace(p.PartNumber)
	if p.PartNumber == "" {
		return 0, ion.Invalid("partNumber", "is required.")
	}
	if p.Revision == "" {
		p.Revision = "A"
	}
	if err := ion.ValidateRevision(p.Revision); err != nil {
		return 0, err
	}
	// Revisions are letters; storing them uppercase keeps "a" and "A" from
	// being two revisions and makes NextRevision's order hold.
	p.Revision = strings.ToUpper(p.Revision)
	if p.PartType == "" {
		p.PartType = ion.PartTypePart
	}
	if p.Status == "" {
		p.Status = ion.PartReleased
	}
	if err := normalizePart(&p); err != nil {
		return 0, err
	}
	if err := optRef(tx, "parts", "part", "revisedFromId", p.RevisedFromID); err != nil {
		return 0, err
	}
	if err := checkPartNumberFree(tx, p.PartNumber, p.Revision); err != nil {
		return 0, err
	}
	return tx.insert(`INSERT INTO parts (part_number, revision, description, part_type, tracking_type, status, sourcing_strategy,
		cost, lead_time, revised_from_id, attributes, etag, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.PartNumber, p.Revision, p.Description, p.PartType, sqlcol.Nullable(p.TrackingType), p.Status, sqlcol.Nullable(p.SourcingStrategy),
		sqlcol.Nullable(p.Cost), sqlcol.Nullable(p.LeadTime), sqlcol.Nullable(p.RevisedFromID), sqlcol.EncodeList(p.Attributes), ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
}

// normalizePart checks the fields that create and update share and
// uppercases enum values.
func normalizePart(p *ion.Part) (err error) {
	if p.PartType, err = ion.CheckEnum("partType", p.PartType, ion.PartTypePart, ion.PartTypeTool); err != nil {
		return err
	}
	if p.Status, err = ion.CheckEnum("status", p.Status, ion.PartReleased, ion.PartArchived); err != nil {
		return err
	}
	if p.TrackingType != nil && strings.TrimSpace(*p.TrackingType) == "" {
		p.TrackingType = nil // "" means untracked
	}
	if p.TrackingType != nil {
		tt, err := ion.CheckEnum("trackingType", *p.TrackingType, ion.TrackingSerial, ion.TrackingLot)
		if err != nil {
			return err
		}
		p.TrackingType = &tt
	}
	if p.SourcingStrategy != nil && strings.TrimSpace(*p.SourcingStrategy) == "" {
		p.SourcingStrategy = nil
	}
	if p.SourcingStrategy != nil {
		ss, err := ion.CheckEnum("sourcingStrategy", *p.SourcingStrategy, "MAKE", "BUY", "DUAL_SOURCE")
		if err != nil {
			return err
		}
		p.SourcingStrategy = &ss
	}
	if err := ion.CheckFinite("cost", p.Cost); err != nil {
		return err
	}
	if p.LeadTime != nil && *p.LeadTime < 0 {
		return ion.Invalid("leadTime", "must not be negative (got %d).", *p.LeadTime)
	}
	return ion.CheckAttributes(p.Attributes)
}

func checkPartNumberFree(tx *tx, partNumber, revision string) error {
	var other ion.ID
	err := tx.queryRow(`SELECT id FROM parts WHERE part_number = ? AND revision = ?`, partNumber, revision).Scan(&other)
	if err == nil {
		return ion.Invalid("partNumber", "%q revision %s already exists (part %d); use createPartRevision to make a new revision.", partNumber, revision, other)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return err
}

// UpdatePart changes the fields the patch sets. Part number and revision
// never change. A new tracking type must fit every inventory of the part.
func (s *TenantStore) UpdatePart(ctx context.Context, patch ion.PartPatch) (ion.Part, error) {
	return change(ctx, s, parts, "update", patch.ID, patch.Etag, func(tx *tx, p ion.Part) error {
		if patch.Description != nil {
			p.Description = *patch.Description
		}
		if patch.PartType != nil {
			p.PartType = *patch.PartType
		}
		if patch.TrackingType != nil {
			p.TrackingType = *patch.TrackingType
		}
		if patch.Status != nil {
			p.Status = *patch.Status
		}
		if patch.SourcingStrategy != nil {
			p.SourcingStrategy = patch.SourcingStrategy
		}
		if patch.Cost != nil {
			p.Cost = patch.Cost
		}
		if patch.LeadTime != nil {
			p.LeadTime = patch.LeadTime
		}
		if patch.Attributes != nil {
			p.Attributes = *patch.Attributes
		}
		if err := normalizePart(&p); err != nil {
			return err
		}
		if patch.TrackingType != nil {
			if err := checkInventoryFitsTracking(tx, p.ID, p.TrackingType); err != nil {
				return err
			}
		}
		_, err := tx.exec(`UPDATE parts SET description = ?, part_type = ?, tracking_type = ?, status = ?, sourcing_strategy = ?,
			cost = ?, lead_time = ?, attributes = ?, etag = ?, updated_at = ? WHERE id = ?`,
			p.Description, p.PartType, sqlcol.Nullable(p.TrackingType), p.Status, sqlcol.Nullable(p.SourcingStrategy),
			sqlcol.Nullable(p.Cost), sqlcol.Nullable(p.LeadTime), sqlcol.EncodeList(p.Attributes), ion.NewEtag(), tx.nowMicros(), p.ID)
		return err
	})
}

// DeletePart deletes a part nothing uses. Later revisions made from it
// keep existing and lose their RevisedFromID.
func (s *TenantStore) DeletePart(ctx context.Context, id ion.ID, etag string) error {
	return remove(ctx, s, parts, id, etag, func(tx *tx, p ion.Part) error {
		if err := checkUnreferenced(tx, "part", id,
			referrer{"part_inventories", "part_id", "part inventories"},
			referrer{"mbom_items", "part_id", "mBOM items"},
			referrer{"mbom_items", "parent_id", "mBOM items (as their parent)"},
			referrer{"mbom_substitutes", "part_id", "mBOM substitutes"},
			referrer{"build_requirements", "part_id", "build requirements"},
			referrer{"purchase_order_lines", "part_id", "purchase order lines"},
			referrer{"runs", "part_id", "runs"},
		); err != nil {
			return err
		}
		if err := trackWhere(tx, parts, "t.revised_from_id = ?", id); err != nil {
			return err
		}
		_, err := tx.exec(`UPDATE parts SET revised_from_id = NULL, etag = new_etag(), updated_at = ? WHERE revised_from_id = ?`, tx.nowMicros(), id)
		return err
	})
}

// Part returns part id.
func (s *TenantStore) Part(ctx context.Context, id ion.ID) (ion.Part, error) {
	return get(ctx, s, parts, id)
}

// Parts lists parts.
func (s *TenantStore) Parts(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.Part], error) {
	return list(ctx, s, parts, opts)
}

// CreatePartRevision copies part partID as a new revision of its part
// number: the given one, or the one after the highest existing revision.
func (s *TenantStore) CreatePartRevision(ctx context.Context, partID ion.ID, revision string) (ion.Part, error) {
	var out ion.Part
	err := s.update(ctx, "create part revision", func(tx *tx) error {
		src, err := parts.get(tx.ctx, tx, partID)
		if err != nil {
			return err
		}
		if revision == "" {
			var highest string
			err := tx.queryRow(`SELECT revision FROM parts WHERE part_number = ? ORDER BY length(revision) DESC, revision DESC LIMIT 1`,
				src.PartNumber).Scan(&highest)
			if err != nil {
				return err
			}
			revision = ion.NextRevision(highest)
		}
		src.Revision = revision
		src.RevisedFromID = &partID
		src.Status = ion.PartReleased
		id, err := insertPart(tx, src)
		if err != nil {
			return err
		}
		if err := trackCreated(tx, parts, id); err != nil {
			return err
		}
		out, err = parts.get(tx.ctx, tx, id)
		return err
	})
	return out, err
}

// PartQuantities sums the inventory quantity of each given part; parts
// without inventory (or unknown ids) map to 0.
func (s *TenantStore) PartQuantities(ctx context.Context, partIDs []ion.ID) (map[ion.ID]float64, error) {
	out := make(map[ion.ID]float64, len(partIDs))
	for _, id := range partIDs {
		out[id] = 0
	}
	err := s.view(ctx, "part quantities", func(q queryer) error {
		rows, err := q.QueryContext(ctx, `SELECT part_id, sum(quantity) FROM part_inventories
			WHERE part_id IN (SELECT value FROM json_each(?)) GROUP BY part_id`, sqlcol.EncodeList(partIDs))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id ion.ID
			var sum float64
			if err := rows.Scan(&id, &sum); err != nil {
				return err
			}
			out[id] = sum
		}
		return rows.Err()
	})
	return out, err
}
