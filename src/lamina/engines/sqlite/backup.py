"""SQLite backups: the online backup API, both ways.

*Backup*: the online backup API, 1 MiB of pages per step; SQLite restarts the copy if
another connection writes meanwhile, so the result is one consistent snapshot. Under a
steady writer it would restart forever: after the first restart the copy is taken in one
step, holding a read lock on the file meanwhile (writers' commits wait for it, in rollback
journal mode, for as long as the copy takes).

*Restore*: the backup API again, from the backup file into the live database. SQLite copies
every page inside one write transaction on the target (journal or WAL), committed only when
the last page is in: other connections see the old database or the new one, a crash or an
error rolls back, and connections that stay open keep working (which a file rename would
break: they would go on reading, and writing, the replaced file).

*Touched backup* (``backup_scope = touched``): a new SQLite file gets each table recreated with
its own ``CREATE TABLE`` (from ``sqlite_master``) and filled by ``INSERT ... SELECT`` from the
live file, attached read-only, in one read transaction (one snapshot); the catalog keeps the
tables', indexes' and triggers' SQL (:mod:`lamina.backup.filetables`). A trigger's body is
read like a migration, and the tables it writes join the scope. *Its restore*, in one
``BEGIN IMMEDIATE`` transaction: drop the scope's tables, recreate them from the catalog, copy
the rows back, recreate indexes and triggers, and check the foreign keys of the restored tables
and of the tables referencing them (``PRAGMA foreign_key_check``): a violation rolls back.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from lamina.backup.engine import EngineBackup, error_line, existing_file, target_file
from lamina.backup.errors import BackupError
from lamina.backup.filetables import (
    CATALOG,
    Object,
    quote,
    replace_tables,
    to_recreate,
    write_catalog,
)
from lamina.backup.scope import (
    ForeignKey,
    LiveTables,
    RestorePlan,
    Trigger,
    plan_backup,
    plan_restore,
    scope_of,
)
from lamina.backup.store import BackupRecord
from lamina.backup.streams import CHUNK, Produced, Progress, create_private, digest_file
from lamina.engines.sqlite.connect import file_uri
from lamina.urls import DatabaseURL

if TYPE_CHECKING:
    import sqlite3

    from lamina.risk.touched import Touched

__all__ = ["BACKUP", "backup_sqlite", "restore_sqlite"]

#: How long SQLite may stay locked by another connection before a backup or restore gives up.
SQLITE_BUSY_S = 30.0
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


def backup_sqlite(
    url: DatabaseURL,
    dest: Path,
    *,
    progress: Progress | None,
    checkpoint: Callable[[], None] | None = None,
) -> Produced:
    """Copy a SQLite database to ``dest`` with the online backup API (a consistent snapshot);
    ``checkpoint`` is not needed: the backup API reads through SQLite's own journal."""
    import sqlite3

    path = existing_file(url)
    create_private(dest).close()  # 0600 before SQLite writes a byte; SQLite keeps the mode
    try:
        source = sqlite3.connect(file_uri(str(path), "rw"), uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {path}: {error_line(exc)}") from exc
    try:
        target = sqlite3.connect(dest)
        try:
            _copy_pages(source, target, progress, what=str(path))
        finally:
            target.close()
    finally:
        source.close()
    size, sha256 = digest_file(dest)
    return Produced("sqlite-file", f"sqlite {sqlite3.sqlite_version}", size, sha256)


def restore_sqlite(
    url: DatabaseURL, source: Path, record: BackupRecord, *, progress: Progress | None
) -> None:
    """Copy the backup into the live database in one SQLite write transaction."""
    import sqlite3

    path = target_file(url)
    backup = sqlite3.connect(file_uri(str(source), "ro", immutable=True), uri=True)
    try:
        try:
            target = sqlite3.connect(path, timeout=SQLITE_BUSY_S)
        except sqlite3.Error as exc:
            raise BackupError(f"cannot open {path}: {error_line(exc)}") from exc
        try:
            _copy_pages(backup, target, progress, what=str(path))
        finally:
            target.close()
    finally:
        backup.close()


class _StillBusy(Exception):
    """Raised from the backup progress callback to abandon a copy that stays locked."""


class _Restarted(Exception):
    """Raised from the backup progress callback when another connection's write made SQLite
    start the copy over: it is then taken in one step."""


def _copy_pages(
    source: sqlite3.Connection,
    target: sqlite3.Connection,
    progress: Progress | None,
    *,
    what: str,
) -> None:
    import sqlite3

    page_size = int(source.execute("PRAGMA page_size").fetchone()[0])
    deadline = time.monotonic() + SQLITE_BUSY_S
    left: list[int] = []  # pages remaining after the last step

    def step(status: int, remaining: int, total: int) -> None:
        if status in (_SQLITE_BUSY, _SQLITE_LOCKED) and time.monotonic() > deadline:
            raise _StillBusy
        if left and remaining > left[-1]:
            raise _Restarted
        left.append(remaining)
        if progress is not None:
            progress((total - remaining) * page_size, total * page_size)

    try:
        try:
            source.backup(target, pages=max(1, CHUNK // page_size), progress=step)
        except _Restarted:
            left.clear()
            # Retried every 5 ms while a writer holds the file: its commits leave short gaps.
            source.backup(target, pages=-1, progress=step, sleep=0.005)
    except _StillBusy:
        raise BackupError(
            f"{what} stayed locked by another connection for {SQLITE_BUSY_S:g} s; "
            "nothing was changed",
            hint="retry when the other connection's transaction has finished",
        ) from None
    except sqlite3.Error as exc:
        raise BackupError(
            f"SQLite could not copy {what}: {error_line(exc)}; nothing was changed"
        ) from exc


# -- touched backups ---------------------------------------------------------------------------
_NO_ACTION = {"NO ACTION", "RESTRICT"}
_BODY = re.compile(r"\bBEGIN\b(.*)\bEND\s*;?\s*$", re.IGNORECASE | re.DOTALL)


def backup_sqlite_tables(
    url: DatabaseURL,
    dest: Path,
    touched: Touched,
    *,
    progress: Progress | None,
    checkpoint: Callable[[], None] | None = None,
) -> Produced:
    """Copy the touched tables into a new SQLite file, in one read snapshot (see above)."""
    import sqlite3

    path = existing_file(url)
    create_private(dest).close()
    conn = _open(file_uri(str(dest), "rw"), str(dest))
    try:
        conn.execute("ATTACH DATABASE ? AS lamina_source", (file_uri(str(path), "ro"),))
        conn.execute("BEGIN")
        live, objects = _live(conn, "lamina_source")
        scope = plan_backup(touched, live, "cascading")
        tables = {name: sql for kind, name, _, sql in objects if kind == "table"}

        def copy(table: str) -> None:
            conn.execute(tables[table])
            _copy_rows(conn, "lamina_source", "main", table)

        write_catalog(conn.execute, to_recreate(objects, scope.tables, live.foreign_keys), copy)
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not copy tables of {path}: {error_line(exc)}") from exc
    finally:
        conn.close()
    size, sha256 = digest_file(dest, progress)
    return Produced("sqlite-file", f"sqlite {sqlite3.sqlite_version}", size, sha256, scope=scope)


def restore_sqlite_tables(
    url: DatabaseURL, source: Path, record: BackupRecord, *, progress: Progress | None
) -> None:
    """Replace just the backup's tables, in one write transaction (see above)."""
    import sqlite3

    path = target_file(url)
    conn = _open(file_uri(str(path), "rw"), str(path))
    try:
        conn.execute("PRAGMA foreign_keys = OFF")  # checked once at the end instead
        conn.execute(
            "ATTACH DATABASE ? AS lamina_backup", (file_uri(str(source), "ro", immutable=True),)
        )
        conn.execute("BEGIN IMMEDIATE")
        try:
            live, _ = _live(conn, "main")
            plan = plan_restore(record.id, scope_of(record), live, "cascading")
            catalog = conn.execute(
                f"SELECT kind, tbl, sql FROM lamina_backup.{CATALOG} ORDER BY position"
            ).fetchall()
            copy = partial(_copy_rows, conn, "lamina_backup", "main")
            replace_tables(conn.execute, plan, live.foreign_keys, catalog, copy)
            _check_keys(conn, record, plan)
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise BackupError(
            f"restoring backup {record.id} failed: {error_line(exc)}; nothing was restored"
        ) from exc
    finally:
        conn.close()
    if progress is not None:
        progress(record.size, record.size)


def _open(uri: str, what: str) -> sqlite3.Connection:
    import sqlite3

    try:
        return sqlite3.connect(uri, uri=True, isolation_level=None, timeout=SQLITE_BUSY_S)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {what}: {error_line(exc)}") from exc


def _check_keys(conn: sqlite3.Connection, record: BackupRecord, plan: RestorePlan) -> None:
    """Refuse (the caller rolls back) if a restored table, or one referencing it, now holds a
    row whose foreign key points nowhere."""
    for table in dict.fromkeys([*plan.load, *(key.source for key in plan.keys)]):
        bad = conn.execute(f"PRAGMA main.foreign_key_check({quote(table)})").fetchone()
        if bad is not None:
            raise BackupError(
                f"restoring backup {record.id} would leave a row of {bad[0]} referencing a "
                f"missing row of {bad[2]} (foreign key); nothing was restored",
                hint=f"the rows {bad[0]} references changed since the backup: fix them, or "
                "restore a whole-database backup",
            )


def _copy_rows(conn: sqlite3.Connection, source: str, target: str, table: str) -> None:
    """Every row of ``table``; generated columns are computed again, not copied."""
    columns = [
        quote(str(row[1]))
        for row in conn.execute(f"PRAGMA {source}.table_xinfo({quote(table)})").fetchall()
        if row[6] == 0
    ]
    listed = ", ".join(columns)
    conn.execute(
        f"INSERT INTO {target}.{quote(table)} ({listed}) "
        f"SELECT {listed} FROM {source}.{quote(table)}"
    )


def _live(conn: sqlite3.Connection, schema: str) -> tuple[LiveTables, list[Object]]:
    """``schema`` as :mod:`lamina.backup.scope` needs it, and the SQL of its objects."""
    rows = [
        (str(kind), str(name), str(table), str(sql or ""))
        for kind, name, table, sql in conn.execute(
            f"SELECT type, name, tbl_name, sql FROM {schema}.sqlite_master WHERE name NOT LIKE "
            f"'sqlite\\_%' ESCAPE '\\' AND name <> '{CATALOG}' ORDER BY rowid"
        ).fetchall()
    ]
    tables = {name for kind, name, _, _ in rows if kind == "table"}
    triggers: dict[str, list[Trigger]] = {}
    for kind, name, table, sql in rows:
        if kind == "trigger":
            triggers.setdefault(table, []).append(Trigger(name, _writes(sql)))
    live = LiveTables(
        tables=frozenset(tables),
        others={name: kind for kind, name, _, _ in rows if kind == "view"},
        foreign_keys=tuple(_foreign_keys(conn, schema, tables)),
        indexes={name: table for kind, name, table, _ in rows if kind == "index"},
        triggers={table: tuple(found) for table, found in triggers.items()},
        alone={
            name: "it is a virtual table"
            for kind, name, _, sql in rows
            if kind == "table" and sql.upper().startswith("CREATE VIRTUAL")
        },
        qualifiers=frozenset({(), ("main",)}),
        fold=True,
    )
    return live, rows


def _foreign_keys(conn: sqlite3.Connection, schema: str, tables: set[str]) -> list[ForeignKey]:
    spelled = {t.lower(): t for t in tables}
    keys = []
    for table in sorted(tables):
        for row in conn.execute(
            f'SELECT "table", on_update, on_delete FROM {schema}.pragma_foreign_key_list(?)',
            (table,),
        ).fetchall():
            target = spelled.get(str(row[0]).lower(), str(row[0]))
            cascades = not {str(row[1]).upper(), str(row[2]).upper()} <= _NO_ACTION
            keys.append(ForeignKey(table, target, cascades=cascades))
    return keys


def _writes(sql: str) -> tuple[str, ...] | None:
    """The tables a trigger's body writes, or None when lamina cannot read it."""
    from lamina.models import StatementRecord
    from lamina.risk.touched import touched_by
    from lamina.sqltext import split_statements

    body = _BODY.search(sql)
    if body is None:
        return None
    statements = [StatementRecord(s.sql) for s in split_statements(body.group(1), "sqlite")]
    touched = touched_by([("trigger", statements)], "sqlite")
    if touched.whole is not None or touched.indexes:
        return None
    return tuple(name.name for name in touched.tables)


#: What :mod:`lamina.backup.operations` finds through the engine registry.
BACKUP = EngineBackup(backup_sqlite, restore_sqlite, backup_sqlite_tables, restore_sqlite_tables)
