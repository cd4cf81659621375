-- transactional: false
-- name: index parcels by depot, online
-- Safe: built concurrently, alone in a non-transactional migration.
-- migrate:up
CREATE INDEX CONCURRENTLY IF NOT EXISTS parcels_depot_idx ON parcels (depot_id);
