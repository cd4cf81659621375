"""How InnoDB runs each ALTER TABLE operation, per flavour and server version: data.

Every row of :data:`FACTS` says: from this MySQL or MariaDB version on, this operation runs
with this algorithm (``INSTANT``: only the definition changes; ``INPLACE``: the engine works on
the table itself, reading every row to build an index or rewriting every row into a rebuilt
table; ``COPY``: the server copies every row into a new table) and needs at least this lock
(``NONE``: reads and writes go on; ``SHARED``: writes wait; ``EXCLUSIVE``: everything waits).

The MySQL rows come from the MySQL 5.7, 8.0 and 8.4 manuals ("Online DDL Operations"); the
MariaDB rows from MariaDB's "InnoDB Online DDL Operations" pages, and every MariaDB row that
applies to the test server is proven by tests/risk/test_mysql_algorithms.py, which runs the
operation with the algorithm and lock claimed here (accepted) and with the next cheaper ones
(refused). The rule reads this table; nothing else decides how an ALTER runs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "FACTS",
    "MARIADB",
    "MYSQL",
    "OLDEST",
    "TITLES",
    "Algorithm",
    "Fact",
    "Lock",
    "Op",
    "Way",
    "Work",
    "fact_for",
]

MYSQL = "mysql"
MARIADB = "mariadb"
TITLES = {MYSQL: "MySQL", MARIADB: "MariaDB"}

#: The oldest server of each flavour lamina's MySQL risk rules know; without a version they
#: assume it, the worst case.
OLDEST: dict[str, tuple[int, ...]] = {MYSQL: (5, 7), MARIADB: (10, 2)}


class Algorithm(enum.IntEnum):
    """``ALGORITHM=``, cheapest first."""

    INSTANT = 0
    INPLACE = 1
    COPY = 2


class Work(enum.IntEnum):
    """What the operation does to the rows, cheapest first."""

    METADATA = 0  # only the table's definition changes
    INDEX = 1  # every row is read to build an index
    REBUILD = 2  # every row is rewritten into a rebuilt table, inside the engine
    COPY = 3  # every row goes through the server into a new table


class Lock(enum.IntEnum):
    """``LOCK=``: the least the operation accepts, cheapest first."""

    NONE = 0
    SHARED = 1
    EXCLUSIVE = 2


@dataclass(frozen=True, slots=True)
class Way:
    """How the server runs an operation: algorithm, work on the rows, and lock."""

    algorithm: Algorithm
    work: Work = Work.METADATA
    lock: Lock = Lock.NONE

    def joined(self, other: Way) -> Way:
        """One ALTER runs all its operations one way: the costliest of each."""
        return Way(
            max(self.algorithm, other.algorithm),
            max(self.work, other.work),
            max(self.lock, other.lock),
        )

    @property
    def blocks_writes(self) -> bool:
        """Writes wait for as long as the rows are worked on (a metadata change is brief)."""
        return self.lock >= Lock.SHARED and self.work > Work.METADATA

    def clauses(self) -> str:
        """``ALGORITHM=COPY, LOCK=SHARED``: what to write to ask for exactly this."""
        return f"ALGORITHM={self.algorithm.name}, LOCK={self.lock.name}"


INSTANT = Way(Algorithm.INSTANT)
INSTANT_EXCLUSIVE = Way(Algorithm.INSTANT, lock=Lock.EXCLUSIVE)
METADATA = Way(Algorithm.INPLACE)
INDEX = Way(Algorithm.INPLACE, Work.INDEX)
INDEX_BLOCKING = Way(Algorithm.INPLACE, Work.INDEX, Lock.SHARED)
REBUILD = Way(Algorithm.INPLACE, Work.REBUILD)
REBUILD_BLOCKING = Way(Algorithm.INPLACE, Work.REBUILD, Lock.SHARED)
COPY = Way(Algorithm.COPY, Work.COPY, Lock.SHARED)


class Op(enum.Enum):
    """An operation of an ALTER TABLE, as the manuals tell them apart."""

    ADD_COLUMN_LAST = "adding a column at the end"
    ADD_COLUMN_PLACED = "adding a column with FIRST or AFTER"
    ADD_AUTO_INCREMENT_COLUMN = "adding an AUTO_INCREMENT column"
    ADD_STORED_COLUMN = "adding a STORED generated column"
    ADD_VIRTUAL_COLUMN = "adding a VIRTUAL generated column"
    DROP_COLUMN = "dropping a column"
    RENAME_COLUMN = "renaming a column"
    REORDER_COLUMN = "moving a column (FIRST or AFTER)"
    SET_DEFAULT = "setting or dropping a column default"
    EXTEND_ENUM = "appending values at the end of an ENUM or SET"
    CHANGE_ENUM = "inserting, removing or reordering ENUM or SET values"
    GROW_VARCHAR = "growing a VARCHAR within the same length byte"
    GROW_SHORT_VARCHAR = "growing a VARCHAR of at most 127 bytes past 255 bytes"
    GROW_VARCHAR_PAST_255 = "growing a VARCHAR from 128-255 bytes past 255 bytes"
    CHANGE_TYPE = "changing a column's type"
    CHANGE_CHARSET = "changing a column's character set"
    CHANGE_NULL = "changing NULL / NOT NULL"
    CONVERT_CHARSET = "CONVERT TO CHARACTER SET"
    TABLE_CHARSET = "changing the table's default character set"
    ADD_INDEX = "adding an index"
    ADD_FIRST_FULLTEXT = "adding the table's first FULLTEXT index"
    ADD_FULLTEXT = "adding another FULLTEXT index"
    ADD_SPATIAL = "adding a SPATIAL index"
    DROP_INDEX = "dropping an index"
    RENAME_INDEX = "renaming an index"
    ADD_PRIMARY_KEY = "adding a primary key"
    DROP_PRIMARY_KEY = "dropping the primary key"
    REPLACE_PRIMARY_KEY = "dropping the primary key and adding another"
    ADD_FOREIGN_KEY = "adding a foreign key"
    ADD_FOREIGN_KEY_UNCHECKED = "adding a foreign key with foreign_key_checks=0"
    DROP_FOREIGN_KEY = "dropping a foreign key"
    ADD_CHECK = "adding a CHECK constraint"
    DROP_CHECK = "dropping a CHECK constraint"
    REBUILD = "rebuilding the table (FORCE, ENGINE=, ROW_FORMAT=, OPTIMIZE TABLE)"
    AUTO_INCREMENT = "setting the AUTO_INCREMENT counter"
    RENAME_TABLE = "renaming the table"
    TABLE_COMMENT = "changing the table's comment"


@dataclass(frozen=True, slots=True)
class Fact:
    """From ``since`` on, ``flavor`` runs ``op`` ``way``.

    Attributes:
        combined: how an INSTANT operation runs when the same ALTER also does something that
            cannot be INSTANT (an instantly added column then makes the table rebuild).
        fulltext: the row is for a table that has a FULLTEXT index.
    """

    op: Op
    flavor: str
    since: tuple[int, ...]
    way: Way
    combined: Way | None = None
    fulltext: bool = False


def _rows(op: Op, flavor: str, *steps: tuple[tuple[int, ...], Way]) -> list[Fact]:
    """``op``'s rows for ``flavor``: each ``(since, way)``; an INSTANT way falls back to an
    in-place metadata change beside non-instant operations, unless the row says otherwise."""
    return [
        Fact(op, flavor, since, way, METADATA if way == INSTANT else None) for since, way in steps
    ]


def _column_rows(op: Op, flavor: str, *steps: tuple[tuple[int, ...], Way]) -> list[Fact]:
    """Like :func:`_rows` for column layout changes: beside a non-instant operation the table
    is rebuilt (MySQL: "cannot combine the addition of a column with other ALTER TABLE
    actions that do not support INSTANT"; verified on MariaDB 10.11)."""
    return [
        Fact(op, flavor, since, way, REBUILD if way == INSTANT else None) for since, way in steps
    ]


def _fulltext_rows(flavor: str, way: Way, *ops: Op) -> list[Fact]:
    """Operations on a table with a FULLTEXT index: never INSTANT, and its rebuilds block."""
    return [Fact(op, flavor, OLDEST[flavor], way, fulltext=True) for op in ops]


_MYSQL = [
    *_column_rows(Op.ADD_COLUMN_LAST, MYSQL, ((5, 7), REBUILD), ((8, 0, 12), INSTANT)),
    *_column_rows(Op.ADD_COLUMN_PLACED, MYSQL, ((5, 7), REBUILD), ((8, 0, 29), INSTANT)),
    *_rows(Op.ADD_AUTO_INCREMENT_COLUMN, MYSQL, ((5, 7), REBUILD_BLOCKING)),
    *_rows(Op.ADD_STORED_COLUMN, MYSQL, ((5, 7), COPY)),
    *_rows(Op.ADD_VIRTUAL_COLUMN, MYSQL, ((5, 7), METADATA), ((8, 0, 12), INSTANT)),
    *_column_rows(Op.DROP_COLUMN, MYSQL, ((5, 7), REBUILD), ((8, 0, 29), INSTANT)),
    *_rows(Op.RENAME_COLUMN, MYSQL, ((5, 7), METADATA), ((8, 0, 28), INSTANT)),
    *_rows(Op.REORDER_COLUMN, MYSQL, ((5, 7), REBUILD)),
    *_rows(Op.SET_DEFAULT, MYSQL, ((5, 7), METADATA), ((8, 0, 12), INSTANT)),
    *_rows(Op.EXTEND_ENUM, MYSQL, ((5, 7), METADATA), ((8, 0, 12), INSTANT)),
    *_rows(Op.CHANGE_ENUM, MYSQL, ((5, 7), COPY)),
    *_rows(Op.GROW_VARCHAR, MYSQL, ((5, 7), METADATA)),
    *_rows(Op.GROW_SHORT_VARCHAR, MYSQL, ((5, 7), COPY)),
    *_rows(Op.GROW_VARCHAR_PAST_255, MYSQL, ((5, 7), COPY)),
    *_rows(Op.CHANGE_TYPE, MYSQL, ((5, 7), COPY)),
    *_rows(Op.CHANGE_CHARSET, MYSQL, ((5, 7), COPY)),
    *_rows(Op.CHANGE_NULL, MYSQL, ((5, 7), REBUILD)),
    *_rows(Op.CONVERT_CHARSET, MYSQL, ((5, 7), COPY)),
    *_rows(Op.TABLE_CHARSET, MYSQL, ((5, 7), REBUILD)),
    *_rows(Op.ADD_INDEX, MYSQL, ((5, 7), INDEX)),
    *_rows(Op.ADD_FIRST_FULLTEXT, MYSQL, ((5, 7), REBUILD_BLOCKING)),
    *_rows(Op.ADD_FULLTEXT, MYSQL, ((5, 7), INDEX_BLOCKING)),
    *_rows(Op.ADD_SPATIAL, MYSQL, ((5, 7), INDEX_BLOCKING)),
    *_rows(Op.DROP_INDEX, MYSQL, ((5, 7), METADATA)),
    *_rows(Op.RENAME_INDEX, MYSQL, ((5, 7), METADATA)),
    *_rows(Op.ADD_PRIMARY_KEY, MYSQL, ((5, 7), REBUILD)),
    *_rows(Op.DROP_PRIMARY_KEY, MYSQL, ((5, 7), COPY)),
    *_rows(Op.REPLACE_PRIMARY_KEY, MYSQL, ((5, 7), REBUILD)),
    *_rows(Op.ADD_FOREIGN_KEY, MYSQL, ((5, 7), COPY)),
    *_rows(Op.ADD_FOREIGN_KEY_UNCHECKED, MYSQL, ((5, 7), INDEX)),
    *_rows(Op.DROP_FOREIGN_KEY, MYSQL, ((5, 7), METADATA)),
    # Before 8.0.16 MySQL parses a CHECK and ignores it: nothing is checked or changed.
    *_rows(Op.ADD_CHECK, MYSQL, ((5, 7), METADATA), ((8, 0, 16), COPY)),
    *_rows(Op.DROP_CHECK, MYSQL, ((5, 7), METADATA)),
    *_rows(Op.REBUILD, MYSQL, ((5, 7), REBUILD)),
    *_rows(Op.AUTO_INCREMENT, MYSQL, ((5, 7), METADATA)),
    *_rows(Op.RENAME_TABLE, MYSQL, ((5, 7), METADATA), ((8, 0, 12), INSTANT)),
    *_rows(Op.TABLE_COMMENT, MYSQL, ((5, 7), METADATA)),
    # The manual: INSTANT cannot add or drop columns of a table with a FULLTEXT index, and
    # OPTIMIZE / FORCE cannot rebuild it in place; lamina assumes those rebuilds block writes.
    *_fulltext_rows(MYSQL, REBUILD_BLOCKING, Op.ADD_COLUMN_LAST, Op.ADD_COLUMN_PLACED),
    *_fulltext_rows(MYSQL, REBUILD_BLOCKING, Op.DROP_COLUMN, Op.REORDER_COLUMN),
    *_fulltext_rows(MYSQL, REBUILD_BLOCKING, Op.CHANGE_NULL),
    *_fulltext_rows(MYSQL, COPY, Op.REBUILD),
]

_MARIADB = [
    *_column_rows(Op.ADD_COLUMN_LAST, MARIADB, ((10, 2), REBUILD), ((10, 3, 2), INSTANT)),
    *_column_rows(Op.ADD_COLUMN_PLACED, MARIADB, ((10, 2), REBUILD), ((10, 4), INSTANT)),
    *_rows(Op.ADD_AUTO_INCREMENT_COLUMN, MARIADB, ((10, 2), REBUILD_BLOCKING)),
    *_rows(Op.ADD_STORED_COLUMN, MARIADB, ((10, 2), COPY)),
    *_rows(Op.ADD_VIRTUAL_COLUMN, MARIADB, ((10, 2), METADATA), ((10, 3, 2), INSTANT)),
    *_column_rows(Op.DROP_COLUMN, MARIADB, ((10, 2), REBUILD), ((10, 4), INSTANT)),
    *_rows(Op.RENAME_COLUMN, MARIADB, ((10, 2), METADATA), ((10, 3, 7), INSTANT)),
    *_column_rows(Op.REORDER_COLUMN, MARIADB, ((10, 2), REBUILD), ((10, 4), INSTANT)),
    *_rows(Op.SET_DEFAULT, MARIADB, ((10, 2), METADATA), ((10, 3, 7), INSTANT)),
    *_rows(Op.EXTEND_ENUM, MARIADB, ((10, 2), METADATA), ((10, 3, 7), INSTANT)),
    *_rows(Op.CHANGE_ENUM, MARIADB, ((10, 2), COPY)),
    *_rows(
        Op.GROW_VARCHAR, MARIADB, ((10, 2), COPY), ((10, 2, 2), METADATA), ((10, 4, 3), INSTANT)
    ),
    *_rows(Op.GROW_SHORT_VARCHAR, MARIADB, ((10, 2), COPY), ((10, 4, 3), INSTANT)),
    *_rows(Op.GROW_VARCHAR_PAST_255, MARIADB, ((10, 2), COPY)),
    *_rows(Op.CHANGE_TYPE, MARIADB, ((10, 2), COPY)),
    *_rows(Op.CHANGE_CHARSET, MARIADB, ((10, 2), COPY)),
    *_rows(Op.CHANGE_NULL, MARIADB, ((10, 2), REBUILD)),
    *_rows(Op.CONVERT_CHARSET, MARIADB, ((10, 2), COPY)),
    *_rows(Op.TABLE_CHARSET, MARIADB, ((10, 2), METADATA), ((10, 3, 7), INSTANT)),
    *_rows(Op.ADD_INDEX, MARIADB, ((10, 2), INDEX)),
    *_rows(Op.ADD_FIRST_FULLTEXT, MARIADB, ((10, 2), REBUILD_BLOCKING)),
    *_rows(Op.ADD_FULLTEXT, MARIADB, ((10, 2), INDEX_BLOCKING)),
    *_rows(Op.ADD_SPATIAL, MARIADB, ((10, 2), INDEX_BLOCKING)),
    *_rows(Op.DROP_INDEX, MARIADB, ((10, 2), METADATA)),
    *_rows(Op.RENAME_INDEX, MARIADB, ((10, 5, 2), INSTANT)),
    *_rows(Op.ADD_PRIMARY_KEY, MARIADB, ((10, 2), REBUILD)),
    *_rows(Op.DROP_PRIMARY_KEY, MARIADB, ((10, 2), COPY)),
    *_rows(Op.REPLACE_PRIMARY_KEY, MARIADB, ((10, 2), REBUILD)),
    *_rows(Op.ADD_FOREIGN_KEY, MARIADB, ((10, 2), COPY)),
    *_rows(Op.ADD_FOREIGN_KEY_UNCHECKED, MARIADB, ((10, 2), INDEX)),
    *_rows(Op.DROP_FOREIGN_KEY, MARIADB, ((10, 2), METADATA), ((10, 3, 7), INSTANT)),
    *_rows(Op.ADD_CHECK, MARIADB, ((10, 2), COPY)),
    *_rows(Op.DROP_CHECK, MARIADB, ((10, 3, 6), INSTANT)),
    *_rows(Op.REBUILD, MARIADB, ((10, 2), REBUILD)),
    *_rows(Op.AUTO_INCREMENT, MARIADB, ((10, 2), METADATA), ((10, 3, 7), INSTANT)),
    Fact(Op.RENAME_TABLE, MARIADB, (10, 2), METADATA),
    Fact(Op.RENAME_TABLE, MARIADB, (10, 3, 7), INSTANT_EXCLUSIVE),
    *_rows(Op.TABLE_COMMENT, MARIADB, ((10, 2), METADATA), ((10, 3, 7), INSTANT)),
    *_fulltext_rows(MARIADB, REBUILD_BLOCKING, Op.ADD_COLUMN_LAST, Op.ADD_COLUMN_PLACED),
    *_fulltext_rows(MARIADB, REBUILD_BLOCKING, Op.DROP_COLUMN, Op.REORDER_COLUMN),
    *_fulltext_rows(MARIADB, REBUILD_BLOCKING, Op.CHANGE_NULL, Op.REBUILD),
]

#: Every fact lamina knows about InnoDB's online DDL.
FACTS: tuple[Fact, ...] = (*_MYSQL, *_MARIADB)


def fact_for(
    op: Op, flavor: str, version: tuple[int, ...], *, fulltext: bool = False
) -> Fact | None:
    """The row that decides how ``flavor`` ``version`` runs ``op`` (on a table with a
    FULLTEXT index when ``fulltext``), or None when the manuals say nothing for that server."""
    rows = [f for f in FACTS if f.op is op and f.flavor == flavor and f.since <= version]
    special = [f for f in rows if f.fulltext] if fulltext else []
    chosen = special or [f for f in rows if not f.fulltext]
    return max(chosen, key=lambda f: f.since, default=None)
