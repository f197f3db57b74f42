-- Tenants with at least one active LIVE webhook receiver, so that a
-- dispatcher polls only those for due deliveries.

-- +goose Up
CREATE TABLE webhook_tenants (
    tenant     TEXT COLLATE "C" PRIMARY KEY,
    updated_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE webhook_tenants;
