-- name: weights are positive, for new rows
-- Safe, step 1 of 2: NOT VALID checks only new and updated rows. good_2.sql validates the
-- old ones in a migration of its own.
-- migrate:up
ALTER TABLE parcels ADD CONSTRAINT parcels_weight_positive CHECK (weight_grams > 0) NOT VALID;
