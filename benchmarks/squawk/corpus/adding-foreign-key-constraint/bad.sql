-- name: parcels point at their courier
-- Hazard: the new foreign key is checked against every existing parcel while both tables
-- hold a SHARE ROW EXCLUSIVE lock: writes to parcels and couriers wait for the whole scan.
-- migrate:up
ALTER TABLE parcels
    ADD CONSTRAINT parcels_courier_fk FOREIGN KEY (courier_id) REFERENCES couriers (id);
