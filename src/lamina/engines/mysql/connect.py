"""How a ``mysql://`` URL becomes PyMySQL's connect arguments and the client tools' option
file: its query options are one list, for the backend, the restore connection and the tools.

Two kinds of option:

- **connection options**, PyMySQL's keyword arguments of the same name: ``charset``,
  ``connect_timeout`` (seconds), ``unix_socket``, ``ssl_ca``, ``ssl_cert``, ``ssl_key``,
  ``ssl_verify_cert`` and ``ssl_disabled`` (``true``/``false``);
- **session variables**, set with one ``SET SESSION`` on every connection lamina opens (the
  migration connection, lock and heartbeat connections, verify's scratch connections, the
  restore's connection and the ``mysql`` client loading a backup): ``sql_mode``, ``time_zone``,
  ``group_concat_max_len``, ``innodb_strict_mode``, ``wait_timeout``, ``net_read_timeout``
  and ``net_write_timeout``.

Anything else is refused, naming the option and the known ones, so a typo cannot silently turn
TLS verification off. A few session variables are refused on purpose, with the reason, because
they would break what lamina promises: ``autocommit`` and ``transaction_read_only`` (lamina
runs each migration in its own transaction), ``lock_wait_timeout`` and
``innodb_lock_wait_timeout`` (set from ``LAMINA_TABLE_LOCK_TIMEOUT``), ``max_execution_time``
(``MAX_MIGRATION_TIME``), ``foreign_key_checks``, ``unique_checks`` and ``sql_log_bin`` (a
migration that needs them off says so itself, where a reviewer sees it),
``default_storage_engine`` (a non-transactional engine would make row changes unatomic), and
the ``sql_mode`` flag ``NO_BACKSLASH_ESCAPES`` (the driver escapes the values lamina writes to
its history with backslashes).

Pure: no driver is imported, except PyMySQL's character-set table when it is installed.
The client tools (``mysqldump``, ``mysql``) get the same settings in a temporary 0600 option
file (:func:`defaults_file`), never on the command line.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from lamina.urls import DatabaseURL, URLError

__all__ = [
    "CONNECTION_OPTIONS",
    "CONNECT_TIMEOUT_S",
    "DEFAULT_PORT",
    "REFUSED_VARIABLES",
    "SESSION_VARIABLES",
    "MySQLOptions",
    "client_lines",
    "defaults_file",
    "driver_args",
    "is_mariadb",
    "known_options",
    "option_file",
    "parse_options",
    "session_settings",
]

DEFAULT_PORT = 3306
#: How long a connection attempt may take, unless the URL sets connect_timeout.
CONNECT_TIMEOUT_S = 10


def _flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ValueError("is not true or false")


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= 31_536_000:  # PyMySQL's own bounds; NaN fails too
        raise ValueError("is not a number of seconds above 0")
    return seconds


def _charset(value: str) -> str:
    try:
        from pymysql.charset import charset_by_name
    except ImportError:  # checked again when the backend connects, with the driver
        return value
    if charset_by_name(value) is None:  # PyMySQL would fail later with an AttributeError
        raise ValueError("is not a character set PyMySQL knows")
    return value


#: URL query option -> how to read its value as PyMySQL's keyword argument of the same name.
CONNECTION_OPTIONS: dict[str, Callable[[str], object]] = {
    "charset": _charset,
    "connect_timeout": _seconds,
    "unix_socket": str,
    "ssl_ca": str,
    "ssl_cert": str,
    "ssl_key": str,
    "ssl_verify_cert": _flag,
    "ssl_disabled": _flag,
}

_MODE_WORD = re.compile(r"[A-Za-z_]+")
_TIME_ZONE = re.compile(r"SYSTEM|[+-]\d{1,2}:\d{2}|[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*")
#: sql_mode flags that break lamina's own SQL or the driver's escaping of values.
_REFUSED_MODES = {
    "NO_BACKSLASH_ESCAPES": "the driver escapes the values lamina writes to its history with "
    "backslashes, which this mode reads as plain characters",
}


def _sql_mode(value: str) -> str:
    words = [word.strip() for word in value.split(",") if word.strip()]
    for word in words:
        if not _MODE_WORD.fullmatch(word):
            raise ValueError("is not a comma-separated list of sql_mode flags")
        why = _REFUSED_MODES.get(word.upper())
        if why:
            raise ValueError(f"contains {word.upper()}, which lamina cannot run under ({why})")
    return "'" + ",".join(word.upper() for word in words) + "'"


def _time_zone(value: str) -> str:
    if not _TIME_ZONE.fullmatch(value.strip()):
        raise ValueError("is not a time zone (+00:00, SYSTEM or a name such as Europe/Paris)")
    return f"'{value.strip()}'"


def _whole(minimum: int) -> Callable[[str], str]:
    def read(value: str) -> str:
        if not value.strip().isdigit() or int(value) < minimum:
            raise ValueError(f"is not a whole number of at least {minimum}")
        return str(int(value))

    return read


def _on_off(value: str) -> str:
    return "ON" if _flag(value) else "OFF"


#: Session variable -> how to turn the URL's value into a safe SQL literal (validated, so
#: nothing but the forms above ever reaches the server).
SESSION_VARIABLES: dict[str, Callable[[str], str]] = {
    "sql_mode": _sql_mode,
    "time_zone": _time_zone,
    "group_concat_max_len": _whole(4),
    "innodb_strict_mode": _on_off,
    "wait_timeout": _whole(1),
    "net_read_timeout": _whole(1),
    "net_write_timeout": _whole(1),
}

#: Session variables refused on the URL, and why (they would break lamina's guarantees).
REFUSED_VARIABLES: dict[str, str] = {
    "autocommit": "lamina runs each migration in a transaction of its own",
    "transaction_read_only": "lamina decides which connections are read-only",
    "tx_read_only": "lamina decides which connections are read-only",
    "lock_wait_timeout": "set it with LAMINA_TABLE_LOCK_TIMEOUT (milliseconds)",
    "innodb_lock_wait_timeout": "set it with LAMINA_TABLE_LOCK_TIMEOUT (milliseconds)",
    "max_execution_time": "lamina's time limit is MAX_MIGRATION_TIME",
    "max_statement_time": "lamina's time limit is MAX_MIGRATION_TIME",
    "foreign_key_checks": "a migration that needs it off should say so itself "
    "(SET foreign_key_checks = 0), where a reviewer sees it",
    "unique_checks": "a migration that needs it off should say so itself",
    "sql_log_bin": "replicas must see every migration",
    "default_storage_engine": "a non-transactional engine would make row changes unatomic",
}


def known_options() -> list[str]:
    """Every option a mysql:// URL accepts, sorted."""
    return sorted((*CONNECTION_OPTIONS, *SESSION_VARIABLES))


@dataclass(frozen=True, slots=True)
class MySQLOptions:
    """A URL's options, read: PyMySQL keyword arguments and session variables (SQL literals)."""

    connect: dict[str, object] = field(default_factory=dict)
    session: tuple[tuple[str, str], ...] = ()

    def init_command(self) -> str | None:
        """One ``SET SESSION`` for every session variable, or None when there are none."""
        if not self.session:
            return None
        return "SET " + ", ".join(f"SESSION {name} = {value}" for name, value in self.session)


def parse_options(url: DatabaseURL) -> MySQLOptions:
    """Read and check every query option of a mysql:// URL.

    Raises:
        URLError: an unknown or refused option, or a value it cannot take (names the option,
            with the known ones as the hint).
    """
    connect: dict[str, object] = {}
    session: dict[str, str] = {}
    for key, value in url.query:
        name = key.strip().lower()
        try:
            if name in CONNECTION_OPTIONS:
                connect[name] = CONNECTION_OPTIONS[name](value)
            elif name in SESSION_VARIABLES:
                session[name] = SESSION_VARIABLES[name](value)
            elif name in REFUSED_VARIABLES:
                raise URLError(
                    f"MySQL option {key!r} is not accepted on the URL: {REFUSED_VARIABLES[name]}",
                    hint=f"known options: {', '.join(known_options())}",
                )
            else:
                raise URLError(
                    f"unknown MySQL option {key!r}",
                    hint=f"known options: {', '.join(known_options())}",
                )
        except URLError:
            raise
        except ValueError as exc:
            raise URLError(f"MySQL option {key}={value!r} {exc}") from None
    return MySQLOptions(connect, tuple(session.items()))


def driver_args(
    url: DatabaseURL, options: MySQLOptions, *, database: bool = True
) -> dict[str, Any]:
    """Keyword arguments of ``pymysql.connect`` for ``url`` (autocommit, utf8mb4), with the
    URL's connection options and its session variables as ``init_command``; ``database``
    False connects to the server without choosing a database."""
    args: dict[str, Any] = {
        "host": url.host,
        "port": url.port or DEFAULT_PORT,
        "autocommit": True,
        "charset": "utf8mb4",
        "connect_timeout": CONNECT_TIMEOUT_S,
    }
    if database:
        args["database"] = url.database
    if url.username:
        args["user"] = url.username
    if url.password is not None:
        # UTF-8, as the mysql client sends it; PyMySQL would encode a str as Latin-1.
        args["password"] = url.password.encode()
    args.update(options.connect)
    command = options.init_command()
    if command:  # the URL's session variables, on every connection
        args["init_command"] = command
    return args


def session_settings(read_only: bool, table_lock_timeout_ms: int | None) -> list[str]:
    """The ``SET`` statements the backend runs once connected (MySQL has no startup-packet
    options): read-only sessions, and the table lock timeout in whole seconds."""
    statements: list[str] = []
    if read_only:
        statements.append("SET SESSION TRANSACTION READ ONLY")
    if table_lock_timeout_ms:
        # Both take whole seconds; round up, so a limit below one second still waits.
        seconds = max(1, math.ceil(table_lock_timeout_ms / 1000))
        statements.append(
            f"SET SESSION lock_wait_timeout = {seconds}, "
            f"SESSION innodb_lock_wait_timeout = {seconds}"
        )
    return statements


# -- the client tools ---------------------------------------------------------------------------
def _option_value(value: str) -> str:
    """A value for a MySQL option file: double-quoted, with the escapes the parser reads."""
    if "\x00" in value:
        raise URLError("a connection setting contains a NUL character")
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def is_mariadb(tool: str) -> bool:
    """Whether ``tool`` is MariaDB's: its TLS switches are spelled differently from MySQL's."""
    from lamina.backup.tools import tool_version

    return "mariadb" in os.path.basename(tool).lower() or "mariadb" in tool_version(tool).lower()


def client_lines(url: DatabaseURL, tool: str, options: MySQLOptions, *, loader: bool) -> list[str]:
    """The option-file lines for ``tool``: the ``[client]`` group every tool reads, then for
    the ``mysql`` client loading a restore (``loader``) the ``[mysql]`` group with what only
    it knows (``connect-timeout``, the session variables as ``init-command``).

    Every URL option the backend accepts is honoured: ``charset`` is not passed (the tools
    always talk utf8mb4), and the dump tool has no connect timeout nor init command (it sets
    its own ``sql_mode`` and, with ``--tz-utc``, ``time_zone``: what makes a dump portable).

    Raises:
        URLError: a setting that an option file cannot carry (a NUL character).
    """
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
    mariadb = is_mariadb(tool)
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
def option_file(lines: list[str]) -> Iterator[str]:
    """A temporary option file (0600) holding ``lines``; removed after the block."""
    fd, name = tempfile.mkstemp(prefix="lamina-client-", suffix=".cnf")  # 0600, O_EXCL
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        yield name
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


@contextmanager
def defaults_file(
    url: DatabaseURL, tool: str = "mariadb", *, loader: bool = False
) -> Iterator[str]:
    """A temporary option file (0600) with the URL's credentials and options for ``tool``;
    removed after. Only options ``tool`` knows: an unknown one makes mysqldump refuse to start.

    Raises:
        URLError: an unknown or malformed URL option, or a setting a file cannot carry.
    """
    with option_file(client_lines(url, tool, parse_options(url), loader=loader)) as name:
        yield name
