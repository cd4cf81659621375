-- name: every parcel has a weight, enforced for new rows
-- Safe, step 1 of 2: a NOT VALID check holds its lock only for a catalog change.
-- Step 2 (good_2.sql, its own migration, after a backfill) validates it; from PostgreSQL 12 a
-- later SET NOT NULL then uses the validated check instead of scanning.
-- migrate:up
ALTER TABLE parcels
    ADD CONSTRAINT parcels_weight_present CHECK (weight_grams IS NOT NULL) NOT VALID;
