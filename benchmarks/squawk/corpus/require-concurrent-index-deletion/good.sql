-- transactional: false
-- name: drop the old status index, online
-- Safe: CONCURRENTLY waits for running transactions instead of blocking new ones.
-- migrate:up
DROP INDEX CONCURRENTLY IF EXISTS parcels_status_idx;
