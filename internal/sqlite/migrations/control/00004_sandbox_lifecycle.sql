-- Sandbox checkpoints (the names of saved states; the data is in states/)
-- and the lifecycle log, which is kept by sandbox name and outlives the
-- sandbox, as requests do.

-- +goose Up
CREATE TABLE sandbox_checkpoints (
    sandbox    TEXT NOT NULL REFERENCES sandboxes (name) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (sandbox, name)
) STRICT;

CREATE TABLE sandbox_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    sandbox TEXT NOT NULL,
    kind    TEXT NOT NULL,
    actor   TEXT NOT NULL,
    detail  TEXT NOT NULL,
    at      INTEGER NOT NULL
) STRICT;
CREATE INDEX sandbox_events_sandbox ON sandbox_events (sandbox, id);

-- The sweeper looks for sandboxes by state.
CREATE INDEX sandboxes_state ON sandboxes (state);

-- +goose Down
DROP INDEX sandboxes_state;
DROP TABLE sandbox_events;
DROP TABLE sandbox_checkpoints;
