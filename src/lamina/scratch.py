"""Throw-away databases beside the target, for ``verify`` and the pytest plugin.

A scratch is always a database of its own, never a part of the target: DuckDB and SQLite get
an empty file in a temporary folder, PostgreSQL and MySQL a new database created on the
target's server (or on the server ``--scratch-url`` names). A schema inside the target would
not do: a migration's schema-qualified names, extensions and other schemas would be the
target's own objects. Everything is dropped when the block ends, also after an error or a
stop signal (both raise through the ``finally``).

When the user may not create databases, lamina says which privilege is missing and never
falls back to the target.

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

from lamina.engines import open_backend, spec_for
from lamina.engines.server import ServerBackend
from lamina.errors import BackendError, ConfigError, StatementError
from lamina.urls import DatabaseURL

__all__ = ["PREFIX", "same_server", "scratch_database", "scratch_place"]

#: Every scratch name starts with this, so a leftover (a killed run) is recognisable.
PREFIX = "lamina_scratch_"
#: The URL options that choose where a session runs inside its database (PostgreSQL's
#: ``?schema=``): kept from the target, never sent to the server's admin connection.
_PLACEMENT_OPTIONS = ("schema",)


@contextmanager
def scratch_database(
    url: DatabaseURL, *, server: DatabaseURL | None = None
) -> Iterator[DatabaseURL]:
    """A fresh, empty database of ``url``'s engine (see the module docstring).

    Args:
        url: the target; its engine and (PostgreSQL) ``?schema=`` are kept.
        server: where to create the scratch instead of the target's server (a server or
            database URL of the same engine): ``--scratch-url``.

    Raises:
        ConfigError: ``server`` is of another engine, or given for a file engine.
        BackendError: the scratch database cannot be created (the privilege is named).
    """
    if server is not None:
        _check_server(url, server)
    if spec_for(url).scratch == "file":
        with _scratch_file(url) as scratch:
            yield scratch
    else:
        with _scratch_server(url, server or url) as scratch:
            yield scratch


def scratch_place(url: DatabaseURL, server: DatabaseURL | None = None) -> str:
    """Where the scratch goes, for messages: ``a temporary file``, ``a new database on ...``."""
    if spec_for(url).scratch == "file":
        return "a temporary file"
    place = server or url
    where = place.host or "localhost"
    return f"a new database on {where}:{place.port}" if place.port else f"a new database on {where}"


def same_server(url: DatabaseURL, server: DatabaseURL | None) -> bool:
    """Whether the scratch shares the target's server (so server-wide objects are shared)."""
    if spec_for(url).scratch == "file":
        return False
    if server is None:
        return True
    return (url.host or "localhost", url.port) == (server.host or "localhost", server.port)


def _check_server(url: DatabaseURL, server: DatabaseURL) -> None:
    if spec_for(url).scratch == "file":
        raise ConfigError(
            "--scratch-url",
            "command line",
            "is for PostgreSQL and MySQL targets",
            hint=f"a {url.scheme} target is always verified on a temporary file; drop the option",
        )
    if server.scheme != url.scheme:
        raise ConfigError(
            "--scratch-url",
            "command line",
            f"is a {server.scheme} URL, the target is {url.scheme}",
            hint="point --scratch-url at a server of the target's engine",
        )


@contextmanager
def _scratch_file(url: DatabaseURL) -> Iterator[DatabaseURL]:
    folder = tempfile.mkdtemp(prefix=PREFIX)
    try:
        suffix = spec_for(url).file_suffix or ""
        yield DatabaseURL(scheme=url.scheme, path=str(Path(folder) / f"scratch{suffix}"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _scratch_server(url: DatabaseURL, server: DatabaseURL) -> Iterator[DatabaseURL]:
    """A new database on ``server`` (MySQL: utf8mb4), named so that one grant covers every
    scratch; the target's ``?schema=`` (PostgreSQL) is created in it by lamina."""
    name = PREFIX + uuid.uuid4().hex[:12]
    admin = dataclasses.replace(
        server, query=tuple((k, v) for k, v in server.query if k not in _PLACEMENT_OPTIONS)
    )
    with _admin(admin) as backend:
        _create(backend, name)
    placement = tuple((k, v) for k, v in url.query if k in _PLACEMENT_OPTIONS)
    scratch = dataclasses.replace(admin, database=name, query=admin.query + placement)
    try:
        yield scratch
    finally:
        with _admin(admin) as backend:
            backend.drop_database(name)


@contextmanager
def _admin(url: DatabaseURL) -> Iterator[ServerBackend]:
    """A short connection for our own statements (names we generated, never input)."""
    backend = open_backend(url)
    assert isinstance(backend, ServerBackend)  # only server engines get a scratch database
    try:
        backend.connect(10)
        yield backend
    finally:
        backend.close()


def _create(backend: ServerBackend, name: str) -> None:
    try:
        backend.create_database(name)
    except StatementError as exc:
        raise BackendError(
            f"cannot create a scratch database on {backend.target()}: {exc.detail}",
            hint=_privilege_hint(backend),
        ) from exc.original


def _privilege_hint(backend: ServerBackend) -> str:
    """Which privilege, for which role, and the way out that never touches the target."""
    user = backend.url.username or "this user"
    privilege = backend.scratch_privilege
    grant = backend.grant_hint(user, PREFIX)
    return (
        f"verify builds its throw-away copy in a new database: give the role {user} the "
        f"{privilege} privilege ({grant}), or pass --scratch-url with a server where it may "
        "create databases (a throw-away container will do); lamina never verifies on the target"
    )
