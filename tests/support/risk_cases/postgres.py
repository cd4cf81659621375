"""Cases for postgres's own rules (dialect ``postgres``)."""

from __future__ import annotations

from lamina.risk import LiveFacts
from support.risk_cases import Case

PG = ("postgres",)
NO_TRANSACTION = {"transactional": False}
PG15 = {"facts": LiveFacts(server_version=(15, 4))}
PG10 = {"facts": LiveFacts(server_version=(10, 23))}
PG11 = {"facts": LiveFacts(server_version=(11, 22))}

ADD_STATUS = "ALTER TABLE users ADD COLUMN status text"
FK_NOT_VALID = (
    "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) "
    "NOT VALID"
)
VALIDATE_FK = "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk"
ADD_ARCHIVED = "ALTER TYPE status ADD VALUE 'archived'"


def _pg(rule: str, sql: tuple[str, ...], fires: tuple[str, ...] = (), **kwargs: object) -> Case:
    return Case(rule, sql, fires, PG, dict(kwargs))


POSITIVE: tuple[Case, ...] = (
    # Index builds and drops.
    _pg(
        "create-index-not-concurrently",
        ("CREATE INDEX users_email_idx ON users (email)",),
        ("create-index-not-concurrently",),
    ),
    _pg(
        "drop-index-not-concurrently",
        ("DROP INDEX users_email_idx",),
        ("drop-index-not-concurrently",),
    ),
    # Several names: sqlglot cannot parse it; lamina reads it and reports each index.
    _pg(
        "drop-index-not-concurrently",
        ("DROP INDEX users_email_idx, orders_total_idx",),
        ("drop-index-not-concurrently", "drop-index-not-concurrently"),
    ),
    _pg(
        "concurrent-index",
        ("CREATE INDEX CONCURRENTLY users_email_idx ON users (email)",),
        ("concurrent-index",),
        **NO_TRANSACTION,
    ),
    _pg(
        "concurrent-index",
        ("DROP INDEX CONCURRENTLY users_email_idx",),
        ("concurrent-index",),
        **NO_TRANSACTION,
    ),
    _pg(
        "concurrent-index",
        ("REINDEX INDEX CONCURRENTLY users_email_idx",),
        ("concurrent-index",),
        **NO_TRANSACTION,
    ),
    _pg(
        "reindex-not-concurrently",
        ("REINDEX TABLE orders",),
        ("reindex-not-concurrently",),
    ),
    _pg(
        "reindex-not-concurrently",
        ("REINDEX (VERBOSE) SCHEMA archive",),
        ("reindex-not-concurrently",),
        **NO_TRANSACTION,
    ),
    # What a transaction block refuses.
    _pg(
        "cannot-run-in-transaction",
        ("CREATE INDEX CONCURRENTLY users_email_idx ON users (email)",),
        ("cannot-run-in-transaction",),
    ),
    _pg(
        "cannot-run-in-transaction",
        ("DROP INDEX CONCURRENTLY users_email_idx",),
        ("cannot-run-in-transaction",),
    ),
    _pg("cannot-run-in-transaction", ("VACUUM orders",), ("cannot-run-in-transaction",)),
    _pg("cannot-run-in-transaction", ("VACUUM FULL orders",), ("cannot-run-in-transaction",)),
    _pg("cannot-run-in-transaction", ("CLUSTER",), ("cannot-run-in-transaction",)),
    _pg(
        "cannot-run-in-transaction",
        ("REINDEX TABLE CONCURRENTLY orders",),
        ("cannot-run-in-transaction",),
    ),
    _pg(
        "cannot-run-in-transaction",
        ("ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY",),
        ("cannot-run-in-transaction",),
    ),
    _pg("cannot-run-in-transaction", (ADD_ARCHIVED,), ("cannot-run-in-transaction",), **PG11),
    # The migration's transaction as a whole.
    _pg(
        "lock-held-during-long-statement",
        (ADD_STATUS, "UPDATE users SET status = 'active'"),
        ("lock-held-during-long-statement",),
    ),
    _pg(
        "lock-held-during-long-statement",
        (ADD_STATUS, "CREATE INDEX users_status ON users (status)"),
        ("create-index-not-concurrently", "lock-held-during-long-statement"),
    ),
    _pg(
        "lock-held-during-long-statement",
        (
            "CREATE INDEX orders_total ON orders (total)",
            "UPDATE orders SET total = 0 WHERE total IS NULL",
        ),
        ("create-index-not-concurrently", "lock-held-during-long-statement"),
    ),
    _pg(
        "lock-held-during-long-statement",
        (
            "ALTER TABLE public.users ADD COLUMN note text",
            "INSERT INTO archive SELECT * FROM users",
        ),
        ("lock-held-during-long-statement",),
    ),
    # A WHERE that does not pin the key may touch every row: the lock is held through it.
    _pg(
        "lock-held-during-long-statement",
        (ADD_STATUS, "UPDATE users SET status = 'active' WHERE team_id IN (1, 2, 3)"),
        ("lock-held-during-long-statement",),
    ),
    _pg(
        "lock-held-during-long-statement",
        (
            "ALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0) NOT VALID",
            "ALTER TABLE orders VALIDATE CONSTRAINT positive",
            "DELETE FROM orders WHERE amount <= 0",
        ),
        ("validate-in-same-transaction", "lock-held-during-long-statement"),
    ),
    _pg(
        "not-retry-safe",
        (
            "ALTER TABLE users ADD COLUMN email text",
            "CREATE INDEX CONCURRENTLY users_email ON users (email)",
        ),
        ("not-retry-safe", "concurrent-index"),
        **NO_TRANSACTION,
    ),
    _pg(
        "not-retry-safe",
        (
            "CREATE TABLE pets (id int)",
            "DROP INDEX CONCURRENTLY users_old",
            "ALTER TYPE status ADD VALUE 'archived'",
            "CREATE INDEX CONCURRENTLY pets_id ON pets (id)",
        ),
        (
            "not-retry-safe",
            "concurrent-index",
            "not-retry-safe",
            "not-retry-safe",
            "concurrent-index",
        ),
        **NO_TRANSACTION,
    ),
    _pg(
        "not-retry-safe",
        (FK_NOT_VALID, VALIDATE_FK),
        ("not-retry-safe",),
        **NO_TRANSACTION,
    ),
    _pg(
        "validate-in-same-transaction",
        (FK_NOT_VALID, VALIDATE_FK),
        ("validate-in-same-transaction",),
    ),
    _pg(
        "validate-in-same-transaction",
        (
            "ALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0) NOT VALID",
            "UPDATE orders SET amount = 1 WHERE id = 7",
            "ALTER TABLE orders VALIDATE CONSTRAINT positive",
        ),
        ("validate-in-same-transaction",),
    ),
    _pg(
        "new-enum-value-used",
        (ADD_ARCHIVED, "UPDATE orders SET status = 'archived' WHERE id = 1"),
        ("new-enum-value-used",),
        **PG15,
    ),
    _pg(
        "new-enum-value-used",
        (ADD_ARCHIVED, "INSERT INTO orders (id, status) VALUES (1, CAST('archived' AS status))"),
        ("new-enum-value-used",),
        **PG15,
    ),
    # Tables, types and domains.
    _pg(
        "add-column-rewrite",
        ("ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()",),
        ("add-column-rewrite",),
    ),
    _pg(
        "add-column-rewrite",
        ("ALTER TABLE users ADD COLUMN seen timestamptz DEFAULT clock_timestamp()",),
        ("add-column-rewrite",),
        **PG15,
    ),
    _pg(
        "add-column-rewrite", ("ALTER TABLE users ADD COLUMN n BIGSERIAL",), ("add-column-rewrite",)
    ),
    _pg(
        "add-column-rewrite",
        ("ALTER TABLE users ADD COLUMN n int GENERATED ALWAYS AS IDENTITY",),
        ("add-column-rewrite",),
    ),
    _pg(
        "add-column-rewrite",
        ("ALTER TABLE orders ADD COLUMN double int GENERATED ALWAYS AS (amount * 2) STORED",),
        ("add-column-rewrite",),
    ),
    _pg(
        "add-column-rewrite",
        ("ALTER TABLE users ADD COLUMN score int DEFAULT 0",),
        ("add-column-rewrite",),
        **PG10,
    ),
    _pg(
        "add-column-rewrite",
        ("ALTER TABLE users ADD COLUMN score int DEFAULT 0",),
        ("add-column-rewrite",),
    ),
    _pg(
        "add-column-unique",
        ("ALTER TABLE users ADD COLUMN code text UNIQUE",),
        ("add-column-unique",),
    ),
    _pg(
        "add-column-unique",
        ("ALTER TABLE users ADD COLUMN uid bigserial PRIMARY KEY",),
        ("add-column-rewrite", "add-column-unique"),
    ),
    _pg(
        "drop-not-null",
        ("ALTER TABLE users ALTER COLUMN email DROP NOT NULL",),
        ("drop-not-null",),
    ),
    _pg("set-tablespace", ("ALTER TABLE orders SET TABLESPACE fast",), ("set-tablespace",)),
    _pg("set-logged", ("ALTER TABLE imports SET LOGGED",), ("set-logged",)),
    _pg("set-logged", ("ALTER TABLE imports SET UNLOGGED",), ("set-logged",)),
    _pg(
        "attach-partition-scan",
        ("ALTER TABLE events ATTACH PARTITION events_2021 FOR VALUES IN (2021)",),
        ("attach-partition-scan",),
    ),
    _pg(
        "attach-partition-scan",
        ("ALTER TABLE ONLY public.events ATTACH PARTITION archive.events_old DEFAULT",),
        ("attach-partition-scan",),
    ),
    _pg("set-tablespace", ("ALTER INDEX orders_pkey SET TABLESPACE fast",), ("set-tablespace",)),
    _pg(
        "detach-partition-not-concurrently",
        ("ALTER TABLE events DETACH PARTITION events_2020",),
        ("detach-partition-not-concurrently",),
    ),
    _pg(
        "truncate-cascade",
        ("TRUNCATE users CASCADE",),
        ("truncate", "truncate-cascade"),
    ),
    _pg(
        "truncate-cascade",
        (
            "CREATE TABLE staging (id INT PRIMARY KEY)",
            "ALTER TABLE orders ADD CONSTRAINT orders_staging FOREIGN KEY (staging_id) "
            "REFERENCES staging (id) NOT VALID",
            "TRUNCATE staging CASCADE",
        ),
        ("truncate-cascade",),
    ),
    _pg("drop-type-cascade", ("DROP TYPE status CASCADE",), ("drop-type-cascade",)),
    _pg("drop-type-cascade", ("DROP DOMAIN posint CASCADE",), ("drop-type-cascade",)),
    _pg("drop-type-cascade", ("DROP EXTENSION citext CASCADE",), ("drop-type-cascade",)),
    _pg(
        "alter-domain-add-constraint",
        ("ALTER DOMAIN posint ADD CONSTRAINT positive CHECK (VALUE > 0)",),
        ("alter-domain-add-constraint",),
    ),
    _pg(
        "alter-domain-add-constraint",
        ("ALTER DOMAIN posint VALIDATE CONSTRAINT positive",),
        ("alter-domain-add-constraint",),
    ),
    # Maintenance commands.
    _pg("vacuum-full", ("VACUUM FULL orders",), ("vacuum-full",), **NO_TRANSACTION),
    _pg("vacuum-full", ("VACUUM (FULL, ANALYZE) orders",), ("vacuum-full",), **NO_TRANSACTION),
    _pg("cluster", ("CLUSTER orders USING orders_pkey",), ("cluster",)),
    _pg("cluster", ("CLUSTER orders",), ("cluster",)),
    _pg("lock-table", ("LOCK TABLE orders IN SHARE MODE",), ("lock-table",)),
    _pg("lock-table", ("LOCK orders",), ("lock-table",), **NO_TRANSACTION),
    _pg(
        "refresh-materialized-view-not-concurrently",
        ("REFRESH MATERIALIZED VIEW order_totals",),
        ("refresh-materialized-view-not-concurrently",),
    ),
    _pg("unparsed-sql", ("ALTER TABLE orders ENABLE TRIGGER audit",), ("unparsed-sql",)),
)

NEGATIVE: tuple[Case, ...] = (
    _pg(
        "create-index-not-concurrently",
        ("CREATE INDEX CONCURRENTLY users_email_idx ON users (email)",),
        **NO_TRANSACTION,
    ),
    _pg(
        "create-index-not-concurrently",
        ("CREATE TABLE pets (id INT, name TEXT)", "CREATE INDEX pets_name ON pets (name)"),
    ),
    _pg("drop-index-not-concurrently", ("DROP INDEX CONCURRENTLY users_email_idx",)),
    _pg(
        "drop-index-not-concurrently",
        ("CREATE INDEX CONCURRENTLY t_idx ON users (email)", "DROP INDEX t_idx"),
    ),
    _pg("concurrent-index", ("CREATE INDEX users_email_idx ON users (email)",)),
    # Refused inside a transaction: reported as such, not as a concurrent build.
    _pg("concurrent-index", ("CREATE INDEX CONCURRENTLY users_email_idx ON users (email)",)),
    _pg("reindex-not-concurrently", ("REINDEX TABLE CONCURRENTLY orders",), **NO_TRANSACTION),
    _pg(
        "cannot-run-in-transaction",
        ("CREATE INDEX CONCURRENTLY users_email_idx ON users (email)",),
        **NO_TRANSACTION,
    ),
    _pg("cannot-run-in-transaction", ("REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals",)),
    _pg("cannot-run-in-transaction", (ADD_ARCHIVED,), **PG15),
    _pg("cannot-run-in-transaction", ("CLUSTER orders",)),
    _pg(
        "lock-held-during-long-statement",
        (ADD_STATUS, "UPDATE users SET status = 'active'"),
        **NO_TRANSACTION,
    ),
    _pg(
        "lock-held-during-long-statement",
        (ADD_STATUS, "UPDATE users SET status = 'active' WHERE id BETWEEN 1 AND 1000"),
    ),
    _pg(
        "lock-held-during-long-statement",
        (ADD_STATUS, "UPDATE users SET status = 'active' WHERE id >= 1 AND id < 1000"),
    ),
    _pg("lock-held-during-long-statement", (ADD_STATUS, "UPDATE orders SET total = 0")),
    _pg(
        "lock-held-during-long-statement",
        ("CREATE TABLE pets (id INT, name TEXT)", "INSERT INTO pets SELECT id, name FROM pets"),
    ),
    _pg(
        "lock-held-during-long-statement",
        ("UPDATE users SET status = 'active'", ADD_STATUS),
    ),
    _pg(
        "lock-held-during-long-statement",
        (ADD_STATUS, "UPDATE users SET status = 'active' WHERE users.id IN (1, 2, 3)"),
    ),
    _pg(
        "not-retry-safe",
        (
            "ALTER TABLE users ADD COLUMN IF NOT EXISTS email text",
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email ON users (email)",
        ),
        **NO_TRANSACTION,
    ),
    _pg(
        "not-retry-safe",
        (
            "CREATE TABLE IF NOT EXISTS pets (id int)",
            "DROP INDEX CONCURRENTLY IF EXISTS users_old",
            "ALTER TYPE status ADD VALUE IF NOT EXISTS 'archived'",
            "CREATE OR REPLACE VIEW v AS SELECT 1",
            "ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_user_fk",
            FK_NOT_VALID,
            "ALTER TABLE users DROP COLUMN IF EXISTS nick",
            "CREATE INDEX CONCURRENTLY pets_id ON pets (id)",
        ),
        **NO_TRANSACTION,
    ),
    # One statement, or a migration that runs in a transaction, can always run again.
    _pg(
        "not-retry-safe",
        ("CREATE INDEX CONCURRENTLY users_email ON users (email)",),
        **NO_TRANSACTION,
    ),
    _pg(
        "not-retry-safe",
        ("ALTER TABLE users ADD COLUMN email text", "CREATE INDEX e ON users (email)"),
    ),
    _pg("validate-in-same-transaction", (FK_NOT_VALID, VALIDATE_FK), **NO_TRANSACTION),
    _pg("validate-in-same-transaction", (VALIDATE_FK,)),
    _pg(
        "new-enum-value-used",
        (ADD_ARCHIVED, "UPDATE orders SET status = 'archived' WHERE id = 1"),
        **NO_TRANSACTION,
    ),
    _pg(
        "new-enum-value-used",
        (
            "CREATE TYPE mood AS ENUM ('sad')",
            "ALTER TYPE mood ADD VALUE 'happy'",
            "CREATE TABLE people (id INT, mood mood DEFAULT 'sad')",
        ),
        **PG15,
    ),
    _pg(
        "add-column-rewrite",
        ("ALTER TABLE users ADD COLUMN score int NOT NULL DEFAULT 0",),
        **PG11,
    ),
    _pg(
        "add-column-rewrite",
        ("ALTER TABLE users ADD COLUMN seen timestamptz DEFAULT now()",),
        **PG15,
    ),
    _pg("add-column-rewrite", ("ALTER TABLE users ADD COLUMN note text",)),
    _pg(
        "add-column-rewrite",
        (
            "CREATE TABLE pets (id INT)",
            "ALTER TABLE pets ADD COLUMN tag uuid DEFAULT gen_random_uuid()",
        ),
    ),
    _pg("add-column-unique", ("ALTER TABLE users ADD COLUMN code text",)),
    _pg(
        "add-column-unique",
        ("CREATE TABLE pets (id INT)", "ALTER TABLE pets ADD COLUMN tag text UNIQUE"),
    ),
    _pg("drop-not-null", ("ALTER TABLE users ALTER COLUMN email DROP DEFAULT",)),
    _pg(
        "drop-not-null",
        (
            "ALTER TABLE users ADD COLUMN nick text NOT NULL DEFAULT ''",
            "ALTER TABLE users ALTER COLUMN nick DROP NOT NULL",
        ),
    ),
    _pg("set-tablespace", ("ALTER TABLE orders SET (fillfactor = 70)",)),
    _pg("set-logged", ("ALTER TABLE orders SET (fillfactor = 70)",)),
    _pg("set-logged", ("CREATE UNLOGGED TABLE imports (id int)", "ALTER TABLE imports SET LOGGED")),
    _pg(
        "attach-partition-scan",
        (
            "CREATE TABLE events_2021 (id int, year int)",
            "ALTER TABLE events ATTACH PARTITION events_2021 FOR VALUES IN (2021)",
        ),
    ),
    _pg("attach-partition-scan", ("ALTER TABLE events DETACH PARTITION events_2020 FINALIZE",)),
    _pg(
        "detach-partition-not-concurrently",
        ("ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY",),
        **NO_TRANSACTION,
    ),
    _pg("truncate-cascade", ("TRUNCATE users",)),
    _pg("truncate-cascade", ("CREATE TABLE staging (id INT)", "TRUNCATE staging CASCADE")),
    _pg("drop-type-cascade", ("DROP TYPE status",)),
    _pg("drop-type-cascade", ("CREATE TYPE mood AS ENUM ('sad')", "DROP TYPE mood CASCADE")),
    _pg("drop-type-cascade", ("CREATE DOMAIN posint AS int", "DROP DOMAIN posint CASCADE")),
    _pg("drop-type-cascade", ("DROP EXTENSION citext",)),
    _pg(
        "alter-domain-add-constraint",
        ("ALTER DOMAIN posint ADD CONSTRAINT positive CHECK (VALUE > 0) NOT VALID",),
    ),
    _pg("vacuum-full", ("VACUUM orders",), **NO_TRANSACTION),
    _pg("vacuum-full", ("VACUUM FULL orders",)),
    _pg("cluster", ("CREATE TABLE pets (id INT PRIMARY KEY)", "CLUSTER pets USING pets_pkey")),
    _pg("lock-table", ("SELECT * FROM orders FOR UPDATE",)),
    _pg(
        "refresh-materialized-view-not-concurrently",
        ("REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals",),
    ),
    _pg("unparsed-sql", ("CREATE EXTENSION IF NOT EXISTS pgcrypto",)),
    _pg(
        "unparsed-sql",
        ("ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key",),
    ),
    _pg(
        "unparsed-sql",
        (
            "CREATE OR REPLACE FUNCTION f() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN RETURN NEW; END $$",
        ),
    ),
    _pg("unparsed-sql", ("VACUUM orders",), **NO_TRANSACTION),
)
