-- transactional: false
-- name: billing e-mail with its index, safe to retry
-- Safe: each statement is guarded, so a second run after a partial failure picks up where
-- the first stopped.
-- migrate:up
ALTER TABLE couriers ADD COLUMN IF NOT EXISTS billing_email text;
CREATE INDEX CONCURRENTLY IF NOT EXISTS couriers_billing_email_idx ON couriers (billing_email);
