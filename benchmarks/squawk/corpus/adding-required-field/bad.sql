-- name: flag fragile parcels
-- Hazard: NOT NULL without a DEFAULT fails at once on a table that has rows, and old code
-- that inserts without the column fails too.
-- migrate:up
ALTER TABLE parcels ADD COLUMN is_fragile boolean NOT NULL;
