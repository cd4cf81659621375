-- name: detach last year's scan events
-- Hazard: DETACH PARTITION takes an ACCESS EXCLUSIVE lock on the partitioned table:
-- every read and write of scan_events waits.
-- migrate:up
ALTER TABLE scan_events DETACH PARTITION scan_events_2023;
