-- name: remove quotes
-- Hazard: every row is gone, and code still using the table fails.
-- migrate:up
DROP TABLE delivery_quotes;
