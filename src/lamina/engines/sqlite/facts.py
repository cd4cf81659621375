"""What SQLite's risk rules need from the live database: the library's version, and which
tables hold rows.

SQLite's own ALTER TABLE has grown by version (RENAME COLUMN in 3.25, DROP COLUMN in 3.35), so
the rules judge a statement against the SQLite that will run it. Some ADD COLUMN forms (NOT NULL
without a default, a non-constant default, a STORED generated column) fail only on a table with
rows, so the rules also need to know which tables are empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lamina.errors import StatementError
from lamina.risk.model import LiveFacts, TableFacts

if TYPE_CHECKING:
    from lamina.engines.base import Backend

_TABLES = (
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
    "ESCAPE '\\' ORDER BY name"
)


def read(backend: Backend) -> LiveFacts:
    """The SQLite library's version and each table's row estimate."""
    (version,) = backend.query("SELECT sqlite_version()")[0]
    tables = {
        str(name).lower(): TableFacts(rows=_rows(backend, str(name)))
        for (name,) in backend.query(_TABLES)
    }
    return LiveFacts(tables, tuple(int(part) for part in str(version).split(".")))


def _rows(backend: Backend, table: str) -> int | None:
    """An estimate that is 0 exactly when the table is empty, without counting every row.

    The largest rowid is found in one index lookup. A WITHOUT ROWID table has none, and rowids
    may be zero or negative: then only emptiness is known (0, or None when it has rows).
    """
    quoted = '"' + table.replace('"', '""') + '"'
    try:
        (largest,) = backend.query(f"SELECT max(rowid) FROM {quoted}")[0]
    except StatementError:
        largest = 0
    if largest is not None and int(largest) > 0:
        return int(largest)
    (any_row,) = backend.query(f"SELECT EXISTS (SELECT 1 FROM {quoted})")[0]
    return None if any_row else 0
