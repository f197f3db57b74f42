-- A part's inventory is listed by part, then id (the partInventories field
-- of a page of parts reads the inventory of all its parts at once, ordered
-- that way). This index serves that order, so the read needs no sort.

-- +goose Up
CREATE INDEX part_inventories_part ON part_inventories (part_id, id);

-- +goose Down
DROP INDEX part_inventories_part;
