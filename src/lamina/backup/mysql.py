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

The password reaches the tools through a temporary 0600 defaults file
(``--defaults-extra-file``), deleted afterwards; never the command line.
"""

from __future__ import annotations

import math
import os
import secrets
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from lamina.backends.mysql_options import MySQLOptions, parse_options
from lamina.backup.errors import BackupError
from lamina.backup.store import BackupRecord
from lamina.backup.streams import (
    HashingWriter,
    Produced,
    Progress,
    create_private,
    iter_chunks,
    remove_quietly,
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
from lamina.urls import DatabaseURL, URLError

__all__ = ["INSTALL_HINT", "backup_mysql", "defaults_file", "quote_name", "restore_mysql"]

INSTALL_HINT = (
    "install the MariaDB or MySQL client tools "
    "(Debian: apt install mariadb-client, or apt install default-mysql-client)"
)
DUMP_TOOLS = ("mariadb-dump", "mysqldump")
CLIENT_TOOLS = ("mariadb", "mysql")
DEFAULT_PORT = 3306
CONNECT_TIMEOUT_S = 10
#: How long the swapping RENAME TABLE waits for other sessions' metadata locks.
RENAME_LOCK_WAIT_S = 60
_MAX_NAME = 64


def quote_name(name: str) -> str:
    """A MySQL identifier in backquotes, any backquote doubled."""
    return "`" + name.replace("`", "``") + "`"


def _database(url: DatabaseURL) -> str:
    name = url.database or ""
    if not name or len(name) > _MAX_NAME or "\x00" in name or name.startswith("-"):
        raise BackupError(f"{name!r} is not a database name lamina can back up or restore")
    return name


# -- connecting ---------------------------------------------------------------------------------
def _option_value(value: str) -> str:
    """A value for a MySQL option file: double-quoted, with the escapes the parser reads."""
    if "\x00" in value:
        raise BackupError("a connection setting contains a NUL character")
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def _options(url: DatabaseURL) -> MySQLOptions:
    """The URL's options, read by the same rules as the backend's (one list for both)."""
    try:
        return parse_options(url)
    except URLError as exc:
        raise BackupError(f"the database URL: {exc}", hint=exc.hint) from None


def _is_mariadb(tool: str) -> bool:
    """Whether ``tool`` is MariaDB's: its TLS switches are spelled differently from MySQL's."""
    return "mariadb" in os.path.basename(tool).lower() or "mariadb" in tool_version(tool).lower()


def _client_lines(url: DatabaseURL, tool: str, *, loader: bool) -> list[str]:
    """The option-file lines for ``tool``: the ``[client]`` group every tool reads, then for
    the ``mysql`` client loading a restore (``loader``) the ``[mysql]`` group with what only
    it knows (``connect-timeout``, the session variables as ``init-command``).

    Every URL option the backend accepts is honoured: ``charset`` is not passed (the tools
    always talk utf8mb4), and the dump tool has no connect timeout nor init command (it sets
    its own ``sql_mode`` and, with ``--tz-utc``, ``time_zone``: what makes a dump portable)."""
    options = _options(url)
    connect = options.connect
    socket_path = connect.get("unix_socket")
    lines = ["[client]"]
    if socket_path is not None:
        lines += [f"socket={_option_value(str(socket_path))}", "protocol=socket"]
    else:
        lines += [
            f"host={_option_value(url.host or '127.0.0.1')}",
            f"port={url.port or DEFAULT_PORT}",
            "protocol=tcp",  # as the driver: "localhost" means TCP, not the socket
        ]
    if url.username:
        lines.append(f"user={_option_value(url.username)}")
    if url.password is not None:
        lines.append(f"password={_option_value(url.password)}")
    for key in ("ssl_ca", "ssl_cert", "ssl_key"):
        if key in connect:
            lines.append(f"{key.replace('_', '-')}={_option_value(str(connect[key]))}")
    mariadb = _is_mariadb(tool)
    if connect.get("ssl_disabled") is True:
        lines.append("skip-ssl" if mariadb else "ssl-mode=DISABLED")
    elif connect.get("ssl_verify_cert") is True:
        lines.append("ssl-verify-server-cert" if mariadb else "ssl-mode=VERIFY_CA")
    elif connect.get("ssl_verify_cert") is False:
        lines.append("skip-ssl-verify-server-cert" if mariadb else "ssl-mode=REQUIRED")
    if loader:
        lines.append("[mysql]")
        if "connect_timeout" in connect:
            lines.append(f"connect-timeout={math.ceil(float(str(connect['connect_timeout'])))}")
        command = options.init_command()
        if command:
            lines.append(f"init-command={_option_value(command)}")
    return lines


@contextmanager
def defaults_file(
    url: DatabaseURL, tool: str = "mariadb", *, loader: bool = False
) -> Iterator[str]:
    """A temporary option file (0600) with the URL's credentials and options for ``tool``;
    removed after. Only options ``tool`` knows: an unknown one makes mysqldump refuse to start."""
    lines = _client_lines(url, tool, loader=loader)
    fd, name = tempfile.mkstemp(prefix="lamina-client-", suffix=".cnf")  # 0600, O_EXCL
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        yield name
    finally:
        remove_quietly(Path(name))


def _connect(url: DatabaseURL) -> Any:
    try:
        import pymysql
    except ImportError as exc:
        raise BackupError(
            "restoring a MySQL backup needs PyMySQL", hint="pip install 'lamina[mysql]'"
        ) from exc
    options = _options(url)
    args: dict[str, Any] = {
        "host": url.host,
        "port": url.port or DEFAULT_PORT,
        "user": url.username or "",
        "password": (url.password or "").encode(),
        "charset": "utf8mb4",
        "autocommit": True,
        "connect_timeout": CONNECT_TIMEOUT_S,
        **options.connect,
    }
    command = options.init_command()
    if command:
        args["init_command"] = command
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
def backup_mysql(url: DatabaseURL, dest: Path, *, progress: Progress | None) -> Produced:
    """Stream a consistent dump of the URL's database into ``dest``."""
    dump = require_tool(*DUMP_TOOLS, hint=INSTALL_HINT)
    database = _database(url)
    tool = tool_version(dump)
    with defaults_file(url, dump) as options:
        argv = [
            dump,
            f"--defaults-extra-file={options}",  # must come first
            "--single-transaction",
            "--routines",
            "--triggers",
            "--events",
            "--no-tablespaces",
            "--hex-blob",
            "--default-character-set=utf8mb4",
            database,
        ]
        with create_private(dest) as out:
            writer = HashingWriter(out, progress, None)
            result = stream_stdout(argv, os.environ, writer.write)
            sha256 = writer.finish()
    if not result.ok:
        raise _failed(os.path.basename(dump), result, f"cannot back up {url.redacted()}")
    return Produced("mysqldump-sql", tool, writer.size, sha256)


# -- restore ------------------------------------------------------------------------------------
def restore_mysql(
    url: DatabaseURL, source: Path, record: BackupRecord, *, progress: Progress | None
) -> None:
    """Load the backup into a scratch database, then swap all tables in one RENAME TABLE."""
    client = require_tool(*CLIENT_TOOLS, hint=INSTALL_HINT)
    database = _database(url)
    conn = _connect(url)
    try:
        charset, collation = _prepare_target(conn, database)
        _refuse_programs(conn, database, f"database {database}")
        scratch, trash = _side_name(database, "restore"), _side_name(database, "trash")
        _execute(conn, f"CREATE DATABASE {quote_name(scratch)} {_encoding(charset, collation)}")
        try:
            _load(client, url, scratch, source, progress)
            _refuse_programs(conn, scratch, f"backup {record.id}")
            _execute(conn, f"CREATE DATABASE {quote_name(trash)} {_encoding(charset, collation)}")
            _swap(conn, database, scratch, trash)
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
    with defaults_file(url, client, loader=True) as options, stderr_file() as err:
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


def _swap(conn: Any, database: str, scratch: str, trash: str) -> None:
    """One RENAME TABLE: the target's tables to trash, the backup's tables into the target."""
    moves = [
        f"{quote_name(database)}.{quote_name(table)} TO {quote_name(trash)}.{quote_name(table)}"
        for table in _tables(conn, database)
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
