"""DDL per dialect for :func:`lamina.schema.changes.migration_sql`: one renderer each
(``postgres``, ``mysql``, ``sqlite``, ``duckdb``) on the shared ``common`` one, and the
planner's orders and rebuilds (``order``)."""
