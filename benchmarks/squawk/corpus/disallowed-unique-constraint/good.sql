-- transactional: false
-- name: build the badge index online
-- Safe, step 1 of 2: the unique index is built concurrently, outside a transaction (hence
-- the header). Duplicates still make it fail, leaving an INVALID index to drop.
-- migrate:up
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS couriers_badge_idx ON couriers (badge_no);
