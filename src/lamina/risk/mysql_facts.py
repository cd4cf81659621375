"""What MySQL's and MariaDB's rules know of a live table beyond its size: its columns.

Whether a ``MODIFY`` copies the table depends on what the column was before: appending a value
to an ``ENUM`` is instant, inserting one copies every row; growing a ``VARCHAR`` stays in place
while its maximum byte length stays on the same side of 255. The engine's facts reader fills
:class:`MySQLTableFacts` (a :class:`~lamina.risk.model.TableFacts` with the columns), and the
rules compare the statement with it. Offline there are no columns, and the rules assume the
worst. Nothing here imports sqlglot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lamina.risk.model import TableFacts

__all__ = ["ColumnFacts", "MySQLTableFacts", "bytes_per_character", "known_charset"]

#: Bytes one character can take, for the character sets a VARCHAR is likely to use
#: (information_schema.CHARACTER_SETS.MAXLEN). An unknown set counts as 4, the widest.
_MAX_BYTES: dict[str, int] = {
    "ascii": 1,
    "binary": 1,
    "cp1250": 1,
    "cp1251": 1,
    "cp1252": 1,
    "latin1": 1,
    "latin2": 1,
    "big5": 2,
    "gbk": 2,
    "sjis": 2,
    "ucs2": 2,
    "euckr": 2,
    "gb2312": 2,
    "ujis": 3,
    "utf8": 3,
    "utf8mb3": 3,
    "gb18030": 4,
    "utf16": 4,
    "utf16le": 4,
    "utf32": 4,
    "utf8mb4": 4,
}


def bytes_per_character(charset: str | None) -> int:
    """The most bytes one character of ``charset`` takes; 4 when the set is unknown."""
    return _MAX_BYTES.get((charset or "").lower(), 4)


def known_charset(name: str) -> bool:
    """Whether ``name`` is a character set lamina knows (a collation's prefix may not be)."""
    return name.lower() in _MAX_BYTES


@dataclass(frozen=True, slots=True)
class ColumnFacts:
    """One column as information_schema.COLUMNS describes it.

    Attributes:
        type: ``COLUMN_TYPE``, lower-cased: ``varchar(50)``, ``int(11) unsigned``,
            ``enum('red','green')``.
        nullable: it accepts NULL.
        charset: its character set, for text columns.
        octets: ``CHARACTER_OCTET_LENGTH``, its maximum length in bytes, for text columns.
        generated: ``virtual`` or ``stored`` for a generated column, else None.
        position: its 1-based place in the table.
    """

    type: str
    nullable: bool = True
    charset: str | None = None
    octets: int | None = None
    generated: str | None = None
    position: int = 0


@dataclass(frozen=True, slots=True)
class MySQLTableFacts(TableFacts):
    """A MySQL/MariaDB table's facts with its columns, default character set and full-text
    indexes (a table with one cannot be altered INSTANTly, and its rebuilds block writes)."""

    columns: Mapping[str, ColumnFacts] = field(default_factory=dict)
    charset: str | None = None
    fulltext: bool = False

    def column(self, name: str) -> ColumnFacts | None:
        """The column ``name`` (compared lower-cased), or None when the table has none."""
        return self.columns.get(name.lower())

    def is_last(self, name: str) -> bool:
        """Whether ``name`` is the table's last column (``ADD ... AFTER`` it adds at the end)."""
        known = self.column(name)
        return known is not None and known.position == max(
            c.position for c in self.columns.values()
        )
