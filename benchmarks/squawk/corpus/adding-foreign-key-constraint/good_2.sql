-- name: check old parcels against couriers
-- Safe, step 2 of 2 (its own migration): VALIDATE scans under SHARE UPDATE EXCLUSIVE,
-- which lets reads and writes go on.
-- migrate:up
ALTER TABLE parcels VALIDATE CONSTRAINT parcels_courier_fk;
