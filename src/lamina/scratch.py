"""Throw-away databases beside the target, for ``verify``, ``diff`` and the pytest plugin.

Never the target itself: DuckDB and SQLite get an empty file in a temporary folder,
PostgreSQL a temporary schema in the target's database, MySQL a temporary database on the
target's server. Everything is dropped when the block ends, also after an error.

Example::

    with scratch_database(settings.database_url) as url:
        Lamina(dataclasses.replace(settings, database_url=url)).up()
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lamina.backends import open_backend
from lamina.errors import BackendError
from lamina.urls import DatabaseURL

__all__ = ["scratch_database"]

#: Every scratch name starts with this, so a leftover (a killed run) is recognisable.
PREFIX = "lamina_scratch_"
_MYSQL_NAME_MAX = 64


@contextmanager
def scratch_database(url: DatabaseURL) -> Iterator[DatabaseURL]:
    """A fresh, empty database of ``url``'s engine (see the module docstring).

    Raises:
        BackendError: the scratch schema or database cannot be created (permissions).
    """
    if url.is_file:
        with _scratch_file(url) as scratch:
            yield scratch
    elif url.scheme == "postgresql":
        with _scratch_schema(url) as scratch:
            yield scratch
    else:
        with _scratch_mysql(url) as scratch:
            yield scratch


@contextmanager
def _scratch_file(url: DatabaseURL) -> Iterator[DatabaseURL]:
    folder = tempfile.mkdtemp(prefix=PREFIX)
    try:
        suffix = ".duckdb" if url.scheme == "duckdb" else ".sqlite3"
        yield DatabaseURL(scheme=url.scheme, path=str(Path(folder) / f"scratch{suffix}"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _scratch_schema(url: DatabaseURL) -> Iterator[DatabaseURL]:
    name = PREFIX + uuid.uuid4().hex[:12]
    query = (*((k, v) for k, v in url.query if k != "schema"), ("schema", name))
    scratch = dataclasses.replace(url, query=query)
    try:
        yield scratch  # lamina creates the schema on first write
    finally:
        _run_on(scratch, f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@contextmanager
def _scratch_mysql(url: DatabaseURL) -> Iterator[DatabaseURL]:
    name = (f"{url.database}_{PREFIX}" + uuid.uuid4().hex[:12])[-_MYSQL_NAME_MAX:]
    _run_on(url, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield dataclasses.replace(url, database=name)
    finally:
        _run_on(url, f"DROP DATABASE IF EXISTS `{name}`")


def _run_on(url: DatabaseURL, statement: str) -> None:
    """Run one statement of ours (names we generated, never input) on a short connection."""
    backend = open_backend(url)
    try:
        backend.connect(10)
        try:
            backend.execute(statement)
        except Exception as exc:
            if not backend.is_driver_error(exc):
                raise
            raise BackendError(
                f"cannot prepare a scratch database on {backend.target()}: "
                f"{backend.describe_error(exc)}",
                hint="lamina verify needs CREATE on the database (PostgreSQL) or the server "
                "(MySQL) to build its throw-away copy",
            ) from exc
    finally:
        backend.close()
