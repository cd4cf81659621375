-- name: postcodes must be five digits, for new values
-- Safe: NOT VALID skips the check of stored values; they are fixed and validated later
-- (ALTER DOMAIN ... VALIDATE CONSTRAINT) in a migration of their own.
-- migrate:up
ALTER DOMAIN postcode ADD CONSTRAINT postcode_five_digits CHECK (VALUE ~ '^[0-9]{5}$')
    NOT VALID;
