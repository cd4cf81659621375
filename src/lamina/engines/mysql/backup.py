"""MySQL and MariaDB: ``mysqldump --single-transaction``, restored by one atomic RENAME TABLE.

*Backup*: ``mariadb-dump`` (or ``mysqldump``) ``--single-transaction --routines --triggers
--events --no-tablespaces --hex-blob`` of the URL's database, streamed into the backup file.
``--single-transaction`` reads InnoDB tables in one consistent snapshot without locking them
(MyISAM tables are not snapshotted: the usual mysqldump caveat).

*Restore*: every DDL statement commits on its own in MySQL, so the dump cannot be replayed
into the live database atomically. Instead it is loaded into a scratch database
``<db>_lamina_restore_<hex>``, and then ONE statement swaps the tables::

    RENAME TABLE db.a TO trash.a, db.only_now TO trash.only_now,   -- everything in db out
                 scratch.a TO db.a, scratch.b TO db.b               -- the backup's tables in

A multi-table RENAME TABLE is atomic (all renames happen or none; crash-safe with MariaDB
10.6+'s atomic DDL and MySQL 8's data dictionary), so the database holds either its old tables
or exactly the backup's, including the removal of tables created after the backup. Foreign
keys follow their tables. The trash and scratch databases are dropped afterwards; if lamina
dies in between they stay behind, named ``*_lamina_restore_*`` / ``*_lamina_trash_*``.

Limits: RENAME TABLE cannot move views, or tables with triggers, between databases, and
routines and events belong to a database, so a restore is refused, before anything changes,
when the database or the backup has views, triggers, stored routines or events (restore such
a backup by hand: ``mariadb db < file``). The user needs CREATE and DROP on databases.

*Touched backup*: the same dump of just the touched tables (and every table a foreign key
ties to them); *its restore* swaps just those, in the same single RENAME TABLE, and needs no
refusal of views, routines or events elsewhere in the database.

The password reaches the tools through a temporary 0600 defaults file
(``--defaults-extra-file``), deleted afterwards; never the command line.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from lamina.backup.engine import EngineBackup
from lamina.backup.errors import BackupError
from lamina.backup.scope import TableScope, WholeDatabase, plan_backup, plan_restore, scope_of
from lamina.backup.store import BackupRecord
from lamina.backup.streams import (
    HashingWriter,
    Produced,
    Progress,
    create_private,
    iter_chunks,
)
from lamina.backup.tools import (
    ToolResult,
    one_line,
    read_stderr,
    require_tool,
    stderr_file,
    stop,
    stream_stdout,
    tool_version,
)
from lamina.engines import ENGINES
from lamina.engines.mysql.backup_scope import live_tables
from lamina.engines.mysql.connect import (
    MySQLOptions,
    client_lines,
    driver_args,
    option_file,
    parse_options,
)
from lamina.urls import DatabaseURL, URLError

if TYPE_CHECKING:
    from lamina.risk.touched import Touched

__all__ = ["BACKUP", "INSTALL_HINT", "backup_mysql", "restore_mysql"]

INSTALL_HINT = (
    "install the MariaDB or MySQL client tools "
    "(Debian: apt install mariadb-client, or apt install default-mysql-client)"
)
DUMP_TOOLS = ("mariadb-dump", "mysqldump")
CLIENT_TOOLS = ("mariadb", "mysql")
#: How long the swapping RENAME TABLE waits for other sessions' metadata locks.
RENAME_LOCK_WAIT_S = 60
_MAX_NAME = 64
quote_name = ENGINES["mysql"].quote


def _database(url: DatabaseURL) -> str:
    name = url.database or ""
    if not name or len(name) > _MAX_NAME or "\x00" in name or name.startswith("-"):
        raise BackupError(f"{name!r} is not a database name lamina can back up or restore")
    return name


# -- connecting ---------------------------------------------------------------------------------
def _options(url: DatabaseURL) -> MySQLOptions:
    """The URL's options, read by the same rules as the backend's (one list for both)."""
    try:
        return parse_options(url)
    except URLError as exc:
        raise BackupError(f"the database URL: {exc}", hint=exc.hint) from None


@contextmanager
def _defaults_file(url: DatabaseURL, tool: str, *, loader: bool = False) -> Iterator[str]:
    """The tools' option file (:func:`lamina.engines.mysql.connect.defaults_file`)."""
    options = _options(url)
    try:
        lines = client_lines(url, tool, options, loader=loader)
    except URLError as exc:
        raise BackupError(str(exc), hint=exc.hint) from None
    with option_file(lines) as name:
        yield name


def _connect(url: DatabaseURL) -> Any:
    try:
        import pymysql
    except ImportError as exc:
        raise BackupError(
            "restoring a MySQL backup needs PyMySQL", hint="pip install 'lamina[mysql]'"
        ) from exc
    args = driver_args(url, _options(url), database=False)
    try:
        return pymysql.connect(**args)
    except (pymysql.Error, OSError) as exc:
        raise BackupError(f"cannot connect to {url.redacted()}: {_describe(exc)}") from exc


def _describe(exc: BaseException) -> str:
    args: tuple[object, ...] = exc.args
    if len(args) == 2 and isinstance(args[1], str):
        return f"{args[1]} ({args[0]})"  # PyMySQL: (code, message)
    return " ".join(str(exc).split())


# -- backup -------------------------------------------------------------------------------------
def backup_mysql(
    url: DatabaseURL,
    dest: Path,
    *,
    progress: Progress | None,
    checkpoint: Callable[[], None] | None = None,
) -> Produced:
    """Stream a consistent dump of the URL's database into ``dest`` (``checkpoint`` is for
    file engines: a dump reads through the server)."""
    return _dump(url, dest, ["--routines", "--events", _database(url)], progress, None)


def backup_mysql_tables(
    url: DatabaseURL,
    dest: Path,
    touched: Touched,
    *,
    progress: Progress | None,
    checkpoint: Callable[[], None] | None = None,
) -> Produced:
    """Stream a consistent dump of just the touched tables (and their key partners)."""
    database = _database(url)
    conn = _connect(url)
    try:
        scope = plan_backup(touched, live_tables(partial(_query, conn), database), "both")
    finally:
        conn.close()
    if any(table.startswith("-") for table in scope.tables):
        raise WholeDatabase(
            "a table name starts with '-', which mysqldump would take for an option"
        )
    return _dump(url, dest, [database, *scope.tables], progress, scope)


def _dump(
    url: DatabaseURL,
    dest: Path,
    what: list[str],
    progress: Progress | None,
    scope: TableScope | None,
) -> Produced:
    dump = require_tool(*DUMP_TOOLS, hint=INSTALL_HINT)
    tool = tool_version(dump)
    with _defaults_file(url, dump) as options:
        argv = [
            dump,
            f"--defaults-extra-file={options}",  # must come first
            "--single-transaction",
            "--triggers",
            "--no-tablespaces",
            "--hex-blob",
            "--default-character-set=utf8mb4",
            *what,
        ]
        with create_private(dest) as out:
            writer = HashingWriter(out, progress, None)
            result = stream_stdout(argv, os.environ, writer.write)
            sha256 = writer.finish()
    if not result.ok:
        raise _failed(os.path.basename(dump), result, f"cannot back up {url.redacted()}")
    return Produced("mysqldump-sql", tool, writer.size, sha256, scope=scope)


# -- restore ------------------------------------------------------------------------------------
def restore_mysql(
    url: DatabaseURL, source: Path, record: BackupRecord, *, progress: Progress | None
) -> None:
    """Load the backup into a scratch database, then swap the tables (all of them, or a touched
    backup's) in one RENAME TABLE."""
    client = require_tool(*CLIENT_TOOLS, hint=INSTALL_HINT)
    database = _database(url)
    conn = _connect(url)
    try:
        charset, collation = _prepare_target(conn, database)
        leaving: tuple[str, ...] | None = None  # every table, for a whole-database backup
        if record.touched:
            live = live_tables(partial(_query, conn), database)
            leaving = plan_restore(record.id, scope_of(record), live, "both").drop
        else:
            _refuse_programs(conn, database, f"database {database}")
        scratch, trash = _side_name(database, "restore"), _side_name(database, "trash")
        _execute(conn, f"CREATE DATABASE {quote_name(scratch)} {_encoding(charset, collation)}")
        try:
            _load(client, url, scratch, source, progress)
            _refuse_programs(conn, scratch, f"backup {record.id}")
            _execute(conn, f"CREATE DATABASE {quote_name(trash)} {_encoding(charset, collation)}")
            _swap(conn, database, scratch, trash, leaving)
        except BaseException as exc:
            _drop_leftovers(conn, (scratch, trash), exc)
            raise
        _drop_leftovers(conn, (scratch, trash), None)
    finally:
        conn.close()


def _side_name(database: str, kind: str) -> str:
    name = f"{database}_lamina_{kind}_{secrets.token_hex(3)}"
    return name if len(name) <= _MAX_NAME else f"lamina_{kind}_{secrets.token_hex(8)}"


def _encoding(charset: str, collation: str) -> str:
    # Both come from information_schema and are plain words; checked anyway before use.
    for word in (charset, collation):
        if not word.replace("_", "").isalnum():
            raise BackupError(f"unexpected character set name {word!r}")
    return f"CHARACTER SET {charset} COLLATE {collation}"


def _prepare_target(conn: Any, database: str) -> tuple[str, str]:
    """The target's character set and collation; a missing target is created (utf8mb4)."""
    rows = _query(
        conn,
        "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "
        "FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
        (database,),
    )
    if rows:
        return str(rows[0][0]), str(rows[0][1])
    _execute(conn, f"CREATE DATABASE IF NOT EXISTS {quote_name(database)} CHARACTER SET utf8mb4")
    return _prepare_target(conn, database)


def _refuse_programs(conn: Any, database: str, where: str) -> None:
    """Refuse views, triggers, routines and events: RENAME TABLE cannot carry them over."""
    found = _query(
        conn,
        "SELECT 'view', TABLE_NAME FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'VIEW' "
        "UNION ALL SELECT 'trigger', TRIGGER_NAME FROM information_schema.TRIGGERS "
        "WHERE TRIGGER_SCHEMA = %s "
        "UNION ALL SELECT LOWER(ROUTINE_TYPE), ROUTINE_NAME FROM information_schema.ROUTINES "
        "WHERE ROUTINE_SCHEMA = %s "
        "UNION ALL SELECT 'event', EVENT_NAME FROM information_schema.EVENTS "
        "WHERE EVENT_SCHEMA = %s",
        (database,) * 4,
    )
    if found:
        listed = ", ".join(f"{kind} {name}" for kind, name in found[:5])
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        raise BackupError(
            f"{where} has {listed}{more}: lamina restores MySQL tables atomically but cannot "
            "carry views, triggers, routines or events across; nothing was restored",
            hint="restore this backup by hand (mariadb DATABASE < BACKUP_FILE)",
        )


def _load(
    client: str, url: DatabaseURL, scratch: str, source: Path, progress: Progress | None
) -> None:
    """Feed the dump to the command-line client, connected to the scratch database."""
    with _defaults_file(url, client, loader=True) as options, stderr_file() as err:
        argv = [
            client,
            f"--defaults-extra-file={options}",
            "--default-character-set=utf8mb4",
            f"--database={scratch}",
        ]
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err, env=os.environ
        )
        assert proc.stdin is not None
        try:
            try:
                _feed(proc.stdin, source, progress)
                proc.stdin.close()
            except BrokenPipeError:
                pass  # the client stopped early; its exit code and stderr say why
            returncode = proc.wait()
        finally:
            stop(proc)
        result = ToolResult(returncode, read_stderr(err))
    if not result.ok:
        raise _failed(os.path.basename(client), result, "cannot load the backup")


def _feed(stdin: IO[bytes], source: Path, progress: Progress | None) -> None:
    total = source.stat().st_size
    done = 0
    with source.open("rb") as dump:
        for chunk in iter_chunks(dump):
            stdin.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)


def _swap(
    conn: Any, database: str, scratch: str, trash: str, leaving: tuple[str, ...] | None
) -> None:
    """One RENAME TABLE: the target's tables (``leaving``, else all) to trash, the backup's
    tables into the target."""
    moves = [
        f"{quote_name(database)}.{quote_name(table)} TO {quote_name(trash)}.{quote_name(table)}"
        for table in (_tables(conn, database) if leaving is None else leaving)
    ] + [
        f"{quote_name(scratch)}.{quote_name(table)} TO {quote_name(database)}.{quote_name(table)}"
        for table in _tables(conn, scratch)
    ]
    if not moves:
        return
    _execute(conn, f"SET SESSION lock_wait_timeout = {int(RENAME_LOCK_WAIT_S)}")
    _execute(conn, "RENAME TABLE " + ", ".join(moves))


def _tables(conn: Any, database: str) -> list[str]:
    rows = _query(
        conn,
        "SELECT TABLE_NAME FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE <> 'VIEW' ORDER BY TABLE_NAME",
        (database,),
    )
    return [str(row[0]) for row in rows]


def _drop_leftovers(conn: Any, names: tuple[str, ...], failure: BaseException | None) -> None:
    """Drop the scratch and trash databases; a failure to do so is reported, never hidden."""
    left: list[str] = []
    for name in names:
        try:
            _execute(conn, f"DROP DATABASE IF EXISTS {quote_name(name)}")
        except BackupError as exc:
            left.append(f"{name} ({exc.message})")
    if not left:
        return
    text = f"could not drop the database(s) {', '.join(left)}: drop them by hand"
    if failure is not None:
        failure.add_note(f"lamina: {text}")
        return
    raise BackupError(f"the backup was restored, but lamina {text}")


def _execute(conn: Any, sql: str) -> None:
    _query(conn, sql, None)


def _query(conn: Any, sql: str, params: tuple[object, ...] | None) -> list[tuple[Any, ...]]:
    import pymysql

    try:
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
            return [tuple(row) for row in cursor.fetchall()]
    except pymysql.Error as exc:
        raise BackupError(f"MySQL refused {' '.join(sql.split()[:2])}: {_describe(exc)}") from exc


def _failed(tool: str, result: ToolResult, what: str) -> BackupError:
    detail = one_line(result.stderr).removeprefix(f"{tool}: ") or f"exit code {result.returncode}"
    return BackupError(f"{what}: {tool}: {detail}")


#: What :mod:`lamina.backup.operations` finds through the engine registry.
BACKUP = EngineBackup(backup_mysql, restore_mysql, backup_mysql_tables, restore_mysql)
