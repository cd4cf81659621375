-- name: weights in bigint, as a new column
-- Safe, first step: add the wider column (catalog-only); code writes both, a data
-- migration backfills in batches, and the old column is dropped in a later release.
-- migrate:up
ALTER TABLE parcels ADD COLUMN weight_grams_wide bigint;
