-- name: recipients may be anonymous
-- Hazard: code (and PL/pgSQL) that relies on recipient_name being set meets NULLs.
-- migrate:up
ALTER TABLE parcels ALTER COLUMN recipient_name DROP NOT NULL;
