"""A schema of its own on the PostgreSQL test server, set up by a test module's statements,
with as many sessions as a test needs: what the tests of PostgreSQL's locks and rewrites
share (tests/risk/test_postgres_*.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import psycopg

__all__ = ["PgPlace", "pg_place"]

Place = TypeVar("Place", bound="PgPlace")


class PgPlace:
    """The schema of ``url`` (``?schema=``), an admin session in it, and ``session()`` for
    more (autocommit, search path set)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.schema = dict(parse_qsl(parts.query))["schema"]
        self.conninfo = parts._replace(query="").geturl()
        self.database = parts.path.lstrip("/")
        self.admin = self.session()

    def session(self) -> psycopg.Connection[Any]:
        connection = psycopg.connect(self.conninfo, autocommit=True)
        connection.execute(f'SET search_path = "{self.schema}"')
        return connection


@contextmanager
def pg_place(place: Place, setup: Sequence[str]) -> Iterator[Place]:
    """``place`` with its schema created and ``setup`` run in it; its admin session closed
    after (the schema itself is dropped by the ``postgresql_url`` fixture)."""
    place.admin.execute(f'CREATE SCHEMA "{place.schema}"')
    place.admin.execute(f'SET search_path = "{place.schema}"')
    for statement in setup:
        place.admin.execute(statement)
    try:
        yield place
    finally:
        place.admin.close()
