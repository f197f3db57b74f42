-- Sandbox requests and sandboxes. Times are Unix microseconds (UTC); members,
-- service accounts and features are JSON arrays ('[]' when empty).

-- +goose Up
CREATE TABLE sandbox_requests (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id  INTEGER NOT NULL REFERENCES organizations (id),
    name             TEXT NOT NULL,
    reason           TEXT NOT NULL,
    integration      TEXT NOT NULL,
    shape            TEXT NOT NULL,
    members          TEXT NOT NULL DEFAULT '[]',
    service_accounts TEXT NOT NULL DEFAULT '[]',
    features         TEXT NOT NULL DEFAULT '[]',
    ttl_days         INTEGER,
    status           TEXT NOT NULL,
    requested_by     TEXT NOT NULL,
    note             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    decided_at       INTEGER
) STRICT;
-- A pending request holds its name, as an environment does; decided ones
-- are history and hold nothing.
CREATE UNIQUE INDEX sandbox_requests_pending_name ON sandbox_requests (name) WHERE status = 'pending';
CREATE INDEX sandbox_requests_organization ON sandbox_requests (organization_id);

-- A sandbox's name is also its environment's. organization_id is its own
-- organization in that environment, NULL until provisioning has made it.
CREATE TABLE sandboxes (
    name                   TEXT PRIMARY KEY REFERENCES environments (name),
    request_id             INTEGER REFERENCES sandbox_requests (id),
    source_organization_id INTEGER NOT NULL REFERENCES organizations (id),
    organization_id        INTEGER REFERENCES organizations (id),
    shape                  TEXT NOT NULL,
    state                  TEXT NOT NULL,
    features               TEXT NOT NULL DEFAULT '[]',
    pinned                 INTEGER NOT NULL DEFAULT 0,
    created_at             INTEGER NOT NULL,
    last_activity_at       INTEGER NOT NULL,
    expires_at             INTEGER
) STRICT;
CREATE INDEX sandboxes_source_organization ON sandboxes (source_organization_id);

-- Deleting a sandbox finds its environment's organizations by environment
-- (users_email and api_keys_organization already index the rest).
CREATE INDEX organizations_environment ON organizations (environment);

-- +goose Down
DROP INDEX organizations_environment;
DROP TABLE sandboxes;
DROP TABLE sandbox_requests;
