-- name: add a column, then backfill in the same transaction
-- Hazard: the ALTER's ACCESS EXCLUSIVE lock on parcels is held until the migration's
-- transaction ends, so the backfill runs with the table closed to reads and writes.
-- migrate:up
ALTER TABLE parcels ADD COLUMN region text;
UPDATE parcels SET region = 'north' WHERE depot_id IN (1, 2, 3);
