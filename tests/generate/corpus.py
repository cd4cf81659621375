"""The round-trip corpus of ``migration_sql``: (BEFORE, AFTER) schemas as a table.

``SHARED`` cases run on every engine (their SQL is the same everywhere, or spelled per engine
by ``{int}``-style placeholders); ``OWN[engine]`` adds each engine's own objects. A case's
id names the change the up makes; its down is the reverse change.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    id: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    #: Engines the case does not apply to (a feature the engine lacks).
    skip: frozenset[str] = frozenset()


USERS = "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100) NOT NULL, score INTEGER)"
ORDERS = (
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, total NUMERIC(10,2), "
    "CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id))"
)
ORDERS_LOOSE = "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, total NUMERIC(10,2))"
INDEX = "CREATE INDEX users_email_idx ON users (email)"
VIEW = "CREATE VIEW rich AS SELECT id, email FROM users WHERE score > 100"
NO_DUCK = frozenset({"duckdb"})
SERVERS = frozenset({"duckdb", "sqlite"})


def _users(*extra: str, columns: str = "") -> str:
    body = "id INTEGER PRIMARY KEY, email VARCHAR(100) NOT NULL, score INTEGER" + columns
    return f"CREATE TABLE users ({', '.join([body, *extra])})"


SHARED: tuple[Case, ...] = (
    Case("create-table", (), (USERS,)),
    Case("create-tables-with-fk", (), (USERS, ORDERS)),
    Case("create-table-with-fk-to-existing", (USERS,), (USERS, ORDERS)),
    Case("add-column-nullable", (USERS,), (_users(columns=", nick VARCHAR(30)"),)),
    Case(
        "add-column-not-null-default",
        (USERS,),
        (_users(columns=", level INTEGER NOT NULL DEFAULT 1"),),
    ),
    Case(
        "add-column-string-default",
        (USERS,),
        (_users(columns=", tier VARCHAR(10) DEFAULT 'it''s'"),),
    ),
    Case("add-column-boolean", (USERS,), (_users(columns=", active BOOLEAN DEFAULT TRUE"),)),
    Case(
        "add-column-timestamp-now",
        (USERS,),
        (_users(columns=", seen TIMESTAMP DEFAULT CURRENT_TIMESTAMP"),),
    ),
    Case(
        "add-column-middle",
        ("CREATE TABLE users (id INTEGER PRIMARY KEY, score INTEGER)",),
        ("CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100), score INTEGER)",),
    ),
    Case(
        "drop-column-indexed",
        (USERS, INDEX),
        ("CREATE TABLE users (id INTEGER PRIMARY KEY, score INTEGER)",),
    ),
    Case(
        "change-type-widen",
        (USERS,),
        (_users(columns="").replace("score INTEGER", "score BIGINT"),),
    ),
    Case(
        "change-type-decimal",
        (ORDERS_LOOSE,),
        ("CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, total NUMERIC(12,3))",),
    ),
    Case(
        "set-not-null",
        (USERS,),
        (_users(columns="").replace("score INTEGER", "score INTEGER NOT NULL"),),
    ),
    Case(
        "add-default",
        (USERS,),
        (_users(columns="").replace("score INTEGER", "score INTEGER DEFAULT 0"),),
    ),
    Case(
        "change-default",
        ("CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100) NOT NULL DEFAULT 'a')",),
        ("CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100) NOT NULL DEFAULT 'b')",),
    ),
    Case(
        "null-and-default-at-once",
        (USERS,),
        (
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100) NOT NULL, "
            "score INTEGER NOT NULL DEFAULT 5)",
        ),
    ),
    Case(
        "add-primary-key",
        ("CREATE TABLE tags (name VARCHAR(20) NOT NULL, hits INTEGER)",),
        ("CREATE TABLE tags (name VARCHAR(20) NOT NULL PRIMARY KEY, hits INTEGER)",),
    ),
    Case(
        "change-primary-key",
        ("CREATE TABLE pairs (a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (a))",),
        ("CREATE TABLE pairs (a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (a, b))",),
    ),
    Case("add-unique", (USERS,), (_users("UNIQUE (email)"),)),
    Case("add-unique-composite", (USERS,), (_users("UNIQUE (email, score)"),)),
    Case("add-check", (USERS,), (_users("CONSTRAINT users_score_check CHECK (score >= 0)"),)),
    Case(
        "change-check",
        (_users("CONSTRAINT users_score_check CHECK (score >= 0)"),),
        (_users("CONSTRAINT users_score_check CHECK (score >= 10)"),),
    ),
    Case("add-foreign-key", (USERS, ORDERS_LOOSE), (USERS, ORDERS)),
    Case(
        "add-foreign-key-cascade",
        (USERS, ORDERS_LOOSE),
        (USERS, ORDERS.replace("(id))", "(id) ON DELETE CASCADE)")),
        NO_DUCK,
    ),
    Case(
        "composite-foreign-key",
        (
            "CREATE TABLE pairs (a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (a, b))",
            "CREATE TABLE refs (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER)",
        ),
        (
            "CREATE TABLE pairs (a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (a, b))",
            "CREATE TABLE refs (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, "
            "CONSTRAINT refs_a_b_fkey FOREIGN KEY (a, b) REFERENCES pairs (a, b))",
        ),
    ),
    Case(
        "alter-referenced-table",
        (USERS, ORDERS),
        (_users(columns=", nick VARCHAR(30) NOT NULL DEFAULT 'x'"), ORDERS),
    ),
    Case("create-index", (USERS,), (USERS, INDEX)),
    Case(
        "create-unique-index",
        (USERS,),
        (USERS, "CREATE UNIQUE INDEX users_email_uq ON users (email)"),
    ),
    Case(
        "create-composite-index",
        (USERS,),
        (USERS, "CREATE INDEX users_pair ON users (score, email)"),
    ),
    Case(
        "change-index",
        (USERS, INDEX),
        (USERS, "CREATE INDEX users_email_idx ON users (email, score)"),
    ),
    Case(
        "index-on-referencing-table",
        (USERS, ORDERS),
        (USERS, ORDERS, "CREATE INDEX orders_total ON orders (total)"),
    ),
    Case("create-view", (USERS,), (USERS, VIEW)),
    Case(
        "change-view",
        (USERS, VIEW),
        (USERS, "CREATE VIEW rich AS SELECT id FROM users WHERE score > 500"),
    ),
    Case(
        "view-on-view", (USERS, VIEW), (USERS, VIEW, "CREATE VIEW rich_ids AS SELECT id FROM rich")
    ),
    Case(
        "view-over-altered-table",
        (USERS, VIEW),
        (
            _users(columns="").replace("score INTEGER", "score BIGINT"),
            VIEW,
        ),
    ),
    Case(
        "quoted-names",
        (),
        ('CREATE TABLE "Order Items" (id INTEGER PRIMARY KEY, "order" INTEGER, "Qty" INTEGER)',),
    ),
    Case("table-and-index-and-view-at-once", (), (USERS, ORDERS, INDEX, VIEW)),
    Case(
        "three-table-chain",
        (),
        (
            USERS,
            ORDERS,
            "CREATE TABLE order_lines (id INTEGER PRIMARY KEY, order_id INTEGER, "
            "CONSTRAINT order_lines_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id))",
        ),
    ),
    Case(
        "move-foreign-key",
        (USERS, ORDERS, "CREATE TABLE shops (id INTEGER PRIMARY KEY)"),
        (
            USERS,
            "CREATE TABLE shops (id INTEGER PRIMARY KEY)",
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, total NUMERIC(10,2), "
            "CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES shops (id))",
        ),
    ),
    Case(
        "identical-but-one-table",
        (USERS, ORDERS, INDEX),
        (USERS, ORDERS, INDEX, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"),
    ),
)

_CYCLE = (
    "CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER, "
    "CONSTRAINT a_b_id_fkey FOREIGN KEY (b_id) REFERENCES b (id))",
    "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER, "
    "CONSTRAINT b_a_id_fkey FOREIGN KEY (a_id) REFERENCES a (id))",
)

OWN: dict[str, tuple[Case, ...]] = {
    "postgresql": (
        Case(
            "fk-cycle",
            (),
            (
                "CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER)",
                "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id))",
                "ALTER TABLE a ADD CONSTRAINT a_b_id_fkey FOREIGN KEY (b_id) REFERENCES b (id)",
            ),
        ),
        Case(
            "desc-index", (USERS,), (USERS, "CREATE INDEX users_score_desc ON users (score DESC)")
        ),
        Case(
            "expression-index",
            (USERS,),
            (USERS, "CREATE INDEX users_lower ON users (lower(email))"),
        ),
        Case(
            "partial-index",
            (USERS,),
            (USERS, "CREATE INDEX users_top ON users (score) WHERE score > 10"),
        ),
        Case(
            "hash-index", (USERS,), (USERS, "CREATE INDEX users_hash ON users USING hash (email)")
        ),
        Case("enum-type", (), ("CREATE TYPE mood AS ENUM ('sad', 'ok')",)),
        Case(
            "enum-column",
            ("CREATE TYPE mood AS ENUM ('sad', 'ok')", USERS),
            ("CREATE TYPE mood AS ENUM ('sad', 'ok')", _users(columns=", mood mood DEFAULT 'ok'")),
        ),
        Case(
            "enum-add-value",
            ("CREATE TYPE mood AS ENUM ('sad', 'ok')", _users(columns=", mood mood DEFAULT 'ok'")),
            (
                "CREATE TYPE mood AS ENUM ('sad', 'meh', 'ok', 'happy')",
                _users(columns=", mood mood DEFAULT 'ok'"),
            ),
        ),
        Case("sequence", (), ("CREATE SEQUENCE tickets START 100 INCREMENT 5",)),
        Case(
            "sequence-change",
            ("CREATE SEQUENCE tickets START 100 INCREMENT 5",),
            ("CREATE SEQUENCE tickets START 100 INCREMENT 10 MAXVALUE 9000 CYCLE",),
        ),
        Case(
            "function",
            (),
            ("CREATE FUNCTION add1(a integer) RETURNS integer LANGUAGE sql AS $$ SELECT a + 1 $$",),
        ),
        Case(
            "function-change",
            ("CREATE FUNCTION add1(a integer) RETURNS integer LANGUAGE sql AS $$ SELECT a + 1 $$",),
            ("CREATE FUNCTION add1(a integer) RETURNS integer LANGUAGE sql AS $$ SELECT a + 2 $$",),
        ),
        Case(
            "trigger",
            (USERS,),
            (
                USERS,
                "CREATE FUNCTION guard() RETURNS trigger LANGUAGE plpgsql "
                "AS $$ BEGIN NEW.score := coalesce(NEW.score, 0); RETURN NEW; END $$",
                "CREATE TRIGGER users_guard BEFORE INSERT ON users FOR EACH ROW "
                "EXECUTE FUNCTION guard()",
            ),
        ),
        Case("domain", (), ("CREATE DOMAIN positive AS integer CHECK (VALUE > 0)",)),
        Case("composite-type", (), ("CREATE TYPE pair AS (a integer, b text)",)),
        Case(
            "materialized-view",
            (USERS,),
            (USERS, "CREATE MATERIALIZED VIEW top AS SELECT id FROM users WHERE score > 1"),
        ),
        Case("serial-column", (), ("CREATE TABLE jobs (id serial PRIMARY KEY, name text)",)),
        Case(
            "identity-column",
            (),
            ("CREATE TABLE jobs (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)",),
        ),
        Case(
            "generated-column",
            (),
            (
                "CREATE TABLE boxes (w integer, h integer, "
                "area integer GENERATED ALWAYS AS (w * h) STORED)",
            ),
        ),
        Case("type-text-to-int", ("CREATE TABLE t (v text)",), ("CREATE TABLE t (v integer)",)),
        Case(
            "array-and-jsonb", (USERS,), (_users(columns=", tags text[], doc jsonb DEFAULT '{}'"),)
        ),
    ),
    "mysql": (
        Case(
            "fk-cycle",
            (),
            (
                "CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER)",
                "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER, "
                "CONSTRAINT b_a_id_fkey FOREIGN KEY (a_id) REFERENCES a (id))",
                "ALTER TABLE a ADD CONSTRAINT a_b_id_fkey FOREIGN KEY (b_id) REFERENCES b (id)",
            ),
        ),
        Case("enum-column", (USERS,), (_users(columns=", mood ENUM('sad','ok') DEFAULT 'ok'"),)),
        Case(
            "enum-add-value",
            (_users(columns=", mood ENUM('sad','ok') DEFAULT 'ok'"),),
            (_users(columns=", mood ENUM('sad','meh','ok') DEFAULT 'ok'"),),
        ),
        Case(
            "desc-index", (USERS,), (USERS, "CREATE INDEX users_score_desc ON users (score DESC)")
        ),
        Case(
            "prefix-index", (USERS,), (USERS, "CREATE INDEX users_email_pre ON users (email(10))")
        ),
        Case(
            "fulltext-index",
            ("CREATE TABLE docs (id INT PRIMARY KEY, body TEXT)",),
            (
                "CREATE TABLE docs (id INT PRIMARY KEY, body TEXT)",
                "CREATE FULLTEXT INDEX docs_body ON docs (body)",
            ),
        ),
        Case(
            "auto-increment",
            (),
            ("CREATE TABLE jobs (id INT AUTO_INCREMENT PRIMARY KEY, name TEXT)",),
        ),
        Case(
            "on-update",
            (),
            (
                "CREATE TABLE jobs (id INT PRIMARY KEY, at TIMESTAMP NULL "
                "DEFAULT CURRENT_TIMESTAMP "
                "ON UPDATE CURRENT_TIMESTAMP)",
            ),
        ),
        Case(
            "function", (), ("CREATE FUNCTION add1(a INT) RETURNS INT DETERMINISTIC RETURN a + 1",)
        ),
        Case(
            "procedure",
            (USERS,),
            (USERS, "CREATE PROCEDURE bump(IN n INT) BEGIN UPDATE users SET score = n; END"),
        ),
        Case(
            "trigger",
            (USERS,),
            (
                USERS,
                "CREATE TRIGGER users_guard BEFORE INSERT ON users FOR EACH ROW "
                "SET NEW.score = COALESCE(NEW.score, 0)",
            ),
        ),
        Case(
            "event",
            (USERS,),
            (
                USERS,
                "CREATE EVENT purge_users ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' "
                "DO DELETE FROM users WHERE score = 0",
            ),
        ),
        Case("text-to-int", ("CREATE TABLE t (v VARCHAR(10))",), ("CREATE TABLE t (v INT)",)),
    ),
    "sqlite": (
        Case("fk-cycle", (), _CYCLE),
        Case(
            "desc-index", (USERS,), (USERS, "CREATE INDEX users_score_desc ON users (score DESC)")
        ),
        Case(
            "expression-index",
            (USERS,),
            (USERS, "CREATE INDEX users_lower ON users (lower(email))"),
        ),
        Case(
            "partial-index",
            (USERS,),
            (USERS, "CREATE INDEX users_top ON users (score) WHERE score > 10"),
        ),
        Case(
            "trigger",
            (USERS,),
            (
                USERS,
                "CREATE TRIGGER users_guard AFTER INSERT ON users BEGIN "
                "UPDATE users SET score = 0 WHERE id = NEW.id AND score IS NULL; END",
            ),
        ),
        Case(
            "trigger-on-rebuilt-table",
            (
                USERS,
                "CREATE TRIGGER users_guard AFTER INSERT ON users BEGIN "
                "UPDATE users SET score = 0 WHERE id = NEW.id AND score IS NULL; END",
            ),
            (
                _users("CHECK (score >= 0)"),
                "CREATE TRIGGER users_guard AFTER INSERT ON users BEGIN "
                "UPDATE users SET score = 0 WHERE id = NEW.id AND score IS NULL; END",
            ),
        ),
        Case("expression-default", (USERS,), (_users(columns=", code TEXT DEFAULT (lower('X'))"),)),
    ),
    "duckdb": (
        Case("sequence", (), ("CREATE SEQUENCE tickets START 100 INCREMENT BY 5",)),
        Case(
            "sequence-default",
            (),
            (
                "CREATE SEQUENCE ids",
                "CREATE TABLE jobs (id INTEGER DEFAULT nextval('ids'), name VARCHAR)",
            ),
        ),
        Case("enum-type", (), ("CREATE TYPE mood AS ENUM ('sad', 'ok')",)),
        Case(
            "enum-column",
            ("CREATE TYPE mood AS ENUM ('sad', 'ok')", USERS),
            ("CREATE TYPE mood AS ENUM ('sad', 'ok')", _users(columns=", mood mood")),
        ),
        Case("macro", (), ("CREATE MACRO add1(x) AS x + 1",)),
        Case(
            "table-macro",
            (USERS,),
            (USERS, "CREATE MACRO top_users(n) AS TABLE SELECT id FROM users LIMIT n"),
        ),
        Case(
            "expression-index",
            (USERS,),
            (USERS, "CREATE INDEX users_lower ON users (lower(email))"),
        ),
        Case(
            "list-and-struct",
            (USERS,),
            (_users(columns=", tags VARCHAR[], pos STRUCT(x INTEGER, y INTEGER)"),),
        ),
        Case(
            "rebuild-parent-with-children",
            (USERS, ORDERS, INDEX),
            (_users(columns=", nick VARCHAR NOT NULL DEFAULT 'x'"), ORDERS, INDEX),
        ),
    ),
}


def cases(engine: str) -> list[Case]:
    """The corpus of ``engine``: the shared cases it can run, then its own."""
    return [c for c in SHARED if engine not in c.skip] + list(OWN[engine])
