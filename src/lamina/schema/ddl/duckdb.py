"""DuckDB: ALTER TABLE only for what it runs on any table (a nullable column added without
constraints, SET/DROP DEFAULT); every other change rebuilds the table, and a table that
foreign keys point at is rebuilt together with the tables that reference it (DuckDB will
neither alter nor drop it while they do)."""

from __future__ import annotations

import re

from lamina.schema.ddl.common import AlterSteps
from lamina.schema.ddl.sqlite import unnamed_constraints
from lamina.schema.model import SchemaObject, Table

__all__ = ["DuckdbRenderer"]

_MACRO = re.compile(r"^([^(]+)\((.*)\)$")


class DuckdbRenderer(unnamed_constraints):
    dialect = "duckdb"
    alter_adds_foreign_keys = False
    rebuild_takes_children = True

    def alter_table(self, old: Table, new: Table) -> AlterSteps | None:
        if [c.name for c in new.columns[: len(old.columns)]] != [c.name for c in old.columns]:
            return None
        added = new.columns[len(old.columns) :]
        same = (
            old.primary_key == new.primary_key
            and old.uniques == new.uniques
            and old.foreign_keys == new.foreign_keys
            and old.checks == new.checks
            and all(c.nullable for c in added)
            and all(
                (o.type, o.nullable) == (n.type, n.nullable)
                for o, n in zip(old.columns, new.columns, strict=False)
            )
        )
        if not same:
            return None
        steps = AlterSteps()
        t = self.ident(new.name)
        for index in old.indexes:
            if new.index(index.name) != index:
                steps.early += self.drop_index(old.name, index)
        for before, after in zip(old.columns, new.columns, strict=False):
            if before.default != after.default:
                head = f"ALTER TABLE {t} ALTER COLUMN {self.ident(after.name)}"
                value = (
                    f"SET DEFAULT {after.default}" if after.default is not None else "DROP DEFAULT"
                )
                steps.main.append(f"{head} {value}")
        steps.main += [f"ALTER TABLE {t} ADD COLUMN {self.column_def(new.name, c)}" for c in added]
        for index in new.indexes:
            if old.index(index.name) != index:
                steps.late += self.create_index(new.name, index)
        return steps

    def create_object(self, obj: SchemaObject) -> list[str] | None:  # noqa: PLR0911 - one kind each
        text, name = obj.definition, obj.name
        if obj.kind == "sequence" and text:
            return [
                f"CREATE SEQUENCE {self.ident(name)} {text.replace('increment', 'increment by', 1)}"
            ]
        if obj.kind == "type" and text and text.startswith("enum "):
            return [f"CREATE TYPE {self.ident(name)} AS ENUM {text.removeprefix('enum ')}"]
        if obj.kind == "macro" and text:
            signature = _MACRO.match(name)
            if signature is None:
                return None
            head = f"CREATE MACRO {self.ident(signature.group(1))}({signature.group(2)})"
            if text.startswith("table "):
                return [f"{head} AS TABLE {text.removeprefix('table ')}"]
            return [f"{head} AS {text}"]
        if obj.kind == "schema":
            return [f"CREATE SCHEMA {self.ident(name)}"]
        return None

    def drop_object(self, obj: SchemaObject) -> list[str] | None:
        if obj.kind == "macro":
            table = "TABLE " if (obj.definition or "").startswith("table ") else ""
            return [f"DROP MACRO {table}{self.ident(obj.name.partition('(')[0])}"]
        kind = {"sequence": "SEQUENCE", "type": "TYPE", "schema": "SCHEMA"}.get(obj.kind)
        return None if kind is None else [f"DROP {kind} {self.ident(obj.name)}"]
