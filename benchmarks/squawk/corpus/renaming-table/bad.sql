-- name: rename quotes to offers
-- Hazard: code still running with the old name fails until it is deployed again.
-- migrate:up
ALTER TABLE delivery_quotes RENAME TO delivery_offers;
