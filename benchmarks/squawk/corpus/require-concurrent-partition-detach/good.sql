-- transactional: false
-- name: detach last year's scan events, online
-- Safe (PostgreSQL 14+): CONCURRENTLY takes only SHARE UPDATE EXCLUSIVE on the parent; it
-- cannot run in a transaction, hence the header.
-- migrate:up
ALTER TABLE scan_events DETACH PARTITION scan_events_2023 CONCURRENTLY;
