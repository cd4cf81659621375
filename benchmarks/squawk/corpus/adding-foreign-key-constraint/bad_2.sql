-- name: parcels get a depot, with its key inline
-- Hazard: a new column declared REFERENCES adds the foreign key at once: PostgreSQL takes
-- SHARE ROW EXCLUSIVE on depots (its writes wait) while parcels is locked and scanned.
-- migrate:up
ALTER TABLE parcels ADD COLUMN depot_id bigint REFERENCES depots (id);
