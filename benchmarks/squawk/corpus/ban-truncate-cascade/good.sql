-- name: clear the import staging area, naming every table
-- Safe form: each emptied table is named (PostgreSQL refuses if another table still points
-- at them), and the loss of rows is acknowledged.
-- lamina:allow truncate staging rows are re-imported from the upstream feed every night
-- migrate:up
TRUNCATE import_rows, import_batches;
