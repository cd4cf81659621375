"""What a snapshot covers: the target only, never lamina's tables nor other schemas."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest

from lamina.engines import open_backend
from lamina.engines.base import Backend
from lamina.history import History
from lamina.schema import LAMINA_OBJECTS, Snapshot, snapshot
from lamina.urls import parse_url

APP_TABLE = "CREATE TABLE app (id INTEGER NOT NULL PRIMARY KEY, title VARCHAR(40))"


def without_extensions(snap: Snapshot) -> Snapshot:
    """``snap`` less PostgreSQL's extensions, which are database-wide (plpgsql is always
    there), for comparing a schema with an empty one."""
    return replace(snap, objects=tuple(o for o in snap.objects if o.kind != "extension"))


def test_lamina_tables_never_appear(engine: str, backend: Backend) -> None:
    History(backend, user="u", host="h").ensure()
    # lamina_lock exists only in table lock mode; a stand-in has the same name.
    backend.execute("CREATE TABLE lamina_lock (name VARCHAR(64) NOT NULL PRIMARY KEY)")
    assert without_extensions(snapshot(backend)) == Snapshot(engine)

    backend.execute(APP_TABLE)
    snap = snapshot(backend)
    assert [t.name for t in snap.tables] == ["app"]
    names = {t.name for t in snap.tables} | set(snap.sequences) | {v.name for v in snap.views}
    assert not names & LAMINA_OBJECTS


@pytest.fixture
def other_place(engine: str, backend: Backend) -> Iterator[str]:
    """A second PostgreSQL schema / MySQL database next to the target; dropped afterwards."""
    name = f"lamina_other_{uuid.uuid4().hex[:10]}"
    if engine == "postgresql":
        backend.execute(f'CREATE SCHEMA "{name}"')
        drop = [f'DROP SCHEMA "{name}" CASCADE']
    else:
        backend.execute(f"CREATE DATABASE `{name}`")
        # A foreign key from the test's database into this one would block the DROP.
        drop = [
            "SET FOREIGN_KEY_CHECKS = 0",
            f"DROP DATABASE `{name}`",
            "SET FOREIGN_KEY_CHECKS = 1",
        ]
    try:
        yield name
    finally:
        for statement in drop:
            backend.execute(statement)


@pytest.mark.server
@pytest.mark.parametrize("engine", ["postgresql", "mysql"], indirect=True)
def test_other_schemas_and_databases_never_appear(
    engine: str, backend: Backend, other_place: str
) -> None:
    quote = '"' if engine == "postgresql" else "`"
    other = f"{quote}{other_place}{quote}"
    backend.execute(f"CREATE TABLE {other}.app (id INTEGER NOT NULL PRIMARY KEY)")
    backend.execute(f"CREATE TABLE {other}.elsewhere (id INTEGER NOT NULL PRIMARY KEY)")
    backend.execute(f"CREATE VIEW {other}.elsewhere_view AS SELECT id FROM {other}.elsewhere")
    assert without_extensions(snapshot(backend)) == Snapshot(engine)

    backend.execute(
        "CREATE TABLE app (id INTEGER NOT NULL PRIMARY KEY, ref INTEGER, "
        f"FOREIGN KEY (ref) REFERENCES {other}.elsewhere (id))"
    )
    snap = snapshot(backend)
    assert [t.name for t in snap.tables] == ["app"]
    app = snap.table("app")
    assert app is not None
    assert [c.name for c in app.columns] == ["id", "ref"]
    assert snap.views == ()
    # A foreign key out of the target names the other schema/database.
    assert [fk.ref_table for fk in app.foreign_keys] == [f"{other_place}.elsewhere"]


def test_a_read_only_backend_can_take_a_snapshot(
    engine: str, backend: Backend, db_url: str
) -> None:
    backend.execute(APP_TABLE)
    expected = snapshot(backend)
    backend.close()  # DuckDB refuses a read-only connection while a writer is open
    with open_backend(parse_url(db_url), read_only=True) as reader:
        reader.connect(5)
        assert snapshot(reader) == expected
