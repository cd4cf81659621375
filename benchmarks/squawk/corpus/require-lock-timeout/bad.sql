-- name: add a note to depots, with no lock timeout
-- Hazard: if a long query holds depots, the ALTER waits for its ACCESS EXCLUSIVE lock,
-- and every query after it queues behind the waiting ALTER.
-- migrate:up
ALTER TABLE depots ADD COLUMN note text;
