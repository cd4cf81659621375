"""What SQLite's risk rules need from the live database: the library's version.

SQLite's own ALTER TABLE has grown by version (RENAME COLUMN in 3.25, DROP COLUMN in 3.35), so
the rules judge a statement against the SQLite that will run it.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from lamina.risk.model import LiveFacts

if TYPE_CHECKING:
    from lamina.engines.base import Backend


def read(backend: Backend) -> LiveFacts:
    """The SQLite library's version; SQLite keeps no row counts or sizes worth reading."""
    return LiveFacts({}, sqlite3.sqlite_version_info)
