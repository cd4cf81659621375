-- name: add depots
-- Safe: no transaction control in the file; lamina runs the migration in one transaction.
-- migrate:up
CREATE TABLE depots (id bigint PRIMARY KEY, city text NOT NULL);
