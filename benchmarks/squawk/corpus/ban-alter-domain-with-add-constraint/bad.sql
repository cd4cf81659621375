-- name: postcodes must be five digits
-- Hazard: a constraint added to a domain is checked against every column of every table
-- that uses the domain, under locks, and fails on any old value that breaks it.
-- migrate:up
ALTER DOMAIN postcode ADD CONSTRAINT postcode_five_digits CHECK (VALUE ~ '^[0-9]{5}$');
