"""What MySQL's and MariaDB's risk rules need: flavour and version, sizes, columns, indexes.

Whether an ALTER runs INSTANT, INPLACE or COPY depends on the server (MySQL 8.0.12 added
INSTANT ADD COLUMN, MariaDB 10.3 its own) and on the column it changes (growing a VARCHAR
stays in place while its byte length stays on one side of 255), so the rules read both from
the server that will run it. Four information_schema queries, never a scan.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING

from lamina.risk.model import LiveFacts
from lamina.risk.mysql_facts import ColumnFacts, MySQLTableFacts

if TYPE_CHECKING:
    from lamina.engines.base import Backend

_TABLES = (
    "SELECT lower(t.table_name), t.table_rows, t.data_length + t.index_length, "
    "co.character_set_name "
    "FROM information_schema.tables t "
    "LEFT JOIN information_schema.collations co ON co.collation_name = t.table_collation "
    "WHERE t.table_schema = DATABASE() AND t.table_type = 'BASE TABLE'"
)
_COLUMNS = (
    "SELECT lower(table_name), lower(column_name), lower(column_type), is_nullable, "
    "character_set_name, character_octet_length, lower(extra), ordinal_position "
    "FROM information_schema.columns WHERE table_schema = DATABASE()"
)
_INDEXES = (
    "SELECT DISTINCT lower(table_name), index_name, index_type "
    "FROM information_schema.statistics WHERE table_schema = DATABASE()"
)
_REFERENCES = (
    "SELECT DISTINCT lower(referenced_table_name), lower(table_name) "
    "FROM information_schema.key_column_usage "
    "WHERE table_schema = DATABASE() AND referenced_table_schema = DATABASE()"
)
# MariaDB may prefix the version with the old replication marker "5.5.5-".
_VERSION = re.compile(r"(?:5\.5\.5-)?(\d+)\.(\d+)\.(\d+)")


def read(backend: Backend) -> LiveFacts:
    """Every table's rows, size, columns, indexes and referrers, with the server's flavour
    (``mariadb``/``mysql``) and version."""
    columns = _columns(backend)
    indexes, fulltext = _indexes(backend)
    referrers = _referrers(backend)
    tables = {
        str(name): MySQLTableFacts(
            indexes=tuple(indexes[str(name)]),
            referenced_by=tuple(referrers[str(name)]),
            rows=int(rows) if rows is not None else None,
            size_bytes=int(size) if size is not None else None,
            columns=columns[str(name)],
            charset=str(charset).lower() if charset else None,
            fulltext=str(name) in fulltext,
        )
        for name, rows, size, charset in backend.query(_TABLES)
    }
    version, flavor = server_of(str(backend.query("SELECT VERSION()")[0][0]))
    return LiveFacts(tables, version, flavor)


def server_of(text: str) -> tuple[tuple[int, ...] | None, str]:
    """``(version, flavour)`` from ``SELECT VERSION()``: ``10.11.19-MariaDB-0+deb12u1`` gives
    ``((10, 11, 19), "mariadb")``; ``8.0.36`` gives ``((8, 0, 36), "mysql")``."""
    found = _VERSION.search(text)
    version = tuple(int(part) for part in found.groups()) if found else None
    return version, "mariadb" if "mariadb" in text.lower() else "mysql"


def _columns(backend: Backend) -> defaultdict[str, dict[str, ColumnFacts]]:
    found: defaultdict[str, dict[str, ColumnFacts]] = defaultdict(dict)
    for table, name, kind, nullable, charset, octets, extra, position in backend.query(_COLUMNS):
        found[str(table)][str(name)] = ColumnFacts(
            type=str(kind),
            nullable=str(nullable).upper() == "YES",
            charset=str(charset).lower() if charset else None,
            octets=int(octets) if octets is not None else None,
            generated=_generated(str(extra or "")),
            position=int(position),
        )
    return found


def _generated(extra: str) -> str | None:
    """``virtual`` or ``stored`` from the EXTRA column (MariaDB says PERSISTENT for stored)."""
    if "virtual" in extra:
        return "virtual"
    if "stored" in extra or "persistent" in extra:
        return "stored"
    return None


def _indexes(backend: Backend) -> tuple[defaultdict[str, list[str]], set[str]]:
    names: defaultdict[str, list[str]] = defaultdict(list)
    fulltext: set[str] = set()
    for table, name, kind in backend.query(_INDEXES):
        if str(name).upper() != "PRIMARY":  # the primary key, not an index people name
            names[str(table)].append(str(name))
        if str(kind).upper() == "FULLTEXT":
            fulltext.add(str(table))
    return names, fulltext


def _referrers(backend: Backend) -> defaultdict[str, list[str]]:
    found: defaultdict[str, list[str]] = defaultdict(list)
    for target, source in backend.query(_REFERENCES):
        found[str(target)].append(str(source))
    return found
