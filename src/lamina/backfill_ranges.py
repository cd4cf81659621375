"""What a dry run says about a batched migration's batches, read from the live database.

The ranges are the ones :class:`lamina.backfill.Backfill` would cut when the batch size does
not adapt: a range starts at ``lo`` and ends before the key ``size`` rows further
(``SELECT key ... WHERE key >= lo AND key <= upper ORDER BY key LIMIT 1 OFFSET size``), the
last one after the largest key. Keys are unique, so the n-th range starts at the key of rank
``size * (n - 1)``: the first and last ranges need two such queries, not a walk of every
batch. Only ``SELECT`` statements run: a dry run never writes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from lamina.backfill import key_problem
from lamina.backfill.walk import key_at
from lamina.engines.base import Backend
from lamina.history.backfills import BackfillProgress, BackfillStore
from lamina.history.tables import BACKFILLS
from lamina.migration import BatchedMigration, Migration
from lamina.safety import StepPreview

__all__ = ["BackfillRanges", "describe_ranges", "stored_progress", "with_ranges"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
Range = tuple[int, int]


@dataclass(frozen=True, slots=True)
class BackfillRanges:
    """The batches a batched step would run: how many rows, in how many batches, and the
    first and last ranges ``[lo, hi)``; ``unknown`` says why they cannot be known before the
    step runs (``rows`` is then None)."""

    table: str
    key: str
    batch_size: int
    rows: int | None = None
    batches: int | None = None
    first: Range | None = None
    last: Range | None = None
    #: A backfill under way: the rows its committed batches did, and the key it resumes at.
    rows_done: int = 0
    resumes_at: int | None = None
    #: The size adapts toward ``target_batch_ms``: ranges after the first may differ.
    target_batch_ms: int | None = None
    unknown: str | None = None

    def text(self) -> str:
        """``batched over users.id: 1,000,000 rows in 200 batches of 5,000; first [1, 5001),
        last [995001, 1000001)``, for the dry run's listing."""
        head = f"batched over {self.table}.{self.key}: "
        if self.unknown is not None or self.rows is None:
            return head + (self.unknown or "")
        resumed = ""
        if self.resumes_at is not None:
            resumed = f"resumes at key {self.resumes_at} ({self.rows_done:,} rows done); "
        if not self.batches:
            return head + resumed + ("no rows left" if resumed else "no rows: nothing to do")
        left = " left" if resumed else ""
        plural = "batch" if self.batches == 1 else "batches"
        text = (
            f"{head}{resumed}{self.rows:,} rows{left} in {self.batches:,} {plural} of "
            f"{self.batch_size:,}; first {_shown(self.first)}, last {_shown(self.last)}"
        )
        if self.target_batch_ms:
            text += (
                f" (the size adapts toward target_batch_ms = {self.target_batch_ms} ms, so "
                "the real ranges after the first may differ)"
            )
        return text

    def to_dict(self) -> dict[str, object]:
        """The ``batched`` object of a ``--json`` preview step (docs/json.md)."""
        return {
            "table": self.table,
            "key": self.key,
            "rows": self.rows,
            "batches": self.batches,
            "batch_size": self.batch_size,
            "first": None if self.first is None else list(self.first),
            "last": None if self.last is None else list(self.last),
            "rows_done": self.rows_done,
            "resumes_at": self.resumes_at,
            "target_batch_ms": self.target_batch_ms,
            "unknown": self.unknown,
        }


def _shown(bounds: Range | None) -> str:
    return "none" if bounds is None else f"[{bounds[0]}, {bounds[1]})"


def describe_ranges(
    backend: Backend | None, migration: BatchedMigration, stored: BackfillProgress | None
) -> BackfillRanges:
    """The batches ``migration`` would run on ``backend`` (None: the database does not
    exist yet), resuming ``stored`` when it is a backfill under way. Reads only."""
    size = (stored.batch_size if stored else 0) or max(1, int(migration.batch_size))
    base = BackfillRanges(
        migration.table,
        migration.key,
        size,
        target_batch_ms=int(migration.target_batch_ms or 0) or None,
    )
    if backend is None:
        return replace(base, unknown=_later("the database does not exist yet"))
    if stored is not None:
        return _resumed(backend, base, stored)
    return _fresh(backend, base)


def _fresh(backend: Backend, base: BackfillRanges) -> BackfillRanges:
    """A backfill not started: from the smallest key to the largest, as a run begins, once
    the key passes the run's own check (:func:`lamina.backfill.key_problem`)."""
    table, key = base.table, base.key
    problem = key_problem(backend, table, key)
    if problem is not None:
        if _table_missing(backend, table):
            return replace(base, unknown=_later(f"table {table} does not exist yet"))
        why = f"{problem}: the step fails unless an earlier step of the plan changes that"
        return replace(base, unknown=why)
    lowest, highest = backend.query(f"SELECT MIN({key}), MAX({key}) FROM {table}")[0]
    if lowest is None or highest is None:
        return replace(base, rows=0, batches=0)
    return _cut(backend, base, int(lowest), int(highest))


def _resumed(backend: Backend, base: BackfillRanges, stored: BackfillProgress) -> BackfillRanges:
    """A backfill under way: from the stored next key to the stored upper one, in batches
    of the stored size, as ``lamina up`` resumes it."""
    base = replace(base, rows_done=stored.rows_done, resumes_at=stored.next_key)
    if stored.finished:
        return replace(base, rows=0, batches=0)
    assert stored.next_key is not None and stored.upper_key is not None
    if not (_NAME.fullmatch(base.table) and _NAME.fullmatch(base.key)):
        return replace(base, unknown=f"`{base.table}`.`{base.key}` is not a plain name")
    return _cut(backend, base, stored.next_key, stored.upper_key)


def _later(why: str) -> str:
    return f"{why}: its ranges are computed when the step runs"


def _table_missing(backend: Backend, table: str) -> bool:
    from lamina.schema.capture import snapshot

    return not any(t.name.lower() == table.lower() for t in snapshot(backend).tables)


def _cut(backend: Backend, base: BackfillRanges, lo: int, upper: int) -> BackfillRanges:
    """``base`` with the rows of ``[lo, upper]``, their batches, and the first and last
    ranges a run from ``lo`` would cut."""
    table, key, size = base.table, base.key, base.batch_size
    where = f"FROM {table} WHERE {key} >= ? AND {key} <= ?"
    rows = int(backend.query(backend.sql(f"SELECT COUNT(*) {where}"), (lo, upper))[0][0])
    batches = max(1, math.ceil(rows / size))  # a run cuts one (empty) range even then

    def at(offset: int) -> int:
        found = key_at(backend, table, key, lo, upper, offset)
        assert found is not None  # offset < rows, counted in the same range
        return found

    end = upper + 1
    if batches == 1:
        return replace(base, rows=rows, batches=1, first=(lo, end), last=(lo, end))
    first, last = (lo, at(size)), (at(size * (batches - 1)), end)
    return replace(base, rows=rows, batches=batches, first=first, last=last)


def stored_progress(backend: Backend, migration_id: str) -> BackfillProgress | None:
    """The stored progress of an up's backfill under way, read only (``lamina_backfills``
    may not exist: a database that never ran a backfill). A batched down's progress is
    not the up's: the up would start anew."""
    if not backend.table_exists(BACKFILLS):
        return None
    stored = BackfillStore(backend).read(migration_id)
    return stored if stored is not None and stored.direction == "up" else None


def with_ranges(
    previews: Sequence[StepPreview],
    loaded: Mapping[str, Migration],
    backend: Backend | None,
    under_way: Collection[str],
) -> tuple[StepPreview, ...]:
    """``previews`` of an ``up`` plan, each batched step with its :class:`BackfillRanges`
    (``backend``: None when the database does not exist; ``under_way``: the ids of
    backfills that resume from their stored progress)."""
    shown = []
    for preview in previews:
        step_id = preview.step.migration_id
        migration = loaded.get(step_id)
        if not isinstance(migration, BatchedMigration):
            shown.append(preview)
            continue
        stored = None
        if backend is not None and step_id in under_way:
            stored = stored_progress(backend, step_id)
        shown.append(replace(preview, ranges=describe_ranges(backend, migration, stored)))
    return tuple(shown)
