"""SQLAlchemy metadata as a source: ``module:metadata`` or ``module:Base`` (``lamina[sqlalchemy]``).

The module is imported from the current directory (then ``sys.path``), as alembic's ``env.py``
would import the models, and ``metadata.create_all`` builds the tables on a scratch database
through SQLAlchemy's own dialect for the engine: DuckDB needs ``duckdb_engine``, PostgreSQL
uses psycopg and MySQL PyMySQL, the drivers lamina already uses. SQLAlchemy is imported only
here, so no other command pays for it.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from lamina.errors import ConfigError
from lamina.urls import DatabaseURL

__all__ = ["create_all", "load_metadata"]

_OPTION = "--from"
_INSTALL = "pip install 'lamina[sqlalchemy]'"
#: SQLAlchemy's driver name per lamina engine, and the package that provides it.
_DRIVERS = {
    "duckdb": ("duckdb", "duckdb_engine"),
    "sqlite": ("sqlite", "sqlalchemy"),
    "postgresql": ("postgresql+psycopg", "psycopg"),
    "mysql": ("mysql+pymysql", "pymysql"),
}


def load_metadata(spec: str) -> Any:
    """The ``MetaData`` that ``spec`` (``module:attribute``) names: the object itself, or the
    ``.metadata`` of a declarative base or model class.

    Raises:
        ConfigError: SQLAlchemy is missing, the module fails to import, or the attribute is
            not metadata (each message names ``spec``).
    """
    try:
        from sqlalchemy import MetaData
    except ImportError:
        raise ConfigError(
            _OPTION, "command line", f"{spec} needs SQLAlchemy, which is not installed",
            hint=_INSTALL,
        ) from None  # fmt: skip
    module_name, _, attribute = spec.partition(":")
    module = _import(module_name, spec)
    found: Any = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ConfigError(
                _OPTION, "command line", f"module {module_name} has no {attribute}",
                hint="name the MetaData or the declarative base: models:Base, models:metadata",
            )  # fmt: skip
        found = getattr(found, part)
    metadata = found if isinstance(found, MetaData) else getattr(found, "metadata", None)
    if not isinstance(metadata, MetaData):
        raise ConfigError(
            _OPTION, "command line",
            f"{spec} is a {type(found).__name__}, not SQLAlchemy MetaData or a declarative base",
            hint="name the MetaData or the declarative base: models:Base, models:metadata",
        )  # fmt: skip
    return metadata


def create_all(spec: str, url: DatabaseURL) -> None:
    """``metadata.create_all`` on the (scratch) database ``url``.

    Raises:
        ConfigError: as :func:`load_metadata`; no SQLAlchemy dialect or driver for the engine;
            or the database refused a statement SQLAlchemy generated.
    """
    metadata = load_metadata(spec)
    from sqlalchemy import create_engine
    from sqlalchemy.exc import NoSuchModuleError, SQLAlchemyError

    try:
        engine = create_engine(_alchemy_url(url), **_engine_options(url))
    except (NoSuchModuleError, ImportError) as exc:
        driver, package = _DRIVERS[url.scheme]
        raise ConfigError(
            _OPTION, "command line",
            f"SQLAlchemy has no {driver} dialect here ({exc}): {spec} cannot be built on a "
            f"{url.scheme} database",
            hint=f"install {package} ({_INSTALL} brings the DuckDB one)",
        ) from None  # fmt: skip
    try:
        metadata.create_all(engine)
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        hint = None
        if url.scheme == "duckdb" and "SERIAL" in detail:
            hint = (
                "duckdb_engine writes an autoincrement integer primary key as SERIAL, which "
                "DuckDB lacks: declare it with autoincrement=False or a Sequence"
            )
        raise ConfigError(
            _OPTION, "command line",
            f"SQLAlchemy could not create {spec} on a scratch {url.scheme} database: {detail}",
            hint=hint,
        ) from None  # fmt: skip
    finally:
        engine.dispose()


def _import(module_name: str, spec: str) -> Any:
    """Import the models' module with the current directory first on ``sys.path``."""
    here = str(Path.cwd())
    added = here not in sys.path
    if added:
        sys.path.insert(0, here)
    try:
        return importlib.import_module(module_name)
    except Exception as exc:  # the user's module: any error is theirs to see, by name
        raise ConfigError(
            _OPTION, "command line",
            f"importing {module_name} for {spec} failed: {type(exc).__name__}: {exc}",
            hint="run lamina from the folder the module is importable from",
        ) from None  # fmt: skip
    finally:
        if added:
            sys.path.remove(here)


def _alchemy_url(url: DatabaseURL) -> Any:
    from sqlalchemy.engine import URL

    driver, _ = _DRIVERS[url.scheme]
    if url.is_file:
        return URL.create(driver, database=url.path)
    return URL.create(
        driver, username=url.username, password=url.password, host=url.host or "localhost",
        port=url.port, database=url.database,
    )  # fmt: skip


def _engine_options(url: DatabaseURL) -> dict[str, Any]:
    """PostgreSQL's ``?schema=``: the tables go where the migrations' unqualified names go."""
    schema = url.option("schema")
    if url.scheme == "postgresql" and schema:
        return {"connect_args": {"options": f"-c search_path={schema}"}}
    return {}
