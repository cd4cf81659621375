-- name: attach the primary key to its index
-- Safe, step 2 of 2: USING INDEX only records the constraint (event_id must already be
-- NOT NULL, else PostgreSQL scans the table to set it).
-- migrate:up
ALTER TABLE scan_events
    ADD CONSTRAINT scan_events_pkey PRIMARY KEY USING INDEX scan_events_event_id_idx;
