-- name: refresh depot totals
-- Hazard: REFRESH without CONCURRENTLY locks the view with ACCESS EXCLUSIVE: readers wait
-- for the whole recomputation.
-- migrate:up
REFRESH MATERIALIZED VIEW depot_totals;
