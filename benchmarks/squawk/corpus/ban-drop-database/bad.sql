-- name: remove the old reporting database
-- Hazard: every table in it is gone (and PostgreSQL refuses DROP DATABASE inside a
-- transaction, so a transactional migration fails).
-- migrate:up
DROP DATABASE legacy_reports;
