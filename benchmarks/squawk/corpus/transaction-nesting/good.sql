-- name: add routes
-- Safe: the tool's transaction is the only one.
-- migrate:up
CREATE TABLE routes (id bigint PRIMARY KEY, depot_id bigint NOT NULL);
