"""What ``ADD COLUMN`` and ``MODIFY`` / ``CHANGE COLUMN`` ask of MySQL and MariaDB.

An added column is judged by its kind and place (generated, AUTO_INCREMENT, FIRST/AFTER). A
``MODIFY`` restates the whole column, so what it does depends on what the column was: the live
column (from :class:`~lamina.risk.mysql_facts.MySQLTableFacts`) is compared with the new
definition, part by part: type, character set, NULL, place, name. Without a live column (an
offline lint) the type is assumed to change, the worst case, and the change says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp
from sqlglot.errors import SqlglotError

from lamina.risk.mysql_facts import (
    ColumnFacts,
    MySQLTableFacts,
    bytes_per_character,
    known_charset,
)
from lamina.risk.rules.base import _column_constraints
from lamina.risk.rules.mysql_algorithms import Op

__all__ = ["Change", "added_column", "modified_column"]

_T = exp.DataType.Type
#: Types whose ``(n)`` is a display width, not a size: ``int(11)`` is ``INT``.
_WIDTH_ONLY = {
    _T.TINYINT, _T.UTINYINT, _T.SMALLINT, _T.USMALLINT, _T.MEDIUMINT, _T.UMEDIUMINT,
    _T.INT, _T.UINT, _T.BIGINT, _T.UBIGINT, _T.YEAR,
}  # fmt: skip
_VARIABLE = {_T.VARCHAR, _T.VARBINARY}
_LISTS = {_T.ENUM, _T.SET}


@dataclass(frozen=True, slots=True)
class Change:
    """One operation of a statement, and what it does in words (``changes the type of
    users.age (int(11) → BIGINT)``)."""

    op: Op
    what: str


def added_column(table: str, column: exp.ColumnDef, facts: MySQLTableFacts | None) -> list[Change]:
    """The operations of ``ADD COLUMN``: the column itself, and any key it declares inline."""
    name = f"{table}.{column.name}"
    constraints = _column_constraints(column)
    kind = column.args.get("kind")
    serial = isinstance(kind, exp.DataType) and kind.this == _T.SERIAL
    computed = next((c for c in constraints if isinstance(c, exp.ComputedColumnConstraint)), None)
    if serial or any(isinstance(c, exp.AutoIncrementColumnConstraint) for c in constraints):
        changes = [Change(Op.ADD_AUTO_INCREMENT_COLUMN, f"adds AUTO_INCREMENT column {name}")]
    elif computed is not None and computed.args.get("persisted"):
        changes = [Change(Op.ADD_STORED_COLUMN, f"adds STORED generated column {name}")]
    elif computed is not None:
        changes = [Change(Op.ADD_VIRTUAL_COLUMN, f"adds VIRTUAL generated column {name}")]
    else:
        changes = [_placed(name, column, facts)]
    if any(isinstance(c, exp.PrimaryKeyColumnConstraint) for c in constraints):
        changes.append(Change(Op.ADD_PRIMARY_KEY, f"makes {name} the primary key"))
    if serial or any(isinstance(c, exp.UniqueColumnConstraint) for c in constraints):
        changes.append(Change(Op.ADD_INDEX, f"adds a unique index on {name}"))
    return changes


def _placed(name: str, column: exp.ColumnDef, facts: MySQLTableFacts | None) -> Change:
    """At the end, or FIRST / AFTER a column (AFTER the last column is the end)."""
    position = column.args.get("position")
    if position is None:
        return Change(Op.ADD_COLUMN_LAST, f"adds column {name}")
    after = position.this
    if after is not None and facts is not None and facts.is_last(after.name):
        return Change(Op.ADD_COLUMN_LAST, f"adds column {name} after the last column")
    where = f"AFTER {after.name}" if after is not None else str(position.args["position"])
    return Change(Op.ADD_COLUMN_PLACED, f"adds column {name} {where}")


def modified_column(
    table: str, action: exp.ModifyColumn, facts: MySQLTableFacts | None
) -> list[Change]:
    """The operations of ``MODIFY`` / ``CHANGE``, found by comparing with the live column."""
    column = action.this
    old_name = (action.args.get("rename_from") or column.this).name
    changes: list[Change] = []
    if old_name.lower() != column.name.lower():
        changes.append(
            Change(Op.RENAME_COLUMN, f"renames column {table}.{old_name} to {column.name}")
        )
    if column.args.get("position") is not None:
        changes.append(Change(Op.REORDER_COLUMN, f"moves column {table}.{old_name}"))
    old = facts.column(old_name) if facts is not None else None
    name = f"{table}.{old_name}"
    if old is None or facts is None:
        unseen = _NOT_LIVE if facts is None else _NOT_IN_TABLE
        new = _kind_sql(column)
        return [*changes, Change(Op.CHANGE_TYPE, f"redefines {name} as {new} ({unseen})")]
    return changes + _definition_changes(name, column, old, facts)


_NOT_LIVE = (
    "lamina cannot see the column's current definition without the live database, so it "
    "assumes the type changes"
)
_NOT_IN_TABLE = "the live table has no such column yet, so lamina assumes the type changes"


def _definition_changes(
    name: str, column: exp.ColumnDef, old: ColumnFacts, facts: MySQLTableFacts
) -> list[Change]:
    new_charset = _new_charset(column, old, facts)
    changes = _type_changes(name, column, old, new_charset)
    if old.charset is not None and new_charset != old.charset:
        changes.append(
            Change(Op.CHANGE_CHARSET, f"converts {name} from {old.charset} to {new_charset}")
        )
    if _nullable(column) != old.nullable:
        made = "nullable" if old.nullable is False else "NOT NULL"
        changes.append(Change(Op.CHANGE_NULL, f"makes {name} {made}"))
    return changes


def _type_changes(
    name: str, column: exp.ColumnDef, old: ColumnFacts, charset: str | None
) -> list[Change]:
    """Nothing when the type stays, else the one operation its change is."""
    new = column.args.get("kind")
    before = _data_type(old.type)
    generated = _generated(column)
    types = f"{old.type} → {_kind_sql(column)}"
    changed = f"changes the type of {name} ({types})"
    if (
        generated != old.generated
        or not isinstance(new, exp.DataType)
        or before is None
        or _base(before) != _base(new)
    ):
        return [Change(Op.CHANGE_TYPE, changed)]
    if before.this in _LISTS:
        return _list_change(name, before, new, changed)
    if before.this in _VARIABLE and old.octets is not None:
        return _length_change(name, (before, new), old.octets, charset, types)
    if before.this in _WIDTH_ONLY or _params(before) == _params(new):
        return []
    return [Change(Op.CHANGE_TYPE, changed)]


def _list_change(name: str, before: exp.DataType, new: exp.DataType, changed: str) -> list[Change]:
    """Values appended at the end, in the same storage size, are a metadata change."""
    old_values, new_values = _params(before), _params(new)
    if old_values == new_values:
        return []
    appended = new_values[: len(old_values)] == old_values
    if appended and _list_bytes(before.this, old_values) == _list_bytes(new.this, new_values):
        return [Change(Op.EXTEND_ENUM, f"appends values to {name}")]
    return [Change(Op.CHANGE_ENUM, changed)]


def _list_bytes(kind: object, values: list[str]) -> int:
    """Bytes per row: ENUM 1 (up to 255 values) or 2; SET 1, 2, 3, 4 or 8 (8 per byte)."""
    if kind == _T.ENUM:
        return 1 if len(values) <= 255 else 2
    needed = (len(values) + 7) // 8
    return needed if needed <= 4 else 8


def _length_change(
    name: str,
    kinds: tuple[exp.DataType, exp.DataType],
    old_octets: int,
    charset: str | None,
    types: str,
) -> list[Change]:
    """A VARCHAR stores its length in 1 byte up to 255 bytes, in 2 above: growing it within
    one side is a metadata change; crossing needs a copy (MariaDB 10.4.3+ allows it in place
    for a column of at most 127 bytes)."""
    before, new = kinds
    changed = Change(Op.CHANGE_TYPE, f"changes the type of {name} ({types})")
    new_length = _length(new)
    if new_length is None:
        return [changed]
    if _params(before) == _params(new):
        return []
    per_character = 1 if new.this == _T.VARBINARY else bytes_per_character(charset)
    new_octets = new_length * per_character
    grows = f"grows {name} from {old_octets} to {new_octets} bytes ({types})"
    if new_octets < old_octets:
        return [changed]
    if (old_octets <= 255) == (new_octets <= 255):
        return [Change(Op.GROW_VARCHAR, grows)]
    if old_octets <= 127:
        return [Change(Op.GROW_SHORT_VARCHAR, grows)]
    return [Change(Op.GROW_VARCHAR_PAST_255, grows)]


def _data_type(text: str) -> exp.DataType | None:
    try:
        return exp.DataType.build(text, dialect="mysql")
    except (SqlglotError, ValueError):
        return None


def _base(kind: exp.DataType) -> object:
    """The type without its size; BOOLEAN is TINYINT(1) and JSON is LONGTEXT to MariaDB."""
    aliases = {_T.BOOLEAN: _T.TINYINT, _T.JSON: _T.LONGTEXT, _T.TIMESTAMP: _T.TIMESTAMPTZ}
    return aliases.get(kind.this, kind.this)


def _params(kind: exp.DataType) -> list[str]:
    return [part.sql("mysql") for part in kind.expressions]


def _length(kind: exp.DataType) -> int | None:
    params = _params(kind)
    return int(params[0]) if len(params) == 1 and params[0].isdigit() else None


def _kind_sql(column: exp.ColumnDef) -> str:
    kind = column.args.get("kind")
    return kind.sql("mysql") if kind is not None else "?"


def _generated(column: exp.ColumnDef) -> str | None:
    for constraint in _column_constraints(column):
        if isinstance(constraint, exp.ComputedColumnConstraint):
            return "stored" if constraint.args.get("persisted") else "virtual"
    return None


def _nullable(column: exp.ColumnDef) -> bool:
    """A restated column without NOT NULL accepts NULL (MySQL does not keep the old one)."""
    for constraint in _column_constraints(column):
        if isinstance(constraint, exp.NotNullColumnConstraint):
            return bool(constraint.args.get("allow_null"))
        if isinstance(constraint, exp.PrimaryKeyColumnConstraint):
            return False
    return True


def _new_charset(column: exp.ColumnDef, old: ColumnFacts, facts: MySQLTableFacts) -> str | None:
    """A restated text column takes the CHARACTER SET it names, the one its COLLATE implies,
    or else the table's default, which may not be the one it had."""
    if old.charset is None:
        return None
    for constraint in _column_constraints(column):
        if isinstance(constraint, exp.CharacterSetColumnConstraint):
            return constraint.name.lower()
        if isinstance(constraint, exp.CollateColumnConstraint):
            prefix = constraint.name.lower().split("_", 1)[0]
            return prefix if known_charset(prefix) else old.charset
    return facts.charset or old.charset
