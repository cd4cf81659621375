"""What a failed MySQL connection or statement means: PyMySQL's ``(code, message)``, and the
likeliest fix for a connection that could not be made (shared by every connection the backend
opens)."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Mapping

import pymysql  # untyped: pyproject's mypy override for pymysql.* makes it Any

from lamina.engines import ENGINES
from lamina.engines.mysql.connect import CONNECT_TIMEOUT_S
from lamina.errors import BackendUnavailableError
from lamina.urls import DatabaseURL

__all__ = ["error_code", "error_message", "unreachable"]


def error_code(exc: BaseException) -> int | None:
    """The MySQL error number: PyMySQL errors carry ``(code, message)`` as their args."""
    args = exc.args
    return args[0] if len(args) >= 2 and isinstance(args[0], int) and args[0] else None


def error_message(exc: BaseException) -> str:
    args = exc.args
    text = str(args[1]) if len(args) >= 2 and isinstance(args[0], int) else str(exc)
    return " ".join(text.split())


quote = ENGINES["mysql"].quote


def _shown(name: str) -> str:
    """``name`` as a hint shows it: bare when it needs no backticks."""
    return name if _PLAIN_NAME.fullmatch(name) else quote(name)


#: Database names that need no backticks in the CREATE DATABASE hint.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_$]+")
#: What getaddrinfo says, on Linux, macOS and Windows, when a host name does not resolve.
_UNKNOWN_HOST = (
    "name or service not known",
    "nodename nor servname",
    "no address associated",
    "temporary failure in name resolution",
    "getaddrinfo failed",
)


def unreachable(
    exc: pymysql.MySQLError | OSError,
    url: DatabaseURL,
    settings: Mapping[str, object],
    where: str,
    mask: Callable[[str], str],
) -> BackendUnavailableError:
    """One line for a failed connection attempt to ``where``, naming host and database, never
    the password (``mask`` hides it), with the likeliest fix."""
    code = error_code(exc)
    # PyMySQL wraps every socket error as 2003 "Can't connect to MySQL server on 'h' (...)"
    # and keeps the original.
    cause = getattr(exc, "original_exception", None)
    reason = mask(error_message(exc) or type(exc).__name__)
    lowered = reason.lower()
    database = str(url.database)
    hint: str
    if not isinstance(exc, pymysql.MySQLError):  # raised before connecting: TLS files
        reason = f"cannot load the TLS files: {mask(str(exc))}"
        hint = "check the ssl_ca, ssl_cert and ssl_key paths in the database URL"
    elif isinstance(cause, ConnectionRefusedError) or "connection refused" in lowered:
        reason, hint = "connection refused", "is the server running? check host and port"
    elif (
        isinstance(cause, socket.gaierror)
        or code == 2005
        or any(text in lowered for text in _UNKNOWN_HOST)
    ):
        reason = f"unknown host {url.host}"
        hint = "check the host name in the database URL"
    elif isinstance(cause, FileNotFoundError) and "unix_socket" in settings:
        reason = "no server socket at that path"
        hint = "is the server running? check unix_socket in the database URL"
    elif code in (1045, 1698):  # the message names the account: 'user'@'client host'
        hint = (
            "check the user name and password in the database URL, and that the account "
            "may connect from this host"
        )
    elif code == 1044:
        hint = f"grant the account access (GRANT ALL ON {_shown(database)}.* TO ...)"
    elif code == 1049:
        hint = f"create it (CREATE DATABASE {_shown(database)}) or fix the database URL"
    elif code == 2026 and "doesn't support" in lowered:
        hint = "the server offers no TLS: remove the ssl_* options from the database URL"
    elif code in (2026, 3159) or any(
        text in lowered for text in ("ssl", "tls", "secure transport", "certificate")
    ):
        hint = "the server requires TLS: set ssl_ca (and ssl_cert, ssl_key) in the database URL"
    elif isinstance(cause, TimeoutError) or "timed out" in lowered:
        seconds = settings.get("connect_timeout", CONNECT_TIMEOUT_S)
        reason = f"no answer within {seconds:g} s"
        hint = (
            "check the host, port and firewall, and that a MySQL server listens there "
            "(?connect_timeout=SECONDS waits longer)"
        )
    else:
        hint = "check the database URL"
    return BackendUnavailableError(f"cannot connect to {where}: {reason}", hint=hint)
