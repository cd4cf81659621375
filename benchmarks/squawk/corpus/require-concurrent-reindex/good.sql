-- transactional: false
-- name: rebuild the bloated barcode index, online
-- Safe (PostgreSQL 12+): CONCURRENTLY builds a new copy and swaps it in; it cannot run in a
-- transaction, hence the header.
-- migrate:up
REINDEX INDEX CONCURRENTLY parcels_barcode_idx;
