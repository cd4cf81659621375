-- name: weights in bigint
-- Hazard: int -> bigint is not binary-compatible: the table is rewritten under an ACCESS
-- EXCLUSIVE lock, and indexes on the column are rebuilt.
-- migrate:up
ALTER TABLE parcels ALTER COLUMN weight_grams TYPE bigint;
