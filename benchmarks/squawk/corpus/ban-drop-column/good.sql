-- name: forget the fax number, after the code stopped using it
-- Safe form: the drop ships a release after the last reader, and says so to both linters.
-- lamina:allow drop-column no code has read fax_number since release 41; the column is empty
-- migrate:up
-- squawk-ignore ban-drop-column
ALTER TABLE couriers DROP COLUMN fax_number;
