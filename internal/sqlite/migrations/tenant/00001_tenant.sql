-- Tenant database: one organization's ION data. Times are Unix microseconds
-- (UTC). JSON columns hold arrays ('[]' when empty). Every mutable row has an
-- etag that changes on every write. AUTOINCREMENT keeps ids from being reused
-- after a delete, as clients and webhook receivers may still hold them.

-- +goose Up
CREATE TABLE parts (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    part_number       TEXT NOT NULL,
    revision          TEXT NOT NULL,
    description       TEXT NOT NULL,
    part_type         TEXT NOT NULL,
    tracking_type     TEXT,
    status            TEXT NOT NULL,
    sourcing_strategy TEXT,
    cost              REAL,
    lead_time         INTEGER,
    revised_from_id   INTEGER REFERENCES parts (id) ON DELETE SET NULL,
    attributes        TEXT NOT NULL DEFAULT '[]',
    etag              TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX parts_number_revision ON parts (part_number, revision);
CREATE INDEX parts_revised_from ON parts (revised_from_id);

CREATE TABLE mbom_items (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    part_id    INTEGER NOT NULL REFERENCES parts (id),
    parent_id  INTEGER NOT NULL REFERENCES parts (id),
    quantity   REAL NOT NULL,
    etag       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX mbom_items_part ON mbom_items (part_id);
CREATE INDEX mbom_items_parent ON mbom_items (parent_id);

CREATE TABLE mbom_substitutes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    mbom_item_id INTEGER NOT NULL REFERENCES mbom_items (id) ON DELETE CASCADE,
    part_id      INTEGER NOT NULL REFERENCES parts (id),
    etag         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX mbom_substitutes_item_part ON mbom_substitutes (mbom_item_id, part_id);
CREATE INDEX mbom_substitutes_part ON mbom_substitutes (part_id);

CREATE TABLE locations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    available  INTEGER NOT NULL,
    etag       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE units_of_measurement (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    type       TEXT NOT NULL,
    etag       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE suppliers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '[]',
    etag       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE purchase_orders (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    status      TEXT NOT NULL,
    supplier_id INTEGER REFERENCES suppliers (id),
    attributes  TEXT NOT NULL DEFAULT '[]',
    etag        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX purchase_orders_supplier ON purchase_orders (supplier_id);

CREATE TABLE purchase_order_lines (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    purchase_order_id INTEGER NOT NULL REFERENCES purchase_orders (id),
    part_id           INTEGER NOT NULL REFERENCES parts (id),
    quantity          REAL NOT NULL,
    need_date         INTEGER,
    status            TEXT NOT NULL,
    description       TEXT NOT NULL,
    etag              TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX purchase_order_lines_order ON purchase_order_lines (purchase_order_id);
CREATE INDEX purchase_order_lines_part ON purchase_order_lines (part_id);

-- status is derived (ion.DeriveInventoryStatus) and rewritten by every
-- transaction that changes one of its inputs, so that lists can filter and
-- sort on it. quantity_installed is the sum of this unit's installations.
CREATE TABLE part_inventories (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    part_id                INTEGER NOT NULL REFERENCES parts (id),
    serial_number          TEXT,
    lot_number             TEXT,
    quantity               REAL NOT NULL,
    quantity_installed     REAL NOT NULL DEFAULT 0,
    quantity_scrapped      REAL NOT NULL DEFAULT 0,
    quantity_available     REAL GENERATED ALWAYS AS (max(0, quantity - quantity_installed - quantity_scrapped)) VIRTUAL,
    location_id            INTEGER REFERENCES locations (id),
    unit_of_measure_id     INTEGER REFERENCES units_of_measurement (id),
    cost                   REAL,
    status                 TEXT NOT NULL,
    purchase_order_line_id INTEGER REFERENCES purchase_order_lines (id),
    attributes             TEXT NOT NULL DEFAULT '[]',
    etag                   TEXT NOT NULL,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX part_inventories_serial ON part_inventories (part_id, serial_number);
CREATE INDEX part_inventories_location ON part_inventories (location_id);
CREATE INDEX part_inventories_unit ON part_inventories (unit_of_measure_id);
CREATE INDEX part_inventories_status ON part_inventories (status);
CREATE INDEX part_inventories_po_line ON part_inventories (purchase_order_line_id);
CREATE INDEX part_inventories_lot ON part_inventories (lot_number);

CREATE TABLE procedures (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    title             TEXT NOT NULL,
    description       TEXT NOT NULL,
    type              TEXT NOT NULL,
    status            TEXT NOT NULL,
    export_controlled INTEGER NOT NULL,
    version           INTEGER NOT NULL,
    attributes        TEXT NOT NULL DEFAULT '[]',
    etag              TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;

CREATE TABLE steps (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    procedure_id INTEGER NOT NULL REFERENCES procedures (id) ON DELETE CASCADE,
    parent_id    INTEGER REFERENCES steps (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    title        TEXT NOT NULL,
    content      TEXT NOT NULL,
    type         TEXT NOT NULL,
    etag         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX steps_procedure ON steps (procedure_id, position);
CREATE INDEX steps_parent ON steps (parent_id);

-- step_id cannot start before upstream_step_id is complete.
CREATE TABLE step_edges (
    step_id          INTEGER NOT NULL REFERENCES steps (id) ON DELETE CASCADE,
    upstream_step_id INTEGER NOT NULL REFERENCES steps (id) ON DELETE CASCADE,
    PRIMARY KEY (step_id, upstream_step_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX step_edges_upstream ON step_edges (upstream_step_id);

CREATE TABLE step_fields (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    step_id    INTEGER NOT NULL REFERENCES steps (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL,
    required   INTEGER NOT NULL,
    unit       TEXT,
    options    TEXT NOT NULL DEFAULT '[]',
    etag       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX step_fields_step ON step_fields (step_id);

-- status is derived from the run's steps (ion.DeriveRunStatus) except once
-- the run is CANCELED.
CREATE TABLE runs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    title             TEXT NOT NULL,
    status            TEXT NOT NULL,
    procedure_id      INTEGER NOT NULL REFERENCES procedures (id),
    part_id           INTEGER REFERENCES parts (id),
    part_inventory_id INTEGER REFERENCES part_inventories (id),
    started_at        INTEGER,
    completed_at      INTEGER,
    archived          INTEGER NOT NULL DEFAULT 0,
    attributes        TEXT NOT NULL DEFAULT '[]',
    etag              TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX runs_procedure ON runs (procedure_id);
CREATE INDEX runs_part ON runs (part_id);
CREATE INDEX runs_part_inventory ON runs (part_inventory_id);
CREATE INDEX runs_status ON runs (status);

CREATE TABLE run_steps (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id         INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    origin_step_id INTEGER REFERENCES steps (id) ON DELETE SET NULL,
    parent_id      INTEGER REFERENCES run_steps (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    title          TEXT NOT NULL,
    content        TEXT NOT NULL,
    status         TEXT NOT NULL,
    etag           TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX run_steps_run ON run_steps (run_id, position);
CREATE INDEX run_steps_origin ON run_steps (origin_step_id);
CREATE INDEX run_steps_parent ON run_steps (parent_id);

CREATE TABLE run_step_edges (
    run_step_id          INTEGER NOT NULL REFERENCES run_steps (id) ON DELETE CASCADE,
    upstream_run_step_id INTEGER NOT NULL REFERENCES run_steps (id) ON DELETE CASCADE,
    PRIMARY KEY (run_step_id, upstream_run_step_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX run_step_edges_upstream ON run_step_edges (upstream_run_step_id);

CREATE TABLE run_step_fields (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_step_id INTEGER NOT NULL REFERENCES run_steps (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    required    INTEGER NOT NULL,
    unit        TEXT,
    options     TEXT NOT NULL DEFAULT '[]',
    value       TEXT,
    etag        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX run_step_fields_run_step ON run_step_fields (run_step_id);

CREATE TABLE build_requirements (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    part_id             INTEGER NOT NULL REFERENCES parts (id),
    part_inventory_id   INTEGER NOT NULL REFERENCES part_inventories (id),
    quantity_per_parent REAL NOT NULL,
    origin_mbom_item_id INTEGER REFERENCES mbom_items (id),
    etag                TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
) STRICT;
CREATE INDEX build_requirements_part ON build_requirements (part_id);
CREATE INDEX build_requirements_part_inventory ON build_requirements (part_inventory_id);
CREATE INDEX build_requirements_origin ON build_requirements (origin_mbom_item_id);

-- A unit is installed in at most one place at a time, hence the unique index.
CREATE TABLE abom_installations (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    build_requirement_id INTEGER NOT NULL REFERENCES build_requirements (id),
    part_inventory_id    INTEGER NOT NULL REFERENCES part_inventories (id),
    quantity             REAL NOT NULL,
    etag                 TEXT NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
) STRICT;
CREATE INDEX abom_installations_requirement ON abom_installations (build_requirement_id);
CREATE UNIQUE INDEX abom_installations_child ON abom_installations (part_inventory_id);

CREATE TABLE issues (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    title              TEXT NOT NULL,
    status             TEXT NOT NULL,
    run_id             INTEGER REFERENCES runs (id),
    run_step_id        INTEGER REFERENCES run_steps (id),
    part_inventory_id  INTEGER REFERENCES part_inventories (id),
    cause_condition    TEXT,
    expected_condition TEXT,
    disposition        TEXT,
    attributes         TEXT NOT NULL DEFAULT '[]',
    etag               TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;
CREATE INDEX issues_run ON issues (run_id);
CREATE INDEX issues_run_step ON issues (run_step_id);
CREATE INDEX issues_part_inventory ON issues (part_inventory_id);

CREATE TABLE teams (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    user_ids   TEXT NOT NULL DEFAULT '[]',
    etag       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE teams;
DROP TABLE issues;
DROP TABLE abom_installations;
DROP TABLE build_requirements;
DROP TABLE run_step_fields;
DROP TABLE run_step_edges;
DROP TABLE run_steps;
DROP TABLE runs;
DROP TABLE step_fields;
DROP TABLE step_edges;
DROP TABLE steps;
DROP TABLE procedures;
DROP TABLE part_inventories;
DROP TABLE purchase_order_lines;
DROP TABLE purchase_orders;
DROP TABLE suppliers;
DROP TABLE units_of_measurement;
DROP TABLE locations;
DROP TABLE mbom_substitutes;
DROP TABLE mbom_items;
DROP TABLE parts;
