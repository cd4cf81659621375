-- name: renumber routes under an explicit lock
-- Hazard: the ACCESS EXCLUSIVE lock is held until the migration's transaction ends, so
-- every query on routes waits for the whole migration.
-- migrate:up
LOCK TABLE routes IN ACCESS EXCLUSIVE MODE;
UPDATE routes SET depot_id = depot_id + 1000 WHERE depot_id < 1000;
