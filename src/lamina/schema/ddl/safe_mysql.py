"""``--safe`` on MySQL and MariaDB: the plain migration, with ``ALGORITHM=`` and ``LOCK=``
written on each statement the target server can run without copying the table or blocking
writes, so that a server that cannot refuses the statement instead of quietly copying.

Which operation each statement is comes from the two snapshots (a column added, dropped,
renamed or redefined, an index built, a key or check dropped), rendered with the same
:class:`MysqlRenderer` as the plain plan; how the server runs it is the risk rules' table
(:mod:`lamina.risk.rules.mysql_algorithms`), so ``lint`` and ``--safe`` never disagree.
A statement whose operation is not known, or that the server can only copy, stays as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING

from lamina.risk.rules.mysql_algorithms import TITLES, Algorithm, Lock, Op, Way, fact_for
from lamina.schema.ddl.mysql import MysqlRenderer
from lamina.schema.ddl.order import column_renames, renamed
from lamina.schema.ddl.postgres import enum_labels
from lamina.schema.ddl.safe import SafePart, SafeSql
from lamina.schema.model import Column, Snapshot, Table

if TYPE_CHECKING:
    from lamina.schema.changes import GeneratedSql

__all__ = ["with_algorithms"]

_VARCHAR = re.compile(r"^varchar\((\d+)\)$")


@dataclass(frozen=True, slots=True)
class _Server:
    flavor: str
    version: tuple[int, ...]

    @property
    def title(self) -> str:
        return f"{TITLES[self.flavor]} {'.'.join(map(str, self.version))}"


def with_algorithms(
    before: Snapshot,
    after: Snapshot,
    renames: dict[str, str],
    plain: GeneratedSql,
    version: tuple[int, ...] | None,
    flavor: str | None,
) -> SafeSql:
    """The plain migration with its online clauses (none when the server is unknown)."""
    if version is None or flavor not in TITLES:
        note = (
            "--safe: the server's version is unknown, so no ALGORITHM= is written (it decides "
            "which operations run INSTANT): the migration is the plain one"
        )
        return SafeSql((SafePart("", plain.up, plain.down),), (*plain.notes, note))
    server = _Server(flavor, version)
    inverse = {new: old for old, new in renames.items()}
    up, up_notes = _rewrite(plain.up, _ways(before, after, renames, server), server, "up")
    down, down_notes = _rewrite(plain.down, _ways(after, before, inverse, server), server, "down")
    notes = [*plain.notes, *dict.fromkeys(up_notes + down_notes)]
    if up == plain.up and down == plain.down:
        notes.append(f"--safe: no statement here has an online form on {server.title}")
    return SafeSql((SafePart("", up, down),), tuple(notes))


def _rewrite(
    statements: tuple[str, ...],
    ways: dict[str, tuple[Way, str]],
    server: _Server,
    direction: str,
) -> tuple[tuple[str, ...], list[str]]:
    out, notes = [], []
    for sql in statements:
        found = ways.get(sql)
        if found is None:
            out.append(sql)
            continue
        way, what = found
        clause = _clause(way)
        if clause is None:
            notes.append(
                f"--safe: {what} ({direction}) needs {way.clauses()} on {server.title}: no "
                "online form, so it is written as it was"
            )
            out.append(sql)
        elif sql.startswith("CREATE "):
            out.append(f"{sql} {clause.replace(',', '')}")
        else:
            out.append(f"{sql}, {clause}")
    return tuple(out), notes


def _clause(way: Way) -> str | None:
    if way.algorithm is Algorithm.INSTANT:
        return "ALGORITHM=INSTANT"
    if way.algorithm is Algorithm.INPLACE and way.lock is Lock.NONE:
        return "ALGORITHM=INPLACE, LOCK=NONE"
    return None


def _ways(
    old: Snapshot, new: Snapshot, renames: dict[str, str], server: _Server
) -> dict[str, tuple[Way, str]]:
    """{plain statement: (how the server runs it, what it does)} for the statements whose
    operation the snapshots tell."""
    r = MysqlRenderer()
    tables = {o: n for o, n in renames.items() if "." not in o and old.table(o)}
    tables = {o: n for o, n in tables.items() if new.table(n)}
    columns = column_renames(renames, old, new, tables)
    virtual = renamed(old, tables, columns)
    found: dict[str, tuple[Way, str]] = {}
    for (table, old_col), new_col in columns.items():
        sql = r.rename_column(table, old_col, new_col)[0]
        _put(found, sql, [Op.RENAME_COLUMN], server, f"renaming {table}.{old_col}", False)
    for before in virtual.tables:
        after = new.table(before.name)
        if after is None:
            continue
        fulltext = any(i.method == "fulltext" for i in before.indexes)
        for sql, ops, what in _operations(r, before, after):
            _put(found, sql, ops, server, what, fulltext)
    return found


def _put(
    found: dict[str, tuple[Way, str]],
    sql: str,
    ops: list[Op],
    server: _Server,
    what: str,
    fulltext: bool,
) -> None:
    facts = [fact_for(op, server.flavor, server.version, fulltext=fulltext) for op in ops]
    if not ops or any(f is None for f in facts):
        return
    known = [f for f in facts if f is not None]
    held = any(f.way.algorithm is not Algorithm.INSTANT for f in known)
    ways = [f.combined if held and f.combined else f.way for f in known]
    found[sql] = (reduce(Way.joined, ways, Way(Algorithm.INSTANT)), what)


def _operations(r: MysqlRenderer, old: Table, new: Table) -> Iterator[tuple[str, list[Op], str]]:
    """(statement, its operations, what it does) for each statement of ``alter_table`` the
    snapshots explain; the statements are the renderer's own."""
    t = r.ident(new.name)
    for column in old.columns:
        if new.column(column.name) is None:
            sql = f"ALTER TABLE {t} DROP COLUMN {r.ident(column.name)}"
            yield sql, [Op.DROP_COLUMN], f"dropping {new.name}.{column.name}"
    previous: str | None = None
    for at, column in enumerate(new.columns):
        was = old.column(column.name)
        if was is None:
            last = all(old.column(c.name) is None for c in new.columns[at:])
            op = _added(column, last)
            yield r.add_column(new, column, previous)[0], [op], f"adding {new.name}.{column.name}"
        elif was != column:
            ops = _changed(was, column)
            sql = r.change_column(new, was, column)[0]
            yield sql, ops, f"redefining {new.name}.{column.name}"
        previous = column.name
    for index in new.indexes:
        if old.index(index.name) != index and index.method not in ("fulltext", "spatial"):
            yield r.create_index(new.name, index)[0], [Op.ADD_INDEX], f"building {index.name}"
    for fk in old.foreign_keys:
        if fk not in new.foreign_keys:
            sql = r.drop_foreign_key(old, fk)[0]
            yield sql, [Op.DROP_FOREIGN_KEY], f"dropping a foreign key of {new.name}"
    for check in old.checks:
        if check not in new.checks:
            sql = f"ALTER TABLE {t} DROP CONSTRAINT {r.ident(r.check_name(old, check))}"
            yield sql, [Op.DROP_CHECK], f"dropping a check of {new.name}"


def _added(column: Column, last: bool) -> Op:
    default = column.default or ""
    if default == "auto_increment":
        return Op.ADD_AUTO_INCREMENT_COLUMN
    if default.startswith("generated ") and "stored" in default:
        return Op.ADD_STORED_COLUMN
    if default.startswith("generated "):
        return Op.ADD_VIRTUAL_COLUMN
    return Op.ADD_COLUMN_LAST if last else Op.ADD_COLUMN_PLACED


def _changed(old: Column, new: Column) -> list[Op]:
    """The operations of a MODIFY COLUMN from ``old`` to ``new``; empty when one is not
    known (the statement then stays as it is)."""
    ops = []
    if old.type != new.type:
        op = _retyped(old.type, new.type)
        if op is None:
            return []
        ops.append(op)
    if old.nullable != new.nullable:
        ops.append(Op.CHANGE_NULL)
    if old.default != new.default:
        generated = any((d or "").startswith("generated ") for d in (old.default, new.default))
        if generated or "auto_increment" in (old.default, new.default):
            return []
        ops.append(Op.SET_DEFAULT)
    return ops


def _retyped(old: str, new: str) -> Op | None:
    """A VARCHAR that grows within its length byte whatever the character set (at most 63
    characters, or already past 255), an ENUM with values appended, or a type change."""
    grown = _VARCHAR.match(old), _VARCHAR.match(new)
    if grown[0] and grown[1]:
        was, now = int(grown[0].group(1)), int(grown[1].group(1))
        if now >= was and (now <= 63 or was >= 256):
            return Op.GROW_VARCHAR
        return Op.CHANGE_TYPE
    before = enum_labels(old.replace("enum(", "enum (", 1))
    after = enum_labels(new.replace("enum(", "enum (", 1))
    if before is not None and after is not None:
        return Op.EXTEND_ENUM if after[: len(before)] == before else Op.CHANGE_ENUM
    return Op.CHANGE_TYPE
