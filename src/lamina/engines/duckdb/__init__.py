"""DuckDB, lamina's embedded default: backend, catalog reader, backup and connect arguments."""
