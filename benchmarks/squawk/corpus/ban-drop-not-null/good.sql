-- name: recipients may be anonymous, with a marker value
-- Safe: the column stays NOT NULL; rows without a name get an explicit marker.
-- migrate:up
ALTER TABLE parcels ALTER COLUMN recipient_name SET DEFAULT '(anonymous)';
