-- name: add the new phone column beside the old one
-- Safe, first step: the new column is added; code writes both, a backfill copies the old
-- values, reads move over, and the old column is dropped in a later release.
-- migrate:up
ALTER TABLE couriers ADD COLUMN mobile_phone text;
