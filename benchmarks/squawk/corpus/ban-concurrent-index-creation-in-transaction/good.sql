-- transactional: false
-- name: index parcels by barcode, outside a transaction
-- Safe: the header runs the migration without a transaction, and the build is its only
-- statement (the column comes from an earlier migration), so a retry is clean.
-- migrate:up
CREATE INDEX CONCURRENTLY IF NOT EXISTS parcels_barcode_idx ON parcels (barcode);
