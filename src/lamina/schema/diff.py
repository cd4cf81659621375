"""``diff(expected, actual)``: what differs between two snapshots, as readable lines.

``added`` means present in ``actual`` only, ``missing`` in ``expected`` only, ``changed`` in
both but different. A table or view that is added or missing is one difference (its columns
and indexes are not listed again). The list is empty exactly when the snapshots are equal
(unless ``volatile_since`` masks a frozen creation time, see :func:`diff`), and its order is
fixed: tables by name (columns, column order, primary key, unique constraints, foreign keys,
checks, indexes), then views, then the other objects by kind and name.

A changed definition (a view's query, a function's body) is one line saying so, with a short
line diff of the two definitions in :attr:`Difference.lines`, rather than both texts in full.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal, TypeVar

from lamina.schema.model import Column, ForeignKey, Index, SchemaObject, Snapshot, Table, View
from lamina.schema.normalise import reflow

__all__ = ["Difference", "Kind", "diff", "without_sequence_starts"]

Kind = Literal["added", "missing", "changed"]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Difference:
    """One difference. ``object`` names it (``column users.phone``, ``index users_email on
    users``, ``foreign key orders.user_id -> users.id``); ``detail`` says what it is (added,
    missing) or what changed (``type varchar(100) -> varchar(200)``).

    ``note`` marks a difference that is informational only (the order of columns: most
    engines cannot reorder columns, so a down that re-adds one at the end is as good as it
    gets); the caller decides whether a note fails a check. ``lines`` is a short unified diff
    of a changed definition, one clause per line (``-``/``+``/`` `` prefixed), empty
    otherwise; ``str()`` and :meth:`describe` stay one line without it.
    """

    kind: Kind
    object: str
    detail: str = ""
    note: bool = False
    lines: tuple[str, ...] = ()

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


def diff(
    expected: Snapshot, actual: Snapshot, *, volatile_since: datetime | None = None
) -> list[Difference]:
    """Every difference between two snapshots of the same engine, in a fixed order.

    ``volatile_since`` is when the caller started building the schemas it compares (a verify
    run). PostgreSQL freezes ``'now'::timestamp`` or ``'today'::date`` in a view or default
    into the literal time of the ``CREATE``, so re-creating it a second later differs. With
    ``volatile_since``, a date/time literal not earlier than 36 hours before it (a margin for
    time zones) is masked on both sides: it can only be such a creation time, since a literal
    a user wrote on purpose is older than the run. Without it nothing is masked.

    Raises:
        ValueError: the snapshots are of different engines (their spellings differ).
    """
    if expected.engine != actual.engine:
        raise ValueError(f"cannot compare a {expected.engine} schema with a {actual.engine} schema")
    if volatile_since is not None:
        threshold = volatile_since.replace(tzinfo=None) - VOLATILE_MARGIN
        expected, actual = _masked(expected, threshold), _masked(actual, threshold)
    found: list[Difference] = []
    for name, old, new in _pair(expected.tables, actual.tables, lambda t: t.name):
        if old is not None and new is not None:
            found += _table(old, new)
        else:
            found += _presence(old, new, f"table {name}", _column_names)
    for name, old_view, new_view in _pair(expected.views, actual.views, lambda v: v.name):
        if old_view is not None and new_view is not None:
            found += _definition(f"view {name}", old_view.definition, new_view.definition)
        else:
            found += _presence(old_view, new_view, f"view {name}")
    for label, old_obj, new_obj in _pair(expected.objects, actual.objects, _label):
        if old_obj is not None and new_obj is not None:
            found += _definition(label, old_obj.definition, new_obj.definition)
        else:
            found += _presence(old_obj, new_obj, label)
    return found


def _label(obj: SchemaObject) -> str:
    return obj.label


#: How long before ``volatile_since`` a date/time literal may be and still be masked.
VOLATILE_MARGIN = timedelta(hours=36)
#: A quoted date or timestamp literal, with fractional seconds and a UTC offset if any.
_DATETIME = re.compile(
    r"'(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}:\d{2})(\.\d+)?([+-]\d{2}(?::?\d{2})?)?)?'"
)
_MASK = "'<creation time>'"


def _mask(text: str | None, threshold: datetime) -> str | None:
    """``text`` with every date/time literal at or after ``threshold`` replaced by a mask."""
    if text is None or "'" not in text:
        return text

    def replace_literal(match: re.Match[str]) -> str:
        day, time = match.group(1), match.group(2) or "00:00:00"
        try:
            value = datetime.fromisoformat(f"{day} {time}")
        except ValueError:
            return match.group(0)
        return _MASK if value >= threshold else match.group(0)

    return _DATETIME.sub(replace_literal, text)


_SEQUENCE_START = re.compile(r"\bstart -?\d+ ")


def without_sequence_starts(snap: Snapshot) -> Snapshot:
    """``snap`` with the ``start N`` of each sequence left out: for an engine that writes a
    sequence's next value over its start (``Capabilities.sequence_start_is_state``), the
    start of a sequence in use is a counter, and comparing it would report drift."""
    objects = tuple(
        replace(o, definition=_SEQUENCE_START.sub("", o.definition, count=1))
        if o.kind == "sequence" and o.definition
        else o
        for o in snap.objects
    )
    return replace(snap, objects=objects)


def _masked(snap: Snapshot, threshold: datetime) -> Snapshot:
    """``snap`` with creation times masked in defaults, checks, partial index predicates,
    views and object definitions."""
    tables = tuple(_masked_table(t, threshold) for t in snap.tables)
    views = tuple(View(v.name, _mask(v.definition, threshold)) for v in snap.views)
    objects = tuple(replace(o, definition=_mask(o.definition, threshold)) for o in snap.objects)
    return Snapshot(snap.engine, tables, views, objects)


def _masked_table(table: Table, threshold: datetime) -> Table:
    return replace(
        table,
        columns=tuple(replace(c, default=_mask(c.default, threshold)) for c in table.columns),
        checks=tuple(str(_mask(check, threshold)) for check in table.checks),
        indexes=tuple(replace(i, where=_mask(i.where, threshold)) for i in table.indexes),
    )


#: Most lines of :attr:`Difference.lines`; the rest is counted, not shown.
MAX_LINES = 20
#: A definition shorter than this is shown in full in the one-line detail.
_SHORT = 60


def _definition(what: str, old: str | None, new: str | None) -> list[Difference]:
    """A changed definition: both texts when short, else ``definition differs`` and a diff."""
    if old == new:
        return []
    before, after = old or "", new or ""
    lines = definition_diff(before, after)
    if len(before) <= _SHORT and len(after) <= _SHORT:
        detail = f"definition {old} -> {new}"
    else:
        detail = "definition differs"
    return [Difference("changed", what, detail, lines=lines)]


def definition_diff(before: str, after: str, limit: int = MAX_LINES) -> tuple[str, ...]:
    """A unified diff (one line of context, no file header) of two definitions, each
    reflowed to one clause per line; at most ``limit`` lines, then ``… N more line(s)``."""
    lines = list(difflib.unified_diff(reflow(before), reflow(after), n=1, lineterm=""))[2:]
    if len(lines) > limit:
        rest = len(lines) - limit
        lines = [*lines[:limit], f"… {rest} more line(s)"]
    return tuple(lines)


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
        found.append(Difference("changed", f"column order of table {name}", detail, note=True))
    if old.primary_key and new.primary_key and old.primary_key != new.primary_key:
        detail = f"({', '.join(old.primary_key)}) -> ({', '.join(new.primary_key)})"
        found.append(Difference("changed", f"primary key of {name}", detail))
    else:
        found += _presence(
            old.primary_key or None, new.primary_key or None, f"primary key of {name}", ", ".join
        )
    found += _uniques(name, old.uniques, new.uniques)
    found += _foreign_keys(name, old.foreign_keys, new.foreign_keys)
    for check, old_check, new_check in _pair(old.checks, new.checks, str):
        found += _presence(old_check, new_check, f"check constraint on {name}: {check}")
    found += _indexes(name, old.indexes, new.indexes)
    return found


def _uniques(
    table: str, old: Iterable[tuple[str, ...]], new: Iterable[tuple[str, ...]]
) -> Iterator[Difference]:
    """Unique keys are compared with their multiplicity: a second unique key on the same
    columns is an added (duplicate) one."""
    before, after = Counter(old), Counter(new)
    for columns in sorted(before.keys() | after.keys()):
        what = f"unique constraint {table}({', '.join(columns)})"
        extra = after[columns] - before[columns]
        # Both sides have the key, one of them more than once: the extra one is a duplicate.
        detail = "duplicate" if before[columns] and after[columns] else ""
        kind: Kind = "added" if extra > 0 else "missing"
        for _ in range(abs(extra)):
            yield Difference(kind, what, detail)


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


def _indexes(table: str, old: Iterable[Index], new: Iterable[Index]) -> Iterator[Difference]:
    for name, before, after in _pair(old, new, lambda i: i.name):
        what = f"index {name} on {table}"
        if before is not None and after is not None:
            if before != after:
                yield Difference("changed", what, f"{before.describe()} -> {after.describe()}")
        else:
            yield from _presence(before, after, what, Index.describe)
