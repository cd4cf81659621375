-- name: attach this year's scan events
-- Hazard: without a CHECK matching the partition bound, PostgreSQL scans the whole new
-- partition to prove its rows fit, under a lock that blocks its writes.
-- migrate:up
ALTER TABLE scan_events ATTACH PARTITION scan_events_2025
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
