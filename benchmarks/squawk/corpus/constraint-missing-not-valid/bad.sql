-- name: weights are positive
-- Hazard: the CHECK is tested on every row while an ACCESS EXCLUSIVE lock is held, and the
-- statement fails on the first row that breaks it.
-- migrate:up
ALTER TABLE parcels ADD CONSTRAINT parcels_weight_positive CHECK (weight_grams > 0);
