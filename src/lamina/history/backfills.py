"""The progress of batched migrations in ``lamina_backfills`` (declared in
:mod:`lamina.history.tables`): read before a backfill starts or resumes, written inside each
batch's own transaction, deleted in the transaction that records the migration applied."""

from __future__ import annotations

from dataclasses import dataclass, replace

from lamina.engines.base import Backend
from lamina.errors import HistoryError, StatementError
from lamina.history.tables import BACKFILL_TABLE, BACKFILLS, MIGRATIONS
from lamina.models import Direction, RowState
from lamina.models.records import backfill_direction

__all__ = ["BackfillProgress", "BackfillStore"]

_COLUMNS = BACKFILL_TABLE.names()
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM {BACKFILLS} WHERE migration_id = ?"
_MARKS = ", ".join("?" * len(_COLUMNS))
_INSERT = f"INSERT INTO {BACKFILLS} ({', '.join(_COLUMNS)}) VALUES ({_MARKS})"
_ADVANCE = (
    f"UPDATE {BACKFILLS} SET next_key = ?, rows_done = ?, batches = ?, elapsed_ms = ?, "
    "batch_size = ?, updated_at = ? WHERE migration_id = ?"
)
_DELETE = f"DELETE FROM {BACKFILLS} WHERE migration_id = ?"
_ROW = f"SELECT state, detail FROM {MIGRATIONS} WHERE id = ?"


@dataclass(frozen=True, slots=True)
class BackfillProgress:
    """Where one backfill stands: ranges start at ``next_key`` and stop at ``upper_key``
    (inclusive; the largest key when it started); ``None`` keys for an empty table."""

    migration_id: str
    direction: str
    next_key: int | None
    upper_key: int | None
    rows_total: int
    rows_done: int
    batches: int
    elapsed_ms: int
    batch_size: int
    started_at: str
    updated_at: str

    @property
    def finished(self) -> bool:
        return self.next_key is None or self.upper_key is None or self.next_key > self.upper_key

    def advanced(self, next_key: int, rows: int, ms: int, size: int, now: str) -> BackfillProgress:
        return replace(
            self,
            next_key=next_key,
            rows_done=self.rows_done + rows,
            batches=self.batches + 1,
            elapsed_ms=self.elapsed_ms + ms,
            batch_size=size,
            updated_at=now,
        )

    def summary(self) -> str:
        """The progress as the ``running`` history row's detail shows it (and status parses)."""
        return (
            f"backfill {self.rows_done}/{self.rows_total} rows, {self.batches} batches, "
            f"{self.elapsed_ms} ms, next key {self.next_key}"
        )


class BackfillStore:
    """Reads and writes ``lamina_backfills`` on ``backend`` (the caller holds the lock)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def ensure(self) -> None:
        """Create the table when this database never ran a backfill (outside a transaction:
        on MySQL the CREATE commits by itself)."""
        if self.backend.table_exists(BACKFILLS):
            return
        statement = BACKFILL_TABLE.create(self.backend.history_types)[-1]
        try:
            self.backend.execute(statement.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"))
        except StatementError as exc:
            raise HistoryError(
                f"cannot create {BACKFILLS} in {self.backend.target()}: {exc.detail}",
                hint="grant this user CREATE, or run the first backfill as the tables' owner",
            ) from exc.original

    def read(self, migration_id: str) -> BackfillProgress | None:
        rows = self.backend.query(self.backend.sql(_SELECT), (migration_id,))
        if not rows:
            return None
        row = rows[0]
        number = [None if value is None else int(value) for value in row[2:9]]
        return BackfillProgress(
            migration_id=str(row[0]),
            direction=str(row[1]),
            next_key=number[0],
            upper_key=number[1],
            rows_total=number[2] or 0,
            rows_done=number[3] or 0,
            batches=number[4] or 0,
            elapsed_ms=number[5] or 0,
            batch_size=number[6] or 0,
            started_at=str(row[9]),
            updated_at=str(row[10]),
        )

    def under_way(self, migration_id: str) -> Direction | None:
        """Which way the history row of ``migration_id`` shows a backfill under way, if any:
        a progress row outlives a rollback or repair of its migration that ran no batch
        (an ordinary down, ``lamina repair``), and must not be continued then."""
        rows = self.backend.query(self.backend.sql(_ROW), (migration_id,))
        if not rows:
            return None
        state, detail = rows[0]
        return backfill_direction(
            RowState.read(str(state)), None if detail is None else str(detail)
        )

    def start(self, progress: BackfillProgress) -> None:
        """Replace any row left for this migration (a backfill repaired or rolled back)."""
        self.backend.execute(self.backend.sql(_DELETE), (progress.migration_id,))
        values = [getattr(progress, name) for name in _COLUMNS]
        self.backend.execute(self.backend.sql(_INSERT), values)

    def advance(self, progress: BackfillProgress) -> None:
        self.backend.execute(
            self.backend.sql(_ADVANCE),
            (
                progress.next_key,
                progress.rows_done,
                progress.batches,
                progress.elapsed_ms,
                progress.batch_size,
                progress.updated_at,
                progress.migration_id,
            ),
        )

    def delete(self, migration_id: str) -> None:
        if self.backend.table_exists(BACKFILLS):
            self.backend.execute(self.backend.sql(_DELETE), (migration_id,))
