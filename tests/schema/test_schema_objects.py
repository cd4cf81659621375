"""Whole-schema coverage on every engine: routines, triggers, types, sequences, events, macros,
other schemas; duplicate unique keys, column-order notes and frozen creation times."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path

import pytest

from lamina import Lamina
from lamina.config import Settings
from lamina.engines import open_backend
from lamina.engines.base import Backend
from lamina.history import History
from lamina.schema import SchemaObject, Snapshot, diff, snapshot
from lamina.urls import parse_url

# -- one statement list per engine, with the objects it must create -------------------------
OBJECTS: dict[str, tuple[str, ...]] = {
    "postgresql": (
        "CREATE TABLE items (id integer PRIMARY KEY, qty integer)",
        "CREATE FUNCTION add(a integer, b text) RETURNS integer LANGUAGE sql "
        "AS $$ SELECT a + length(b) $$",
        "CREATE FUNCTION add(a integer) RETURNS integer LANGUAGE sql AS $$ SELECT a $$",
        "CREATE PROCEDURE bump(n integer) LANGUAGE plpgsql "
        "AS $$ BEGIN RAISE NOTICE 'Bumped %', n; END $$",
        "CREATE FUNCTION items_guard() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN NEW.qty := coalesce(NEW.qty, 0); RETURN NEW; END $$",
        "CREATE TRIGGER items_qty BEFORE INSERT ON items FOR EACH ROW "
        "EXECUTE FUNCTION items_guard()",
        "CREATE SEQUENCE tickets START 100 INCREMENT 5 MAXVALUE 100000 CYCLE",
        "CREATE SEQUENCE owned_by_nothing AS integer",
        "CREATE TABLE serials (id serial PRIMARY KEY)",  # its sequence is the column's
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
        "CREATE DOMAIN positive AS integer NOT NULL DEFAULT 1 CHECK (VALUE > 0)",
        "CREATE TYPE pair AS (a integer, b text)",
        "CREATE MATERIALIZED VIEW item_totals AS SELECT id, qty FROM items WHERE qty > 0",
    ),
    "mysql": (
        "CREATE TABLE items (id INT PRIMARY KEY, qty INT)",
        "CREATE FUNCTION add_len(a INT, b VARCHAR(10)) RETURNS INT DETERMINISTIC "
        "RETURN a + CHAR_LENGTH(b)",
        "CREATE PROCEDURE bump(IN n INT, OUT m INT) BEGIN SET m = n + 1; END",
        "CREATE TRIGGER items_qty BEFORE INSERT ON items FOR EACH ROW "
        "SET NEW.qty = COALESCE(NEW.qty, 0)",
        # A fixed STARTS: without one the event starts (and reads) as its creation time.
        "CREATE EVENT purge_items ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' "
        "DO DELETE FROM items WHERE qty = 0",
    ),
    "sqlite": (
        "CREATE TABLE items (id INTEGER PRIMARY KEY CHECK (id > 0), qty INTEGER, "
        "note TEXT DEFAULT 'check (x)', CONSTRAINT qty_range CHECK (qty BETWEEN 0 AND 99))",
        "CREATE TRIGGER items_qty AFTER INSERT ON items BEGIN "
        "UPDATE items SET qty = 0 WHERE id = NEW.id AND qty IS NULL; END",
    ),
    "duckdb": (
        "CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER)",
        "CREATE SEQUENCE tickets START 100 INCREMENT BY 5 MAXVALUE 100000 CYCLE",
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
        "CREATE MACRO add1(x) AS x + 1",
        "CREATE MACRO first_items(n) AS TABLE SELECT id FROM items LIMIT n",
    ),
}

#: (kind, name) -> definition (None: only its presence is checked).
EXPECTED: dict[str, dict[tuple[str, str], str | None]] = {
    "postgresql": {
        ("function", "add(integer, text)"): None,
        ("function", "add(integer)"): None,
        ("procedure", "bump(integer)"): None,
        ("function", "items_guard()"): None,
        ("trigger", "items_qty on items"): "create trigger items_qty before insert on items "
        "for each row execute function items_guard()",
        ("sequence", "tickets"): "as bigint start 100 increment 5 minvalue 1 maxvalue 100000 cycle",
        ("sequence", "owned_by_nothing"): "as integer start 1 increment 1 minvalue 1 "
        "maxvalue 2147483647 no cycle",
        ("type", "mood"): "enum ('sad', 'ok', 'happy')",
        ("domain", "positive"): "integer not null default 1 check (value > 0)",
        ("type", "pair"): "(a integer, b text)",
        ("materialized view", "item_totals"): "select items.id, items.qty from items "
        "where items.qty > 0",
        ("extension", "plpgsql"): None,
    },
    "mysql": {
        ("function", "add_len"): "create function add_len(a int, b varchar(10)) returns int "
        "deterministic contains sql sql security definer return a + char_length(b)",
        ("procedure", "bump"): "create procedure bump(in n int, out m int) not deterministic "
        "contains sql sql security definer begin set m = n + 1; end",
        ("trigger", "items_qty on items"): "create trigger items_qty before insert on items "
        "for each row set new.qty = coalesce(new.qty, 0)",
        ("event", "purge_items"): "create event purge_items on schedule every 1 day "
        "starts '2030-01-01 00:00:00' on completion not preserve enabled "
        "do delete from items where qty = 0",
    },
    "sqlite": {
        ("trigger", "items_qty on items"): "create trigger items_qty after insert on items "
        "begin update items set qty = 0 where id = new.id and qty is null; end",
    },
    "duckdb": {
        ("sequence", "tickets"): "start 100 increment 5 minvalue 1 maxvalue 100000 cycle",
        ("type", "mood"): "enum ('sad', 'ok', 'happy')",
        ("macro", "add1(x)"): "x + 1",
        ("macro", "first_items(n)"): None,
    },
}


def run(backend: Backend, statements: tuple[str, ...] | list[str]) -> None:
    for statement in statements:
        backend.execute(statement)


@pytest.fixture
def second(
    engine: str, server_database: Callable[[str], AbstractContextManager[str]], tmp_path: Path
) -> Iterator[Backend]:
    """A second fresh database (schema on PostgreSQL) of the same engine."""
    if engine == "duckdb":
        url = f"duckdb:///{tmp_path / 'second.duckdb'}"
    elif engine == "sqlite":
        url = f"sqlite:///{tmp_path / 'second.sqlite3'}"
    else:
        with server_database(engine) as url, open_backend(parse_url(url)) as opened:
            opened.connect(5)
            yield opened
        return
    with open_backend(parse_url(url)) as opened:
        opened.connect(5)
        yield opened


def test_every_kind_of_object_is_captured(engine: str, backend: Backend) -> None:
    run(backend, OBJECTS[engine])
    snap = snapshot(backend)
    found = {(o.kind, o.name): o.definition for o in snap.objects}
    for key, definition in EXPECTED[engine].items():
        assert key in found, (key, sorted(found))
        if definition is not None:
            assert found[key] == definition
    expected_kinds = {kind for kind, _ in EXPECTED[engine]}
    assert {kind for kind, _ in found} == expected_kinds
    assert not any(name.startswith("serials_id_seq") for _, name in found)
    restored = Snapshot.from_dict(json.loads(snap.to_json(indent=2)))
    assert restored == snap
    assert restored.digest() == snap.digest()


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_sqlite_check_constraints_are_read_from_the_table_sql(backend: Backend) -> None:
    run(backend, OBJECTS["sqlite"])
    items = snapshot(backend).table("items")
    assert items is not None
    # The CHECK inside the quoted default is text, not a constraint.
    assert items.checks == ("id > 0", "qty between 0 and 99")


def test_the_same_sql_in_two_fresh_places_gives_equal_snapshots(
    engine: str, backend: Backend, second: Backend
) -> None:
    run(backend, OBJECTS[engine])
    run(second, OBJECTS[engine])
    first, other = snapshot(backend), snapshot(second)
    assert diff(first, other) == []
    assert first == other
    assert first.digest() == other.digest()


#: engine -> (statements that change one body, the object, text only in the old / new body).
CHANGED_BODY: dict[str, tuple[tuple[str, ...], str, str, str]] = {
    "postgresql": (
        (
            "CREATE OR REPLACE FUNCTION add(a integer) RETURNS integer LANGUAGE sql "
            "AS $$ SELECT a * 2 $$",
        ),
        "function add(integer)",
        "select a $function$",
        "select a * 2 $function$",
    ),
    "mysql": (
        (
            "DROP PROCEDURE bump",
            "CREATE PROCEDURE bump(IN n INT, OUT m INT) BEGIN SET m = n + 2; END",
        ),
        "procedure bump",
        "set m = n + 1;",
        "set m = n + 2;",
    ),
    "sqlite": (
        (
            "DROP TRIGGER items_qty",
            "CREATE TRIGGER items_qty AFTER INSERT ON items BEGIN "
            "UPDATE items SET qty = 1 WHERE id = NEW.id AND qty IS NULL; END",
        ),
        "trigger items_qty on items",
        "set qty = 0",
        "set qty = 1",
    ),
    "duckdb": (
        ("CREATE OR REPLACE MACRO first_items(n) AS TABLE SELECT id FROM items WHERE id > n",),
        "macro first_items(n)",
        "limit n",
        "id > n",
    ),
}


def test_a_changed_body_is_a_change_with_a_line_diff(engine: str, backend: Backend) -> None:
    run(backend, OBJECTS[engine])
    before = snapshot(backend)
    statements, what, old_text, new_text = CHANGED_BODY[engine]
    run(backend, statements)
    found = diff(before, snapshot(backend))
    assert [(d.kind, d.object) for d in found] == [("changed", what)], [str(d) for d in found]
    change = found[0]
    assert "\n" not in str(change) and "\n" not in change.describe("down")
    removed = [line for line in change.lines if line.startswith("-")]
    added = [line for line in change.lines if line.startswith("+")]
    assert any(old_text in line for line in removed), change.lines
    assert any(new_text in line for line in added), change.lines
    assert not any(line.startswith(("---", "+++")) for line in change.lines)
    assert not change.note


# -- unique keys, column order ------------------------------------------------------------------
@pytest.mark.server
@pytest.mark.parametrize("engine", ["postgresql", "mysql"], indirect=True)
def test_a_duplicate_unique_key_is_reported(engine: str, backend: Backend) -> None:
    backend.execute(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100), "
        "CONSTRAINT users_email_key UNIQUE (email))"
    )
    before = snapshot(backend)
    backend.execute("ALTER TABLE users ADD CONSTRAINT users_email_again UNIQUE (email)")
    after = snapshot(backend)
    users = after.table("users")
    assert users is not None and users.uniques == (("email",), ("email",))
    found = diff(before, after)
    assert [str(d) for d in found] == ["added unique constraint users(email) (duplicate)"]
    assert found[0].describe("down") == "down leaves unique constraint users(email)"
    assert [str(d) for d in diff(after, before)] == [
        "missing unique constraint users(email) (duplicate)"
    ]


def test_a_column_order_difference_is_a_note(engine: str, backend: Backend) -> None:
    backend.execute("CREATE TABLE t (a INTEGER, b INTEGER, c INTEGER)")
    before = snapshot(backend)
    backend.execute("ALTER TABLE t DROP COLUMN a")
    backend.execute("ALTER TABLE t ADD COLUMN a INTEGER")
    found = diff(before, snapshot(backend))
    assert [(d.kind, d.object, d.note) for d in found] == [
        ("changed", "column order of table t", True)
    ]
    backend.execute("ALTER TABLE t ADD COLUMN d INTEGER")
    assert [d.note for d in diff(before, snapshot(backend))] == [False, True]


# -- frozen creation times ----------------------------------------------------------------------
VOLATILE_VIEW = (
    "CREATE VIEW stamped AS SELECT 'now'::timestamp AS at, 'now'::timestamptz AS at_tz, "
    "'today'::date AS day, '2020-01-02 03:04:05'::timestamp AS fixed"
)


@pytest.mark.server
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_creation_times_are_masked_only_since_the_run_started(backend: Backend) -> None:
    started = datetime.now()
    backend.execute(VOLATILE_VIEW)
    backend.execute("CREATE TABLE stamps (at timestamp DEFAULT 'now'::timestamp)")
    before = snapshot(backend)
    time.sleep(0.05)
    backend.execute("DROP VIEW stamped")
    backend.execute("DROP TABLE stamps")
    backend.execute(VOLATILE_VIEW)
    backend.execute("CREATE TABLE stamps (at timestamp DEFAULT 'now'::timestamp)")
    after = snapshot(backend)

    assert {d.object for d in diff(before, after)} == {"view stamped", "column stamps.at"}
    assert diff(before, after, volatile_since=started) == []
    view = after.view("stamped")
    assert view is not None and "'2020-01-02 03:04:05'" in str(view.definition)

    # A literal a user wrote (older than the run) is still compared.
    backend.execute("DROP VIEW stamped")
    backend.execute(VOLATILE_VIEW.replace("2020-01-02", "2020-01-03"))
    found = diff(before, snapshot(backend), volatile_since=started)
    assert [(d.kind, d.object) for d in found] == [("changed", "view stamped")]
    assert any("2020-01-03" in line for line in found[0].lines)


# -- whole database -----------------------------------------------------------------------------
@pytest.fixture
def pg_database(postgresql_url: str) -> Iterator[Backend]:
    """A fresh PostgreSQL database of its own (lamina_test is shared by parallel tests, so its
    other schemas would show in a whole-database snapshot); dropped afterwards."""
    name = f"lamina_whole_{uuid.uuid4().hex[:10]}"
    with open_backend(parse_url(postgresql_url)) as admin:
        admin.connect(5)
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = postgresql_url.partition("?")[0].rpartition("/")[0] + f"/{name}"
            with open_backend(parse_url(url)) as opened:
                opened.connect(5)
                yield opened
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.server
def test_whole_database_on_postgresql(pg_database: Backend) -> None:
    backend = pg_database
    backend.execute("CREATE TABLE app (id integer PRIMARY KEY)")
    before_whole = snapshot(backend, whole_database=True)
    before = snapshot(backend)
    backend.execute("CREATE SCHEMA other")
    backend.execute("CREATE TABLE other.t (id integer PRIMARY KEY, app_id integer REFERENCES app)")
    backend.execute("CREATE FUNCTION other.f(x integer) RETURNS integer LANGUAGE sql AS 'SELECT x'")
    available = backend.query("SELECT 1 FROM pg_available_extensions WHERE name = 'pgcrypto'")
    if available:
        backend.execute("CREATE EXTENSION pgcrypto")

    whole = snapshot(backend, whole_database=True)
    target = snapshot(backend)
    assert [t.name for t in whole.tables] == ["app", "other.t"]
    other_t = whole.table("other.t")
    assert other_t is not None and other_t.foreign_keys[0].ref_table == "app"
    assert whole.object("schema", "other") is not None
    assert whole.object("function", "other.f(integer)") is not None
    assert [t.name for t in target.tables] == ["app"]
    assert target.object("schema", "other") is None
    # Both scopes name the target's objects alike.
    assert whole.table("app") == target.table("app")
    # Extensions are database-wide (both scopes); their functions are theirs, not the schema's.
    if available:
        for snap in (whole, target):
            assert snap.object("extension", "pgcrypto") is not None
            assert not [o for o in snap.objects if o.name.startswith("digest(")]
    reported = {d.describe("down") for d in diff(before_whole, whole)}
    assert "down leaves schema other" in reported
    assert "down leaves table other.t" in reported
    assert {d.object for d in diff(before, target)} <= {"extension pgcrypto"}


@pytest.mark.parametrize("engine", ["duckdb"], indirect=True)
def test_whole_database_on_duckdb(backend: Backend) -> None:
    backend.execute("CREATE TABLE app (id INTEGER PRIMARY KEY)")
    before = snapshot(backend, whole_database=True)
    backend.execute("CREATE SCHEMA audit")
    backend.execute("CREATE TABLE audit.log (id INTEGER, what VARCHAR)")
    backend.execute("CREATE SEQUENCE audit.ids START 10")
    whole = snapshot(backend, whole_database=True)
    assert [t.name for t in whole.tables] == ["app", "audit.log"]
    assert whole.object("schema", "audit") is not None
    assert whole.sequences == ("audit.ids",)
    assert snapshot(backend) == snapshot(backend, whole_database=False)
    assert [t.name for t in snapshot(backend).tables] == ["app"]
    assert [str(d) for d in diff(before, whole)] == [
        "added table audit.log (id, what)",
        "added schema audit",
        "added sequence audit.ids",
    ]


@pytest.mark.parametrize("engine", ["sqlite", "mysql"], indirect=True)
def test_whole_database_is_the_target_where_there_is_one_schema(backend: Backend) -> None:
    backend.execute("CREATE TABLE app (id INTEGER PRIMARY KEY)")
    assert snapshot(backend, whole_database=True) == snapshot(backend)


# -- a snapshot stored by an older lamina -------------------------------------------------------
def test_a_stored_snapshot_of_an_older_format_means_drift_unknown(
    make_migrations: Callable[[dict[str, str]], Path],
    settings_for: Callable[..., Settings],
    db_url: str,
) -> None:
    """The caller that reads a stored snapshot (drift) must call it unknown, not drift."""
    make_migrations(
        {"001_users.sql": "-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n"
         "-- migrate:down\nDROP TABLE users;\n"}
    )  # fmt: skip
    lamina = Lamina(settings_for())
    lamina.up()
    assert lamina.drift() == []
    old = {"format": 1, "engine": "x", "tables": {}, "views": {}, "sequences": ["s"]}
    with open_backend(parse_url(db_url)) as backend:
        backend.connect(5)
        history = History(backend, user="u", host="h")
        with backend.transaction():
            history.record_schema("001_users", "sha256:" + "0" * 64, json.dumps(old))
    assert lamina.drift() is None  # unknown: neither drift nor a crash
    assert lamina.status().drift is None


def test_schema_objects_round_trip_through_json() -> None:
    snap = Snapshot(
        "postgresql",
        objects=(
            SchemaObject("function", "f(integer)", "create function f ..."),
            SchemaObject("schema", "audit"),
            SchemaObject("sequence", "s", "as bigint start 1"),
        ),
    )
    data = json.loads(snap.to_json())
    assert data["objects"] == {
        "function": {"f(integer)": "create function f ..."},
        "schema": {"audit": None},
        "sequence": {"s": "as bigint start 1"},
    }
    assert Snapshot.from_dict(data) == snap
