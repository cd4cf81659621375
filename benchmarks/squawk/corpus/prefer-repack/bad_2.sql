-- name: order parcels on disk by depot
-- Hazard: CLUSTER rewrites the table in index order under an ACCESS EXCLUSIVE lock.
-- migrate:up
CLUSTER parcels USING parcels_depot_idx;
