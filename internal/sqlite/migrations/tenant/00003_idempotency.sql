-- Idempotency-Key records (ion/idempotency.go). A step row commits in the
-- same transaction as the change it records; the response row is written
-- after the answer is built. Times are Unix microseconds (UTC).

-- +goose Up
CREATE TABLE idempotency_steps (
    scope       TEXT NOT NULL,
    idem_key    TEXT NOT NULL,
    step        TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    kind        TEXT NOT NULL,
    object_id   INTEGER NOT NULL,
    result      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (scope, idem_key, step)
) STRICT;
CREATE INDEX idempotency_steps_created ON idempotency_steps (created_at);

CREATE TABLE idempotency_responses (
    scope      TEXT NOT NULL,
    idem_key   TEXT NOT NULL,
    status     INTEGER NOT NULL,
    body       BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, idem_key)
) STRICT;
CREATE INDEX idempotency_responses_created ON idempotency_responses (created_at);

-- +goose Down
DROP TABLE idempotency_responses;
DROP TABLE idempotency_steps;
