"""Prove that every ``down`` undoes its ``up``: ``lamina verify``, :meth:`Lamina.verify`.

On a scratch database of the target's engine (:mod:`lamina.scratch`: a database or file of its
own, never the target, which verify does not even open), every migration is applied in order,
and for each one: snapshot the whole scratch database, ``up``, snapshot, ``down``, compare with
the snapshot before its ``up``, then ``up`` again and compare with the snapshot after the first
``up``. A migration that does not round-trip is reported with a readable difference ("down
leaves column users.phone_number", and a short unified diff for a changed definition); one
that fails on a clean database, and one without a down, are reported too.

Before anything runs, every migration's statements are recorded and any statement that would
reach outside the scratch (another database, a server-wide object such as a role, another
file) is refused, naming the migration and the statement (:mod:`lamina.reach`,
applied by :mod:`lamina.scratch_guard`, which generate and check-schema pass too).

Column order differences are notes unless ``strict_column_order``; date/time literals frozen
into a definition while verify ran (PostgreSQL's ``'now'::timestamp`` in a view) are not
differences.

With ``data=True`` each table gets a few synthetic rows before every ``data`` migration, and
the row counts before its ``up`` and after its ``down`` are compared: what the down loses (or
leaves behind) is shown per table.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from lamina.api import Lamina
from lamina.config import Settings
from lamina.engines import spec_for
from lamina.engines.base import Backend
from lamina.errors import LaminaError, StatementError
from lamina.models import Category, MigrationFile
from lamina.schema import Difference, Snapshot, diff, snapshot
from lamina.scratch import scratch_database
from lamina.scratch_guard import refuse_reaching_out
from lamina.urls import DatabaseURL

__all__ = ["StepReport", "VerifyResult", "run", "verify"]

StepOutcome = Literal["ok", "not-reversible", "irreversible", "failed"]
#: Called after each migration: (index, total, report of that step).
ProgressCallback = Callable[[int, int, "StepReport"], None]


@dataclass(frozen=True, slots=True)
class StepReport:
    """How one migration did. ``problems`` reads like "down leaves column users.phone"; a
    problem about a changed definition carries its unified diff on the following lines."""

    migration_id: str
    name: str
    outcome: StepOutcome
    problems: tuple[str, ...] = ()
    up_ms: int = 0
    down_ms: int = 0
    data: tuple[str, ...] = ()  # with data=True: "users: 3 row(s) before up, 0 after down"
    #: The scratch database is no longer in a known state: later migrations were not verified.
    halted: bool = False
    #: Differences that do not fail the step (column order, unless strict_column_order).
    notes: tuple[str, ...] = ()

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

    def to_document(self) -> dict[str, object]:
        """The ``lamina verify --json`` document (docs/json.md)."""
        from lamina.documents import verify_document

        return verify_document(self)


@dataclass(frozen=True, slots=True)
class _Judge:
    """How snapshots are compared during one run."""

    started: datetime
    strict_column_order: bool

    def compare(self, expected: Snapshot, actual: Snapshot) -> list[Difference]:
        return diff(expected, actual, volatile_since=self.started)

    def split(self, found: Sequence[Difference]) -> tuple[list[Difference], list[Difference]]:
        """(problems, notes): a note fails nothing unless column order is strict."""
        if self.strict_column_order:
            return list(found), []
        return [d for d in found if not d.note], [d for d in found if d.note]


def verify(
    settings: Settings,
    *,
    data: bool = False,
    progress: ProgressCallback | None = None,
    scratch_url: DatabaseURL | None = None,
    strict_column_order: bool = False,
) -> VerifyResult:
    """Round-trip every migration on a scratch database of the target's engine:
    ``Lamina(settings).verify(...)`` (see :func:`run`)."""
    return Lamina(settings).verify(
        data=data, progress=progress, scratch_url=scratch_url,
        strict_column_order=strict_column_order,
    )  # fmt: skip


def run(
    lamina: Lamina,
    *,
    data: bool = False,
    progress: ProgressCallback | None = None,
    scratch_url: DatabaseURL | None = None,
    strict_column_order: bool = False,
) -> VerifyResult:
    """Round-trip every migration of ``lamina`` on a scratch database of its target's engine
    (:meth:`Lamina.verify`).

    The target is never opened: the scratch is created on its server (or on ``scratch_url``)
    and dropped afterwards, also when the run is interrupted.

    Raises:
        ValidationError: the migration files are inconsistent (nothing to verify).
        MigrationLoadError: a migration cannot be loaded.
        VerifyRefusedError: a migration reaches outside the scratch (nothing ran; exit 3).
        ConfigError: ``scratch_url`` does not fit the target.
        BackendError: the scratch database cannot be created (the privilege is named).
    """
    settings = lamina.settings
    files = lamina.ordered_files()
    refuse_reaching_out(settings, files, dialect=lamina.session.dialect(), scratch_url=scratch_url)
    judge = _Judge(datetime.now(UTC), strict_column_order)
    reports: list[StepReport] = []
    with _scratch(lamina, scratch_url) as (api, backend):
        for index, file in enumerate(files, start=1):
            report = _round_trip(api, backend, file, judge, data=data)
            reports.append(report)
            if progress is not None:
                progress(index, len(files), report)
            if report.outcome == "failed" or report.halted:
                break  # later migrations build on this one: nothing more can be proven
    return VerifyResult(tuple(reports), settings.database_url.scheme)


@contextmanager
def _scratch(lamina: Lamina, scratch_url: DatabaseURL | None) -> Iterator[tuple[Lamina, Backend]]:
    """A Lamina on a scratch database, and a connection for snapshots between its runs."""
    settings = lamina.settings
    with scratch_database(settings.database_url, server=scratch_url) as url:
        scratch_settings = dataclasses.replace(
            settings,
            database_url=url,
            backup_enabled=False,
            require_confirmation=False,
            env="verify",
            strict_order=False,
        )
        api = type(lamina)(scratch_settings)
        # Connected (and, on PostgreSQL, the ?schema= one created) before the first snapshot.
        with api.session.connection() as backend:
            yield api, backend


def _round_trip(
    api: Lamina, backend: Backend, file: MigrationFile, judge: _Judge, *, data: bool
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
        api.rollback(steps=1, force=True, yes=True)
    except LaminaError as exc:
        return StepReport(file.id, name, "failed", (f"down fails: {exc}",), up_ms)
    down_ms = _ms(started)
    wrong, noted = judge.split(judge.compare(before, _snapshot(backend)))
    problems = [_shown(d, d.describe("down")) for d in wrong]
    notes = [d.describe("down") for d in noted]
    counts = _data_losses(backend, seeded) if seeded else ()
    try:
        api.up(to_version=file.version)
    except LaminaError as exc:
        problems.append(f"up fails after its down ({exc.message.splitlines()[0]})")
        outcome: StepOutcome = "not-reversible" if problems[:-1] else "failed"
        problems.append("later migrations were not verified")
        return StepReport(
            file.id, name, outcome, tuple(problems), up_ms, down_ms, counts, True, tuple(notes)
        )
    wrong, noted = judge.split(judge.compare(after, _snapshot(backend)))
    problems += [_shown(d, f"up after down: {d}") for d in wrong]
    notes += [f"up after down: {d}" for d in noted]
    final: StepOutcome = "not-reversible" if problems else "ok"
    return StepReport(
        file.id, name, final, tuple(problems), up_ms, down_ms, counts, notes=tuple(notes)
    )


def _shown(difference: Difference, summary: str) -> str:
    """The one-line summary, then the difference's unified diff lines (if any), indented."""
    return "\n".join([summary, *(f"  {line}" for line in difference.lines)])


def _snapshot(backend: Backend) -> Snapshot:
    """The whole scratch database: every schema a migration may have created."""
    return snapshot(backend, whole_database=True)


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
            except StatementError:
                pass  # the table's constraints refuse the synthetic row: leave it as it is
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
    return spec_for(backend.url).quote(name)
