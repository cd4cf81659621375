"""PostgreSQL: ALTER COLUMN in place, serial and identity columns, and the objects its
snapshot holds (functions, procedures, triggers, sequences, enum/composite types, domains,
extensions, materialized views, schemas)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from lamina.schema.ddl.common import Renderer
from lamina.schema.model import Column, SchemaObject, Table

__all__ = ["PostgresRenderer"]

_SERIALS = {"integer": "serial", "bigint": "bigserial", "smallint": "smallserial"}
_LABELS = re.compile(r"'((?:[^']|'')*)'")
_DROP_KIND = {
    "function": "FUNCTION",
    "procedure": "PROCEDURE",
    "sequence": "SEQUENCE",
    "type": "TYPE",
    "domain": "DOMAIN",
    "extension": "EXTENSION",
    "schema": "SCHEMA",
}


def enum_labels(definition: str | None) -> list[str] | None:
    """The quoted labels of ``enum ('a', 'b')``; None for another kind of type."""
    if not definition or not definition.startswith("enum ("):
        return None
    return _LABELS.findall(definition)


class PostgresRenderer(Renderer):
    dialect = "postgres"

    def column_def(self, table: str, column: Column) -> str:
        serial = _SERIALS.get(column.type)
        if serial and column.default == f"nextval('{table}_{column.name}_seq')":
            return f"{self.ident(column.name)} {serial}{'' if column.nullable else ' NOT NULL'}"
        return super().column_def(table, column)

    def change_column(self, table: Table, old: Column, new: Column) -> list[str]:
        head = f"ALTER TABLE {self.ident(table.name)} ALTER COLUMN {self.ident(new.name)}"
        out = []
        renamed = _sequence_renamed(old.default, new.default)
        if renamed is not None:
            # A serial column of a renamed table: its sequence keeps the old name until it is
            # renamed, and the default (stored by the sequence's oid) follows it.
            out.append(
                f"ALTER SEQUENCE {self.ident(renamed[0])} RENAME TO {self.ident(renamed[1])}"
            )
            old = replace(old, default=new.default)
        if old.default != new.default and old.default is not None:
            out.append(f"{head} DROP {'IDENTITY' if 'identity' in old.default else 'DEFAULT'}")
        if old.type != new.type:
            out.append(f"{head} TYPE {new.type} USING {self.ident(new.name)}::{new.type}")
        if old.nullable != new.nullable:
            out.append(f"{head} {'DROP' if new.nullable else 'SET'} NOT NULL")
        if old.default != new.default and new.default is not None:
            if "identity" in new.default:
                out.append(f"{head} ADD {new.default.upper()}")
            else:
                out.append(f"{head} SET DEFAULT {new.default}")
        return out

    # -- objects --------------------------------------------------------------------------
    def create_object(self, obj: SchemaObject) -> list[str] | None:  # noqa: PLR0911 - one kind each
        text, name = obj.definition, obj.name
        if obj.kind in ("function", "procedure", "trigger") and text:
            return [text]
        if obj.kind == "sequence" and text:
            return [f"CREATE SEQUENCE {self.ident(name)} {text}"]
        if obj.kind == "type" and text:
            body = text.removeprefix("enum ")
            kind = "ENUM " if text.startswith("enum ") else ""
            return [f"CREATE TYPE {self.ident(name)} AS {kind}{body}"]
        if obj.kind == "domain" and text:
            return [f"CREATE DOMAIN {self.ident(name)} AS {text}"]
        if obj.kind == "extension":
            return [f"CREATE EXTENSION IF NOT EXISTS {self.ident(name)}"]
        if obj.kind == "schema":
            return [f"CREATE SCHEMA {self.ident(name)}"]
        if obj.kind == "materialized view" and text:
            return [f"CREATE MATERIALIZED VIEW {self.ident(name)} AS {text}"]
        return None

    def drop_object(self, obj: SchemaObject) -> list[str] | None:
        if obj.kind == "trigger":
            trigger, _, table = obj.name.partition(" on ")
            return [f"DROP TRIGGER {self.ident(trigger)} ON {self.ident(table)}"]
        if obj.kind == "materialized view":
            return [f"DROP MATERIALIZED VIEW {self.ident(obj.name)}"]
        kind = _DROP_KIND.get(obj.kind)
        if kind is None:
            return None
        name = obj.name if obj.kind in ("function", "procedure") else self.ident(obj.name)
        return [f"DROP {kind} {name}"]

    def change_object(
        self, old: SchemaObject, new: SchemaObject, tables: Mapping[str, Table]
    ) -> list[str] | None:
        if new.kind in ("function", "procedure") and new.definition:
            return [new.definition]  # CREATE OR REPLACE: triggers using it stay
        if new.kind == "sequence" and new.definition:
            return [f"ALTER SEQUENCE {self.ident(new.name)} {new.definition}"]
        before, after = enum_labels(old.definition), enum_labels(new.definition)
        if before is None or after is None:
            return None
        if [label for label in after if label in before] == before:
            return self._add_labels(new.name, before, after)
        return self._recreate_enum(new, tables)

    def _add_labels(self, name: str, before: list[str], after: list[str]) -> list[str]:
        out = []
        for at, label in enumerate(after):
            if label in before:
                continue
            following = next((x for x in after[at + 1 :] if x in before), None)
            where = f" BEFORE '{following}'" if following is not None else ""
            out.append(f"ALTER TYPE {self.ident(name)} ADD VALUE '{label}'{where}")
        return out

    def _recreate_enum(self, new: SchemaObject, tables: Mapping[str, Table]) -> list[str]:
        """A label removed or reordered: a new type, every column cast through text."""
        name, old_name = self.ident(new.name), self.ident(f"{new.name}__old")
        out = [f"ALTER TYPE {name} RENAME TO {old_name}"]
        out += self.create_object(new) or []
        for table in tables.values():
            for column in table.columns:
                if column.type != new.name:
                    continue
                head = (
                    f"ALTER TABLE {self.ident(table.name)} ALTER COLUMN {self.ident(column.name)}"
                )
                if column.default is not None:
                    out.append(f"{head} DROP DEFAULT")
                out.append(f"{head} TYPE {name} USING {self.ident(column.name)}::text::{name}")
                if column.default is not None:
                    out.append(f"{head} SET DEFAULT {column.default}")
        out.append(f"DROP TYPE {old_name}")
        return out


_NEXTVAL = re.compile(r"nextval\('([^']+)'(::regclass)?\)")


def _sequence_renamed(old: str | None, new: str | None) -> tuple[str, str] | None:
    """``(old sequence, new sequence)`` when two defaults differ only in the sequence named."""
    if old is None or new is None:
        return None
    before, after = _NEXTVAL.search(old), _NEXTVAL.search(new)
    if before is None or after is None or before.group(1) == after.group(1):
        return None
    if old.replace(before.group(1), after.group(1)) != new:
        return None
    return before.group(1), after.group(1)
