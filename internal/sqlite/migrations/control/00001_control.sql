-- Control database: what spans tenants. Times are Unix microseconds (UTC).

-- +goose Up
CREATE TABLE environments (
    name       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    state      TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE organizations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    environment TEXT NOT NULL REFERENCES environments (name),
    name        TEXT NOT NULL,
    domain      TEXT NOT NULL,
    tier        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
-- Domains are unique per environment, ignoring case; organizations without a domain are exempt.
CREATE UNIQUE INDEX organizations_domain ON organizations (environment, domain COLLATE NOCASE) WHERE domain <> '';

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    name            TEXT NOT NULL,
    email           TEXT NOT NULL,
    active          INTEGER NOT NULL,
    roles           TEXT NOT NULL DEFAULT '[]',
    service_account INTEGER NOT NULL,
    etag            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX users_email ON users (organization_id, email COLLATE NOCASE);

CREATE TABLE api_keys (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id       TEXT NOT NULL UNIQUE,
    organization_id INTEGER NOT NULL REFERENCES organizations (id),
    user_id         INTEGER NOT NULL REFERENCES users (id),
    environment     TEXT NOT NULL,
    enabled         INTEGER NOT NULL,
    secret_hash     BLOB NOT NULL,
    secret_hint     TEXT NOT NULL,
    etag            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX api_keys_organization ON api_keys (organization_id);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE signing_keys (
    environment TEXT NOT NULL REFERENCES environments (name),
    kid         TEXT NOT NULL,
    algorithm   TEXT NOT NULL,
    private_jwk BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER,
    PRIMARY KEY (environment, kid)
) STRICT;

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE api_keys;
DROP TABLE users;
DROP TABLE organizations;
DROP TABLE environments;
