-- Idempotency-Key records (ion/idempotency.go). A step row commits in the
-- same transaction as the change it records; the response row is written
-- after the answer is built. Times are Unix microseconds (UTC).

-- +goose Up
-- +goose StatementBegin
CREATE TABLE idempotency_steps (
    scope       TEXT COLLATE "C" NOT NULL,
    idem_key    TEXT COLLATE "C" NOT NULL,
    step        TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL,
    object_id   BIGINT NOT NULL,
    result      TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key, step)
);
CREATE INDEX idempotency_steps_created ON idempotency_steps (created_at);

CREATE TABLE idempotency_responses (
    scope      TEXT COLLATE "C" NOT NULL,
    idem_key   TEXT COLLATE "C" NOT NULL,
    status     BIGINT NOT NULL,
    body       BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_responses_created ON idempotency_responses (created_at);
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DROP TABLE idempotency_responses;
DROP TABLE idempotency_steps;
-- +goose StatementEnd
