"""lamina's own tables in the target database: what was applied, and a log of every change.

Three tables, created together by the backend's ``history_ddl`` (see
:func:`lamina.backends.base.history_tables`)::

    lamina_migrations     one row per applied migration; since layout 2 also the dirty ones
                          (``state`` running/failed) that stopped half-way outside a transaction
    lamina_migration_log  append-only audit log: apply, rollback, fail, force
    lamina_meta           name/value pairs; ``layout_version`` names the layout of the tables, so
                          a later lamina can upgrade them and an older one refuses to touch them

Only the :class:`~lamina.backends.base.Backend` API is used, so every engine stores the same
thing; timestamps are ISO 8601 text computed in Python for the same reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from lamina.backends.base import MIGRATION_COLUMNS_V2, Backend
from lamina.errors import HistoryError
from lamina.models import AppliedMigration, AuditAction, AuditEvent

__all__ = ["History"]

MIGRATIONS = "lamina_migrations"
LOG = "lamina_migration_log"
META = "lamina_meta"
LAYOUT_KEY = "layout_version"

_MIGRATION_COLUMNS_V1 = (
    "id",
    "version",
    "name",
    "category",
    "checksum",
    "applied_at",
    "execution_ms",
    "applied_by",
    "host",
)
_DIRTY_COLUMNS = tuple(definition.split()[0] for definition in MIGRATION_COLUMNS_V2)
_MIGRATION_COLUMNS = _MIGRATION_COLUMNS_V1 + _DIRTY_COLUMNS
_LOG_COLUMNS = (
    "seq",
    "logged_at",
    "action",
    "migration_id",
    "version",
    "applied_by",
    "host",
    "duration_ms",
    "detail",
)
_COLUMNS = {MIGRATIONS: _MIGRATION_COLUMNS, LOG: _LOG_COLUMNS, META: ("name", "value")}


def _select(table: str, columns: Sequence[str]) -> str:
    return f"SELECT {', '.join(columns)} FROM {table}"


def _insert(table: str, columns: Sequence[str]) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


# One round trip that reads the layout and fails unless every expected column exists.
_PROBE = (
    f"SELECT (SELECT value FROM {META} WHERE name = ?), "
    f"(SELECT COUNT(*) FROM ({_select(MIGRATIONS, _MIGRATION_COLUMNS)} WHERE 1 = 0) AS m), "
    f"(SELECT COUNT(*) FROM ({_select(LOG, _LOG_COLUMNS)} WHERE 1 = 0) AS l)"
)
_LAYOUT = f"SELECT value FROM {META} WHERE name = ?"


# Reads join the layout version onto every row, so one round trip both checks the layout and
# fetches the rows. The LEFT JOIN still yields one (all-NULL) row when the table is empty.
def _read_with_layout(table: str, columns: Sequence[str], order: str) -> str:
    picked = ", ".join(f"t.{column}" for column in columns)
    return (
        f"SELECT layout.value, {picked} FROM (SELECT value FROM {META} WHERE name = ?) AS layout "
        f"LEFT JOIN {table} AS t ON 1 = 1 ORDER BY {order}"
    )


_APPLIED = _read_with_layout(MIGRATIONS, _MIGRATION_COLUMNS, "t.applied_at, t.version")
_APPLIED_V1 = _read_with_layout(MIGRATIONS, _MIGRATION_COLUMNS_V1, "t.applied_at, t.version")
_EVENTS = _read_with_layout(LOG, _LOG_COLUMNS, "t.seq DESC")
_RECORD_APPLY = _insert(MIGRATIONS, _MIGRATION_COLUMNS)
_RECORD_ROLLBACK = f"DELETE FROM {MIGRATIONS} WHERE id = ?"
_FINISH_APPLY = (
    f"UPDATE {MIGRATIONS} SET state = 'applied', failed_statement = NULL, detail = NULL, "
    "checksum = ?, applied_at = ?, execution_ms = ?, applied_by = ?, host = ? WHERE id = ?"
)
_MARK = f"UPDATE {MIGRATIONS} SET state = ?, failed_statement = ?, detail = ? WHERE id = ?"
_SET_CHECKSUM = f"UPDATE {MIGRATIONS} SET checksum = ? WHERE id = ? AND state = 'applied'"
_SET_LAYOUT_VALUE = f"UPDATE {META} SET value = ? WHERE name = ?"
_SET_HASH = f"UPDATE {MIGRATIONS} SET schema_hash = ? WHERE id = ?"
_DELETE_META = f"DELETE FROM {META} WHERE name = ?"
_META_VALUES = f"SELECT name, value FROM {META} WHERE name IN (?, ?, ?)"
SNAPSHOT_KEY = "schema_snapshot"
DIGEST_KEY = "schema_digest"
#: The newest applied migration when the snapshot was taken ("" for none): a snapshot is
#: only a baseline for drift while history still ends there.
SNAPSHOT_OF_KEY = "schema_snapshot_of"
_AUDIT = _insert(LOG, _LOG_COLUMNS[1:])
_SET_LAYOUT = _insert(META, ("name", "value"))

_RESTORE_HINT = (
    "lamina's tables were changed outside lamina; restore them from a backup of this database"
)


class History:
    """lamina's record of applied migrations and its audit log, in one database.

    ``user`` and ``host`` are stamped on the audit rows this instance writes. Call
    :meth:`ensure` (outside any transaction) before recording anything; reading works on a
    database lamina never touched and finds nothing.

    Example::

        history = History(backend, user="ana", host="ci-7")
        history.ensure()
        with backend.transaction():
            backend.execute("CREATE TABLE t (id INTEGER)")
            history.record_apply(row)
            history.audit(AuditAction.APPLY, migration_id=row.id, version=row.version)

    Raises (every method):
        HistoryError: the tables are damaged, too new, or refused lamina's own SQL.
    """

    LAYOUT_VERSION: ClassVar[int] = 2
    #: The oldest layout this lamina still reads (and upgrades in :meth:`ensure`).
    OLDEST_LAYOUT: ClassVar[int] = 1

    def __init__(self, backend: Backend, *, user: str, host: str) -> None:
        self.backend = backend
        self.user = user
        self.host = host
        # Set once the tables were seen complete and in our layout; later calls trust that.
        self._verified = False

    # -- the tables ---------------------------------------------------------------------------
    def exists(self) -> bool:
        """Whether ``lamina_migrations`` exists (lamina has run against this database)."""
        return self.backend.table_exists(MIGRATIONS)

    def ensure(self) -> None:
        """Create the three tables in one transaction if absent; else check they are usable.

        Cheap when they exist: one catalog lookup and one query, then nothing for the rest of
        this instance's life.

        Raises:
            HistoryError: the tables were written by a newer lamina, are incomplete, or lack
                a column; the message says what is wrong and the hint how to get out.
        """
        if self._verified:
            return
        if self.exists():
            if self._verify() < self.LAYOUT_VERSION:
                self._upgrade()
        else:
            self._create()
        self._verified = True

    # -- reading ------------------------------------------------------------------------------
    def applied(self) -> list[AppliedMigration]:
        """Every applied migration, ordered by ``applied_at`` then version; ``[]`` if no tables.

        One query (plus a catalog lookup until :meth:`ensure` has run on this instance).
        """
        if not self._present():
            return []
        try:
            rows = self._read_layout_and(_APPLIED, [LAYOUT_KEY])
        except HistoryError:
            # A layout-1 table (no dirty-state columns) until the next `up` upgrades it.
            if self._verified or self._stored_layout() != 1:
                raise
            rows = [
                (*row, "applied", None, None, None)
                for row in self._read_layout_and(_APPLIED_V1, [LAYOUT_KEY])
            ]
        try:
            return [
                AppliedMigration(
                    id=str(row[0]),
                    version=int(row[1]),
                    name=str(row[2]),
                    category=str(row[3]),
                    checksum=str(row[4]),
                    applied_at=str(row[5]),
                    execution_ms=int(row[6]),
                    applied_by=str(row[7]),
                    host=str(row[8]),
                    state=str(row[9]),
                    failed_statement=_optional_int(row[10]),
                    detail=None if row[11] is None else str(row[11]),
                    schema_hash=None if row[12] is None else str(row[12]),
                )
                for row in rows
            ]
        except (TypeError, ValueError) as exc:
            raise self._malformed(MIGRATIONS, exc) from exc

    def events(self, limit: int | None = None) -> list[AuditEvent]:
        """Audit-log rows, newest first, at most ``limit`` of them; ``[]`` if no tables."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be zero or more, not {limit}")
        if not self._present() or limit == 0:
            return []
        if limit is None:
            rows = self._read_layout_and(_EVENTS, [LAYOUT_KEY])
        else:
            rows = self._read_layout_and(f"{_EVENTS} LIMIT ?", [LAYOUT_KEY, limit])
        try:
            return [
                AuditEvent(
                    seq=int(row[0]),
                    at=str(row[1]),
                    action=str(row[2]),
                    migration_id=None if row[3] is None else str(row[3]),
                    version=_optional_int(row[4]),
                    applied_by=str(row[5]),
                    host=str(row[6]),
                    duration_ms=_optional_int(row[7]),
                    detail=None if row[8] is None else str(row[8]),
                )
                for row in rows
            ]
        except (TypeError, ValueError) as exc:
            raise self._malformed(LOG, exc) from exc

    # -- writing (inside the caller's transaction) --------------------------------------------
    def record_apply(self, row: AppliedMigration) -> None:
        """Record ``row`` as applied, in the caller's transaction (with the migration's work)."""
        values = (
            row.id,
            row.version,
            row.name,
            row.category,
            row.checksum,
            row.applied_at,
            row.execution_ms,
            row.applied_by,
            row.host,
            row.state,
            row.failed_statement,
            row.detail,
            row.schema_hash,
        )
        self._write(_RECORD_APPLY, values, f"record {row.id} as {row.state}")

    def finish_apply(self, row: AppliedMigration) -> None:
        """Turn the ``running`` row of a non-atomic migration into an applied one."""
        values = (row.checksum, row.applied_at, row.execution_ms, row.applied_by, row.host, row.id)
        self._write(_FINISH_APPLY, values, f"record {row.id} as applied")

    def mark(
        self,
        migration_id: str,
        state: str,
        *,
        failed_statement: int | None = None,
        detail: str | None = None,
    ) -> None:
        """Set the state of an existing row: ``running`` before a non-atomic down, ``failed``
        after a half-run, ``applied`` when repaired."""
        values = (state, failed_statement, detail, migration_id)
        self._write(_MARK, values, f"record {migration_id} as {state}")

    def set_checksum(self, migration_id: str, checksum: str) -> None:
        """Store ``checksum`` on an applied row: the user accepted an edit of its file
        (``lamina repair ID --accept-checksum``). Dirty rows are left alone."""
        self._write(_SET_CHECKSUM, (checksum, migration_id), f"accept the file of {migration_id}")

    def record_rollback(self, migration_id: str) -> None:
        """Forget ``migration_id`` as applied, in the caller's transaction."""
        self._write(_RECORD_ROLLBACK, (migration_id,), f"record {migration_id} as rolled back")

    def audit(
        self,
        action: AuditAction,
        *,
        migration_id: str | None = None,
        version: int | None = None,
        duration_ms: int | None = None,
        detail: str | None = None,
    ) -> None:
        """Append one row to the audit log, in the caller's transaction if there is one.

        A ``fail`` row must be written after the failed migration's rollback, or it would be
        rolled back with it.
        """
        values = (
            self.now(),
            AuditAction(action).value,
            migration_id,
            version,
            self.user,
            self.host,
            duration_ms,
            detail,
        )
        self._write(_AUDIT, values, f"write the audit log ({action})")

    def record_schema(self, migration_id: str | None, digest: str, snapshot_json: str) -> None:
        """Remember the schema a run left: its digest on the last migration applied (if any)
        and the whole snapshot in ``lamina_meta``, so drift can be named object by object."""
        if migration_id is not None:
            self._write(_SET_HASH, (digest, migration_id), f"record the schema of {migration_id}")
        entries = (
            (SNAPSHOT_KEY, snapshot_json),
            (DIGEST_KEY, digest),
            (SNAPSHOT_OF_KEY, migration_id or ""),
        )
        for name, value in entries:
            self._write(_DELETE_META, (name,), "replace the schema snapshot")
            self._write(_SET_LAYOUT, (name, value), "record the schema snapshot")

    def recorded_schema(self) -> tuple[str, str, str] | None:
        """(digest, snapshot JSON, newest applied id then or "") of the schema the last run
        left, or None if never taken."""
        if not self._present():
            return None
        rows = self._read(_META_VALUES, (SNAPSHOT_KEY, DIGEST_KEY, SNAPSHOT_OF_KEY))
        values = {str(name): "" if value is None else str(value) for name, value in rows}
        if SNAPSHOT_KEY not in values or DIGEST_KEY not in values:
            return None
        return values[DIGEST_KEY], values[SNAPSHOT_KEY], values.get(SNAPSHOT_OF_KEY, "")

    @staticmethod
    def now() -> str:
        """The current UTC time as lamina stores it: ``2026-11-25T13:45:01.123456Z``.

        Fixed width, so the text sorts in time order on every engine.
        """
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    # -- internals ----------------------------------------------------------------------------
    def _present(self) -> bool:
        return self._verified or self.exists()

    def _create(self) -> None:
        """Create the tables, ``lamina_migrations`` last: its existence is what readers take
        as "lamina's tables are here", so on MySQL, where each CREATE commits by itself, a
        concurrent ``status`` never sees a half-made set."""
        backend = self.backend
        present = [table for table in (LOG, META) if backend.table_exists(table)]
        if present and not self._interrupted_creation(present):
            raise self._incomplete([MIGRATIONS], present)
        last = [s for s in backend.history_ddl if _creates(s, MIGRATIONS)]
        first = [s for s in backend.history_ddl if s not in last]
        try:
            with backend.transaction():
                for statement in first:
                    if not any(_creates(statement, table) for table in present):
                        backend.execute(statement)
                if META not in present or not self._stored_layout():
                    backend.execute(
                        backend.sql(_SET_LAYOUT), (LAYOUT_KEY, str(self.LAYOUT_VERSION))
                    )
                for statement in last:
                    backend.execute(statement)
        except Exception as exc:
            if not backend.is_driver_error(exc):
                raise
            if backend.table_exists(MIGRATIONS):  # another run created them meanwhile
                self._verify()
                return
            raise HistoryError(
                f"cannot create lamina's tables in {backend.target()}: "
                f"{backend.describe_error(exc)}"
            ) from exc

    def _interrupted_creation(self, present: Sequence[str]) -> bool:
        """Whether ``present`` is what a creation cut short on MySQL leaves: the log and meta
        tables, still empty but for the layout row. Anything else means history was lost
        (``lamina_migrations`` dropped by hand) and must not be silently started afresh."""
        if self.backend.capabilities.transactional_ddl:
            return False
        try:
            if LOG in present and self.backend.query(f"SELECT COUNT(*) FROM {LOG}")[0][0]:
                return False
            if META in present:
                rows = self.backend.query(f"SELECT name FROM {META}")
                return all(str(row[0]) == LAYOUT_KEY for row in rows)
        except Exception as exc:
            if not self.backend.is_driver_error(exc):
                raise
            return False
        return True

    def _verify(self) -> int:
        """Check the tables are usable; returns their layout (an older one is upgradable)."""
        try:
            rows = self._read(_PROBE, (LAYOUT_KEY,))
        except HistoryError:
            if self._stored_layout() != 1:
                raise
            return 1
        return self._check_layout(rows[0][0] if rows else None)

    def _stored_layout(self) -> int | None:
        """The layout number in ``lamina_meta``, or None when it cannot be read."""
        try:
            rows = self.backend.query(self.backend.sql(_LAYOUT), [LAYOUT_KEY])
            return int(str(rows[0][0]).strip()) if rows else None
        except Exception as exc:
            if self.backend.is_driver_error(exc) or isinstance(exc, ValueError):
                return None
            raise

    def _upgrade(self) -> None:
        """Bring layout-1 tables to layout 2: add the dirty-state columns, then the number.

        Columns already added by an upgrade that was interrupted are skipped, so the upgrade
        can simply run again (MySQL commits each ALTER on its own).
        """
        backend = self.backend
        missing = [
            definition
            for definition, column in zip(MIGRATION_COLUMNS_V2, _DIRTY_COLUMNS, strict=True)
            if not self._has_column(MIGRATIONS, column)
        ]
        try:
            with backend.transaction():
                for definition in missing:
                    backend.execute(f"ALTER TABLE {MIGRATIONS} ADD COLUMN {definition}")
                backend.execute(
                    backend.sql(_SET_LAYOUT_VALUE), (str(self.LAYOUT_VERSION), LAYOUT_KEY)
                )
        except Exception as exc:
            if not backend.is_driver_error(exc):
                raise
            raise HistoryError(
                f"cannot upgrade lamina's tables in {backend.target()} to layout "
                f"{self.LAYOUT_VERSION}: {backend.describe_error(exc)}",
                hint="grant this user ALTER on lamina_migrations, or run the upgrade as the "
                "owner of the tables (any `lamina up` does it)",
            ) from exc

    def _check_layout(self, value: object) -> int:
        target = self.backend.target()
        if value is None:
            raise HistoryError(
                f"{META} in {target} has no {LAYOUT_KEY} row",
                hint=f"{_RESTORE_HINT}, or if the other tables are intact put the row back: "
                f"INSERT INTO {META} (name, value) VALUES ('{LAYOUT_KEY}', "
                f"'{self.LAYOUT_VERSION}')",
            )
        try:
            layout = int(str(value).strip())
        except ValueError:
            layout = 0
        if layout > self.LAYOUT_VERSION:
            raise HistoryError(
                f"lamina's history in {target} was written by a newer lamina (layout {layout}); "
                "upgrade lamina",
                hint=f"pip install --upgrade lamina (this lamina reads layout "
                f"{self.LAYOUT_VERSION})",
            )
        if layout < self.OLDEST_LAYOUT:  # no such layout ever existed: the value is damaged
            raise HistoryError(
                f"{META} in {target} holds an unreadable {LAYOUT_KEY} {value!r}",
                hint=f"{_RESTORE_HINT}, or if the other tables are intact repair the row: "
                f"UPDATE {META} SET value = '{self.LAYOUT_VERSION}' WHERE name = '{LAYOUT_KEY}'",
            )
        return layout

    def _read_layout_and(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        """Run a :func:`_read_with_layout` query: check the layout, return the table's rows."""
        rows = self._read(sql, params)
        self._check_layout(rows[0][0] if rows else None)
        return [row[1:] for row in rows if row[1] is not None]

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.backend.query(self.backend.sql(sql), params)
        except Exception as exc:
            if not self.backend.is_driver_error(exc):
                raise
            raise self._diagnose(exc) from exc

    def _write(self, sql: str, params: Sequence[object], what: str) -> None:
        try:
            self.backend.execute(self.backend.sql(sql), params)
        except Exception as exc:
            if not self.backend.is_driver_error(exc):
                raise
            # No diagnosis here: inside the caller's transaction, a failed statement may have
            # aborted it (PostgreSQL, DuckDB) and every further query would fail too.
            raise HistoryError(
                f"cannot {what} in {self.backend.target()}: {self.backend.describe_error(exc)}",
                hint=f"run `lamina status` to check lamina's tables; {_RESTORE_HINT}",
            ) from exc

    def _diagnose(self, exc: BaseException) -> HistoryError:
        """Say what is wrong with the tables after lamina's own query failed with ``exc``."""
        generic = HistoryError(
            f"cannot read lamina's tables in {self.backend.target()}: "
            f"{self.backend.describe_error(exc)}",
            hint=_RESTORE_HINT,
        )
        try:
            self.backend.query("SELECT 1")  # a broken connection or transaction explains nothing
            return self._find_damage() or generic
        except HistoryError as found:
            return found
        except Exception as probe_exc:
            if self.backend.is_driver_error(probe_exc):
                return generic
            raise

    def _find_damage(self) -> HistoryError | None:
        backend = self.backend
        present = [table for table in _COLUMNS if backend.table_exists(table)]
        missing = [table for table in _COLUMNS if table not in present]
        if missing:
            return self._incomplete(missing, present)
        layout = backend.query(backend.sql(_LAYOUT), [LAYOUT_KEY])
        self._check_layout(layout[0][0] if layout else None)  # raises when that is the fault
        for table, columns in _COLUMNS.items():
            lost = [column for column in columns if not self._has_column(table, column)]
            if lost:
                ddl = next((s for s in backend.history_ddl if _creates(s, table)), "")
                return HistoryError(
                    f"lamina's table {table} in {backend.target()} has no column "
                    f"{', '.join(lost)}: it was changed outside lamina",
                    hint=f"{_RESTORE_HINT}, or add the column(s) back as lamina defines them: "
                    f"{ddl}",
                )
        return None

    def _has_column(self, table: str, column: str) -> bool:
        # Identifiers come from the constants above, never from input.
        try:
            self.backend.query(f"SELECT {column} FROM {table} WHERE 1 = 0")
        except Exception as exc:
            if not self.backend.is_driver_error(exc):
                raise
            return False
        return True

    def _incomplete(self, missing: Sequence[str], present: Sequence[str]) -> HistoryError:
        return HistoryError(
            f"lamina's history in {self.backend.target()} is incomplete: "
            f"{', '.join(missing)} missing while {', '.join(present)} exist(s)",
            hint=f"{_RESTORE_HINT}; dropping every lamina_* table instead starts an empty "
            "history, in which every migration is pending",
        )

    def _malformed(self, table: str, exc: Exception) -> HistoryError:
        return HistoryError(
            f"lamina's table {table} in {self.backend.target()} holds a malformed row: {exc}",
            hint=_RESTORE_HINT,
        )


def _creates(statement: str, table: str) -> bool:
    """Whether one of lamina's own DDL statements creates ``table`` (constants, not input)."""
    return f"TABLE {table} (" in statement


def _optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))
