"""``lamina --version``: lamina's version, then what it runs with, for bug reports.

Read only when ``--version`` is asked, so no other command pays for it. A distribution's
version comes from its metadata without importing it; the rest needs an import: which
sqlglot build is in use, the SQLite library Python's ``sqlite3`` is linked with, and the
libpq psycopg loads (a driver that is installed but cannot be loaded says why).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
from collections.abc import Callable

from lamina._version import __version__

__all__ = ["report"]

NOT_INSTALLED = "not installed"


def report() -> str:
    """The lines ``lamina --version`` prints: lamina's own first, as click prints it."""
    rows: list[tuple[str, Callable[[], str]]] = [
        ("python", lambda: f"{platform.python_version()} ({platform.python_implementation()})"),
        ("click", lambda: _installed("click")),
        ("rich", lambda: _installed("rich")),
        ("sqlglot", _sqlglot),
        ("duckdb", lambda: _installed("duckdb")),
        ("sqlite", _sqlite),
        ("psycopg", _psycopg),
        ("PyMySQL", lambda: _installed("PyMySQL")),
        ("starlette", lambda: _installed("starlette")),
        ("uvicorn", lambda: _installed("uvicorn")),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(
        [f"lamina, version {__version__}"]
        + [f"  {name.ljust(width)}  {get()}" for name, get in rows]
    )


def _installed(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return NOT_INSTALLED


def _sqlglot() -> str:
    """Its version, and whether the compiled build (``lamina[fast]``: sqlglotc) is the one
    imported: sqlglotc puts compiled modules beside sqlglot's own, and Python prefers them."""
    version = _installed("sqlglot")
    if version == NOT_INSTALLED:
        return version
    spec = importlib.util.find_spec("sqlglot.parser")
    origin = spec.origin if spec is not None else None
    if origin is not None and not origin.endswith(".py"):
        return f"{version}, compiled (sqlglotc {_installed('sqlglotc')})"
    return f"{version}, pure Python (`pip install 'lamina[fast]'` parses faster)"


def _sqlite() -> str:
    """The SQLite library's version: it, not the ``sqlite3`` module, decides the SQL."""
    try:
        import sqlite3
    except ImportError:  # a Python built without it
        return NOT_INSTALLED
    return f"{sqlite3.sqlite_version} (the library Python's sqlite3 uses)"


def _psycopg() -> str:
    """psycopg's version, its implementation, and the libpq it loaded."""
    version = _installed("psycopg")
    if version == NOT_INSTALLED:
        return version
    try:
        from psycopg import pq
    except ImportError as exc:  # installed, but no libpq, or PSYCOPG_IMPL names a missing one
        return f"{version}, cannot be loaded: {exc}"
    libpq = pq.version()
    return f"{version}, {pq.__impl__}, libpq {libpq // 10000}.{libpq % 100}"
