"""Cases for mysql's own rules (dialect ``mysql``).

``MARIADB_11`` and ``MYSQL_80`` are live facts of a known server; ``USERS`` adds the live
columns of a ``users`` table, which a ``MODIFY`` is compared with. Without facts the rules
assume the oldest servers lamina supports (MySQL 5.7, MariaDB 10.2).
"""

from __future__ import annotations

from lamina.risk import LiveFacts
from lamina.risk.mysql_facts import ColumnFacts, MySQLTableFacts
from support.risk_cases import Case

MY = ("mysql",)

MARIADB_11 = {"facts": LiveFacts(server_version=(10, 11, 19), flavor="mariadb")}
MYSQL_57 = {"facts": LiveFacts(server_version=(5, 7, 44), flavor="mysql")}
MYSQL_80 = {"facts": LiveFacts(server_version=(8, 0, 36), flavor="mysql")}

USERS = MySQLTableFacts(
    rows=120_000,
    size_bytes=48_000_000,
    charset="utf8mb4",
    columns={
        "id": ColumnFacts("int(11)", nullable=False, position=1),
        "name": ColumnFacts("varchar(50)", True, "utf8mb4", 200, position=2),
        "status": ColumnFacts("enum('new','active')", True, "utf8mb4", 24, position=3),
        "age": ColumnFacts("int(11)", True, position=4),
    },
)
MARIADB_USERS = {
    "facts": LiveFacts({"users": USERS}, server_version=(10, 11, 19), flavor="mariadb")
}
MYSQL_USERS = {"facts": LiveFacts({"users": USERS}, server_version=(8, 0, 36), flavor="mysql")}

POSITIVE: tuple[Case, ...] = (
    Case(
        "mysql-alter-copies",
        ("ALTER TABLE users MODIFY COLUMN age BIGINT NOT NULL",),
        ("mysql-alter-copies",),
        MY,
    ),
    Case(
        "mysql-alter-copies",
        ("ALTER TABLE users CHANGE COLUMN age years BIGINT",),
        ("rename-column", "mysql-alter-copies"),
        MY,
    ),
    Case(
        "mysql-alter-copies",
        ("ALTER TABLE users MODIFY status ENUM('active', 'new')",),
        ("mysql-alter-copies",),
        MY,
        MARIADB_USERS,
    ),
    Case(
        "mysql-alter-copies",
        ("ALTER TABLE users MODIFY name VARCHAR(100)",),  # 200 -> 400 bytes: a length byte more
        ("mysql-alter-copies",),
        MY,
        MARIADB_USERS,
    ),
    Case(
        "mysql-alter-copies",
        ("ALTER TABLE users CONVERT TO CHARACTER SET latin1",),
        ("mysql-alter-copies",),
        MY,
    ),
    Case(
        "mysql-alter-copies",
        ("ALTER TABLE users ADD COLUMN total INT AS (age * 2) STORED",),
        ("mysql-alter-copies",),
        MY,
        MYSQL_80,
    ),
    Case(
        "mysql-alter-blocks-writes",
        ("ALTER TABLE posts ADD FULLTEXT INDEX posts_body (body)",),
        ("mysql-alter-blocks-writes",),
        MY,
    ),
    Case(
        "mysql-alter-blocks-writes",
        ("CREATE SPATIAL INDEX places_geo ON places (geo)",),
        ("mysql-alter-blocks-writes",),
        MY,
        MARIADB_11,
    ),
    Case(
        "mysql-alter-rebuilds",
        ("ALTER TABLE users ADD COLUMN nick VARCHAR(20)",),  # MySQL 5.7 / MariaDB 10.2 assumed
        ("mysql-alter-rebuilds",),
        MY,
    ),
    Case(
        "mysql-alter-rebuilds",
        ("ALTER TABLE users MODIFY age INT NOT NULL",),
        ("mysql-alter-rebuilds",),
        MY,
        MARIADB_USERS,
    ),
    Case("mysql-alter-rebuilds", ("OPTIMIZE TABLE users",), ("mysql-alter-rebuilds",), MY),
    Case(
        "mysql-alter-refused",
        ("ALTER TABLE users ADD COLUMN nick TEXT, ALGORITHM=INSTANT",),
        ("mysql-alter-refused",),
        MY,
        MYSQL_57,
    ),
    Case(
        "mysql-alter-refused",
        ("ALTER TABLE users MODIFY age BIGINT, ALGORITHM=INPLACE, LOCK=NONE",),
        ("mysql-alter-refused",),
        MY,
        MARIADB_USERS,
    ),
    Case(
        "mysql-not-atomic",
        ("INSERT INTO plans (name) VALUES ('pro')", "ALTER TABLE users ADD COLUMN plan INT"),
        ("mysql-alter-rebuilds", "mysql-not-atomic"),
        MY,
    ),
    Case(
        "mysql-not-atomic",
        ("ALTER TABLE users ADD COLUMN plan INT", "UPDATE users SET plan = 1 WHERE age > 3"),
        ("mysql-not-atomic",),
        MY,
        MARIADB_11,
    ),
    Case(
        "mysql-foreign-key-checks-off",
        ("SET foreign_key_checks = 0", "ALTER TABLE a ADD INDEX a_b (b)"),
        ("mysql-foreign-key-checks-off",),
        MY,
    ),
    Case(
        "mysql-foreign-key-checks-off",
        ("SET @@GLOBAL.foreign_key_checks = 0", "SET @@GLOBAL.foreign_key_checks = 1"),
        ("mysql-foreign-key-checks-off",),
        MY,
    ),
    Case(
        "mysql-lock-tables",
        ("LOCK TABLES users WRITE", "UNLOCK TABLES"),
        ("mysql-lock-tables",),
        MY,
    ),
    Case("mysql-lock-tables", ("LOCK TABLES users READ",), ("mysql-lock-tables",), MY),
    Case("rename-table", ("RENAME TABLE users TO people",), ("rename-table",), MY),
    # A rule for every engine on MySQL 8.0: the column is added INSTANTly, nothing else.
    Case(
        "add-not-null-column-without-default",
        ("ALTER TABLE users ADD COLUMN age INT NOT NULL",),
        ("add-not-null-column-without-default",),
        MY,
        MYSQL_80,
    ),
    Case(
        "add-check",
        ("ALTER TABLE users ADD CHECK (age > 0)",),
        ("add-check",),
        MY,
        MARIADB_11,
    ),
)

NEGATIVE: tuple[Case, ...] = (
    Case("mysql-alter-copies", ("ALTER TABLE users ADD COLUMN nick TEXT",), dialects=MY),
    Case(
        "mysql-alter-copies",
        (
            "ALTER TABLE users MODIFY status ENUM('new', 'active', 'gone')",
            "ALTER TABLE users MODIFY name VARCHAR(60)",  # 240 bytes: the same length byte
            "ALTER TABLE users ALTER COLUMN age SET DEFAULT 18",
            "ALTER TABLE users RENAME COLUMN age TO years",
        ),
        dialects=MY,
        kwargs=MARIADB_USERS,
    ),
    Case(
        "mysql-alter-copies",
        ("CREATE TABLE pets (id INT, age INT)", "ALTER TABLE pets MODIFY age BIGINT"),
        dialects=MY,
    ),
    Case(
        "mysql-alter-copies",
        ("ALTER TABLE users CONVERT TO CHARACTER SET utf8mb4",),  # it already is, throughout
        dialects=MY,
        kwargs=MARIADB_USERS,
    ),
    Case(
        "mysql-alter-blocks-writes",
        ("ALTER TABLE users ADD INDEX users_age (age)", "CREATE INDEX users_nm ON users (name)"),
        dialects=MY,
    ),
    Case(
        "mysql-alter-rebuilds",
        ("ALTER TABLE users ADD COLUMN nick TEXT", "ALTER TABLE users DROP COLUMN nick"),
        dialects=MY,
        kwargs=MARIADB_11,
    ),
    Case(
        "mysql-alter-rebuilds",
        ("ALTER TABLE users ADD COLUMN nick TEXT FIRST",),
        dialects=MY,
        kwargs=MYSQL_80,
    ),
    Case(
        "mysql-alter-refused",
        ("ALTER TABLE users ADD COLUMN nick TEXT, ALGORITHM=INSTANT",),  # version unknown
        dialects=MY,
    ),
    Case(
        "mysql-alter-refused",
        ("ALTER TABLE users ADD COLUMN nick TEXT, ALGORITHM=INSTANT, LOCK=NONE",),
        dialects=MY,
        kwargs=MARIADB_11,
    ),
    Case(
        "mysql-not-atomic",
        ("ALTER TABLE users ADD COLUMN plan INT", "CREATE INDEX users_plan ON users (plan)"),
        dialects=MY,
    ),
    Case(
        "mysql-not-atomic",
        ("INSERT INTO plans (name) VALUES ('pro')", "ALTER TABLE users ADD COLUMN plan INT"),
        dialects=MY,
        kwargs={"transactional": False},
    ),
    Case(
        "mysql-not-atomic",
        ("CREATE TEMPORARY TABLE ids (id INT)", "INSERT INTO ids SELECT id FROM users"),
        dialects=MY,
    ),
    Case(
        "mysql-foreign-key-checks-off",
        (
            "SET SESSION foreign_key_checks = 0",
            "ALTER TABLE orders ADD CONSTRAINT orders_user FOREIGN KEY (user_id) "
            "REFERENCES users (id)",
            "SET @@session.foreign_key_checks = ON",
        ),
        dialects=MY,
    ),
    Case("mysql-lock-tables", ("UNLOCK TABLES",), dialects=MY),
    Case(
        "unparsed-sql",
        (
            "REPLACE INTO settings (name, value) VALUES ('a', 'b')",
            "GRANT SELECT ON shop.* TO 'reader'@'%'",
            "CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW SET NEW.c = 1",
            "ALTER DATABASE shop CHARACTER SET utf8mb4",
            "OPTIMIZE TABLE users",
            "RENAME TABLE a TO b",
            "CREATE FULLTEXT INDEX posts_body ON posts (body)",
            "CREATE INDEX users_age ON users (age) ALGORITHM=INPLACE LOCK=NONE",
            "ALTER TABLE users CONVERT TO CHARACTER SET utf8mb4",
        ),
        dialects=MY,
    ),
)
