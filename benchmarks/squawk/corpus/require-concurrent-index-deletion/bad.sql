-- name: drop the old status index
-- Hazard: a plain DROP INDEX takes an ACCESS EXCLUSIVE lock on parcels, queued behind any
-- running query, with every later query queued behind it.
-- migrate:up
DROP INDEX parcels_status_idx;
