"""PostgreSQL through psycopg 3: backend, catalog reader, pg_dump backup and connect arguments."""
