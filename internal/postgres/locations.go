// Code generated from internal/sqlite/locations.go by `go test ./internal/postgres -run TestStoreCopies -update-copies`; DO NOT EDIT.

package postgres

import (
	"context"
	"github.com/ionbox/ionbox/internal/sqlcol"
	"strings"

	"github.com/ionbox/ionbox/ion"
)

var locations = newEntity(entity[ion.Location]{
	kind:    "location",
	plural:  "locations",
	table:   "locations",
	columns: sqlcol.MetaCols + ", t.name, t.available",
	fields: map[string]column{
		"name":      {"t.name", kindText},
		"available": {"t.available", kindBool},
	},
	scan: func(sc scanner) (l ion.Location, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&l.Meta), &l.Name, &l.Available)...)
		return l, err
	},
	meta: func(l ion.Location) ion.Meta { return l.Meta },
})

var unitsOfMeasurement = newEntity(entity[ion.UnitOfMeasurement]{
	kind:    "unit of measurement",
	plural:  "units of measurement",
	table:   "units_of_measurement",
	columns: sqlcol.MetaCols + ", t.type",
	fields: map[string]column{
		"type": {"t.type", kindText},
	},
	scan: func(sc scanner) (u ion.UnitOfMeasurement, err error) {
		err = sc.Scan(append(sqlcol.MetaDest(&u.Meta), &u.Type)...)
		return u, err
	},
	meta: func(u ion.UnitOfMeasurement) ion.Meta { return u.Meta },
})

// CreateLocation creates a location. Available is stored as given: material
// at a location that is not available counts as UNAVAILABLE.
func (s *TenantStore) CreateLocation(ctx context.Context, l ion.Location) (ion.Location, error) {
	return create(ctx, s, locations, func(tx *tx) (ion.ID, error) {
		l.Name = strings.TrimSpace(l.Name)
		if l.Name == "" {
			return 0, ion.Invalid("name", "is required.")
		}
		return tx.insert(`INSERT INTO locations (name, available, etag, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			l.Name, l.Available, ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
	})
}

// UpdateLocation renames a location or changes its availability; the
// latter re-derives the status of the inventory there.
func (s *TenantStore) UpdateLocation(ctx context.Context, p ion.LocationPatch) (ion.Location, error) {
	return change(ctx, s, locations, "update", p.ID, p.Etag, func(tx *tx, l ion.Location) error {
		if p.Name != nil {
			l.Name = strings.TrimSpace(*p.Name)
			if l.Name == "" {
				return ion.Invalid("name", "must not be empty.")
			}
		}
		wasAvailable := l.Available
		if p.Available != nil {
			l.Available = *p.Available
		}
		if _, err := tx.exec(`UPDATE locations SET name = ?, available = ?, etag = ?, updated_at = ? WHERE id = ?`,
			l.Name, l.Available, ion.NewEtag(), tx.nowMicros(), l.ID); err != nil {
			return err
		}
		if l.Available != wasAvailable {
			return rederiveInventoryWhere(tx, "i.location_id = ?", l.ID)
		}
		return nil
	})
}

// DeleteLocation deletes a location that holds no inventory.
func (s *TenantStore) DeleteLocation(ctx context.Context, id ion.ID, etag string) error {
	return remove(ctx, s, locations, id, etag, func(tx *tx, _ ion.Location) error {
		return checkUnreferenced(tx, "location", id, referrer{"part_inventories", "location_id", "part inventories"})
	})
}

// Location returns location id.
func (s *TenantStore) Location(ctx context.Context, id ion.ID) (ion.Location, error) {
	return get(ctx, s, locations, id)
}

// Locations lists locations.
func (s *TenantStore) Locations(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.Location], error) {
	return list(ctx, s, locations, opts)
}

// CreateUnitOfMeasurement creates a unit such as "each" or "kg".
func (s *TenantStore) CreateUnitOfMeasurement(ctx context.Context, u ion.UnitOfMeasurement) (ion.UnitOfMeasurement, error) {
	return create(ctx, s, unitsOfMeasurement, func(tx *tx) (ion.ID, error) {
		u.Type = strings.TrimSpace(u.Type)
		if u.Type == "" {
			return 0, ion.Invalid("type", "is required, e.g. \"each\" or \"kg\".")
		}
		return tx.insert(`INSERT INTO units_of_measurement (type, etag, created_at, updated_at) VALUES (?, ?, ?, ?)`,
			u.Type, ion.NewEtag(), tx.nowMicros(), tx.nowMicros())
	})
}

// UpdateUnitOfMeasurement renames a unit.
func (s *TenantStore) UpdateUnitOfMeasurement(ctx context.Context, p ion.UnitOfMeasurementPatch) (ion.UnitOfMeasurement, error) {
	return change(ctx, s, unitsOfMeasurement, "update", p.ID, p.Etag, func(tx *tx, u ion.UnitOfMeasurement) error {
		if p.Type != nil {
			u.Type = strings.TrimSpace(*p.Type)
			if u.Type == "" {
				return ion.Invalid("type", "must not be empty.")
			}
		}
		_, err := tx.exec(`UPDATE units_of_measurement SET type = ?, etag = ?, updated_at = ? WHERE id = ?`, u.Type, ion.NewEtag(), tx.nowMicros(), u.ID)
		return err
	})
}

// DeleteUnitOfMeasurement deletes a unit no inventory uses.
func (s *TenantStore) DeleteUnitOfMeasurement(ctx context.Context, id ion.ID, etag string) error {
	return remove(ctx, s, unitsOfMeasurement, id, etag, func(tx *tx, _ ion.UnitOfMeasurement) error {
		return checkUnreferenced(tx, "unit of measurement", id, referrer{"part_inventories", "unit_of_measure_id", "part inventories"})
	})
}

// UnitOfMeasurement returns unit id.
func (s *TenantStore) UnitOfMeasurement(ctx context.Context, id ion.ID) (ion.UnitOfMeasurement, error) {
	return get(ctx, s, unitsOfMeasurement, id)
}

// UnitsOfMeasurement lists units.
func (s *TenantStore) UnitsOfMeasurement(ctx context.Context, opts ion.ListOptions) (ion.Page[ion.UnitOfMeasurement], error) {
	return list(ctx, s, unitsOfMeasurement, opts)
}
