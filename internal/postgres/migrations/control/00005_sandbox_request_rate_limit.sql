-- A sandbox request may ask for a rate-limit policy (issue 7); it becomes
-- the sandbox environment's rate_limit_policy when provisioned, so a
-- pending request has to keep it until then.

-- +goose Up
ALTER TABLE sandbox_requests ADD COLUMN rate_limit_policy TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE sandbox_requests DROP COLUMN rate_limit_policy;
