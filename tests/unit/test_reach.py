"""lamina.reach: which migration statements reach outside the database they run in."""

from __future__ import annotations

import pytest

from lamina.reach import Reach, outside_reach

# (dialect, statement, a fragment of the reason, or None when the statement stays inside)
CASES: list[tuple[str, str, str | None]] = [
    # -- MySQL: names qualified with another database
    ("mysql", "SELECT * FROM billing.invoices", "database `billing`"),
    ("mysql", "INSERT INTO t SELECT * FROM billing.invoices", "database `billing`"),
    ("mysql", "INSERT INTO billing.invoices VALUES (1)", "database `billing`"),
    ("mysql", "UPDATE billing.invoices SET paid = 1", "database `billing`"),
    ("mysql", "DELETE FROM billing.invoices WHERE id = 1", "database `billing`"),
    ("mysql", "CREATE TABLE billing.t (id INT)", "database `billing`"),
    ("mysql", "ALTER TABLE billing.t ADD COLUMN c INT", "database `billing`"),
    ("mysql", "DROP TABLE billing.t", "database `billing`"),
    ("mysql", "RENAME TABLE users TO archive.users", "database `archive`"),
    ("mysql", "RENAME TABLE a TO b, c TO archive.c", "database `archive`"),
    ("mysql", "SELECT u.id FROM users u JOIN billing.invoices i ON i.uid = u.id", "`billing`"),
    ("mysql", "SELECT * FROM users WHERE id IN (SELECT uid FROM billing.inv)", "`billing`"),
    ("mysql", "CREATE VIEW v AS SELECT * FROM users JOIN billing.inv ON 1 = 1", "`billing`"),
    ("mysql", "CREATE ALGORITHM=MERGE VIEW v AS SELECT * FROM billing.inv", "`billing`"),
    ("mysql", "CALL billing.close_month(1)", "database `billing`"),
    ("mysql", "SELECT billing.total(1)", "database `billing`"),
    ("mysql", "SELECT billing.inv.id FROM inv", "database `billing`"),
    (
        "mysql",
        "CREATE TRIGGER tr BEFORE INSERT ON billing.inv FOR EACH ROW SET NEW.a = 1",
        "`billing`",
    ),
    (
        "mysql",
        "CREATE TRIGGER tr AFTER INSERT ON users FOR EACH ROW BEGIN "
        "INSERT INTO audit.log VALUES (NEW.id); END",
        "database `audit`",
    ),
    ("mysql", "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DELETE FROM logs.old", "`logs`"),
    ("mysql", "SELECT * FROM `billing`.`invoices`", "database `billing`"),
    ("mysql", "UPDATE users u, billing.inv b SET u.a = b.a WHERE b.id = u.id", "`billing`"),
    ("mysql", "SELECT * FROM users u JOIN (billing.inv) ON 1 = 1", "`billing`"),
    ("mysql", "ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES billing.inv (id)", "`billing`"),
    ("mysql", "LOCK TABLES billing.inv WRITE", "database `billing`"),
    ("mysql", "INSERT INTO mysql.user (user) VALUES ('x')", "database `mysql`"),
    ("mysql", "/*!50001 CREATE ROLE app_ro */", "roles live in the server-wide"),
    # -- MySQL: server-wide statements
    ("mysql", "USE billing", "switches to database `billing`"),
    ("mysql", "CREATE DATABASE reports", "creates database `reports`"),
    ("mysql", "CREATE SCHEMA audit", "creates database `audit`"),
    ("mysql", "DROP SCHEMA IF EXISTS audit", "drops database `audit`"),
    ("mysql", "ALTER DATABASE billing CHARACTER SET utf8mb4", "alters database `billing`"),
    ("mysql", "CREATE USER 'app_ro'@'%' IDENTIFIED BY 'secret'", "creates user"),
    ("mysql", "ALTER USER app IDENTIFIED BY 'x'", "alters user app"),
    ("mysql", "DROP USER IF EXISTS app", "drops user app"),
    ("mysql", "RENAME USER a TO b", "renames an account"),
    ("mysql", "CREATE ROLE app_ro", "creates role app_ro"),
    ("mysql", "DROP ROLE app_ro", "drops role app_ro"),
    ("mysql", "GRANT SELECT ON app.* TO app_ro", "privileges"),
    ("mysql", "REVOKE SELECT ON t FROM app_ro", "privileges"),
    ("mysql", "SET GLOBAL max_connections = 500", "global server variable"),
    ("mysql", "SET PERSIST sql_mode = ''", "persist server variable"),
    ("mysql", "SET @@global.sql_mode = ''", "global server variable"),
    ("mysql", "SET @@GLOBAL.sql_mode = '', @x = 1", "global server variable"),
    ("mysql", "SET SESSION a = 1, GLOBAL b = 2", "global server variable"),
    ("mysql", "SET PASSWORD FOR app = 'x'", "SET PASSWORD"),
    ("mysql", "SET DEFAULT ROLE r TO app", "SET DEFAULT ROLE"),
    ("mysql", "INSTALL PLUGIN audit SONAME 'audit.so'", "INSTALL"),
    ("mysql", "UNINSTALL PLUGIN audit", "UNINSTALL"),
    ("mysql", "INSTALL SONAME 'ha_x'", "INSTALL"),
    ("mysql", "CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (HOST 'h')", "mysql.servers"),
    ("mysql", "FLUSH PRIVILEGES", "FLUSH"),
    ("mysql", "KILL 42", "KILL"),
    ("mysql", "PURGE BINARY LOGS TO 'mysql-bin.000010'", "PURGE"),
    ("mysql", "RESET MASTER", "RESET"),
    ("mysql", "SELECT * FROM t INTO OUTFILE '/tmp/t.csv'", "writes the file '/tmp/t.csv'"),
    ("mysql", "SELECT a FROM t INTO DUMPFILE '/tmp/a'", "INTO DUMPFILE"),
    ("mysql", "CREATE TABLESPACE ts ADD DATAFILE 'ts.ibd'", "tablespace"),
    ("mysql", "CHANGE MASTER TO MASTER_HOST = 'h'", "replication"),
    ("mysql", "STOP REPLICA", "replication"),
    ("mysql", "LOCK INSTANCE FOR BACKUP", "locks the whole server"),
    ("mysql", "ALTER INSTANCE ROTATE INNODB MASTER KEY", "server instance"),
    ("mysql", "SHUTDOWN", "SHUTDOWN"),
    # -- MySQL: inside
    ("mysql", "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(255))", None),
    ("mysql", "ALTER TABLE users ADD COLUMN c INT, ADD INDEX ix (c)", None),
    ("mysql", "SELECT u.id, o.total FROM users u JOIN orders o ON o.uid = u.id", None),
    ("mysql", "UPDATE users SET score = 1.5 WHERE users.id = 3", None),
    ("mysql", "SELECT * FROM app.users", None),
    ("mysql", "SELECT billing.x FROM billing WHERE billing.id = 1", None),  # a table `billing`
    ("mysql", "SELECT * FROM APP.users JOIN `App`.`orders` ON 1 = 1", None),
    ("mysql", "INSERT INTO app.t SELECT * FROM app.u", None),
    ("mysql", "USE app", None),
    ("mysql", "ALTER DATABASE CHARACTER SET utf8mb4", None),
    ("mysql", "ALTER DATABASE app CHARACTER SET utf8mb4", None),
    ("mysql", "INSERT INTO notes VALUES ('CREATE ROLE x')", None),
    ("mysql", "INSERT INTO notes VALUES ('see billing.invoices; USE billing')", None),
    ("mysql", 'INSERT INTO notes (body) VALUES ("GRANT ALL ON *.* TO x")', None),
    ("mysql", "-- GRANT ALL ON *.* TO x\nCREATE TABLE t (a INT)", None),
    ("mysql", "CREATE TABLE t (a INT) /* SET GLOBAL x = 1; billing.inv */", None),
    ("mysql", "# DROP DATABASE billing\nDROP TABLE t", None),
    ("mysql", "SELECT * FROM `billing.invoices`", None),  # one table named "billing.invoices"
    ("mysql", "SET SESSION sql_mode = 'GLOBAL'", None),
    ("mysql", "SET @@session.sql_mode = ''", None),
    ("mysql", "SELECT @@global.version", None),
    ("mysql", "START TRANSACTION", None),
    ("mysql", "LOAD DATA INFILE '/tmp/x.csv' INTO TABLE t", None),
    ("mysql", "SELECT table_name FROM information_schema.tables", None),
    ("mysql", "CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW SET NEW.a = OLD.a + 1", None),
    ("mysql", "CREATE DEFINER = 'root'@'%' VIEW v AS SELECT t.a FROM t", None),
    ("mysql", "CREATE TABLE user (role INT, `database` TEXT)", None),
    # -- PostgreSQL
    ("postgres", "CREATE ROLE app_ro", "creates role app_ro, which every database"),
    ("postgres", "CREATE USER app WITH PASSWORD 'x'", "creates role app"),
    ("postgres", "CREATE GROUP readers", "creates role readers"),
    ("postgres", "ALTER ROLE app SET search_path = s", "alters role app"),
    ("postgres", "ALTER USER app WITH PASSWORD 'x'", "alters role app"),
    ("postgres", "DROP ROLE IF EXISTS app_ro", "drops role app_ro"),
    ("postgres", "GRANT app_ro TO app", "role membership"),
    ("postgres", "REVOKE app_ro FROM app", "role membership"),
    ("postgres", "REVOKE ADMIN OPTION FOR app_ro FROM app", "role membership"),
    ("postgres", "GRANT CONNECT ON DATABASE app TO app_ro", "database app"),
    ("postgres", "ALTER SYSTEM SET work_mem = '64MB'", "ALTER SYSTEM"),
    ("postgres", "CREATE DATABASE reports", "creates database reports"),
    ("postgres", "ALTER DATABASE app SET timezone = 'UTC'", "alters database app"),
    ("postgres", "DROP DATABASE reports", "drops database reports"),
    ("postgres", "CREATE TABLESPACE fast LOCATION '/ssd'", "creates tablespace fast"),
    ("postgres", "ALTER TABLESPACE fast RENAME TO quick", "alters tablespace fast"),
    ("postgres", "DROP TABLESPACE fast", "drops tablespace fast"),
    ("postgres", "COMMENT ON DATABASE app IS 'x'", "comments on database app"),
    ("postgres", "COMMENT ON ROLE app IS 'x'", "comments on role app"),
    ("postgres", "SECURITY LABEL FOR selinux ON ROLE app IS 'x'", "labels role app"),
    ("postgres", "CREATE SUBSCRIPTION s CONNECTION 'host=h' PUBLICATION p", "subscription s"),
    ("postgres", "DROP SUBSCRIPTION s", "subscription s"),
    ("postgres", "COPY users TO '/tmp/users.csv'", "writes the file '/tmp/users.csv'"),
    ("postgres", "COPY (SELECT * FROM users) TO '/tmp/u' WITH (FORMAT csv)", "writes the file"),
    ("postgres", "COPY users TO PROGRAM 'gzip > /tmp/u.gz'", "runs a program"),
    ("postgres", "COPY users FROM PROGRAM 'curl x'", "runs a program"),
    ("postgres", "SELECT dblink_exec('dbname=app', 'DELETE FROM users')", "dblink_exec"),
    ("postgres", "SELECT public.dblink_exec('c', 'x')", "dblink_exec"),
    ("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity", "pg_terminate_backend"),
    ("postgres", "REASSIGN OWNED BY old TO new", "REASSIGN OWNED"),
    ("postgres", "DROP OWNED BY old", "DROP OWNED"),
    ("postgres", "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw", "foreign server s"),
    ("postgres", "IMPORT FOREIGN SCHEMA public FROM SERVER s INTO staging", "IMPORT FOREIGN"),
    ("postgres", "GRANT SELECT ON users TO app", None),
    ("postgres", "GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO app", None),
    ("postgres", "REVOKE ALL ON users FROM PUBLIC", None),
    ("postgres", "GRANT USAGE ON SCHEMA audit TO app", None),
    ("postgres", "CREATE SCHEMA audit", None),
    ("postgres", "ALTER TABLE users OWNER TO app", None),
    ("postgres", "ALTER DEFAULT PRIVILEGES FOR ROLE app GRANT SELECT ON TABLES TO ro", None),
    ("postgres", "CREATE USER MAPPING FOR app SERVER s", None),
    ("postgres", "COPY users TO STDOUT", None),
    ("postgres", "COPY users FROM '/tmp/users.csv'", None),
    ("postgres", "DO $$ BEGIN CREATE ROLE x; END $$", None),
    ("postgres", "INSERT INTO notes VALUES ('CREATE ROLE x'), ($$ALTER SYSTEM$$)", None),
    ("postgres", "COMMENT ON TABLE users IS 'ALTER DATABASE'", None),
    ("postgres", "-- CREATE ROLE x\nCREATE TABLE t (a int)", None),
    ("postgres", "SELECT * FROM other.public.t", None),  # PostgreSQL rejects it: no reach
    ("postgres", "SET ROLE app", None),
    ("postgres", "CREATE TABLE role (database text, tablespace text)", None),
    # -- DuckDB
    ("duckdb", "ATTACH 'other.duckdb' AS other", "attaches database 'other.duckdb'"),
    ("duckdb", "ATTACH DATABASE IF NOT EXISTS 'x.db' AS x", "attaches database 'x.db'"),
    ("duckdb", "DETACH other", "detaches database other"),
    ("duckdb", "USE other", "switches to database `other`"),
    ("duckdb", "COPY users TO 'users.csv'", "writes the file 'users.csv'"),
    ("duckdb", "COPY (SELECT 1) TO 'x.parquet' (FORMAT parquet)", "writes the file"),
    ("duckdb", "EXPORT DATABASE 'backup'", "EXPORT DATABASE"),
    ("duckdb", "COPY FROM DATABASE a TO b", "COPY FROM DATABASE"),
    ("duckdb", "SET GLOBAL threads = 4", "SET GLOBAL"),
    ("duckdb", "CREATE PERSISTENT SECRET s (TYPE s3)", "PERSISTENT SECRET"),
    ("duckdb", "CREATE SCHEMA audit", None),
    ("duckdb", "COPY users FROM 'users.csv'", None),
    ("duckdb", "INSTALL httpfs", None),
    ("duckdb", "LOAD httpfs", None),
    ("duckdb", "SET threads = 4", None),
    ("duckdb", "CREATE SECRET s (TYPE s3)", None),
    ("duckdb", "INSERT INTO notes VALUES ('ATTACH ''x'' AS y')", None),
    ("duckdb", "CREATE TABLE audit.log AS SELECT * FROM main.users", None),
    # -- SQLite
    ("sqlite", "ATTACH DATABASE 'other.db' AS other", "attaches database 'other.db'"),
    ("sqlite", "ATTACH 'other.db' AS other", "attaches database 'other.db'"),
    ("sqlite", "DETACH DATABASE other", "detaches database other"),
    ("sqlite", "DETACH other", "detaches database other"),
    ("sqlite", "VACUUM INTO 'backup.db'", "VACUUM INTO writes the file 'backup.db'"),
    ("sqlite", "VACUUM", None),
    ("sqlite", "PRAGMA foreign_keys = ON", None),
    ("sqlite", "CREATE TABLE main.t (a)", None),
    ("sqlite", "INSERT INTO notes VALUES ('ATTACH DATABASE x')", None),
    ("sqlite", "/* VACUUM INTO 'x' */ VACUUM", None),
]


@pytest.mark.parametrize(("dialect", "sql", "expected"), CASES)
def test_outside_reach(dialect: str, sql: str, expected: str | None) -> None:
    found = outside_reach([sql], dialect, database="app")
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1, f"not flagged: {sql}"
        assert expected in found[0].reason, found[0].reason
        assert "\n" not in found[0].reason


def test_own_database_is_compared_case_insensitively() -> None:
    assert outside_reach(["SELECT * FROM APP.users"], "mysql", database="app") == []
    assert outside_reach(["SELECT * FROM app.users"], "mysql", database="APP") == []


def test_without_a_database_every_qualified_name_reaches_outside() -> None:
    found = outside_reach(["SELECT * FROM app.users"], "mysql")
    assert [r.reason for r in found] == [
        "names database `app` (`app`.`users`), not the migration's own"
    ]
    assert outside_reach(["USE app"], "mysql")


def test_statement_is_collapsed_and_shortened() -> None:
    (short,) = outside_reach(["CREATE ROLE\n\t  app_ro"], "postgres")
    assert short == Reach("CREATE ROLE app_ro", short.reason)
    body = "GRANT SELECT ON app.* TO\n   " + ", ".join(f"user_{n}" for n in range(60))
    (reach,) = outside_reach([body], "mysql")
    assert len(reach.statement) == 120
    assert reach.statement.endswith("…")
    assert reach.statement.startswith("GRANT SELECT ON app.* TO user_0, user_1")
    assert "\n" not in reach.statement


def test_reports_every_statement_in_order() -> None:
    found = outside_reach(
        ["CREATE TABLE t (a int)", "CREATE ROLE r", "SELECT 1", "ALTER SYSTEM SET x = 1"],
        "postgresql",
    )
    assert [r.statement for r in found] == ["CREATE ROLE r", "ALTER SYSTEM SET x = 1"]


def test_dialect_aliases_and_unknown_dialect() -> None:
    assert outside_reach(["USE other"], "mariadb", database="app")
    assert outside_reach(["ATTACH 'x' AS x"], "sqlite3")
    with pytest.raises(ValueError, match="unknown dialect"):
        outside_reach(["SELECT 1"], "oracle")


def test_untokenizable_statement_is_left_to_the_database() -> None:
    assert outside_reach(["INSERT INTO t VALUES ('unterminated"], "mysql") == []


def test_ten_thousand_ordinary_statements_reach_nothing() -> None:
    """The fast path's answer on a large plain batch (its speed is measured in benchmarks)."""
    ordinary = [
        "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(255) NOT NULL)",
        "ALTER TABLE users ADD COLUMN verified_at DATETIME NULL, ADD INDEX ix (email)",
        "INSERT INTO users (id, email) VALUES (1, 'a@example.com')",
        "UPDATE users SET email = LOWER(email) WHERE id > 10",
        "CREATE INDEX ix_users_email ON users (email)",
        "DROP TABLE IF EXISTS old_users",
        "SELECT u.id FROM users u JOIN orders o ON o.user_id = u.id",
        "UPDATE app.users SET verified_at = NOW()",
    ]
    statements = [ordinary[n % len(ordinary)] for n in range(10_000)]
    outside_reach(statements[:50], "mysql", database="app")  # warm up the lazy imports
    assert outside_reach(statements, "mysql", database="app") == []


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("mysql", "RENAME TABLE `users` TO `archive`.`users`"),
        ("mysql", "CALL `billing`.close_month('2026-01')"),
        ("mysql", "LOCK TABLES `billing`.inv WRITE"),
        ("mysql", "REPLACE INTO billing.inv VALUES ('x')"),
        ("mysql", "OPTIMIZE TABLE `billing`.inv"),
        (
            "mysql",
            "CREATE TRIGGER tr AFTER INSERT ON users FOR EACH ROW BEGIN "
            "REPLACE INTO billing.inv VALUES ('x'); END",
        ),
        ("sqlite", "VACUUM main INTO 'x.db'"),
    ],
)
def test_statements_sqlglot_keeps_as_raw_commands_are_read(dialect: str, sql: str) -> None:
    assert outside_reach([sql], dialect, database="app")
