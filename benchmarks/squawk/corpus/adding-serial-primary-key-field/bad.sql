-- name: give scan events a primary key
-- Hazard: the key's unique index is built while an ACCESS EXCLUSIVE lock blocks reads and
-- writes; it also fails on duplicates or NULLs.
-- migrate:up
ALTER TABLE scan_events ADD PRIMARY KEY (event_id);
