-- name: attach the badge constraint to its index
-- Safe, step 2 of 2: USING INDEX records the constraint without building anything.
-- migrate:up
ALTER TABLE couriers ADD CONSTRAINT couriers_badge_key UNIQUE USING INDEX couriers_badge_idx;
