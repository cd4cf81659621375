"""The planner's helpers: renames applied to a snapshot, dependency orders of tables, views
and objects, rebuilds, and the renames a change looks like but is not told."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from lamina.schema.ddl.common import Renderer, mentions
from lamina.schema.model import SchemaObject, Snapshot, Table, View

__all__ = [
    "OBJECT_ORDER",
    "column_renames",
    "ordered",
    "rebuild",
    "rename_guesses",
    "renamed",
    "topological",
    "touched_views",
    "view_order",
    "with_children",
]

#: Objects are created in this order and dropped in the reverse one.
OBJECT_ORDER = (
    "schema",
    "extension",
    "type",
    "domain",
    "sequence",
    "function",
    "procedure",
    "macro",
    "event",
)


def rebuild(
    r: Renderer,
    old: Table,
    new: Table,
    source: str,
    columns: Mapping[tuple[str, str], str],
    aside: bool,
) -> list[str]:
    """The rebuild of one table: a new table filled from the old one (or from its copy put
    aside, ``aside``), which then takes its name; its indexes again."""
    out: list[str] = []
    renamed = {nc: oc for (t, oc), nc in columns.items() if t == new.name}
    pairs = [
        (c.name, renamed.get(c.name, c.name)) for c in new.columns if old.column(c.name) is not None
    ]
    into = ", ".join(r.ident(n) for n, _ in pairs)
    select = ", ".join(r.ident(o) for _, o in pairs)
    if aside:
        copy = f"{new.name}__lamina_copy"
        out += r.create_table(new)
        out.append(f"INSERT INTO {r.ident(new.name)} ({into}) SELECT {select} FROM {r.ident(copy)}")
        out += r.drop_table(copy)
    else:
        fresh = f"new_{new.name}"
        out += r.create_table(new, name=fresh)
        out.append(f"INSERT INTO {r.ident(fresh)} ({into}) SELECT {select} FROM {r.ident(source)}")
        out += r.drop_table(source)
        out += r.rename_table(fresh, new.name)
    for index in new.indexes:
        out += r.create_index(new.name, index)
    return out


def rename_guesses(
    created: list[str],
    dropped: list[str],
    old_t: dict[str, Table],
    new_t: dict[str, Table],
) -> list[str]:
    """Never guess through a rename: say where one looks likely."""
    guesses: list[str] = []
    for gone in dropped:
        names = {c.name for c in old_t[gone].columns}
        for made in created:
            other = {c.name for c in new_t[made].columns}
            if len(names & other) * 2 >= max(len(names), len(other)):
                guesses.append(
                    f"table {gone} is dropped and {made} created: if {made} is {gone} renamed, "
                    f"generate again with --rename {gone}:{made}, or its rows are lost"
                )
    for name, table in new_t.items():
        before = old_t.get(name)
        if before is None:
            continue
        lost = [c for c in before.columns if table.column(c.name) is None]
        for column in table.columns:
            if before.column(column.name) is None:
                for was in lost:
                    if was.type == column.type:
                        guesses.append(
                            f"column {name}.{was.name} is dropped and {name}.{column.name} "
                            f"added: if it is a rename, generate again with --rename "
                            f"{name}.{was.name}:{name}.{column.name}, or its values are lost"
                        )
    return guesses


def column_renames(
    renames: Mapping[str, str], old: Snapshot, new: Snapshot, tables: Mapping[str, str]
) -> dict[tuple[str, str], str]:
    """``{(new table, old column): new column}`` for the renames that name real columns."""
    found = {}
    for key, value in renames.items():
        if "." not in key:
            continue
        old_table, old_col = key.split(".", 1)
        new_table, new_col = value.split(".", 1) if "." in value else (old_table, value)
        new_table = tables.get(old_table, new_table)
        before, after = old.table(old_table), new.table(new_table)
        if before and after and before.column(old_col) and after.column(new_col):
            found[(new_table, old_col)] = new_col
    return found


def renamed(
    snap: Snapshot, tables: Mapping[str, str], columns: Mapping[tuple[str, str], str]
) -> Snapshot:
    """``snap`` as it reads after the renames (the names the new schema uses)."""

    def col(table: str, name: str) -> str:
        return columns.get((table, name), name)

    def cols(table: str, names: Iterable[str]) -> tuple[str, ...]:
        return tuple(col(table, n) for n in names)

    out = []
    for t in snap.tables:
        n = tables.get(t.name, t.name)
        out.append(
            replace(
                t,
                name=n,
                columns=tuple(replace(c, name=col(n, c.name)) for c in t.columns),
                primary_key=cols(n, t.primary_key),
                uniques=tuple(cols(n, u) for u in t.uniques),
                foreign_keys=tuple(
                    replace(
                        fk,
                        columns=cols(n, fk.columns),
                        ref_table=tables.get(fk.ref_table, fk.ref_table),
                        ref_columns=cols(tables.get(fk.ref_table, fk.ref_table), fk.ref_columns),
                    )
                    for fk in t.foreign_keys
                ),
                indexes=tuple(replace(i, columns=cols(n, i.columns)) for i in t.indexes),
            )
        )
    return replace(snap, tables=tuple(out))


def with_children(rebuilt: set[str], old_t: dict[str, Table], new_t: dict[str, Table]) -> set[str]:
    """``rebuilt`` and every kept table whose foreign keys point into it, transitively."""
    result = set(rebuilt)
    grew = True
    while grew:
        more = {
            t.name
            for t in old_t.values()
            if t.name in new_t and any(fk.ref_table in result for fk in t.foreign_keys)
        }
        grew = not more <= result
        result |= more
    return result


def topological(names: Iterable[str], tables: Mapping[str, Table]) -> list[str]:
    """``names`` with referenced tables first (by name where there is no constraint; a cycle
    is broken in name order)."""
    left = sorted(set(names))
    done: list[str] = []
    while left:
        ready = [
            n
            for n in left
            if all(fk.ref_table not in left or fk.ref_table == n for fk in tables[n].foreign_keys)
        ]
        pick = ready or left[:1]
        done += pick
        left = [n for n in left if n not in pick]
    return done


def view_order(views: list[View]) -> list[View]:
    """Views that others read first."""
    left = sorted(views, key=lambda v: v.name)
    done: list[View] = []
    while left:
        ready = [
            v for v in left if not any(o is not v and mentions(v.definition, o.name) for o in left)
        ]
        pick = ready or left[:1]
        done += pick
        left = [v for v in left if v not in pick]
    return done


def ordered(objects: list[SchemaObject], *, reverse: bool = False) -> list[SchemaObject]:
    def rank(obj: SchemaObject) -> tuple[int, str]:
        kind = OBJECT_ORDER.index(obj.kind) if obj.kind in OBJECT_ORDER else len(OBJECT_ORDER)
        return (kind, obj.name)

    return sorted(objects, key=rank, reverse=reverse)


def touched_views(old: Snapshot, new: Snapshot, touched: set[str]) -> tuple[list[View], list[View]]:
    """Views to drop (dependents first) and to create (dependencies first)."""
    gone = {v.name for v in old.views if new.view(v.name) != v}
    gone |= {v.name for v in old.views if any(mentions(v.definition, t) for t in touched)}
    grew = True
    while grew:
        more = {v.name for v in old.views if any(mentions(v.definition, g) for g in gone)}
        grew = not more <= gone
        gone |= more
    back = [v for v in new.views if v.name in gone or old.view(v.name) is None]
    dropped = [v for v in old.views if v.name in gone]
    return list(reversed(view_order(dropped))), view_order(back)
