-- Webhooks: receivers, subscriptions, the events every committed change
-- records and their deliveries (the outbox while PENDING, the delivery log
-- afterwards). Deliveries keep receiver and subscription ids without a
-- foreign key, so that the log outlives a deleted subscription.

-- +goose Up
CREATE TABLE webhook_receivers (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    name                   TEXT NOT NULL,
    url                    TEXT NOT NULL,
    shared_secret          TEXT NOT NULL,
    expected_response_code INTEGER NOT NULL,
    headers                TEXT NOT NULL DEFAULT '[]',
    delivery_mode          TEXT NOT NULL,
    status                 TEXT NOT NULL,
    last_error             TEXT NOT NULL DEFAULT '',
    failing_since          INTEGER,
    etag                   TEXT NOT NULL,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
) STRICT;

CREATE TABLE webhook_subscriptions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    receiver_id INTEGER NOT NULL REFERENCES webhook_receivers (id) ON DELETE CASCADE,
    resource    TEXT NOT NULL,
    action      TEXT NOT NULL,
    etag        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX webhook_subscriptions_unique ON webhook_subscriptions (receiver_id, resource, action);

CREATE TABLE webhook_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    resource  TEXT NOT NULL,
    action    TEXT NOT NULL,
    object_id INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    data      TEXT NOT NULL
) STRICT;

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id         INTEGER NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    subscription_id  INTEGER NOT NULL,
    receiver_id      INTEGER NOT NULL,
    mode             TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_attempt_at  INTEGER,
    last_status_code INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    delivered_at     INTEGER,
    created_at       INTEGER NOT NULL
) STRICT;
-- The dispatcher's scan: due PENDING deliveries only.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_receiver ON webhook_deliveries (receiver_id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
DROP TABLE webhook_subscriptions;
DROP TABLE webhook_receivers;
