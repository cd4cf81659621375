-- transactional: false
-- name: billing e-mail with its index, outside a transaction
-- Hazard: without a transaction, a failure of the index build leaves the column behind;
-- running the migration again then fails at once on the ADD COLUMN.
-- migrate:up
ALTER TABLE couriers ADD COLUMN billing_email text;
CREATE INDEX CONCURRENTLY couriers_billing_email_idx ON couriers (billing_email);
