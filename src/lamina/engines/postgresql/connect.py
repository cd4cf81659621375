"""How a ``postgresql://`` URL becomes psycopg's connect arguments and the environment of the
client tools (``pg_dump``, ``pg_restore``, ``psql``): the one place that reads such a URL.

``?schema=NAME`` is lamina's own option (the schema lamina migrates); every other query option
is a libpq connection parameter. The driver gets them all as keyword arguments (libpq refuses
one it does not know, naming it), with ``options`` joined to lamina's own session settings.
The client tools get them as libpq environment variables, :data:`OPTIONS`, never on the
command line, where ``ps`` would show them; an option without a variable is refused.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from lamina.errors import BackendUnavailableError
from lamina.urls import DatabaseURL, URLError

__all__ = [
    "CONNECT_TIMEOUT_S",
    "DEFAULT_PORT",
    "IDENTIFIER",
    "OPTIONS",
    "client_env",
    "driver_args",
    "unreachable",
]

DEFAULT_PORT = 5432
#: How long a connection attempt may take, unless the URL sets connect_timeout.
CONNECT_TIMEOUT_S = 10
#: Schema names lamina accepts from configuration: plain identifiers, so they can be quoted
#: and passed in the startup packet (or to pg_dump) without any escaping question.
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")
#: lamina's own query option, which reaches neither libpq nor the tools as such.
SCHEMA_OPTION = "schema"
#: libpq URL options and the environment variable that carries each to the client tools.
OPTIONS = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "sslcrldir": "PGSSLCRLDIR",
    "sslcompression": "PGSSLCOMPRESSION",
    "sslsni": "PGSSLSNI",
    "requiressl": "PGREQUIRESSL",
    "gssencmode": "PGGSSENCMODE",
    "channel_binding": "PGCHANNELBINDING",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
    "krbsrvname": "PGKRBSRVNAME",
}


def driver_args(url: DatabaseURL, settings: list[str]) -> dict[str, Any]:
    """Keyword arguments of ``psycopg.connect`` for ``url``; ``settings`` (``-c name=value``
    session settings) travel in the startup packet after the URL's own ``options``."""
    args: dict[str, Any] = {
        "host": url.host,
        "port": url.port or DEFAULT_PORT,
        "dbname": url.database,
        "connect_timeout": CONNECT_TIMEOUT_S,
        "application_name": "lamina",
    }
    if url.username:
        args["user"] = url.username
    if url.password is not None:
        args["password"] = url.password
    joined: list[str] = []
    for key, value in url.query:
        if key == SCHEMA_OPTION:
            continue
        if key == "options":
            joined.append(value)
        else:
            args[key] = value
    joined += settings
    if joined:
        args["options"] = " ".join(joined)
    return args


def client_env(url: DatabaseURL) -> dict[str, str]:
    """The environment for pg_dump/pg_restore/psql: this process's, plus the URL's settings.

    Raises:
        URLError: a URL option no libpq environment variable carries.
    """
    env = dict(os.environ)
    env.update(
        PGHOST=url.host or "",
        PGPORT=str(url.port or DEFAULT_PORT),
        PGDATABASE=url.database or "",
        PGAPPNAME="lamina-backup",
    )
    if url.username:
        env["PGUSER"] = url.username
    if url.password is not None:
        env["PGPASSWORD"] = url.password
    for key, value in url.query:
        if key == SCHEMA_OPTION:
            continue
        variable = OPTIONS.get(key)
        if variable is None:
            raise URLError(
                f"the database URL option {key!r} cannot be passed to the PostgreSQL client tools",
                hint=f"supported options: schema, {', '.join(sorted(OPTIONS))}",
            )
        env[variable] = value
    return env


def unreachable(
    message: str, url: DatabaseURL, where: str, mask: Callable[[str], str]
) -> BackendUnavailableError:
    """One line for a failed connection attempt (libpq's ``message``) to ``where``, naming
    host and database, never the password (``mask`` hides it), with the likeliest fix."""
    raw = " ".join(message.split())
    reason = raw.rsplit(" failed: ", 1)[-1].removeprefix("FATAL: ").strip()
    reason = mask(reason)
    lowered = raw.lower()
    user = url.username or "(default user)"
    hint: str | None
    if "connection refused" in lowered:
        reason, hint = "connection refused", "is the server running? check host and port"
    elif "resolve host" in lowered or "translate host name" in lowered:
        reason = f"unknown host {url.host}"
        hint = "check the host name in the database URL"
    elif "does not exist" in lowered and "database" in lowered:
        hint = f"create it (createdb {url.database}) or fix the database URL"
    elif "password" in lowered or "role" in lowered or "authentication" in lowered:
        reason = f"authentication failed for user {user}: {reason}"
        hint = "check the user name and password in the database URL"
    elif "ssl" in lowered or "encryption" in lowered:
        hint = "set sslmode in the URL (e.g. ?sslmode=require) to match the server"
    elif "timeout" in lowered:
        hint = "check the host, port and firewall; the server did not answer in time"
    else:
        hint = "check the database URL"
    return BackendUnavailableError(f"cannot connect to {where}: {reason}", hint=hint)
