"""``migration_sql`` round trip on every engine: for each corpus case, BEFORE is built in one
database and AFTER in another; the generated up takes BEFORE's database to AFTER's snapshot and
the down takes it back. Statements run as lamina runs a migration (one transaction where the
engine has transactional DDL, SQLite's foreign keys handled around it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path

import pytest
from corpus import Case, cases  # type: ignore[import-not-found]

from lamina.engines import ENGINES, open_backend
from lamina.engines.base import Backend
from lamina.schema import Difference, Snapshot, diff, snapshot
from lamina.schema.changes import migration_sql
from lamina.urls import parse_url
from support.servers import SERVER_ENGINES, require_server

ALL = ("duckdb", "sqlite", "postgresql", "mysql")
Places = Callable[[str], AbstractContextManager[str]]


def _params() -> list[object]:
    marks = {e: [pytest.mark.server] if e in SERVER_ENGINES else [] for e in ALL}
    return [
        pytest.param(engine, case, id=f"{engine}-{case.id}", marks=marks[engine])
        for engine in ALL
        for case in cases(engine)
    ]


@contextmanager
def _database(engine: str, server_database: Places, folder: Path, name: str) -> Iterator[Backend]:
    with ExitStack() as stack:
        if engine in SERVER_ENGINES:
            require_server(engine)
            url = stack.enter_context(server_database(engine))
        else:
            suffix = "duckdb" if engine == "duckdb" else "sqlite3"
            url = f"{engine}:///{folder / f'{name}.{suffix}'}"
        backend = stack.enter_context(open_backend(parse_url(url)))
        backend.connect(5)
        yield backend


def build(backend: Backend, statements: Sequence[str]) -> Snapshot:
    """The corpus quotes names the standard way; MySQL takes backticks."""
    for statement in statements:
        backend.execute(statement.replace('"', "`") if backend.name == "mysql" else statement)
    return schema_of(backend)


def schema_of(backend: Backend) -> Snapshot:
    """The snapshot, less PostgreSQL's database-wide extensions (both places share them)."""
    snap = snapshot(backend)
    return replace(snap, objects=tuple(o for o in snap.objects if o.kind != "extension"))


def apply(backend: Backend, statements: Sequence[str]) -> None:
    """Run ``statements`` as the runner runs one migration."""
    in_transaction = backend.capabilities.runs_in_transaction(statements)
    with (
        backend.migration_session(lambda: statements, in_transaction=in_transaction),
        backend.transaction() if in_transaction else nullcontext(),
    ):
        for statement in statements:
            backend.execute(statement)


def strict(engine: str, found: list[Difference]) -> list[str]:
    """Every difference; on PostgreSQL, which cannot place a column between others, less the
    column-order note (the generated notes say so to the reviewer)."""
    return [str(d) for d in found if not (d.note and engine == "postgresql")]


@pytest.mark.parametrize(("engine", "case"), _params())
def test_up_then_down_round_trips(
    engine: str, case: Case, server_database: Places, tmp_path: Path
) -> None:
    dialect = ENGINES[engine].dialect
    with (
        _database(engine, server_database, tmp_path, "before") as work,
        _database(engine, server_database, tmp_path, "after") as target,
    ):
        before = build(work, case.before)
        after = build(target, case.after)
        generated = migration_sql(before, after, dialect=dialect)
        assert generated.up and generated.down, generated
        apply(work, generated.up)
        assert strict(engine, diff(after, schema_of(work))) == [], "\n".join(generated.up)
        apply(work, generated.down)
        assert strict(engine, diff(before, schema_of(work))) == [], "\n".join(generated.down)
