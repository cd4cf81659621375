"""Cases for the rules of every engine (each engine's own rules have theirs in its module)."""

from __future__ import annotations

from lamina.risk import LiveFacts
from support.risk_cases import Case

SERVERS_AND_DUCKDB = ("duckdb", "postgres", "mysql")
PG = ("postgres",)
NOT_MYSQL = ("duckdb", "sqlite", "postgres")
DOWN = {"direction": "down"}

# SQLite's table rebuild (https://sqlite.org/lang_altertable.html), in every dialect's SQL.
REBUILD = (
    "CREATE TABLE new_users (id INT, name TEXT)",
    "INSERT INTO new_users (id, name) SELECT id, name FROM users",
    "DROP TABLE users",
    "ALTER TABLE new_users RENAME TO users",
)

POSITIVE = (
    Case("drop-table", ("DROP TABLE users",), ("drop-table",)),
    Case("table-rebuild", REBUILD, ("table-rebuild",)),
    Case(
        "table-rebuild",
        (
            "CREATE TABLE users_copy AS SELECT * FROM users",
            "DROP TABLE users",
            "ALTER TABLE users_copy RENAME TO users",
        ),
        ("table-rebuild",),
    ),
    Case("table-rebuild", REBUILD, ("table-rebuild",), kwargs={**DOWN, "up": REBUILD}),
    Case("drop-table", ("DROP TABLE IF EXISTS a, b",), ("drop-table", "drop-table")),
    Case("drop-column", ("ALTER TABLE users DROP COLUMN phone",), ("drop-column",), NOT_MYSQL),
    # MySQL's own rules also say how InnoDB runs the ALTER (catalogue/mysql.py).
    Case(
        "drop-column",
        ("ALTER TABLE users DROP COLUMN phone",),
        ("drop-column", "mysql-alter-rebuilds"),
        ("mysql",),
    ),
    Case("drop-schema", ("DROP SCHEMA archive CASCADE",), ("drop-schema",), SERVERS_AND_DUCKDB),
    Case("drop-schema", ("DROP DATABASE archive",), ("drop-schema",), ("mysql",)),
    # PostgreSQL also refuses DROP DATABASE inside the migration's transaction.
    Case(
        "drop-schema", ("DROP DATABASE archive",), ("drop-schema", "cannot-run-in-transaction"), PG
    ),
    Case("truncate", ("TRUNCATE TABLE users",), ("truncate",), SERVERS_AND_DUCKDB),
    Case("delete-without-where", ("DELETE FROM users",), ("delete-without-where",)),
    Case("delete-without-where", ("DELETE FROM users WHERE TRUE",), ("delete-without-where",)),
    Case("update-without-where", ("UPDATE users SET status = 'x'",), ("update-without-where",)),
    Case(
        "column-type-change",
        ("ALTER TABLE users ALTER COLUMN age TYPE BIGINT",),
        ("column-type-change",),
        ("duckdb", "postgres"),
    ),
    Case("rename-table", ("ALTER TABLE users RENAME TO people",), ("rename-table",)),
    Case(
        "rename-table",
        ("ALTER TABLE users RENAME TO people, ALGORITHM=INSTANT",),
        ("rename-table",),
        ("mysql",),
    ),
    Case(
        "rename-column",
        ("ALTER TABLE users RENAME COLUMN name TO full_name",),
        ("rename-column",),
    ),
    Case("rename-column", ("ALTER TABLE users RENAME name TO full_name",), ("rename-column",), PG),
    Case(
        "add-not-null-column-without-default",
        ("ALTER TABLE users ADD COLUMN age INT NOT NULL",),
        ("add-not-null-column-without-default",),
        ("duckdb", "postgres"),
    ),
    Case(
        "add-not-null-column-without-default",
        ("ALTER TABLE users ADD COLUMN age INT NOT NULL",),
        ("add-not-null-column-without-default", "mysql-alter-rebuilds"),
        ("mysql",),
    ),
    Case(
        "set-not-null",
        ("ALTER TABLE users ALTER COLUMN email SET NOT NULL",),
        ("set-not-null",),
        ("duckdb", "postgres"),
    ),
    Case(
        "add-foreign-key",
        (
            "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) "
            "REFERENCES users (id)",
        ),
        ("add-foreign-key",),
        ("postgres", "mysql"),
    ),
    Case(
        "add-check",
        ("ALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0)",),
        ("add-check",),
        ("postgres", "mysql"),
    ),
    # Unnamed: sqlglot reads it only as a command; lamina reads it from its tokens.
    Case("add-check", ("ALTER TABLE orders ADD CHECK (amount > 0)",), ("add-check",), PG),
    Case(
        "add-foreign-key",
        ("ALTER TABLE orders ADD COLUMN user_id bigint DEFAULT 1 REFERENCES users (id)",),
        ("add-foreign-key", "add-column-rewrite"),
        PG,
    ),
    Case(
        "add-unique-constraint",
        ("CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email)",),
        ("add-unique-constraint", "concurrent-index"),
        PG,
        {"transactional": False},
    ),
    Case(
        "add-unique-constraint",
        ("CREATE UNIQUE INDEX users_email_key ON users (email)",),
        ("add-unique-constraint",),
        ("duckdb", "sqlite", "mysql"),
    ),
    Case(
        "add-unique-constraint",
        ("CREATE UNIQUE INDEX users_email_key ON users (email)",),
        ("add-unique-constraint", "create-index-not-concurrently"),
        PG,
    ),
    Case(
        "add-unique-constraint",
        ("ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)",),
        ("add-unique-constraint",),
        SERVERS_AND_DUCKDB,
    ),
    Case(
        "change-primary-key",
        ("ALTER TABLE users ADD PRIMARY KEY (id)",),
        ("change-primary-key",),
        SERVERS_AND_DUCKDB,
    ),
    Case(
        "change-primary-key",
        ("ALTER TABLE users DROP CONSTRAINT users_pkey",),
        ("change-primary-key",),
        PG,
    ),
    Case(
        "change-primary-key",
        ("ALTER TABLE users DROP PRIMARY KEY",),
        ("change-primary-key",),
        ("mysql",),
    ),
    Case(
        "duckdb-alter-indexed-table",
        ("ALTER TABLE users RENAME COLUMN name TO full_name",),
        ("duckdb-alter-indexed-table", "rename-column"),
        ("duckdb",),
        {"facts": LiveFacts.of_indexes(["Users"])},
    ),
    Case(
        "duckdb-alter-indexed-table",
        (
            "CREATE INDEX users_name ON users (name)",
            "ALTER TABLE users ALTER COLUMN age SET NOT NULL",
        ),
        ("duckdb-alter-indexed-table", "set-not-null"),
        ("duckdb",),
    ),
    Case(
        "duckdb-alter-indexed-table",
        ("DROP INDEX users_name", "ALTER TABLE users RENAME TO people"),
        ("duckdb-alter-indexed-table", "rename-table"),
        ("duckdb",),
        {"facts": LiveFacts.of_indexes({"users": ["users_name", "users_email"]})},
    ),
    Case("unparsed-sql", ("SELECT FROM WHERE (",), ("unparsed-sql",)),
    # PostgreSQL knows CREATE EXTENSION: it creates functions and types, no table is locked.
    Case(
        "unparsed-sql",
        ("CREATE EXTENSION pgcrypto",),
        ("unparsed-sql",),
        ("duckdb", "sqlite", "mysql"),
    ),
    Case("unparsed-sql", ("THIS IS NOT SQL",), ("unparsed-sql",)),
    # An ALTER TABLE mixing an action lamina reads from its tokens with one it leaves to
    # sqlglot is not half judged: it stays opaque, its kind named.
    Case(
        "unparsed-sql",
        ("ALTER TABLE orders ADD COLUMN note TEXT, VALIDATE CONSTRAINT orders_user_fk",),
        ("unparsed-sql",),
        PG,
    ),
    Case(
        "data-migration",
        ("UPDATE users SET a = 1 WHERE id = 2",),
        ("data-migration",),
        kwargs={"category": "data"},
    ),
    Case("missing-down", (), ("missing-down",), kwargs={**DOWN, "reversible": False}),
    Case("empty-down", (), ("empty-down",), kwargs=DOWN),
    Case(
        "empty-down",
        (),
        ("empty-down",),
        kwargs={**DOWN, "reversible": False, "down_defined": True},
    ),
    Case(
        "down-loses-data",
        ("ALTER TABLE users DROP COLUMN phone",),
        ("down-loses-data",),
        NOT_MYSQL,
        kwargs={**DOWN, "up": ("ALTER TABLE users ADD COLUMN phone TEXT",)},
    ),
    Case(
        "down-loses-data",
        ("ALTER TABLE users DROP COLUMN phone",),
        ("down-loses-data", "mysql-alter-rebuilds"),
        ("mysql",),
        kwargs={**DOWN, "up": ("ALTER TABLE users ADD COLUMN phone TEXT",)},
    ),
    Case(
        "down-loses-data",
        ("DROP TABLE audit",),
        ("down-loses-data",),
        kwargs={**DOWN, "up": ("CREATE TABLE audit (id INT, note TEXT)",)},
    ),
)

NEGATIVE = (
    Case("drop-table", ("CREATE TABLE scratch (x INT)", "DROP TABLE scratch")),
    Case("drop-table", REBUILD),
    Case("table-rebuild", ("DROP TABLE users",)),
    Case("table-rebuild", REBUILD[:3]),  # no rename: the rows are gone with the name
    Case("table-rebuild", (REBUILD[0], *REBUILD[2:])),  # nothing copied
    Case("drop-table", ("DROP VIEW active_users",)),
    Case(
        "drop-column",
        ("ALTER TABLE users ADD COLUMN tmp TEXT", "ALTER TABLE users DROP COLUMN tmp"),
    ),
    Case("drop-schema", ("DROP TABLE archive.old",), dialects=SERVERS_AND_DUCKDB),
    Case(
        "truncate",
        ("CREATE TABLE staging (x INT)", "TRUNCATE TABLE staging"),
        dialects=SERVERS_AND_DUCKDB,
    ),
    Case("delete-without-where", ("DELETE FROM users WHERE id = 1",)),
    Case("update-without-where", ("UPDATE users SET status = 'x' WHERE id = 1",)),
    Case(
        "update-without-where",
        ("ALTER TABLE users ADD COLUMN status TEXT", "UPDATE users SET status = 'active'"),
    ),
    Case(
        "column-type-change",
        ("ALTER TABLE users ALTER COLUMN age SET DEFAULT 0",),
        dialects=SERVERS_AND_DUCKDB,
    ),
    Case(
        "column-type-change",
        ("ALTER TABLE users ADD COLUMN age INT", "ALTER TABLE users ALTER COLUMN age TYPE BIGINT"),
        dialects=("duckdb", "postgres"),
    ),
    Case("rename-table", ("CREATE TABLE draft (x INT)", "ALTER TABLE draft RENAME TO final")),
    Case("rename-table", ("ALTER TABLE users RENAME COLUMN a TO b",)),
    Case(
        "rename-column",
        ("ALTER TABLE users ADD COLUMN nick TEXT", "ALTER TABLE users RENAME COLUMN nick TO alias"),
    ),
    Case("rename-column", ("ALTER TABLE users CHANGE COLUMN age age BIGINT",), dialects=("mysql",)),
    Case(
        "add-not-null-column-without-default",
        ("ALTER TABLE users ADD COLUMN age INT NOT NULL DEFAULT 0",),
    ),
    Case("add-not-null-column-without-default", ("ALTER TABLE users ADD COLUMN age INT NULL",)),
    Case(
        "add-not-null-column-without-default",
        ("CREATE TABLE pets (id INT)", "ALTER TABLE pets ADD COLUMN age INT NOT NULL"),
    ),
    Case(
        "add-not-null-column-without-default",
        ("ALTER TABLE users ADD COLUMN n BIGSERIAL NOT NULL",),
        dialects=PG,
    ),
    Case(
        "add-not-null-column-without-default",
        ("ALTER TABLE users ADD COLUMN n INT NOT NULL AUTO_INCREMENT",),
        dialects=("mysql",),
    ),
    Case(
        "set-not-null",
        ("ALTER TABLE users ALTER COLUMN email DROP NOT NULL",),
        dialects=("duckdb", "postgres"),
    ),
    Case(
        "set-not-null",
        (
            "ALTER TABLE users ADD COLUMN code TEXT",
            "ALTER TABLE users ALTER COLUMN code SET NOT NULL",
        ),
        dialects=("duckdb", "postgres"),
    ),
    Case(
        "add-foreign-key",
        (
            "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) "
            "REFERENCES users (id) NOT VALID",
            "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk",
        ),
        dialects=PG,
        kwargs={"transactional": False},
    ),
    Case(
        "add-foreign-key",
        (
            "CREATE TABLE orders (id INT, user_id INT)",
            "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) "
            "REFERENCES users (id)",
        ),
        dialects=("postgres", "mysql"),
    ),
    Case(
        "add-check",
        ("ALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0) NOT VALID",),
        dialects=PG,
    ),
    Case("add-check", ("ALTER TABLE orders ADD CHECK (amount > 0) NOT VALID",), dialects=PG),
    Case(
        "add-check",
        ("CREATE TABLE orders (id INT, amount INT)", "ALTER TABLE orders ADD CHECK (amount > 0)"),
        dialects=PG,
    ),
    Case(
        "add-foreign-key",
        (
            "CREATE TABLE orders (id INT)",
            "ALTER TABLE orders ADD COLUMN user_id bigint DEFAULT 1 REFERENCES users (id)",
        ),
        dialects=PG,
    ),
    # Without a DEFAULT the new column is NULL in every row: PostgreSQL checks none.
    Case(
        "add-foreign-key",
        ("ALTER TABLE orders ADD COLUMN user_id bigint REFERENCES users (id)",),
        dialects=PG,
    ),
    Case(
        "add-check",
        (
            "CREATE TABLE orders (id INT, amount INT)",
            "ALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0)",
        ),
        dialects=("postgres", "mysql"),
    ),
    Case(
        "add-unique-constraint",
        ("CREATE TABLE pets (id INT, tag TEXT)", "CREATE UNIQUE INDEX pets_tag ON pets (tag)"),
    ),
    Case("add-unique-constraint", ("CREATE INDEX users_email_idx ON users (email)",)),
    Case(
        "change-primary-key",
        ("CREATE TABLE pets (id INT)", "ALTER TABLE pets ADD PRIMARY KEY (id)"),
        dialects=SERVERS_AND_DUCKDB,
    ),
    Case("change-primary-key", ("ALTER TABLE users DROP CONSTRAINT users_email_key",), dialects=PG),
    Case(
        "duckdb-alter-indexed-table",
        (
            "ALTER TABLE users ADD COLUMN nick TEXT DEFAULT 'x'",
            "ALTER TABLE users ALTER COLUMN age SET DEFAULT 0",
        ),
        dialects=("duckdb",),
        kwargs={"facts": LiveFacts.of_indexes(["users"])},
    ),
    Case(
        "duckdb-alter-indexed-table",
        ("DROP INDEX users_name", "ALTER TABLE users RENAME COLUMN name TO full_name"),
        dialects=("duckdb",),
        kwargs={"facts": LiveFacts.of_indexes({"users": ["users_name"]})},
    ),
    Case(
        "duckdb-alter-indexed-table",
        ("ALTER TABLE users RENAME COLUMN name TO full_name",),
        dialects=("duckdb",),
        kwargs={"facts": LiveFacts.of_indexes(["orders"])},
    ),
    Case("unparsed-sql", ("SELECT 1",)),
    Case("unparsed-sql", ("INSERT INTO users (id) VALUES (1)",)),
    Case("unparsed-sql", ("ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk",), dialects=PG),
    Case("data-migration", ("UPDATE users SET a = 1 WHERE id = 2",)),
    Case("missing-down", ("DROP TABLE users",), kwargs=DOWN),
    Case("missing-down", (), kwargs={**DOWN, "reversible": False, "down_defined": True}),
    Case("empty-down", ("DROP TABLE users",), kwargs=DOWN),
    Case("empty-down", (), kwargs={"direction": "up"}),
    Case("down-loses-data", ("ALTER TABLE users DROP COLUMN phone",), kwargs=DOWN),
    Case(
        "down-loses-data",
        ("ALTER TABLE users DROP COLUMN phone",),
        kwargs={"up": ("ALTER TABLE users ADD COLUMN phone TEXT",)},
    ),
)
