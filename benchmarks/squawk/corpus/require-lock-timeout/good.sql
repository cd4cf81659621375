-- name: add a note to depots, giving up on the lock after 2 s
-- Safe: the migration fails fast instead of stalling the table; retry later.
-- migrate:up
SET lock_timeout = '2s';
ALTER TABLE depots ADD COLUMN note text;
