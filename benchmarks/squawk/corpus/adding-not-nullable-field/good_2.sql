-- name: validate that every parcel has a weight
-- Safe, step 2 of 2 (its own migration): validation scans without blocking writes.
-- migrate:up
ALTER TABLE parcels VALIDATE CONSTRAINT parcels_weight_present;
