-- name: courier badges are unique
-- Hazard: the constraint's index is built under an ACCESS EXCLUSIVE lock (reads and writes
-- wait), and the statement fails on the first duplicate.
-- migrate:up
ALTER TABLE couriers ADD CONSTRAINT couriers_badge_key UNIQUE (badge_no);
