-- name: clear scan events
-- Hazard: WHERE true restricts nothing: every row is deleted.
-- migrate:up
DELETE FROM scan_events WHERE true;
