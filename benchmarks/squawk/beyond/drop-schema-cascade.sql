-- name: remove the reporting schema
-- Hazard: CASCADE drops every table, view and function in the schema with all their rows.
-- migrate:up
DROP SCHEMA reporting CASCADE;
