"""How a ``sqlite://`` URL becomes ``sqlite3.connect()`` arguments: a ``file:`` URI that says
whether the file may be created, written or only read."""

from __future__ import annotations

from urllib.parse import quote

from lamina.urls import DatabaseURL

__all__ = ["connect_target", "file_uri"]


def file_uri(path: str, mode: str, *, immutable: bool = False) -> str:
    """A SQLite ``file:`` URI for ``path`` opened in ``mode`` (``ro``, ``rw``, ``rwc``)."""
    return f"file:{quote(path)}?mode={mode}" + ("&immutable=1" if immutable else "")


def connect_target(url: DatabaseURL, path: str, read_only: bool) -> tuple[str, bool]:
    """``(database, uri)`` for ``sqlite3.connect`` of ``url``'s file at ``path``."""
    if url.is_memory:
        return path, False
    # A writer asks for read-write explicitly: SQLite would otherwise open a read-only file
    # read-only without a word, and the first migration would take the blame.
    return file_uri(path, "ro" if read_only else "rwc"), True
