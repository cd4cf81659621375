"""Shared fixtures: real databases, parametrised over every engine lamina supports.

The embedded engines (DuckDB, SQLite) get a fresh file in the test's tmp dir. The server engines
get an isolated place on the test servers named by ``LAMINA_TEST_PG_URL`` and
``LAMINA_TEST_MYSQL_URL`` (admin connections; defaults below): on PostgreSQL a schema of its own
in the database ``lamina_test``, on MySQL/MariaDB a database of its own; either is dropped after
the test. A server that does not answer skips its tests with the reason, or fails them when
``CI=true``: CI must never pass by skipping. See DEVELOPERS.md.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import textwrap
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from lamina.config import Settings, load_settings
from support.servers import (
    SERVER_ENGINES,
    ServerAddress,
    admin_address,
    require_server,
)

EMBEDDED_ENGINES = ("duckdb", "sqlite")
ENGINES = EMBEDDED_ENGINES + SERVER_ENGINES

#: Where the test servers are: environment variable and default admin URL, per engine.
#: The PostgreSQL database that holds one schema per test.
PG_TEST_DATABASE = "lamina_test"
#: How long teardown waits for a lock on what it drops before ending the sessions holding it.
DROP_LOCK_WAIT_S = 2


@pytest.fixture(scope="session", autouse=True)
def _findings_cache_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The risk findings cache (lamina.findings_cache) of this test session, in and out of
    subprocesses: on, as for users, but never the user's own cache folder."""
    os.environ["LAMINA_CACHE_DIR"] = str(tmp_path_factory.mktemp("lamina-cache"))


def pytest_configure() -> None:
    """Let the lamina processes the tests start receive Ctrl-C, however pytest was launched.

    A background job of a shell without job control starts with SIGINT ignored, and an ignored
    signal stays ignored across ``exec``: every child would then ignore the SIGINT the stop
    tests send it. A handler (unlike an ignore) is reset to the default in a child.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def url_for(engine: str, directory: Path) -> str:
    """A database URL for a fresh file of ``engine`` inside ``directory`` (file engines only).

    Server engines have no file: take the ``db_url`` fixture, or ``server_database``.
    """
    if engine not in EMBEDDED_ENGINES:
        raise ValueError(f"url_for() makes file URLs; {engine} URLs come from db_url")
    suffix = {"duckdb": "duckdb", "sqlite": "sqlite3"}[engine]
    return f"{engine}:///{directory / f'test.{suffix}'}"


# -- the test servers ---------------------------------------------------------------------------


@functools.cache
def ensure_pg_test_database() -> str:
    """Make sure the database that holds the per-test schemas exists, once per session."""
    import psycopg
    from psycopg import errors

    with admin_address("postgresql").connect() as con:
        found = con.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (PG_TEST_DATABASE,)
        ).fetchone()
        if found is None:
            try:
                con.execute(f'CREATE DATABASE "{PG_TEST_DATABASE}"')
            except (errors.DuplicateDatabase, errors.UniqueViolation):
                pass  # another run created it between the check and the CREATE
            except psycopg.Error as exc:
                pytest.fail(f"cannot create the test database {PG_TEST_DATABASE}: {exc}")
    return PG_TEST_DATABASE


def _warn_teardown(what: str, exc: BaseException) -> None:
    warnings.warn(f"could not drop {what}: {exc}", stacklevel=2)


def _close_quietly(con: Any) -> None:
    with contextlib.suppress(Exception):  # the server may be gone; nothing left to release
        con.close()


@contextmanager
def _pg_schema() -> Iterator[str]:
    """A URL naming a fresh schema in lamina_test; the schema itself is NOT created.

    lamina creates a missing schema (that is under test). Afterwards the schema is dropped
    with everything in it, whoever created it.
    """
    address = admin_address("postgresql")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        yield address.with_database(PG_TEST_DATABASE, schema=schema)
    finally:
        _drop_pg_schema(address, schema)


def _drop_pg_schema(address: ServerAddress, schema: str) -> None:
    try:
        con = address.connect(PG_TEST_DATABASE)
    except Exception as exc:
        _warn_teardown(f"schema {schema}", exc)
        return
    try:
        con.execute(f"SET lock_timeout = '{DROP_LOCK_WAIT_S}s'")
        try:
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        except Exception:
            # A session the test left behind holds a lock in the schema: end it, then retry.
            con.execute(
                "SELECT pg_terminate_backend(l.pid) FROM pg_locks l "
                "JOIN pg_class c ON l.locktype = 'relation' AND c.oid = l.relation "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND l.pid <> pg_backend_pid() "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                (schema,),
            )
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    except Exception as exc:
        _warn_teardown(f"schema {schema}", exc)
    finally:
        _close_quietly(con)


@contextmanager
def _mysql_database() -> Iterator[str]:
    """A URL naming a fresh, empty MySQL database; dropped afterwards."""
    address = admin_address("mysql")
    database = f"lamina_t_{uuid.uuid4().hex[:12]}"
    con = address.connect()
    try:
        with con.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
    finally:
        con.close()
    try:
        yield address.with_database(database)
    finally:
        _drop_mysql_database(address, database)


def _drop_mysql_database(address: ServerAddress, database: str) -> None:
    try:
        con = address.connect()
    except Exception as exc:
        _warn_teardown(f"database {database}", exc)
        return
    try:
        with con.cursor() as cur:
            cur.execute(f"SET SESSION lock_wait_timeout = {DROP_LOCK_WAIT_S}")
            try:
                cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
            except Exception:
                # A connection the test left behind holds a metadata lock: end it, then retry.
                cur.execute(
                    "SELECT id FROM information_schema.processlist "
                    "WHERE db = %s AND id <> CONNECTION_ID()",
                    (database,),
                )
                for (thread_id,) in cur.fetchall():
                    cur.execute(f"KILL {int(thread_id)}")
                cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
    except Exception as exc:
        _warn_teardown(f"database {database}", exc)
    finally:
        _close_quietly(con)


def open_server_database(engine: str) -> AbstractContextManager[str]:
    """An isolated place on ``engine``'s test server; see the ``server_database`` fixture."""
    require_server(engine)
    if engine == "postgresql":
        ensure_pg_test_database()
        return _pg_schema()
    return _mysql_database()


ServerDatabase = Callable[[str], AbstractContextManager[str]]


@pytest.fixture
def server_database() -> ServerDatabase:
    """``with server_database(engine) as url:`` an isolated place on ``engine``'s test server.

    PostgreSQL: a fresh schema name in lamina_test (``?schema=t_<12 hex>``), not yet created.
    MySQL: a fresh, empty database ``lamina_t_<12 hex>``. Either is dropped when the block
    ends. Skips (or fails, under CI) when the server does not answer. ``db_url`` uses it for
    the server engines; a test wanting a second, separate database uses it directly.
    """
    return open_server_database


@pytest.fixture(
    params=[pytest.param(name, id=name) for name in EMBEDDED_ENGINES]
    + [pytest.param(name, id=name, marks=pytest.mark.server) for name in SERVER_ENGINES]
)
def engine(request: pytest.FixtureRequest) -> str:
    """The engine under test; every test that takes it runs once per engine.

    The server engines carry the ``server`` marker (``-m "not server"`` leaves them out) and
    skip, or fail under CI, when their server does not answer.
    """
    name = str(request.param)
    if name in SERVER_ENGINES:
        require_server(name)
    return name


@pytest.fixture
def db_url(engine: str, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh database for ``engine``: a file not yet created, a schema not yet
    created (PostgreSQL), or an empty database (MySQL). Server places are dropped afterwards."""
    if engine in EMBEDDED_ENGINES:
        yield url_for(engine, tmp_path)
        return
    with open_server_database(engine) as url:
        yield url


@pytest.fixture
def postgresql_url() -> Iterator[str]:
    """A fresh schema on the PostgreSQL test server, for tests of PostgreSQL's own behaviour."""
    with open_server_database("postgresql") as url:
        yield url


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A fresh database on the MySQL test server, for tests of MySQL's own behaviour."""
    with open_server_database("mysql") as url:
        yield url


MakeMigrations = Callable[[dict[str, str]], Path]


@pytest.fixture
def make_migrations(tmp_path: Path) -> MakeMigrations:
    """Write ``{filename: content}`` into ``tmp_path/migrations`` (dedented) and return the folder.

    Calling it again adds or overwrites files in the same folder.
    """
    folder = tmp_path / "migrations"

    def make(files: dict[str, str]) -> Path:
        folder.mkdir(exist_ok=True)
        for name, content in files.items():
            (folder / name).write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return folder

    return make


@pytest.fixture
def settings_for(tmp_path: Path, db_url: str) -> Callable[..., Settings]:
    """Settings for ``db_url`` and ``tmp_path/migrations``, ignoring the real environment."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "database_url": db_url,
            "migrations_dir": str(tmp_path / "migrations"),
            "lock_timeout_s": 5,
        }
        values.update(overrides)
        return load_settings(values, environ={}, cwd=tmp_path)

    return make


class RawDatabase:
    """Reads and sets up a test database through the raw driver, independently of lamina.

    Every call opens a connection of its own and closes it, so it never holds a lock or a
    transaction between calls. ``engine`` is duckdb, sqlite, postgresql or mysql; ``path`` is
    the file of the embedded engines; ``schema`` is PostgreSQL's ``?schema=`` (else public).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.address: ServerAddress | None = None
        self.schema: str | None = None
        self.path = ""
        scheme = url.partition("://")[0].lower()
        if scheme in EMBEDDED_ENGINES:
            self.engine, _, self.path = url.partition(":///")
            return
        self.address = ServerAddress.parse(url)
        self.engine = self.address.engine
        if self.engine == "postgresql":
            self.schema = self.address.option("schema") or "public"

    @contextmanager
    def _connection(self, *, read_only: bool) -> Iterator[Any]:
        if self.engine == "duckdb":
            import duckdb

            con: Any = duckdb.connect(self.path, read_only=read_only)
        elif self.engine == "sqlite":
            import sqlite3

            con = sqlite3.connect(self.path)
        else:
            assert self.address is not None
            con = self.address.connect(schema=self.schema)
        try:
            yield con
        finally:
            con.close()

    def _run(self, sql: str, params: tuple[object, ...], *, read_only: bool) -> list[Any]:
        with self._connection(read_only=read_only) as con:
            if self.engine in SERVER_ENGINES:
                cur = con.cursor()
                try:
                    cur.execute(sql, params or None)
                    rows = cur.fetchall() if cur.description is not None else []
                finally:
                    cur.close()
            else:
                cursor = con.execute(sql, params)
                rows = cursor.fetchall() if cursor.description is not None else []
                if self.engine == "sqlite":
                    con.commit()
            return [tuple(row) for row in rows]

    @property
    def placeholder(self) -> str:
        """The parameter marker of the engine's driver in :meth:`query` and :meth:`execute`."""
        return "%s" if self.engine in SERVER_ENGINES else "?"

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """The rows of ``sql``; ``params`` use the driver's placeholder style."""
        return self._run(sql, params, read_only=True)

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> None:
        """Run one statement and commit it: for setting up a test's database.

        On PostgreSQL the schema of the URL must exist first (lamina creates a missing one;
        ``execute(f'CREATE SCHEMA "{raw_db.schema}"')`` does it by hand).
        """
        self._run(sql, params, read_only=False)

    def tables(self) -> set[str]:
        """Tables of this test's database (PostgreSQL: of its schema); empty if none yet."""
        if self.engine == "duckdb":
            sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        elif self.engine == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        elif self.engine == "postgresql":
            return self._names(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = %s AND table_type = 'BASE TABLE'",
                (self.schema,),
            )
        else:
            return self._names(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
            )
        if not Path(self.path).exists():
            return set()
        return self._names(sql)

    def applied_ids(self) -> list[str]:
        return [str(r[0]) for r in self.query("SELECT id FROM lamina_migrations ORDER BY version")]

    def columns(self, table: str) -> set[str]:
        if self.engine == "duckdb":
            sql = f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'"
        elif self.engine == "sqlite":
            sql = f"SELECT name FROM pragma_table_info('{table}')"
        elif self.engine == "postgresql":
            return self._names(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s",
                (self.schema, table),
            )
        else:
            return self._names(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = DATABASE() AND table_name = %s",
                (table,),
            )
        return self._names(sql)

    def _names(self, sql: str, params: tuple[object, ...] = ()) -> set[str]:
        return {str(row[0]) for row in self.query(sql, params)}


@pytest.fixture
def raw_db(db_url: str) -> RawDatabase:
    return RawDatabase(db_url)


@pytest.fixture
def raw_database() -> type[RawDatabase]:
    """:class:`RawDatabase`, for any URL (test modules do not import conftest)."""
    return RawDatabase


@pytest.fixture
def run(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Invoke ``lamina ARGS`` in-process with the test database and ``tmp_path/migrations``
    (every other setting cleared; ``env=`` adds some)."""
    from support.cli import invoke_on

    monkeypatch.chdir(tmp_path)

    def invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
        return invoke_on(db_url, tmp_path / "migrations", *args, env=env)

    return invoke
