-- name: stamp parcels with a token, nullable first
-- Safe: the column is added without a default (catalog-only); new rows get the volatile
-- default from SET DEFAULT, which rewrites nothing. Old rows are backfilled in batches by a
-- later data migration, and NOT NULL comes after that.
-- migrate:up
ALTER TABLE parcels ADD COLUMN label_token uuid;
ALTER TABLE parcels ALTER COLUMN label_token SET DEFAULT gen_random_uuid();
