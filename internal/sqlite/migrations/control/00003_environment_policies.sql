-- Per-environment policy slots: where webhooks go (live delivery or the
-- sink), and the rate-limit and feature-flag policies (JSON; '' means the
-- defaults of the environment's kind). Sandboxes send webhooks to the sink
-- unless someone switches a receiver to live on purpose.

-- +goose Up
ALTER TABLE environments ADD COLUMN webhook_mode TEXT NOT NULL DEFAULT 'live';
ALTER TABLE environments ADD COLUMN rate_limit_policy TEXT NOT NULL DEFAULT '';
ALTER TABLE environments ADD COLUMN feature_policy TEXT NOT NULL DEFAULT '';
UPDATE environments SET webhook_mode = 'sink' WHERE kind = 'sandbox';

-- +goose Down
ALTER TABLE environments DROP COLUMN feature_policy;
ALTER TABLE environments DROP COLUMN rate_limit_policy;
ALTER TABLE environments DROP COLUMN webhook_mode;
