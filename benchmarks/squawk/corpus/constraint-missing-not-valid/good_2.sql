-- name: validate positive weights
-- Safe, step 2 of 2: validation takes SHARE UPDATE EXCLUSIVE; writes continue.
-- migrate:up
ALTER TABLE parcels VALIDATE CONSTRAINT parcels_weight_positive;
