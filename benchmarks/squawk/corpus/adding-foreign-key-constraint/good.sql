-- name: parcels point at their courier, unchecked for now
-- Safe, step 1 of 2: NOT VALID enforces the key for new rows only, so the lock is brief.
-- Step 2 (good_2.sql) validates the old rows in a migration of its own: inside this one the
-- lock taken here would be held during the whole scan.
-- migrate:up
ALTER TABLE parcels
    ADD CONSTRAINT parcels_courier_fk FOREIGN KEY (courier_id) REFERENCES couriers (id)
    NOT VALID;
