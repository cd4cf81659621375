"""``diff(expected, actual)``: what differs between two snapshots, as readable lines.

``added`` means present in ``actual`` only, ``missing`` in ``expected`` only, ``changed`` in
both but different. A table or view that is added or missing is one difference (its columns
and indexes are not listed again). The list is empty exactly when the snapshots are equal,
and its order is fixed: tables by name (columns, column order, primary key, unique
constraints, foreign keys, checks, indexes), then views, then sequences.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, TypeVar

from lamina.schema.model import Column, ForeignKey, Index, Snapshot, Table

__all__ = ["Difference", "Kind", "diff"]

Kind = Literal["added", "missing", "changed"]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Difference:
    """One difference. ``object`` names it (``column users.phone``, ``index users_email on
    users``, ``foreign key orders.user_id -> users.id``); ``detail`` says what it is (added,
    missing) or what changed (``type varchar(100) -> varchar(200)``)."""

    kind: Kind
    object: str
    detail: str = ""

    def __str__(self) -> str:
        """``added column users.phone (varchar(20), nullable)``,
        ``changed column users.email: type varchar(100) -> varchar(200)``."""
        if not self.detail:
            return f"{self.kind} {self.object}"
        if self.kind == "changed":
            return f"{self.kind} {self.object}: {self.detail}"
        return f"{self.kind} {self.object} ({self.detail})"

    def describe(self, actor: str = "down") -> str:
        """The difference as what ``actor`` did wrong, when ``expected`` is the schema before
        a migration and ``actual`` the schema after running it up and then ``actor``:
        ``down leaves column users.phone``, ``down does not restore index users_email on
        users``, ``down leaves column users.email changed: type ...``."""
        if self.kind == "added":
            return f"{actor} leaves {self.object}"
        if self.kind == "missing":
            return f"{actor} does not restore {self.object}"
        return f"{actor} leaves {self.object} changed: {self.detail}"


def diff(expected: Snapshot, actual: Snapshot) -> list[Difference]:
    """Every difference between two snapshots of the same engine, in a fixed order.

    Raises:
        ValueError: the snapshots are of different engines (their spellings differ).
    """
    if expected.engine != actual.engine:
        raise ValueError(f"cannot compare a {expected.engine} schema with a {actual.engine} schema")
    found: list[Difference] = []
    for name, old, new in _pair(expected.tables, actual.tables, lambda t: t.name):
        if old is not None and new is not None:
            found += _table(old, new)
        else:
            found += _presence(old, new, f"table {name}", _column_names)
    for name, old_view, new_view in _pair(expected.views, actual.views, lambda v: v.name):
        if old_view is not None and new_view is not None:
            if old_view.definition != new_view.definition:
                detail = f"definition {old_view.definition} -> {new_view.definition}"
                found.append(Difference("changed", f"view {name}", detail))
        else:
            found += _presence(old_view, new_view, f"view {name}")
    for name, old_seq, new_seq in _pair(expected.sequences, actual.sequences, str):
        found += _presence(old_seq, new_seq, f"sequence {name}")
    return found


def _pair(
    expected: Iterable[_T], actual: Iterable[_T], key: Callable[[_T], str]
) -> Iterator[tuple[str, _T | None, _T | None]]:
    """(name, expected item or None, actual item or None) for every name, sorted."""
    old = {key(item): item for item in expected}
    new = {key(item): item for item in actual}
    for name in sorted(old.keys() | new.keys()):
        yield name, old.get(name), new.get(name)


def _presence(
    old: _T | None, new: _T | None, what: str, detail: Callable[[_T], str] | None = None
) -> list[Difference]:
    """The one difference when only one side has ``what`` (none when both or neither do)."""
    if old is None and new is not None:
        return [Difference("added", what, detail(new) if detail else "")]
    if new is None and old is not None:
        return [Difference("missing", what, detail(old) if detail else "")]
    return []


def _column_names(table: Table) -> str:
    return ", ".join(c.name for c in table.columns)


def _table(old: Table, new: Table) -> list[Difference]:
    name = old.name
    found = list(_columns(old, new))
    common = [c.name for c in old.columns if new.column(c.name) is not None]
    moved = [c.name for c in new.columns if old.column(c.name) is not None]
    if common != moved:
        detail = f"{', '.join(common)} -> {', '.join(moved)}"
        found.append(Difference("changed", f"column order of table {name}", detail))
    if old.primary_key and new.primary_key and old.primary_key != new.primary_key:
        detail = f"({', '.join(old.primary_key)}) -> ({', '.join(new.primary_key)})"
        found.append(Difference("changed", f"primary key of {name}", detail))
    else:
        found += _presence(
            old.primary_key or None, new.primary_key or None, f"primary key of {name}", ", ".join
        )
    for columns, old_unique, new_unique in _pair(old.uniques, new.uniques, ", ".join):
        found += _presence(old_unique, new_unique, f"unique constraint {name}({columns})")
    found += _foreign_keys(name, old.foreign_keys, new.foreign_keys)
    for check, old_check, new_check in _pair(old.checks, new.checks, str):
        found += _presence(old_check, new_check, f"check constraint on {name}: {check}")
    found += _indexes(name, old.indexes, new.indexes)
    return found


def _columns(old: Table, new: Table) -> Iterator[Difference]:
    names = [c.name for c in old.columns]
    names += [c.name for c in new.columns if old.column(c.name) is None]
    for column in names:
        before, after = old.column(column), new.column(column)
        what = f"column {old.name}.{column}"
        if before is not None and after is not None:
            if before != after:
                yield Difference("changed", what, _column_change(before, after))
        else:
            yield from _presence(before, after, what, Column.describe)


def _column_change(before: Column, after: Column) -> str:
    changes = []
    if before.type != after.type:
        changes.append(f"type {before.type} -> {after.type}")
    if before.nullable != after.nullable:
        changes.append("nullable -> not null" if before.nullable else "not null -> nullable")
    if before.default != after.default:
        changes.append(f"default {before.default or 'none'} -> {after.default or 'none'}")
    return "; ".join(changes)


def _fk_name(table: str, fk: ForeignKey) -> str:
    def side(name: str, columns: tuple[str, ...]) -> str:
        return f"{name}.{columns[0]}" if len(columns) == 1 else f"{name}({', '.join(columns)})"

    return f"foreign key {side(table, fk.columns)} -> {side(fk.ref_table, fk.ref_columns)}"


def _foreign_keys(
    table: str, old: Iterable[ForeignKey], new: Iterable[ForeignKey]
) -> Iterator[Difference]:
    for what, before, after in _pair(old, new, lambda fk: _fk_name(table, fk)):
        if before is not None and after is not None:
            if before.on_delete != after.on_delete:
                detail = f"on delete {before.on_delete.lower()} -> {after.on_delete.lower()}"
                yield Difference("changed", what, detail)
        else:
            yield from _presence(
                before, after, what, lambda fk: f"on delete {fk.on_delete.lower()}"
            )


def _on_delete(fk: ForeignKey) -> str:
    return f"on delete {fk.on_delete.lower()}"


def _indexes(table: str, old: Iterable[Index], new: Iterable[Index]) -> Iterator[Difference]:
    for name, before, after in _pair(old, new, lambda i: i.name):
        what = f"index {name} on {table}"
        if before is not None and after is not None:
            if before != after:
                yield Difference("changed", what, f"{before.describe()} -> {after.describe()}")
        else:
            yield from _presence(before, after, what, Index.describe)
