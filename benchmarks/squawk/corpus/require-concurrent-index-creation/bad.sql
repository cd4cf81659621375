-- name: index parcels by depot
-- Hazard: a plain CREATE INDEX holds a SHARE lock: every write to parcels waits for the
-- whole build.
-- migrate:up
CREATE INDEX parcels_depot_idx ON parcels (depot_id);
