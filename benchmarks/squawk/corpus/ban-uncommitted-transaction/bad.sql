-- name: add depots, in a transaction that is never committed
-- Hazard: BEGIN without COMMIT: the work may be rolled back when the session ends while
-- the migration tool records it as applied.
-- migrate:up
BEGIN;
CREATE TABLE depots (id bigint PRIMARY KEY, city text NOT NULL);
