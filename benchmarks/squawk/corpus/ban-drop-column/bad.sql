-- name: forget the fax number
-- Hazard: the values are gone for good, and code still reading the column fails.
-- migrate:up
ALTER TABLE couriers DROP COLUMN fax_number;
