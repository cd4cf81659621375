"""SQLite through the standard library: backend, catalog reader, backup and connect arguments."""
