-- name: every parcel has a weight
-- Hazard: SET NOT NULL scans every row under an ACCESS EXCLUSIVE lock, and fails on the
-- first NULL it meets.
-- migrate:up
ALTER TABLE parcels ALTER COLUMN weight_grams SET NOT NULL;
