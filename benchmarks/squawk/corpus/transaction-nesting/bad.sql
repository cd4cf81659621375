-- name: add routes, with its own BEGIN/COMMIT
-- Hazard: the tool already wraps the migration in a transaction; the inner COMMIT ends it
-- early, so a later failure leaves half the migration applied and recorded wrongly.
-- migrate:up
BEGIN;
CREATE TABLE routes (id bigint PRIMARY KEY, depot_id bigint NOT NULL);
COMMIT;
