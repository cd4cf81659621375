-- name: add a note to routes, bounded to 30 s
-- Safe: the server stops any statement that runs past the limit.
-- migrate:up
SET statement_timeout = '30s';
ALTER TABLE routes ADD COLUMN note text;
