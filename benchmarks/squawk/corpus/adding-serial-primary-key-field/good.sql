-- transactional: false
-- name: build the future primary key's index online
-- Safe, step 1 of 2: the unique index is built concurrently (no write lock); CONCURRENTLY
-- cannot run in a transaction, hence the header. Step 2 (good_2.sql) attaches it.
-- migrate:up
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS scan_events_event_id_idx
    ON scan_events (event_id);
