-- name: offer the new name as a view
-- Safe, first step: a view gives the new name while the old one keeps working; the real
-- rename (and the view's removal) comes once no code uses the old name.
-- migrate:up
CREATE VIEW delivery_offers AS SELECT * FROM delivery_quotes;
