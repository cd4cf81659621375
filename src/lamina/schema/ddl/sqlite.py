"""SQLite: ALTER TABLE only adds, drops and renames columns; every other change is the
table rebuild of https://sqlite.org/lang_altertable.html, written as lamina's README shows it
(foreign keys off, ``legacy_alter_table`` on), so the risk report sees a ``table-rebuild``."""

from __future__ import annotations

from lamina.schema.ddl.common import LITERAL, AlterSteps, Renderer, mentions
from lamina.schema.model import ForeignKey, SchemaObject, Table

__all__ = ["SqliteRenderer", "unnamed_constraints"]


class unnamed_constraints(Renderer):
    """Constraints without names: engines that cannot drop a constraint have no use for one."""

    def fk_clause(self, table: str, fk: ForeignKey) -> str:
        text = (
            f"FOREIGN KEY ({self.names(fk.columns)}) REFERENCES {self.ident(fk.ref_table)} "
            f"({self.names(fk.ref_columns)})"
        )
        return text if fk.on_delete == "NO ACTION" else f"{text} ON DELETE {fk.on_delete}"

    def unique_clause(self, table: str, columns: tuple[str, ...]) -> str:
        return f"UNIQUE ({self.names(columns)})"

    def check_clause(self, table: Table, check: str) -> str:
        return f"CHECK ({check})"


class SqliteRenderer(unnamed_constraints):
    dialect = "sqlite"
    alter_adds_foreign_keys = False

    def default_value(self, value: str) -> str:
        return value if LITERAL.match(value) else f"({value})"

    def alter_table(self, old: Table, new: Table) -> AlterSteps | None:
        kept = [c for c in old.columns if new.column(c.name) is not None]
        added = new.columns[len(kept) :]
        same = (
            old.primary_key == new.primary_key
            and old.uniques == new.uniques
            and old.foreign_keys == new.foreign_keys
            and old.checks == new.checks
            and tuple(kept) == new.columns[: len(kept)]
        )
        if not same or not all(_addable(c.nullable, c.default) for c in added):
            return None
        gone = [c.name for c in old.columns if new.column(c.name) is None]
        if any(_constrains(old, name) for name in gone):
            return None
        steps = AlterSteps()
        t = self.ident(new.name)
        for index in old.indexes:
            if new.index(index.name) != index:
                steps.early += self.drop_index(old.name, index)
        steps.main += [f"ALTER TABLE {t} DROP COLUMN {self.ident(name)}" for name in gone]
        steps.main += [f"ALTER TABLE {t} ADD COLUMN {self.column_def(new.name, c)}" for c in added]
        for index in new.indexes:
            if old.index(index.name) != index:
                steps.late += self.create_index(new.name, index)
        return steps

    def rebuild_prologue(self) -> list[str]:
        return ["PRAGMA foreign_keys = OFF", "PRAGMA legacy_alter_table = ON"]

    def rebuild_epilogue(self) -> list[str]:
        return [
            "PRAGMA legacy_alter_table = OFF",
            "PRAGMA foreign_key_check",
            "PRAGMA foreign_keys = ON",
        ]

    def create_object(self, obj: SchemaObject) -> list[str] | None:
        if obj.kind == "trigger" and obj.definition:
            return [obj.definition]
        return None

    def drop_object(self, obj: SchemaObject) -> list[str] | None:
        if obj.kind == "trigger":
            return [f"DROP TRIGGER {self.ident(obj.name.partition(' on ')[0])}"]
        return None


def _addable(nullable: bool, default: str | None) -> bool:
    """What ADD COLUMN accepts: a constant default (or none on a nullable column)."""
    if default is None:
        return nullable
    return bool(LITERAL.match(default)) and not default.startswith("current_")


def _constrains(table: Table, column: str) -> bool:
    """Whether a key, constraint or index of ``table`` uses ``column`` (DROP COLUMN refuses)."""
    keys = [table.primary_key, *table.uniques, *(fk.columns for fk in table.foreign_keys)]
    keys += [i.columns for i in table.indexes]
    if any(column in key for key in keys):
        return True
    texts = [
        *table.checks,
        *(i.where or "" for i in table.indexes),
        *(k for i in table.indexes for k in i.columns),
    ]
    return any(mentions(text, column) for text in texts)
