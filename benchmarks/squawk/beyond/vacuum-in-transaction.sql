-- name: analyse parcels after the backfill
-- Hazard: VACUUM cannot run inside a transaction block, and the migration runs in one:
-- it fails every time.
-- migrate:up
VACUUM ANALYZE parcels;
