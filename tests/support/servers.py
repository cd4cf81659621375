"""The test servers (PostgreSQL, MariaDB/MySQL): where they are, how to reach them as admin,
and skipping (or, under ``CI=true``, failing) a test when one does not answer.

Test modules import these from here, never from ``conftest`` (several folders have one, and
which of them ``import conftest`` finds depends on the collection order).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

__all__ = [
    "SERVER_ENGINES",
    "SERVER_TITLES",
    "SERVER_URL_ENV",
    "ServerAddress",
    "admin_address",
    "require_server",
    "server_problem",
    "under_ci",
]

SERVER_ENGINES = ("postgresql", "mysql")
SERVER_URL_ENV = {
    "postgresql": ("LAMINA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    "mysql": ("LAMINA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql"),
}
SERVER_TITLES = {"postgresql": "PostgreSQL", "mysql": "MySQL/MariaDB"}
CONNECT_TIMEOUT_S = 3


@dataclass(frozen=True)
class ServerAddress:
    """A server URL taken apart, without lamina's parser (these fixtures check lamina)."""

    engine: str  # postgresql | mysql
    netloc: str  # user:password@host:port exactly as written (still percent-encoded)
    host: str
    port: int
    user: str | None
    password: str | None
    database: str
    query: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, url: str) -> ServerAddress:
        parts = urlsplit(url)
        engine = {"postgres": "postgresql"}.get(parts.scheme.lower(), parts.scheme.lower())
        if engine not in SERVER_ENGINES:
            raise ValueError(f"not a PostgreSQL or MySQL URL: {url.rpartition('@')[2]}")
        return cls(
            engine=engine,
            netloc=parts.netloc,
            host=parts.hostname or "127.0.0.1",
            port=parts.port or {"postgresql": 5432, "mysql": 3306}[engine],
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            database=unquote(parts.path.lstrip("/")),
            query=tuple(parse_qsl(parts.query)),
        )

    def option(self, name: str) -> str | None:
        return next((value for key, value in self.query if key == name), None)

    def with_database(self, database: str, **query: str) -> str:
        """The URL of ``database`` on this server, with these credentials."""
        tail = "&".join(f"{key}={value}" for key, value in query.items())
        return f"{self.engine}://{self.netloc}/{database}" + (f"?{tail}" if tail else "")

    def redacted(self) -> str:
        netloc = self.netloc
        if self.password is not None:
            userinfo, _, hostport = netloc.rpartition("@")
            netloc = f"{userinfo.partition(':')[0]}:***@{hostport}"
        return f"{self.engine}://{netloc}/{self.database}"

    def connect(self, database: str | None = None, *, schema: str | None = None) -> Any:
        """An autocommit driver connection to ``database`` (default: the URL's own)."""
        database = database or self.database
        if self.engine == "postgresql":
            import psycopg

            options = f'-c search_path="{schema}"' if schema else None
            return psycopg.connect(
                host=self.host,
                port=self.port,
                user=self.user,
                password=self.password,
                dbname=database,
                options=options,
                connect_timeout=CONNECT_TIMEOUT_S,
                autocommit=True,
            )
        import pymysql

        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user or "root",
            password=self.password or "",
            database=database,
            charset="utf8mb4",
            connect_timeout=CONNECT_TIMEOUT_S,
            autocommit=True,
        )


def admin_address(engine: str) -> ServerAddress:
    """The admin connection for ``engine``'s test server, from the environment or the default."""
    variable, default = SERVER_URL_ENV[engine]
    return ServerAddress.parse(os.environ.get(variable) or default)


@functools.cache
def server_problem(engine: str) -> str | None:
    """Why ``engine``'s test server cannot be used, or None. Asked once per session."""
    driver = {"postgresql": "psycopg", "mysql": "pymysql"}[engine]
    try:
        __import__(driver)
    except ImportError as exc:
        return f"{driver} is not installed ({exc}); pip install -e '.[dev]'"
    try:
        address = admin_address(engine)
        address.connect().close()
    except Exception as exc:  # any reason at all: it is reported, never swallowed
        return " ".join(str(exc).split()) or type(exc).__name__
    return None


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def require_server(engine: str) -> None:
    """Skip the test (or fail it under ``CI=true``) when ``engine``'s test server is unusable."""
    problem = server_problem(engine)
    if problem is None:
        return
    variable = SERVER_URL_ENV[engine][0]
    try:
        where = admin_address(engine).redacted()
    except ValueError:
        where = f"${variable}"
    message = f"{SERVER_TITLES[engine]} test server not reachable at {where}: {problem}"
    if under_ci():
        pytest.fail(
            f"{message} (CI=true, so this fails instead of skipping; set {variable} or start "
            "the server, see DEVELOPERS.md)",
            pytrace=False,
        )
    pytest.skip(message)
