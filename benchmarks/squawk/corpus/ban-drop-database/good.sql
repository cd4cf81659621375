-- transactional: false
-- name: remove the old reporting database, reviewed
-- Safe form: outside a transaction, backed up, and acknowledged to both linters.
-- lamina:allow drop-schema archived to cold storage on 2024-03-02; nothing connects to it
-- migrate:up
-- squawk-ignore ban-drop-database
DROP DATABASE IF EXISTS legacy_reports;
