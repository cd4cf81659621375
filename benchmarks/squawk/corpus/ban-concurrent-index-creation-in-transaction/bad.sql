-- name: index parcels by barcode, inside the migration's transaction
-- Hazard: the migration runs in one transaction (the default), and PostgreSQL refuses
-- CREATE INDEX CONCURRENTLY in a transaction block: the migration fails.
-- migrate:up
ALTER TABLE parcels ADD COLUMN barcode text;
CREATE INDEX CONCURRENTLY parcels_barcode_idx ON parcels (barcode);
