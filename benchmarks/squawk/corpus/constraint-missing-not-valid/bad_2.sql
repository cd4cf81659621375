-- name: weights stay below 100 kg
-- Hazard: the same full check under ACCESS EXCLUSIVE, written without a constraint name
-- (PostgreSQL names it parcels_weight_grams_check).
-- migrate:up
ALTER TABLE parcels ADD CHECK (weight_grams < 100000);
