"""The backend registry: which class serves which URL scheme, imported only when used.

Importing this package imports no database driver; :func:`open_backend` imports the one module
a URL needs, so a missing optional driver fails only the commands that need it, with the
``pip install`` line that fixes it.
"""

from __future__ import annotations

import importlib

from lamina.backends.base import Backend, BackendOptions, Capabilities
from lamina.errors import BackendUnavailableError
from lamina.urls import DatabaseURL

__all__ = [
    "REGISTRY",
    "Backend",
    "BackendOptions",
    "Capabilities",
    "dialect_for",
    "open_backend",
]

#: Normalised URL scheme -> ``"module:Class"`` of its backend.
REGISTRY: dict[str, str] = {
    "duckdb": "lamina.backends.duckdb:DuckDBBackend",
    "sqlite": "lamina.backends.sqlite:SQLiteBackend",
    "postgresql": "lamina.backends.postgres:PostgresBackend",
    "mysql": "lamina.backends.mysql:MySQLBackend",
}

#: The sqlglot dialect of each scheme, known without importing the backend or its driver.
_DIALECTS: dict[str, str] = {
    "duckdb": "duckdb",
    "sqlite": "sqlite",
    "postgresql": "postgres",
    "mysql": "mysql",
}

#: What to run when a scheme's module or driver cannot be imported.
_INSTALL_HINTS: dict[str, str] = {
    "duckdb": "pip install duckdb (lamina depends on it; reinstall lamina to restore it)",
    "sqlite": "use a Python built with the sqlite3 module",
    "postgresql": "pip install 'lamina[postgres]'",
    "mysql": "pip install 'lamina[mysql]'",
}


def open_backend(
    url: DatabaseURL, *, read_only: bool = False, options: BackendOptions | None = None
) -> Backend:
    """The backend for ``url``, not yet connected.

    Example::

        backend = open_backend(parse_url("duckdb:///app.duckdb"))
        backend.connect(timeout_s=5)

    Raises:
        BackendUnavailableError: no backend serves the scheme, or its module or driver cannot
            be imported; the hint says what to install.
    """
    spec = REGISTRY.get(url.scheme)
    if spec is None:
        raise _unknown_scheme(url)
    module_name, _, class_name = spec.partition(":")
    hint = _INSTALL_HINTS.get(url.scheme)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the {url.scheme} backend is not available: {exc}", hint=hint
        ) from exc
    backend_class = getattr(module, class_name, None)
    if not (isinstance(backend_class, type) and issubclass(backend_class, Backend)):
        raise BackendUnavailableError(f"{spec} is not a lamina backend", hint=hint)
    return backend_class(url, read_only=read_only, options=options)


def dialect_for(url: DatabaseURL) -> str:
    """The sqlglot dialect of ``url``'s engine (``"postgres"`` for postgresql://), no import.

    Raises:
        BackendUnavailableError: no backend serves the scheme.
    """
    try:
        return _DIALECTS[url.scheme]
    except KeyError:
        raise _unknown_scheme(url) from None


def _unknown_scheme(url: DatabaseURL) -> BackendUnavailableError:
    known = ", ".join(sorted(REGISTRY))
    return BackendUnavailableError(f"no backend for {url.scheme}:// URLs (known: {known})")
