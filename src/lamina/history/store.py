"""lamina's own tables in the target database: what was applied, and a log of every change.

Three tables, declared in :mod:`lamina.history.tables` and created together in the spelling of
the backend's :class:`~lamina.engines.base.HistoryTypes`::

    lamina_migrations     one row per applied migration; since layout 2 also the dirty ones
                          (``state`` running/failed) that stopped half-way outside a transaction
    lamina_migration_log  append-only audit log: apply, rollback, fail, force
    lamina_meta           name/value pairs; ``layout_version`` names the layout of the tables, so
                          a later lamina can upgrade them and an older one refuses to touch them

Only the :class:`~lamina.engines.base.Backend` API is used, so every engine stores the same
thing; timestamps are ISO 8601 text computed in Python for the same reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lamina.engines.base import Backend
from lamina.errors import HistoryError
from lamina.history.layout import Layout
from lamina.history.tables import (
    _APPLIED,
    _APPLIED_V1,
    _AUDIT,
    _DELETE_META,
    _EVENTS,
    _FINISH_APPLY,
    _MARK,
    _META_VALUE,
    _META_VALUES,
    _RECORD_APPLY,
    _RECORD_ROLLBACK,
    _SET_CHECKSUM,
    _SET_HASH,
    _SET_LAYOUT,
    DIGEST_KEY,
    FINGERPRINT_KEY,
    LAYOUT_KEY,
    LOG,
    MIGRATIONS,
    SNAPSHOT_KEY,
    SNAPSHOT_OF_KEY,
)
from lamina.models import AppliedMigration, AuditAction, AuditEvent, RowState

__all__ = ["AuditEntry", "History", "RecordedSchema"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An audit-log row to write together with a change of ``lamina_migrations`` (see
    :meth:`History.record_apply`); ``logged_at``, user and host are stamped when written."""

    action: AuditAction
    migration_id: str | None = None
    version: int | None = None
    duration_ms: int | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class RecordedSchema:
    """What the last run recorded of the schema it left (the snapshot itself is read apart,
    by :meth:`History.recorded_snapshot`, only when it is needed).

    Attributes:
        digest: the snapshot's digest.
        taken_at: the newest applied migration then ("" for none).
        fingerprint: the engine's fingerprint of its raw catalog then ("" for none).
    """

    digest: str
    taken_at: str
    fingerprint: str

    @staticmethod
    def read(values: dict[str, object]) -> RecordedSchema | None:
        """From ``lamina_meta``'s values; None when no digest was recorded."""
        if values.get(DIGEST_KEY) is None:
            return None
        text = {name: "" if value is None else str(value) for name, value in values.items()}
        return RecordedSchema(
            text[DIGEST_KEY], text.get(SNAPSHOT_OF_KEY, ""), text.get(FINGERPRINT_KEY, "")
        )


class History(Layout):
    """lamina's record of applied migrations and its audit log, in one database.

    ``user`` and ``host`` are stamped on the audit rows this instance writes. Call
    :meth:`ensure` (outside any transaction) before recording anything; reading works on a
    database lamina never touched and finds nothing.

    Example::

        history = History(backend, user="ana", host="ci-7")
        history.ensure()
        with backend.transaction():
            backend.execute("CREATE TABLE t (id INTEGER)")
            history.record_apply(row, audit=AuditEntry(AuditAction.APPLY, row.id, row.version))

    Raises (every method):
        HistoryError: the tables are damaged, too new, or refused lamina's own SQL.
    """

    def __init__(self, backend: Backend, *, user: str, host: str) -> None:
        self.backend = backend
        self.user = user
        self.host = host
        # Set once the tables were seen complete and in our layout; later calls trust that.
        self._verified = False

    # -- the tables ---------------------------------------------------------------------------
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
            layout = self._verify()
            if layout < self.LAYOUT_VERSION:
                self._upgrade(layout)
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
                (*row, RowState.APPLIED, None, None, None)
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
                    state=RowState.read(str(row[9])),
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
    def record_apply(self, row: AppliedMigration, *, audit: AuditEntry | None = None) -> None:
        """Record ``row`` as applied, in the caller's transaction (with the migration's work),
        and ``audit`` with it."""
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
        self._change(_RECORD_APPLY, values, f"record {row.id} as {row.state}", audit)

    def finish_apply(self, row: AppliedMigration, *, audit: AuditEntry | None = None) -> None:
        """Turn the ``running`` row of a non-atomic migration into an applied one (and write
        ``audit`` with it)."""
        values = (row.checksum, row.applied_at, row.execution_ms, row.applied_by, row.host, row.id)
        self._change(_FINISH_APPLY, values, f"record {row.id} as applied", audit)

    def mark(
        self,
        migration_id: str,
        state: RowState,
        *,
        failed_statement: int | None = None,
        detail: str | None = None,
        audit: AuditEntry | None = None,
    ) -> None:
        """Set the state of an existing row: ``running`` before a non-atomic down, ``failed``
        after a half-run, ``applied`` when repaired (and write ``audit`` with it)."""
        values = (state, failed_statement, detail, migration_id)
        self._change(_MARK, values, f"record {migration_id} as {state}", audit)

    def set_checksum(self, migration_id: str, checksum: str) -> None:
        """Store ``checksum`` on an applied row: the user accepted an edit of its file
        (``lamina repair ID --accept-checksum``). Dirty rows are left alone."""
        self._write(_SET_CHECKSUM, (checksum, migration_id), f"accept the file of {migration_id}")

    def record_rollback(self, migration_id: str, *, audit: AuditEntry | None = None) -> None:
        """Forget ``migration_id`` as applied, in the caller's transaction (and write
        ``audit`` with it)."""
        what = f"record {migration_id} as rolled back"
        self._change(_RECORD_ROLLBACK, (migration_id,), what, audit)

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
        entry = AuditEntry(AuditAction(action), migration_id, version, duration_ms, detail)
        self.write_audit(entry)

    def write_audit(self, entry: AuditEntry) -> None:
        """:meth:`audit`, given the row as an :class:`AuditEntry`."""
        values = _audit_values(entry, self.user, self.host)
        self._write(_AUDIT, values, f"write the audit log ({entry.action})")

    def _change(
        self, sql: str, values: Sequence[object], what: str, audit: AuditEntry | None
    ) -> None:
        """Run a change of ``lamina_migrations`` with its audit row, if any: in one statement
        where the engine has data-modifying CTEs (the backend's ``data_modifying_ctes``), one
        round trip instead of two, atomic as one statement and inside the caller's transaction.

        Elsewhere two statements in that transaction: SQLite allows no INSERT/UPDATE/DELETE in
        a WITH and runs one statement per call (in process, so no round trip either); MySQL and
        MariaDB have neither, and PyMySQL sends several statements in one call only with
        CLIENT.MULTI_STATEMENTS, which lamina leaves off (any SQL it sends could then carry
        more statements than it shows).
        """
        if audit is None:
            self._write(sql, values, what)
        elif self.backend.data_modifying_ctes:
            audited = (*values, *_audit_values(audit, self.user, self.host))
            self._write(f"WITH change AS ({sql}) {_AUDIT}", audited, f"{what} and audit it")
        else:
            self._write(sql, values, what)
            self.write_audit(audit)

    def record_schema(
        self, migration_id: str | None, digest: str, snapshot_json: str, fingerprint: str = ""
    ) -> None:
        """Remember the schema a run left: its digest on the last migration applied (if any)
        and the whole snapshot in ``lamina_meta``, so drift can be named object by object."""
        if migration_id is not None:
            self._write(_SET_HASH, (digest, migration_id), f"record the schema of {migration_id}")
        entries = (
            (SNAPSHOT_KEY, snapshot_json),
            (DIGEST_KEY, digest),
            (SNAPSHOT_OF_KEY, migration_id or ""),
            (FINGERPRINT_KEY, fingerprint),
        )
        for name, value in entries:
            self._write(_DELETE_META, (name,), "replace the schema snapshot")
            self._write(_SET_LAYOUT, (name, value), "record the schema snapshot")

    def recorded_schema(self) -> RecordedSchema | None:
        """What the last run recorded of the schema it left, or None if never taken."""
        if not self._present():
            return None
        rows = self._read(_META_VALUES, (DIGEST_KEY, SNAPSHOT_OF_KEY, FINGERPRINT_KEY))
        return RecordedSchema.read({str(name): value for name, value in rows})

    def recorded_snapshot(self) -> str | None:
        """The JSON of the schema the last run left (see :meth:`recorded_schema`)."""
        rows = self._read(_META_VALUE, (SNAPSHOT_KEY,)) if self._present() else []
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    @staticmethod
    def now() -> str:
        """The current UTC time as lamina stores it: ``2026-11-25T13:45:01.123456Z``.

        Fixed width, so the text sorts in time order on every engine.
        """
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _audit_values(entry: AuditEntry, user: str, host: str) -> tuple[object, ...]:
    """The parameters of ``_AUDIT`` for ``entry``, written now by ``user`` on ``host``."""
    values = (entry.action.value, entry.migration_id, entry.version, user, host)
    return (History.now(), *values, entry.duration_ms, entry.detail)


def _optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))
