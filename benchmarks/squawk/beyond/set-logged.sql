-- name: make the staging table crash-safe
-- Hazard: SET LOGGED writes the whole table into the WAL under an ACCESS EXCLUSIVE lock.
-- migrate:up
ALTER TABLE import_rows SET LOGGED;
