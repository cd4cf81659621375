-- name: clear the import staging area
-- Hazard: CASCADE also empties every table whose foreign keys point at import_batches,
-- and the tables pointing at those, without naming them.
-- migrate:up
TRUNCATE import_batches CASCADE;
