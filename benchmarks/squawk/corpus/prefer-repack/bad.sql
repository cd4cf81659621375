-- transactional: false
-- name: reclaim the space of parcels
-- Hazard: VACUUM FULL copies the whole table under an ACCESS EXCLUSIVE lock: reads and
-- writes wait until the copy is done. (It cannot run in a transaction, hence the header.)
-- migrate:up
VACUUM FULL parcels;
