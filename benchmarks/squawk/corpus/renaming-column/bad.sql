-- name: rename the courier's phone
-- Hazard: code still running with the old name fails on every read and write of it.
-- migrate:up
ALTER TABLE couriers RENAME COLUMN phone TO mobile_phone;
