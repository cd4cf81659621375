-- name: archive every parcel
-- Hazard: no WHERE: every row's status is overwritten, and the old values are gone.
-- migrate:up
UPDATE parcels SET status = 'archived';
