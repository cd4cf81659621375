-- name: rebuild the bloated barcode index
-- Hazard: a plain REINDEX blocks writes to parcels and locks the index against the reads
-- that would use it, for the whole rebuild.
-- migrate:up
REINDEX INDEX parcels_barcode_idx;
