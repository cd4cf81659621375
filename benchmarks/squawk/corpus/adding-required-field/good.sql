-- name: flag fragile parcels, false by default
-- Safe: a constant DEFAULT fills old rows without a rewrite (PostgreSQL 11+), and inserts
-- that leave the column out keep working.
-- migrate:up
ALTER TABLE parcels ADD COLUMN is_fragile boolean NOT NULL DEFAULT false;
