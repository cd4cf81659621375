"""The query options of a ``mysql://`` URL: one list for the backend and the backup tools.

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
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from lamina.urls import DatabaseURL, URLError

__all__ = [
    "CONNECTION_OPTIONS",
    "REFUSED_VARIABLES",
    "SESSION_VARIABLES",
    "MySQLOptions",
    "known_options",
    "parse_options",
]


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
