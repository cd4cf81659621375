"""What MySQL's and MariaDB's risk rules need: the flavour and version, and table sizes.

Whether an ALTER runs INSTANT, INPLACE or COPY depends on both (MySQL 8.0.12 added INSTANT
ADD COLUMN, MariaDB 10.3 its own), so the rules read them from the server that will run it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lamina.risk.model import LiveFacts, TableFacts

if TYPE_CHECKING:
    from lamina.engines.base import Backend

_TABLES = (
    "SELECT lower(table_name), table_rows, data_length + index_length "
    "FROM information_schema.tables "
    "WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
)
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def read(backend: Backend) -> LiveFacts:
    """Estimated rows and size of every table, and ``mariadb``/``mysql`` with the version."""
    tables = {
        str(name): TableFacts(
            rows=int(rows) if rows is not None else None,
            size_bytes=int(size) if size is not None else None,
        )
        for name, rows, size in backend.query(_TABLES)
    }
    text = str(backend.query("SELECT VERSION()")[0][0])
    found = _VERSION.search(text)
    version = tuple(int(part) for part in found.groups()) if found else None
    flavor = "mariadb" if "mariadb" in text.lower() else "mysql"
    return LiveFacts(tables, version, flavor)
