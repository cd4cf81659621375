"""``migration_sql(before, after)``: the up and down SQL that take one schema snapshot to
another, in the snapshot engine's dialect and in dependency order.

The plan is the same on every engine; ``lamina.schema.ddl`` spells it per dialect (and says
when a table must be rebuilt instead of altered). Order of the up: triggers and views that a
change touches are dropped first; new types, sequences and functions are created; renames;
ALTERs; new tables (referenced ones first) and rebuilds; foreign keys and indexes; dropped
tables (referencing ones first); dropped objects; then views and triggers are created again.
The down is the same plan from ``after`` back to ``before``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lamina.schema.ddl.common import AlterSteps, Renderer
from lamina.schema.ddl.duckdb import DuckdbRenderer
from lamina.schema.ddl.mysql import MysqlRenderer
from lamina.schema.ddl.order import (
    column_renames,
    ordered,
    rebuild,
    rename_guesses,
    renamed,
    topological,
    touched_views,
    with_children,
)
from lamina.schema.ddl.postgres import PostgresRenderer
from lamina.schema.ddl.sqlite import SqliteRenderer
from lamina.schema.model import ForeignKey, SchemaObject, Snapshot, Table, View

__all__ = ["GeneratedSql", "migration_sql"]

_RENDERERS: dict[str, Callable[[], Renderer]] = {
    "postgres": PostgresRenderer,
    "mysql": MysqlRenderer,
    "sqlite": SqliteRenderer,
    "duckdb": DuckdbRenderer,
}
#: Objects that live on a table or read one: dropped and created around the table changes.
_AROUND = ("trigger", "materialized view")


@dataclass(frozen=True, slots=True)
class GeneratedSql:
    """A migration's statements (no trailing semicolons) and what a reviewer must confirm."""

    up: tuple[str, ...]
    down: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """No statement either way: the two schemas are the same."""
        return not self.up and not self.down


def migration_sql(
    before: Snapshot, after: Snapshot, *, dialect: str, renames: Mapping[str, str] = {}
) -> GeneratedSql:
    """The up (``before`` -> ``after``) and down SQL in ``dialect`` (a sqlglot dialect name).

    ``renames`` (``{"old_table": "new_table", "table.old_col": "table.new_col"}``) turns a
    drop + add into a rename that keeps the data; without it a likely rename is only a note.

    Raises:
        ValueError: ``dialect`` is not one lamina renders, or the snapshots' engines differ.
    """
    if before.engine != after.engine:
        raise ValueError(f"cannot write a migration from {before.engine} to {after.engine}")
    factory = _RENDERERS.get(dialect)
    if factory is None:
        raise ValueError(f"lamina cannot write {dialect} DDL (it knows {', '.join(_RENDERERS)})")
    inverse = {new: old for old, new in renames.items()}
    up = _Plan(before, after, factory(), dict(renames)).run()
    down = _Plan(after, before, factory(), inverse).run()
    notes = list(dict.fromkeys(up.notes + up.guesses + down.notes))
    return GeneratedSql(tuple(up.out), tuple(down.out), tuple(notes))


@dataclass
class _Tables:
    table_renames: dict[str, str]
    columns: dict[tuple[str, str], str]
    virtual: Snapshot
    old_t: dict[str, Table]
    new_t: dict[str, Table]
    created: list[str]
    dropped: list[str]
    changed: list[str]
    steps: dict[str, AlterSteps]
    rebuilt: set[str]
    in_place: bool


@dataclass
class _Later:
    views_back: list[View]
    around_back: list[SchemaObject]
    fk_new: list[tuple[str, ForeignKey]]
    unmade: list[SchemaObject]


@dataclass
class _Plan:
    old: Snapshot
    new: Snapshot
    r: Renderer
    renames: dict[str, str]
    out: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    guesses: list[str] = field(default_factory=list)

    def run(self) -> _Plan:
        tables = self._classify()
        self._then(tables, self._first(tables))
        return self

    def _classify(self) -> _Tables:
        """Which tables are renamed, created, dropped, altered in place or rebuilt."""
        table_renames = {
            o: n for o, n in self.renames.items() if "." not in o and self.old.table(o)
        }
        table_renames = {o: n for o, n in table_renames.items() if self.new.table(n)}
        columns = column_renames(self.renames, self.old, self.new, table_renames)
        virtual = renamed(self.old, table_renames, columns)
        old_t = {t.name: t for t in virtual.tables}
        new_t = {t.name: t for t in self.new.tables}
        created = [n for n in new_t if n not in old_t]
        dropped = [n for n in old_t if n not in new_t]
        renamed_to = set(table_renames.values()) | {t for t, _ in columns}
        in_place = not self.r.rebuild_takes_children
        changed = [
            n
            for n in new_t
            if n in old_t and (old_t[n] != new_t[n] or (n in renamed_to and not in_place))
        ]
        self.guesses += rename_guesses(created, dropped, old_t, new_t)
        steps: dict[str, AlterSteps] = {}
        rebuilt: set[str] = set()
        for name in changed:
            if name in renamed_to and not in_place:
                rebuilt.add(name)
                continue
            found = self.r.alter_table(old_t[name], new_t[name])
            if found is None:
                rebuilt.add(name)
            else:
                steps[name] = found
        if self.r.rebuild_takes_children:
            rebuilt = with_children(rebuilt, old_t, new_t)
            for name in rebuilt:
                steps.pop(name, None)
        return _Tables(
            table_renames,
            columns,
            virtual,
            old_t,
            new_t,
            created,
            dropped,
            changed,
            steps,
            rebuilt,
            in_place,
        )

    def _first(self, t: _Tables) -> _Later:
        """Steps 1 and 2; returns the views and objects to create at the end."""
        touched = set(t.dropped) | set(t.changed) | t.rebuilt | set(t.table_renames)
        # 1. triggers, materialized views and views the change touches
        views_gone, views_back = touched_views(t.virtual, self.new, touched)
        around_gone, around_back = self._around(t.rebuilt | set(t.table_renames.values()))
        for obj in around_gone:
            self._emit(self.r.drop_object(obj), obj)
        for item in views_gone:
            self.out += self.r.drop_view(item)
        # 2. what must go before anything is t.created: foreign keys, indexes, t.changed objects
        fk_gone, fk_new = _foreign_keys(t.old_t, t.new_t, t.steps)
        for name, fk in fk_gone:
            self.out += self.r.drop_foreign_key(t.old_t[name], fk)
        self._cyclic_drops(t.old_t, t.dropped)
        for name in t.steps:
            self.out += t.steps[name].early
            self.notes += t.steps[name].notes
        made, remade, unmade = self._objects()
        for obj in ordered(remade, reverse=True):
            self._emit(self.r.drop_object(obj), obj)
        for obj in ordered(made):
            self._emit(self.r.create_object(obj), obj)
        return _Later(views_back, around_back, fk_new, unmade)

    def _then(self, t: _Tables, later: _Later) -> None:
        """Steps 3 to 5."""
        # 3. renames, ALTERs, new tables and rebuilds, then foreign keys and indexes
        if t.in_place:
            for old, new in t.table_renames.items():
                self.out += self.r.rename_table(old, new)
            for (table, old_col), new_col in t.columns.items():
                self.out += self.r.rename_column(table, old_col, new_col)
        for name in t.steps:
            self.out += t.steps[name].main
        sources = {} if t.in_place else {v: k for k, v in t.table_renames.items()}
        deferred = self._create(
            t.created, t.rebuilt, t.old_t, t.new_t, sources, {} if t.in_place else t.columns
        )
        for name, fk in [*later.fk_new, *deferred]:
            self.out += self.r.add_foreign_key(name, fk)
        for name in t.steps:
            self.out += t.steps[name].late
        # 4. t.dropped tables (referencing ones first) and objects
        for name in reversed(topological(t.dropped, t.old_t)):
            self.out += self.r.drop_table(name)
        for obj in ordered(later.unmade, reverse=True):
            self._emit(self.r.drop_object(obj), obj)
        # 5. views and what lives on tables, again
        for item in later.views_back:
            self._emit(self.r.create_view(item), SchemaObject("view", item.name, item.definition))
        for obj in later.around_back:
            self._emit(self.r.create_object(obj), obj)
        self._name_notes()

    # -- pieces --------------------------------------------------------------------------
    def _emit(self, statements: list[str] | None, obj: SchemaObject) -> None:
        if statements is None:
            self.notes.append(
                f"{obj.label} cannot be generated from its snapshot on {self.r.dialect}: "
                "write its statement by hand"
            )
        else:
            self.out += statements

    def _around(self, rebuilt: set[str]) -> tuple[list[SchemaObject], list[SchemaObject]]:
        """Triggers and materialized views that changed, went, or sit on a rebuilt table."""

        def on_rebuilt(obj: SchemaObject) -> bool:
            return obj.kind == "trigger" and obj.name.partition(" on ")[2] in rebuilt

        old = [o for o in self.old.objects if o.kind in _AROUND]
        new = [o for o in self.new.objects if o.kind in _AROUND]
        gone = [o for o in old if o not in new or on_rebuilt(o)]
        back = [o for o in new if o not in old or on_rebuilt(o)]
        return gone, back

    def _objects(self) -> tuple[list[SchemaObject], list[SchemaObject], list[SchemaObject]]:
        """(objects to create, changed objects to drop first, objects to drop at the end);
        a change the renderer makes in place is emitted here."""
        made, remade, unmade = [], [], []
        tables = {t.name: t for t in self.new.tables}
        for obj in self.new.objects:
            if obj.kind in _AROUND:
                continue
            before = self.old.object(obj.kind, obj.name)
            if before is None:
                made.append(obj)
            elif before != obj:
                in_place = self.r.change_object(before, obj, tables)
                if in_place is not None:
                    self.out += in_place
                else:
                    remade.append(before)
                    made.append(obj)
        for obj in self.old.objects:
            if obj.kind not in _AROUND and self.new.object(obj.kind, obj.name) is None:
                unmade.append(obj)
        return made, remade, unmade

    def _cyclic_drops(self, old_t: dict[str, Table], dropped: list[str]) -> None:
        """Dropped tables whose foreign keys form a cycle: the keys go first."""
        ordered = topological(dropped, old_t)
        seen: set[str] = set()
        for name in ordered:
            for fk in old_t[name].foreign_keys:
                cyclic = fk.ref_table in dropped and fk.ref_table not in seen | {name}
                if cyclic and self.r.alter_adds_foreign_keys:
                    self.out += self.r.drop_foreign_key(old_t[name], fk)
            seen.add(name)

    def _create(
        self,
        created: list[str],
        rebuilt: set[str],
        old_t: dict[str, Table],
        new_t: dict[str, Table],
        sources: dict[str, str],
        columns: Mapping[tuple[str, str], str],
    ) -> list[tuple[str, ForeignKey]]:
        """New tables and rebuilds, referenced tables first; returns the foreign keys a
        cycle leaves to ALTER TABLE."""
        deferred: list[tuple[str, ForeignKey]] = []
        aside = len(rebuilt) > 1 or any(
            fk.ref_table in rebuilt
            for t in old_t.values()
            if t.name not in rebuilt
            for fk in t.foreign_keys
        )
        aside = aside and self.r.rebuild_takes_children
        if rebuilt:
            self.out += self.r.rebuild_prologue()
        if aside:
            for name in reversed(topological(sorted(rebuilt), old_t)):
                copy = self.r.ident(f"{name}__lamina_copy")
                source = self.r.ident(sources.get(name, name))
                self.out.append(f"CREATE TABLE {copy} AS SELECT * FROM {source}")
                self.out += self.r.drop_table(sources.get(name, name))
        made: set[str] = set()
        for name in topological(sorted([*created, *rebuilt]), new_t):
            table = new_t[name]
            later = frozenset(
                fk
                for fk in table.foreign_keys
                if fk.ref_table in set(created) | rebuilt and fk.ref_table not in made | {name}
            )
            if later and not self.r.alter_adds_foreign_keys:
                if self.r.rebuild_takes_children:
                    self.notes.append(
                        f"table {name}: its foreign keys form a cycle, which DuckDB cannot create"
                    )
                later = frozenset()
            deferred += [(name, fk) for fk in later]
            if name in rebuilt:
                self.out += rebuild(
                    self.r, old_t[name], table, sources.get(name, name), columns, aside
                )
            else:
                self.out += self.r.create_table(table, skip_fks=later)
                for index in table.indexes:
                    self.out += self.r.create_index(name, index)
            made.add(name)
        if rebuilt:
            self.out += self.r.rebuild_epilogue()
        return deferred

    def _name_notes(self) -> None:
        if any(" DROP CONSTRAINT " in s or " DROP FOREIGN KEY " in s for s in self.out):
            self.notes.append(
                "a snapshot holds no constraint names: the statements dropping a constraint "
                "assume the name lamina gives it (table_columns_fkey/_key/_check); check them"
            )


def _foreign_keys(
    old_t: dict[str, Table], new_t: dict[str, Table], steps: Mapping[str, object]
) -> tuple[list[tuple[str, ForeignKey]], list[tuple[str, ForeignKey]]]:
    """Foreign keys dropped from and added to tables altered in place."""
    gone: list[tuple[str, ForeignKey]] = []
    added: list[tuple[str, ForeignKey]] = []
    for name in steps:
        before, after = old_t[name].foreign_keys, new_t[name].foreign_keys
        gone += [(name, fk) for fk in before if fk not in after]
        added += [(name, fk) for fk in after if fk not in before]
    return gone, added
