-- name: add the lost status and mark old parcels with it
-- Hazard: a value added by ALTER TYPE ... ADD VALUE cannot be used in the transaction
-- that added it ("unsafe use of new value"): the UPDATE fails.
-- migrate:up
ALTER TYPE parcel_status ADD VALUE 'lost';
UPDATE parcels SET status = 'lost' WHERE last_scan_at < now() - interval '90 days';
