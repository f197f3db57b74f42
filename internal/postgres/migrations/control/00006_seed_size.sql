-- The size of a seeded sandbox's demo data ("small" or "large"; "" for
-- other shapes), kept with its request so that a pending request is
-- provisioned as asked.

-- +goose Up
ALTER TABLE sandbox_requests ADD COLUMN size TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE sandbox_requests DROP COLUMN size;
