"""Cases for duckdb's own rules (dialect ``duckdb``).

Every case is written against :data:`SCHEMA`, whose facts are :data:`FACTS`:
tests/risk/test_duckdb_refusals.py builds that database in real DuckDB, checks that lamina
reads exactly these facts from it, and runs each case there the way lamina runs a migration,
so a positive case must really fail (at the statement its finding names) and a negative case
must really run.
"""

from __future__ import annotations

from lamina.risk import LiveFacts, TableFacts
from support.risk_cases import Case

DUCKDB = ("duckdb",)

#: The database every case runs on: users is referenced by orders' foreign key, events has an
#: index, notes has neither.
SCHEMA = (
    "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR, email VARCHAR, age INTEGER)",
    "CREATE TABLE orders (id INTEGER, user_id INTEGER REFERENCES users (id), amount INTEGER, "
    "note VARCHAR)",
    "CREATE TABLE events (id INTEGER, kind VARCHAR, payload VARCHAR)",
    "CREATE INDEX events_kind ON events (kind)",
    "CREATE TABLE notes (id INTEGER, body VARCHAR, score INTEGER)",
    "INSERT INTO users VALUES (1, 'ada', 'ada@example.org', 36), (2, 'bob', NULL, NULL)",
    "INSERT INTO orders VALUES (1, 1, 100, 'first'), (2, 2, 50, NULL)",
    "INSERT INTO events VALUES (1, 'signup', '{}'), (2, 'login', '{}')",
    "INSERT INTO notes VALUES (1, 'hello', 3), (2, 'world', 5)",
)

#: What lamina reads from :data:`SCHEMA` (the refusal tests check it against the real file).
FACTS = LiveFacts(
    {
        "users": TableFacts(referenced_by=("orders",)),
        "events": TableFacts(indexes=("events_kind",)),
    }
)
LIVE = {"facts": FACTS}

UNSUPPORTED = "duckdb-unsupported"
INDEXED = "duckdb-alter-indexed-table"
REFERENCED = "duckdb-alter-referenced-table"
NOT_IN_TRANSACTION = "duckdb-not-in-transaction"

#: Rebuilding events the way DuckDB allows: the index is created after the rename.
REBUILD_EVENTS = (
    "CREATE TABLE events_new (id INTEGER, kind VARCHAR NOT NULL, payload VARCHAR)",
    "INSERT INTO events_new SELECT id, kind, payload FROM events",
    "DROP TABLE events",
    "ALTER TABLE events_new RENAME TO events",
    "CREATE INDEX events_kind ON events (kind)",
)


def _case(rule: str, *sql: str, fires: tuple[str, ...] = (), **kwargs: object) -> Case:
    return Case(rule, sql, fires or (rule,), DUCKDB, {**LIVE, **kwargs})


def _clean(rule: str, *sql: str, **kwargs: object) -> Case:
    return Case(rule, sql, (), DUCKDB, {**LIVE, **kwargs})


POSITIVE: tuple[Case, ...] = (
    _case(UNSUPPORTED, "ALTER TABLE notes ADD CONSTRAINT notes_score_positive CHECK (score > 0)"),
    _case(UNSUPPORTED, "ALTER TABLE notes ADD CHECK (score > 0)"),
    _case(UNSUPPORTED, "ALTER TABLE notes ADD FOREIGN KEY (id) REFERENCES users (id)"),
    _case(
        UNSUPPORTED,
        "ALTER TABLE notes ADD CONSTRAINT notes_user_fk FOREIGN KEY (id) REFERENCES users (id)",
    ),
    _case(UNSUPPORTED, "ALTER TABLE orders DROP CONSTRAINT orders_user_id_id_fkey"),
    _case(UNSUPPORTED, "ALTER TABLE notes ADD COLUMN uid INTEGER PRIMARY KEY"),
    _case(UNSUPPORTED, "ALTER TABLE notes ADD COLUMN rank INTEGER CHECK (rank > 0)"),
    _case(UNSUPPORTED, "ALTER TABLE notes ADD COLUMN user_id INTEGER REFERENCES users (id)"),
    _case(
        UNSUPPORTED, "ALTER TABLE notes ADD COLUMN twice INTEGER GENERATED ALWAYS AS (score * 2)"
    ),
    _case(UNSUPPORTED, "ALTER TABLE notes ADD COLUMN tag VARCHAR, ADD COLUMN rank INTEGER"),
    _case(
        INDEXED,
        "ALTER TABLE events RENAME COLUMN payload TO body",
        fires=(INDEXED, "rename-column"),
    ),
    _case(INDEXED, "ALTER TABLE events DROP COLUMN payload", fires=("drop-column", INDEXED)),
    _case(
        INDEXED,
        "ALTER TABLE events ALTER COLUMN id TYPE BIGINT",
        fires=(INDEXED, "column-type-change"),
    ),
    _case(INDEXED, "ALTER TABLE events RENAME TO activity", fires=(INDEXED, "rename-table")),
    _case(INDEXED, "ALTER TABLE events ADD COLUMN seen BOOLEAN NOT NULL DEFAULT false"),
    # An index the migration creates counts too, from the statement after it.
    _case(
        INDEXED,
        "CREATE INDEX notes_body ON notes (body)",
        "ALTER TABLE notes RENAME COLUMN score TO points",
        fires=(INDEXED, "rename-column"),
    ),
    # The index is gone, but DuckDB still refuses its column in the same transaction (a
    # warning: lamina cannot see which columns the live index covered).
    _case(
        INDEXED,
        "DROP INDEX events_kind",
        "ALTER TABLE events DROP COLUMN kind",
        fires=("drop-column", INDEXED),
    ),
    _case(
        REFERENCED,
        "ALTER TABLE users RENAME COLUMN name TO full_name",
        fires=(REFERENCED, "rename-column"),
    ),
    _case(REFERENCED, "ALTER TABLE users DROP COLUMN age", fires=("drop-column", REFERENCED)),
    _case(
        REFERENCED,
        "ALTER TABLE users ALTER COLUMN age TYPE BIGINT",
        fires=(REFERENCED, "column-type-change"),
    ),
    _case(
        REFERENCED,
        "ALTER TABLE users ALTER COLUMN name SET NOT NULL",
        fires=(REFERENCED, "set-not-null"),
    ),
    _case(REFERENCED, "ALTER TABLE users ALTER COLUMN name DROP NOT NULL"),
    _case(REFERENCED, "ALTER TABLE users RENAME TO people", fires=(REFERENCED, "rename-table")),
    _case(REFERENCED, "ALTER TABLE users ADD COLUMN tenant INTEGER NOT NULL DEFAULT 0"),
    _case(
        REFERENCED,
        "ALTER TABLE users ADD UNIQUE (email)",
        fires=(REFERENCED, "add-unique-constraint"),
    ),
    _case(REFERENCED, "DROP TABLE users", fires=("drop-table", REFERENCED)),
    # A foreign key the migration adds counts too, from the statement after it.
    _case(
        REFERENCED,
        "ALTER TABLE notes ADD PRIMARY KEY (id)",
        "CREATE TABLE pets (id INTEGER, note_id INTEGER REFERENCES notes (id))",
        "ALTER TABLE notes RENAME COLUMN body TO text",
        fires=("change-primary-key", REFERENCED, "rename-column"),
    ),
    _case(NOT_IN_TRANSACTION, "CHECKPOINT"),
    _case(NOT_IN_TRANSACTION, "CREATE TABLE pets (id INTEGER)", "FORCE CHECKPOINT"),
)

NEGATIVE: tuple[Case, ...] = (
    _clean(UNSUPPORTED, "ALTER TABLE notes ADD CONSTRAINT notes_id_key UNIQUE (id)"),
    _clean(UNSUPPORTED, "ALTER TABLE notes ADD PRIMARY KEY (id)"),
    _clean(UNSUPPORTED, "ALTER TABLE notes ADD COLUMN tag VARCHAR UNIQUE"),
    _clean(UNSUPPORTED, "ALTER TABLE notes ADD COLUMN created TIMESTAMP DEFAULT now()"),
    _clean(UNSUPPORTED, "ALTER TABLE orders DROP COLUMN note"),
    _clean(
        UNSUPPORTED,
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, note_id INTEGER REFERENCES users (id), "
        "label VARCHAR CHECK (label <> ''))",
    ),
    _clean(INDEXED, "ALTER TABLE events ADD COLUMN seen BOOLEAN"),
    _clean(INDEXED, "ALTER TABLE events ADD COLUMN seen BOOLEAN DEFAULT false"),
    _clean(INDEXED, "ALTER TABLE events ALTER COLUMN payload SET DEFAULT '{}'"),
    _clean(INDEXED, "ALTER TABLE events ALTER COLUMN payload DROP DEFAULT"),
    _clean(INDEXED, "ALTER TABLE notes RENAME COLUMN score TO points"),
    # lamina's advice: drop the index, alter, create the index again.
    _clean(
        INDEXED,
        "DROP INDEX events_kind",
        "ALTER TABLE events RENAME COLUMN payload TO body",
        "CREATE INDEX events_kind ON events (kind)",
    ),
    _clean(
        INDEXED,
        "DROP INDEX events_kind",
        "ALTER TABLE events DROP COLUMN kind",
        transactional=False,
    ),
    _clean(INDEXED, *REBUILD_EVENTS),
    _clean(REFERENCED, "ALTER TABLE users ADD COLUMN nick VARCHAR"),
    _clean(REFERENCED, "ALTER TABLE users ALTER COLUMN age SET DEFAULT 0"),
    _clean(REFERENCED, "ALTER TABLE orders RENAME COLUMN note TO remark"),
    _clean(REFERENCED, "ALTER TABLE orders DROP COLUMN note"),
    _clean(REFERENCED, "DROP TABLE orders"),
    _clean(NOT_IN_TRANSACTION, "CHECKPOINT", transactional=False),
    _clean(
        NOT_IN_TRANSACTION,
        "CREATE TABLE pets (id INTEGER)",
        "FORCE CHECKPOINT",
        transactional=False,
    ),
    # Harmless statements sqlglot reads only as commands: understood, not unparsed-sql.
    _clean(
        "unparsed-sql", "LOAD json", "RESET threads", "VACUUM", "CREATE TYPE mood AS ENUM ('a')"
    ),
)
