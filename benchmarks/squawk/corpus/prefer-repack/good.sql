-- transactional: false
-- name: reclaim the space of parcels online
-- Safe on PostgreSQL 19 and later: REPACK (CONCURRENTLY) copies the table while writes go
-- on, taking the exclusive lock only to swap the files. Older servers: pg_repack, run
-- outside the migration.
-- migrate:up
REPACK (CONCURRENTLY) parcels;
