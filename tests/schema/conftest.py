"""A connected read-write backend on the test's fresh database, for the snapshot tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lamina.engines import open_backend
from lamina.engines.base import Backend
from lamina.urls import parse_url


@pytest.fixture
def backend(db_url: str) -> Iterator[Backend]:
    """Connected on ``db_url`` (which creates the PostgreSQL schema); closed afterwards."""
    with open_backend(parse_url(db_url)) as opened:
        opened.connect(5)
        yield opened
