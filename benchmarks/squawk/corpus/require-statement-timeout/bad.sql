-- name: add a note to routes, with no statement timeout
-- Hazard: a statement that runs far longer than expected holds its locks all along.
-- migrate:up
ALTER TABLE routes ADD COLUMN note text;
