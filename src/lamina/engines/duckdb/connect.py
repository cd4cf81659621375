"""How a ``duckdb://`` URL becomes ``duckdb.connect()`` arguments.

The path is the URL's, made absolute by the backend when it is constructed; ``:memory:`` is
DuckDB's own name for an in-memory database.
"""

from __future__ import annotations

from typing import Any

from lamina.urls import DatabaseURL

__all__ = ["connect_args"]


def connect_args(url: DatabaseURL, path: str, read_only: bool) -> dict[str, Any]:
    """Keyword arguments of ``duckdb.connect`` for the file at ``path`` (``url``'s file)."""
    # An in-memory database cannot be opened read-only, and nobody else can write it anyway.
    return {"database": path, "read_only": read_only and not url.is_memory}
