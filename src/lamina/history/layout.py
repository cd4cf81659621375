"""Creating, checking, upgrading and diagnosing lamina's tables (the layout side of
:class:`lamina.history.History`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from lamina.engines.base import Backend
from lamina.errors import HistoryError, StatementError
from lamina.history import tables
from lamina.history.tables import (
    _COLUMNS,
    _LAYOUT,
    _PROBE,
    _RESTORE_HINT,
    _SET_LAYOUT,
    _SET_LAYOUT_VALUE,
    LAYOUT_KEY,
    LOG,
    META,
    MIGRATIONS,
)

__all__ = ["Layout"]


class Layout:
    """The tables' layout: created together, checked once per instance, upgraded in place,
    and, when lamina's own SQL fails, diagnosed so the message says what is wrong."""

    LAYOUT_VERSION: ClassVar[int] = tables.LAYOUT_VERSION
    #: The oldest layout this lamina still reads (and upgrades in :meth:`ensure`).
    OLDEST_LAYOUT: ClassVar[int] = tables.OLDEST_LAYOUT

    backend: Backend
    _verified: bool

    def exists(self) -> bool:
        """Whether ``lamina_migrations`` exists (lamina has run against this database)."""
        return self.backend.table_exists(MIGRATIONS)

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
        creating = tables.create_statements(backend.history_types)
        last = creating.pop(MIGRATIONS)
        try:
            with backend.transaction():
                for table, statements in creating.items():
                    for statement in () if table in present else statements:
                        backend.execute(statement)
                if META not in present or not self._stored_layout():
                    backend.execute(
                        backend.sql(_SET_LAYOUT), (LAYOUT_KEY, str(self.LAYOUT_VERSION))
                    )
                for statement in last:
                    backend.execute(statement)
        except StatementError as exc:
            if backend.table_exists(MIGRATIONS):  # another run created them meanwhile
                self._verify()
                return
            raise HistoryError(
                f"cannot create lamina's tables in {backend.target()}: {exc.detail}"
            ) from exc.original

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
        except StatementError:
            return False
        return True

    def _verify(self) -> int:
        """Check the tables are usable; returns their layout (an older one is upgradable)."""
        try:
            rows = self._read(_PROBE, (LAYOUT_KEY,))
        except HistoryError:
            stored = self._stored_layout()
            if stored is None or not self.OLDEST_LAYOUT <= stored < self.LAYOUT_VERSION:
                raise
            return stored
        return self._check_layout(rows[0][0] if rows else None)

    def _stored_layout(self) -> int | None:
        """The layout number in ``lamina_meta``, or None when it cannot be read."""
        try:
            rows = self.backend.query(self.backend.sql(_LAYOUT), [LAYOUT_KEY])
            return int(str(rows[0][0]).strip()) if rows else None
        except (StatementError, ValueError):
            return None

    def _upgrade(self, layout: int) -> None:
        """Bring tables of an older ``layout`` to :attr:`LAYOUT_VERSION`: add the columns
        declared since (layout 2: the dirty-state columns), widen the types widened since
        (layout 3: MySQL's snapshot column), then store the number.

        Columns already added by an upgrade that was interrupted are skipped, so the upgrade
        can simply run again (MySQL commits each ALTER on its own).
        """
        backend = self.backend
        missing = [
            statement
            for table, column, statement in tables.upgrade_statements(backend.history_types, layout)
            if not self._has_column(table, column)
        ]
        widen = tables.retype_statements(backend.history_types, layout)  # idempotent
        try:
            with backend.transaction():
                for statement in (*missing, *widen):
                    backend.execute(statement)
                backend.execute(
                    backend.sql(_SET_LAYOUT_VALUE), (str(self.LAYOUT_VERSION), LAYOUT_KEY)
                )
        except StatementError as exc:
            raise HistoryError(
                f"cannot upgrade lamina's tables in {backend.target()} to layout "
                f"{self.LAYOUT_VERSION}: {exc.detail}",
                hint=f"grant this user ALTER on {MIGRATIONS}, or run the upgrade as the "
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
        except StatementError as exc:
            raise self._diagnose(exc) from exc.original

    def _write(self, sql: str, params: Sequence[object], what: str) -> None:
        try:
            self.backend.execute(self.backend.sql(sql), params)
        except StatementError as exc:
            # No diagnosis here: inside the caller's transaction, a failed statement may have
            # aborted it (PostgreSQL, DuckDB) and every further query would fail too.
            raise HistoryError(
                f"cannot {what} in {self.backend.target()}: {exc.detail}",
                hint=f"run `lamina status` to check lamina's tables; {_RESTORE_HINT}",
            ) from exc.original

    def _diagnose(self, exc: StatementError) -> HistoryError:
        """Say what is wrong with the tables after lamina's own query failed with ``exc``."""
        generic = HistoryError(
            f"cannot read lamina's tables in {self.backend.target()}: {exc.detail}",
            hint=_RESTORE_HINT,
        )
        try:
            self.backend.query("SELECT 1")  # a broken connection or transaction explains nothing
            return self._find_damage() or generic
        except HistoryError as found:
            return found
        except StatementError:
            return generic

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
                ddl = tables.TABLES[table].create(backend.history_types)[-1]
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
        except StatementError:
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
