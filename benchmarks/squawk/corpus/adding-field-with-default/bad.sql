-- name: stamp parcels with a token
-- Hazard: a volatile DEFAULT (random, clock) is evaluated per row, so PostgreSQL rewrites
-- the whole table under an ACCESS EXCLUSIVE lock (reads and writes wait).
-- migrate:up
ALTER TABLE parcels ADD COLUMN label_token uuid NOT NULL DEFAULT gen_random_uuid();
