"""The engines under test and a fresh database per tool on each of them.

Each tool (lamina, the floor, alembic, yoyo) gets its own database on every engine, since all
of them create the same tables t_1..t_N: a DuckDB or SQLite file in a folder of its own, or a
PostgreSQL/MariaDB database ``lamina_bench_<tool>`` that is dropped and created again whenever
a workload needs an empty one. Each tool sees the URL form it understands.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

EMBEDDED = ("duckdb", "sqlite")
SERVERS = ("postgresql", "mysql")
ALL_ENGINES = EMBEDDED + SERVERS
FILE_SUFFIX = {"duckdb": "duckdb", "sqlite": "sqlite3"}
# The SQLAlchemy driver each engine uses under alembic, and yoyo's scheme for it.
SQLALCHEMY_SCHEME = {
    "duckdb": "duckdb",
    "sqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
}
YOYO_SCHEME = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg", "mysql": "mysql"}
NO_YOYO = {"duckdb": "yoyo has no DuckDB backend (its backends: SQLite, PostgreSQL, MySQL, …)"}


@dataclass
class Place:
    """One tool's database on one engine, and what is known to be applied in it.

    ``applied`` lets a workload reuse the state another left (W2 runs on what W1's last up
    applied) instead of applying thousands of migrations again; None means unknown.
    """

    engine: str
    tool: str
    root: Path  # the folder of an embedded engine's file
    server_url: str = ""  # admin URL of a server engine
    applied: int | None = field(default=None)

    @property
    def dbname(self) -> str:
        return "lamina_bench_" + self.tool.replace(" ", "_")

    def url(self, flavor: str = "lamina") -> str:
        """The URL in ``flavor``: lamina (also the floor's), sqlalchemy or yoyo."""
        if self.engine in EMBEDDED:
            path = self.root / f"db.{FILE_SUFFIX[self.engine]}"
            scheme = SQLALCHEMY_SCHEME[self.engine] if flavor == "sqlalchemy" else self.engine
            return f"{scheme}:///{path}"  # an absolute path: four slashes in all
        scheme = {"sqlalchemy": SQLALCHEMY_SCHEME, "yoyo": YOYO_SCHEME}.get(flavor)
        return _with_database(self.server_url, self.dbname, scheme[self.engine] if scheme else "")

    def fresh(self) -> None:
        """An empty database: a new folder, or the server database dropped and created."""
        self.applied = 0
        if self.engine in EMBEDDED:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root.mkdir(parents=True)
            return
        with AdminConnection(self.engine, self.server_url) as run:
            if self.engine == "postgresql":
                run(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
                run(f'CREATE DATABASE "{self.dbname}"')
            else:
                run(f"DROP DATABASE IF EXISTS `{self.dbname}`")
                run(f"CREATE DATABASE `{self.dbname}` CHARACTER SET utf8mb4")

    def drop(self) -> None:
        """Remove the database when the benchmark ends (files go with the temp folder)."""
        self.applied = None
        if self.engine in SERVERS:
            with AdminConnection(self.engine, self.server_url) as run:
                quote = '"' if self.engine == "postgresql" else "`"
                run(f"DROP DATABASE IF EXISTS {quote}{self.dbname}{quote}")


def _with_database(url: str, dbname: str, scheme: str) -> str:
    """``url`` pointing at ``dbname``, with another scheme if given (query kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=scheme or parts.scheme, path="/" + dbname))


class AdminConnection:
    """A short autocommit connection to a server, yielding a function that runs one statement."""

    def __init__(self, engine: str, url: str, timeout_s: int = 10) -> None:
        self.engine, self.url, self.timeout_s = engine, url, timeout_s
        self.conn: Any = None

    def __enter__(self) -> Any:
        parts = urlsplit(self.url)
        if self.engine == "postgresql":
            import psycopg

            self.conn = psycopg.connect(
                urlunsplit(parts._replace(scheme="postgresql")),
                autocommit=True,
                connect_timeout=self.timeout_s,
            )
        else:
            import pymysql

            self.conn = pymysql.connect(
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 3306,
                user=unquote(parts.username or "root"),
                password=unquote(parts.password or ""),
                autocommit=True,
                connect_timeout=self.timeout_s,
            )
        return self._run

    def _run(self, sql: str) -> list[tuple[Any, ...]]:
        cur = self.conn.cursor()
        cur.execute(sql)
        rows = list(cur.fetchall()) if cur.description else []
        cur.close()
        return rows

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def probe(engine: str, url: str) -> tuple[str | None, str]:
    """(None, server version) when the server answers, else (the reason, "")."""
    try:
        with AdminConnection(engine, url, timeout_s=3) as run:
            if engine == "postgresql":
                return None, "PostgreSQL " + str(run("SHOW server_version")[0][0])
            return None, str(run("SELECT version()")[0][0])  # names MariaDB or MySQL itself
    except Exception as exc:  # any failure means: skip this engine, and say why
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}", ""
