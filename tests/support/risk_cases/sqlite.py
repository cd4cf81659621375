"""Cases for sqlite's own rules (dialect ``sqlite``).

Every case is written against :data:`SCHEMA`: tests/risk/test_sqlite_refusals.py builds that
database in real SQLite and runs each case there the way lamina runs a migration, so a positive
case must really fail (at the statement its finding names) and a negative case must really run.
"""

from __future__ import annotations

from lamina.risk import LiveFacts, TableFacts
from support.risk_cases import Case

SQLITE = ("sqlite",)

#: The database every case runs on: a parent, a child whose foreign key cascades, an index, an
#: empty table, and a view and a trigger that name the parent.
SCHEMA = (
    "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT, age INTEGER)",
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, "
    "user_id INTEGER REFERENCES users (id) ON DELETE CASCADE, amount INTEGER)",
    "CREATE INDEX orders_user ON orders (user_id)",
    "CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT)",
    "INSERT INTO users VALUES (1, 'ada', 'ada@example.org', 36), (2, 'bob', NULL, NULL)",
    "INSERT INTO orders VALUES (1, 1, 100), (2, 2, 50)",
    "CREATE VIEW user_names AS SELECT id, name FROM users",
    "CREATE TRIGGER orders_touch_user AFTER UPDATE ON orders BEGIN "
    "UPDATE users SET name = name WHERE id = new.user_id; END",
)

#: What lamina reads from :data:`SCHEMA` (the refusal tests check it against the real file),
#: without the version: offline, the rules assume a SQLite that has every ALTER TABLE form.
FACTS = LiveFacts(
    {"orders": TableFacts(rows=2), "tags": TableFacts(rows=0), "users": TableFacts(rows=2)}
)
LIVE = {"facts": FACTS}


def _on(version: tuple[int, ...]) -> dict[str, LiveFacts]:
    return {"facts": LiveFacts({}, version)}


#: The rebuild sqlite-unsupported advises, of users: foreign keys off around it, and the legacy
#: rename, so the view and the trigger that name users do not stop it.
REBUILD_USERS = (
    "PRAGMA foreign_keys = OFF",
    "PRAGMA legacy_alter_table = ON",
    "CREATE TABLE new_users (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '', "
    "email TEXT UNIQUE, age INTEGER CHECK (age >= 0))",
    "INSERT INTO new_users (id, name, email, age) SELECT id, name, email, age FROM users",
    "DROP TABLE users",
    "ALTER TABLE new_users RENAME TO users",
    "PRAGMA legacy_alter_table = OFF",
    "PRAGMA foreign_key_check",
    "PRAGMA foreign_keys = ON",
)

UNSUPPORTED = "sqlite-unsupported"
_ONLY = (UNSUPPORTED,)


#: ADD COLUMN forms SQLite refuses only on a table with rows: a danger when the live database
#: says the table has some, a warning when nothing is known.
ON_ROWS = (
    "ALTER TABLE users ADD COLUMN created_at TEXT DEFAULT CURRENT_TIMESTAMP",
    "ALTER TABLE users ADD COLUMN created_at TEXT DEFAULT (datetime('now'))",
    "ALTER TABLE users ADD COLUMN score INTEGER DEFAULT (1 + 1)",
    "ALTER TABLE users ADD COLUMN tenant INTEGER NOT NULL",
    "ALTER TABLE users ADD COLUMN tenant INTEGER NOT NULL DEFAULT NULL",
    "ALTER TABLE users ADD COLUMN name_length INTEGER AS (length(name)) STORED",
)


def _refused(*sql: str, fires: tuple[str, ...] = _ONLY, **kwargs: object) -> Case:
    return Case(UNSUPPORTED, sql, fires, SQLITE, dict(kwargs))


def _not_in_transaction(*sql: str) -> Case:
    rule = "sqlite-not-in-transaction"
    return Case(rule, sql, (rule,), SQLITE)


POSITIVE: tuple[Case, ...] = (
    _refused("ALTER TABLE users ALTER COLUMN age TYPE BIGINT"),
    _refused("ALTER TABLE users ALTER COLUMN email SET NOT NULL"),
    _refused("ALTER TABLE users ALTER COLUMN email DROP NOT NULL"),
    _refused("ALTER TABLE users ALTER COLUMN age SET DEFAULT 0"),
    _refused("ALTER TABLE users ALTER COLUMN age DROP DEFAULT"),
    _refused("ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0)"),
    _refused("ALTER TABLE orders ADD CHECK (amount > 0)"),
    _refused(
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)",
        fires=("add-unique-constraint", UNSUPPORTED),
    ),
    _refused("ALTER TABLE users ADD PRIMARY KEY (id)"),
    _refused("ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id)"),
    _refused(
        "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) "
        "REFERENCES users (id)"
    ),
    _refused("ALTER TABLE users DROP CONSTRAINT users_email_key"),
    _refused("ALTER TABLE users ADD COLUMN nick TEXT UNIQUE"),
    _refused("ALTER TABLE users ADD COLUMN uid INTEGER PRIMARY KEY"),
    *(_refused(sql, **kwargs) for sql in ON_ROWS for kwargs in (LIVE, {})),
    _refused("ALTER TABLE users ADD COLUMN nick TEXT, ADD COLUMN bio TEXT"),
    _refused("TRUNCATE TABLE orders"),
    # An older SQLite, known from the live database: the SQLite installed here has both forms,
    # so the refusal tests cannot run these (sqlite.org/changes.html dates them).
    _refused(
        "ALTER TABLE users DROP COLUMN age", fires=("drop-column", UNSUPPORTED), **_on((3, 34, 1))
    ),
    _refused(
        "ALTER TABLE users RENAME COLUMN name TO full_name",
        fires=("rename-column", UNSUPPORTED),
        **_on((3, 24, 0)),
    ),
    _not_in_transaction("VACUUM"),
    _not_in_transaction("PRAGMA journal_mode = WAL"),
    _not_in_transaction("PRAGMA main.synchronous = OFF"),
    _not_in_transaction("PRAGMA wal_checkpoint(TRUNCATE)"),
)

NEGATIVE: tuple[Case, ...] = (
    # SQLite checks these against the rows: a table made a moment ago, or known to be empty.
    Case(
        UNSUPPORTED,
        ("CREATE TABLE pets (id INTEGER)", "ALTER TABLE pets ADD COLUMN age INTEGER NOT NULL"),
        dialects=SQLITE,
    ),
    Case(
        UNSUPPORTED,
        (
            "ALTER TABLE tags ADD COLUMN created_at TEXT DEFAULT CURRENT_TIMESTAMP",
            "ALTER TABLE tags ADD COLUMN tenant INTEGER NOT NULL",
        ),
        dialects=SQLITE,
        kwargs=LIVE,
    ),
    Case(UNSUPPORTED, ("ALTER TABLE users ADD COLUMN nick TEXT",), dialects=SQLITE),
    Case(UNSUPPORTED, ("ALTER TABLE users ADD nick TEXT DEFAULT 'none'",), dialects=SQLITE),
    Case(
        UNSUPPORTED,
        ("ALTER TABLE users ADD COLUMN score INTEGER NOT NULL DEFAULT 0",),
        dialects=SQLITE,
    ),
    Case(
        UNSUPPORTED, ("ALTER TABLE users ADD COLUMN score INTEGER DEFAULT (-1)",), dialects=SQLITE
    ),
    Case(
        UNSUPPORTED,
        ("ALTER TABLE users ADD COLUMN status TEXT DEFAULT 'new' CHECK (status <> '')",),
        dialects=SQLITE,
    ),
    Case(
        UNSUPPORTED,
        ("ALTER TABLE orders ADD COLUMN parent_id INTEGER REFERENCES orders (id)",),
        dialects=SQLITE,
    ),
    Case(
        UNSUPPORTED,
        ("ALTER TABLE users ADD COLUMN name_length INTEGER AS (length(name)) NOT NULL",),
        dialects=SQLITE,
    ),
    Case(UNSUPPORTED, ("ALTER TABLE users DROP COLUMN age",), dialects=SQLITE),
    Case(
        UNSUPPORTED, ("ALTER TABLE users DROP COLUMN age",), dialects=SQLITE, kwargs=_on((3, 35, 0))
    ),
    Case(UNSUPPORTED, ("ALTER TABLE users RENAME COLUMN name TO full_name",), dialects=SQLITE),
    Case(
        UNSUPPORTED,
        ("ALTER TABLE users RENAME name TO full_name",),
        dialects=SQLITE,
        kwargs=_on((3, 25, 0)),
    ),
    Case(UNSUPPORTED, ("ALTER TABLE orders RENAME TO purchases",), dialects=SQLITE),
    Case(UNSUPPORTED, ("CREATE UNIQUE INDEX users_email_key ON users (email)",), dialects=SQLITE),
    Case(UNSUPPORTED, REBUILD_USERS, dialects=SQLITE),
    Case(UNSUPPORTED, ("DELETE FROM orders",), dialects=SQLITE),
    Case(
        "sqlite-not-in-transaction",
        ("VACUUM",),
        dialects=SQLITE,
        kwargs={"transactional": False},
    ),
    Case(
        "sqlite-not-in-transaction",
        ("PRAGMA journal_mode = WAL", "PRAGMA wal_checkpoint(TRUNCATE)"),
        dialects=SQLITE,
        kwargs={"transactional": False},
    ),
    Case(
        "sqlite-not-in-transaction",
        ("PRAGMA journal_mode", "PRAGMA foreign_keys = OFF", "REINDEX", "ANALYZE"),
        dialects=SQLITE,
    ),
    Case("sqlite-not-in-transaction", REBUILD_USERS, dialects=SQLITE),
)
