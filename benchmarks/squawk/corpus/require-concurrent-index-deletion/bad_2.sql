-- name: drop two old parcel indexes
-- Hazard: the same ACCESS EXCLUSIVE lock on parcels, for two indexes in one statement.
-- migrate:up
DROP INDEX parcels_status_idx, parcels_legacy_code_idx;
