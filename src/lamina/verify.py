"""Prove that every ``down`` undoes its ``up``: ``lamina verify``.

On a scratch database of the target's engine (:mod:`lamina.scratch`; never the target), every
migration is applied in order, and for each one: snapshot the schema, ``up``, snapshot,
``down``, compare with the snapshot before its ``up``, then ``up`` again and compare with the
snapshot after the first ``up``. A migration that does not round-trip is reported with a
readable difference ("down leaves column users.phone_number"); one that fails on a clean
database, and one without a down, are reported too.

With ``data=True`` each table gets a few synthetic rows before every ``data`` migration, and
the row counts before its ``up`` and after its ``down`` are compared: what the down loses (or
leaves behind) is shown per table.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from lamina.api import Lamina
from lamina.backends import open_backend
from lamina.backends.base import Backend
from lamina.config import Settings
from lamina.errors import LaminaError
from lamina.models import Category, MigrationFile
from lamina.schema import Snapshot, diff, snapshot
from lamina.scratch import scratch_database

__all__ = ["StepReport", "VerifyResult", "verify"]

Outcome = Literal["ok", "not-reversible", "irreversible", "failed"]
#: Called after each migration: (index, total, report of that step).
ProgressCallback = Callable[[int, int, "StepReport"], None]


@dataclass(frozen=True, slots=True)
class StepReport:
    """How one migration did. ``problems`` reads like "down leaves column users.phone"."""

    migration_id: str
    name: str
    outcome: Outcome
    problems: tuple[str, ...] = ()
    up_ms: int = 0
    down_ms: int = 0
    data: tuple[str, ...] = ()  # with data=True: "users: 3 row(s) before up, 0 after down"
    #: The scratch database is no longer in a known state: later migrations were not verified.
    halted: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome in ("ok", "irreversible")


@dataclass(frozen=True, slots=True)
class VerifyResult:
    steps: tuple[StepReport, ...] = field(default=())
    engine: str = ""

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    @property
    def failed(self) -> tuple[StepReport, ...]:
        return tuple(step for step in self.steps if not step.ok)


def verify(
    settings: Settings, *, data: bool = False, progress: ProgressCallback | None = None
) -> VerifyResult:
    """Round-trip every migration on a scratch copy of the target's engine.

    Raises:
        ValidationError: the migration files are inconsistent (nothing to verify).
        BackendError: the scratch database cannot be created.
    """
    files = Lamina(settings).ordered_files()
    reports: list[StepReport] = []
    with _scratch(settings) as (api, backend):
        previous = 0
        for index, file in enumerate(files, start=1):
            report = _round_trip(api, backend, file, previous, data=data)
            reports.append(report)
            if progress is not None:
                progress(index, len(files), report)
            if report.outcome == "failed" or report.halted:
                break  # later migrations build on this one: nothing more can be proven
            previous = file.version
    return VerifyResult(tuple(reports), settings.database_url.scheme)


@contextmanager
def _scratch(settings: Settings) -> Iterator[tuple[Lamina, Backend]]:
    """A Lamina on a scratch database, and a connection for snapshots between its runs."""
    with scratch_database(settings.database_url) as url:
        scratch_settings = dataclasses.replace(
            settings,
            database_url=url,
            backup_enabled=False,
            require_confirmation=False,
            env="verify",
            strict_order=False,
        )
        api = Lamina(scratch_settings)
        backend = open_backend(url)
        try:
            # Connect (and, on PostgreSQL, create the scratch schema) before the first snapshot.
            backend.connect(settings.lock_timeout_s)
            yield api, backend
        finally:
            backend.close()


def _round_trip(
    api: Lamina, backend: Backend, file: MigrationFile, previous: int, *, data: bool
) -> StepReport:
    name = file.meta.name
    seeded = _seed(backend) if data and file.meta.category is Category.DATA else {}
    before = _snapshot(backend)
    started = time.perf_counter()
    try:
        api.up(to_version=file.version)
    except LaminaError as exc:
        return StepReport(file.id, name, "failed", (f"up fails on a clean database: {exc}",))
    up_ms = _ms(started)
    after = _snapshot(backend)
    if not file.meta.reversible:
        return StepReport(
            file.id, name, "irreversible", ("has no down: cannot be verified",), up_ms
        )
    started = time.perf_counter()
    try:
        api.rollback(previous, force=True, yes=True)
    except LaminaError as exc:
        return StepReport(file.id, name, "failed", (f"down fails: {exc}",), up_ms)
    down_ms = _ms(started)
    problems = [d.describe("down") for d in diff(before, _snapshot(backend))]
    counts = _data_losses(backend, seeded) if seeded else ()
    try:
        api.up(to_version=file.version)
    except LaminaError as exc:
        problems.append(f"up fails after its down ({exc.message.splitlines()[0]})")
        outcome: Outcome = "not-reversible" if problems[:-1] else "failed"
        problems.append("later migrations were not verified")
        return StepReport(
            file.id, name, outcome, tuple(problems), up_ms, down_ms, counts, halted=True
        )
    problems += [f"up after down: {d}" for d in diff(after, _snapshot(backend))]
    final: Outcome = "not-reversible" if problems else "ok"
    return StepReport(file.id, name, final, tuple(problems), up_ms, down_ms, counts)


def _snapshot(backend: Backend) -> Snapshot:
    return snapshot(backend)


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


#: Rows seeded per table before a data migration: enough to see what a down loses.
_SEED_ROWS = 3


def _seed(backend: Backend) -> dict[str, int]:
    """Insert a few synthetic rows into every table (best effort: a table whose constraints
    refuse them is left as it is). Returns each table's row count afterwards."""
    current = snapshot(backend)
    for table in current.tables:
        for number in range(1, _SEED_ROWS + 1):
            values = [_sample(column.type, number) for column in table.columns]
            columns = ", ".join(_quote(backend, c.name) for c in table.columns)
            marks = ", ".join("?" for _ in values)
            sql = f"INSERT INTO {_quote(backend, table.name)} ({columns}) VALUES ({marks})"
            try:
                with backend.transaction():
                    backend.execute(backend.sql(sql), values)
            except Exception as exc:
                if not backend.is_driver_error(exc):
                    raise
    return _counts(backend, current)


def _data_losses(backend: Backend, before: dict[str, int]) -> tuple[str, ...]:
    after = _counts(backend, snapshot(backend))
    notes = []
    for table in sorted(set(before) | set(after)):
        was, now = before.get(table), after.get(table)
        if was != now:
            shown_now = "table gone" if now is None else f"{now}"
            notes.append(f"{table}: {was} row(s) before up, {shown_now} after down")
    return tuple(notes)


def _counts(backend: Backend, current: Snapshot) -> dict[str, int]:
    return {
        t.name: int(backend.query(f"SELECT COUNT(*) FROM {_quote(backend, t.name)}")[0][0])
        for t in current.tables
    }


def _sample(column_type: str, number: int) -> object:
    """A value a column of this (normalised) type accepts: numbers, text, dates, booleans."""
    kind = column_type.lower()
    if any(word in kind for word in ("int", "serial", "numeric", "decimal", "real", "double",
                                      "float")):  # fmt: skip
        return number + 1_000_000
    if "bool" in kind:
        return number % 2 == 0
    if "timestamp" in kind or "datetime" in kind:
        return f"2026-01-0{number} 00:00:00"
    if "date" in kind:
        return f"2026-01-0{number}"
    return f"lamina-verify-{number}"


def _quote(backend: Backend, name: str) -> str:
    """Quote a name taken from the catalog (never from input) for the engine."""
    if backend.dialect == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'
