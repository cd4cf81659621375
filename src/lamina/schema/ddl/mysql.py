"""MySQL and MariaDB: MODIFY COLUMN with the whole definition, columns added in place
(``AFTER``), unique keys and the index a foreign key needs, and routines, triggers and
events replayed from their rebuilt ``CREATE`` text."""

from __future__ import annotations

import re

from lamina.schema.ddl.common import LITERAL, Renderer
from lamina.schema.model import Column, ForeignKey, Index, SchemaObject, Table, View

__all__ = ["MysqlRenderer"]

_ON_UPDATE = re.compile(r"^(.*) on update (.+)$")
_DROP_KIND = {"function": "FUNCTION", "procedure": "PROCEDURE", "event": "EVENT"}


class MysqlRenderer(Renderer):
    dialect = "mysql"
    places_columns = True
    reserved = frozenset(
        [
            "accessible",
            "add",
            "analyze",
            "before",
            "bigint",
            "binary",
            "blob",
            "call",
            "cascade",
            "change",
            "char",
            "character",
            "condition",
            "continue",
            "convert",
            "database",
            "databases",
            "declare",
            "dec",
            "decimal",
            "delayed",
            "describe",
            "div",
            "double",
            "dual",
            "each",
            "elseif",
            "enclosed",
            "escaped",
            "exit",
            "explain",
            "float",
            "force",
            "fulltext",
            "generated",
            "get",
            "high_priority",
            "hour_minute",
            "if",
            "ignore",
            "infile",
            "inout",
            "int",
            "integer",
            "interval",
            "iterate",
            "kill",
            "lines",
            "load",
            "lock",
            "long",
            "loop",
            "low_priority",
            "match",
            "mod",
            "modifies",
            "no_write_to_binlog",
            "numeric",
            "optimize",
            "option",
            "optionally",
            "out",
            "outfile",
            "precision",
            "procedure",
            "purge",
            "read",
            "reads",
            "real",
            "regexp",
            "release",
            "rename",
            "repeat",
            "replace",
            "require",
            "resignal",
            "restrict",
            "return",
            "revoke",
            "rlike",
            "schema",
            "schemas",
            "separator",
            "show",
            "signal",
            "smallint",
            "spatial",
            "specific",
            "sql",
            "sqlstate",
            "starting",
            "stored",
            "straight_join",
            "terminated",
            "tinyint",
            "trigger",
            "undo",
            "unlock",
            "unsigned",
            "usage",
            "use",
            "utc_date",
            "utc_time",
            "utc_timestamp",
            "varchar",
            "varying",
            "virtual",
            "while",
            "write",
            "xor",
            "zerofill",
            "rank",
            "row_number",
            "over",
            "system",
        ]
    )

    def unique_name(self, table: str, columns: tuple[str, ...]) -> str:
        """MySQL names a unique key after its first column."""
        return columns[0]

    def unique_clause(self, table: str, columns: tuple[str, ...]) -> str:
        return f"UNIQUE KEY {self.ident(self.unique_name(table, columns))} ({self.names(columns)})"

    def default_clause(self, column: Column) -> str:
        value = column.default
        if value is None:
            return ""
        if value == "auto_increment":
            return " AUTO_INCREMENT"
        if value.startswith("generated "):
            return " " + value
        update = _ON_UPDATE.match(value)
        if update:
            first = (
                ""
                if update.group(1) == "None"
                else f" DEFAULT {self.default_value(update.group(1))}"
            )
            return f"{first} ON UPDATE {update.group(2)}"
        return f" DEFAULT {self.default_value(value)}"

    def default_value(self, value: str) -> str:
        return value if LITERAL.match(value) else f"({value})"

    def index_key(self, key: str) -> str:
        bare, _, order = key.rpartition(" ") if key.endswith((" desc", " asc")) else (key, "", "")
        prefix = re.fullmatch(r"([a-z_][a-z0-9_]*)\((\d+)\)", bare)
        if prefix:
            text = f"{self.ident(prefix.group(1))}({prefix.group(2)})"
        elif re.fullmatch(r"[a-z_][a-z0-9_]*", bare):
            text = self.ident(bare)
        else:
            text = f"({bare})"
        return f"{text} {order}".rstrip()

    def create_index(self, table: str, index: Index) -> list[str]:
        kind = f"{index.method.upper()} " if index.method in ("fulltext", "spatial") else ""
        using = f" USING {index.method.upper()}" if index.method == "hash" else ""
        keys = ", ".join(self.index_key(k) for k in index.columns)
        return [
            f"CREATE {kind}INDEX {self.ident(index.name)} ON {self.ident(table)} ({keys}){using}"
        ]

    def drop_index(self, table: str, index: Index) -> list[str]:
        return [f"DROP INDEX {self.ident(index.name)} ON {self.ident(table)}"]

    def drop_foreign_key(self, table: Table, fk: ForeignKey) -> list[str]:
        """InnoDB keeps the index it made for the key (named after it): dropped too, unless
        another key of the table already served the foreign key."""
        name = self.ident(self.fk_name(table.name, fk))
        out = [f"ALTER TABLE {self.ident(table.name)} DROP FOREIGN KEY {name}"]
        served = [table.primary_key, *table.uniques, *(i.columns for i in table.indexes)]
        if not any(key[: len(fk.columns)] == fk.columns for key in served):
            out.append(f"ALTER TABLE {self.ident(table.name)} DROP INDEX {name}")
        return out

    def add_column(self, table: Table, column: Column, previous: str | None) -> list[str]:
        where = f" AFTER {self.ident(previous)}" if previous else " FIRST"
        head = f"ALTER TABLE {self.ident(table.name)} ADD COLUMN"
        return [f"{head} {self.column_def(table.name, column)}{where}"]

    def change_column(self, table: Table, old: Column, new: Column) -> list[str]:
        head = f"ALTER TABLE {self.ident(table.name)} MODIFY COLUMN"
        return [f"{head} {self.column_def(table.name, new)}"]

    def drop_unique(self, table: Table, columns: tuple[str, ...]) -> list[str]:
        name = self.ident(self.unique_name(table.name, columns))
        return [f"ALTER TABLE {self.ident(table.name)} DROP INDEX {name}"]

    def drop_primary_key(self, table: Table) -> list[str]:
        return [f"ALTER TABLE {self.ident(table.name)} DROP PRIMARY KEY"]

    def rename_column(self, table: str, old: str, new: str) -> list[str]:
        return [
            f"ALTER TABLE {self.ident(table)} RENAME COLUMN {self.ident(old)} TO {self.ident(new)}"
        ]

    def create_view(self, view: View) -> list[str] | None:
        if view.definition is None:
            return None
        return [f"CREATE VIEW {self.ident(view.name)} AS {view.definition}"]

    def create_object(self, obj: SchemaObject) -> list[str] | None:
        if obj.kind == "event" and obj.definition:
            # The catalog's status reads ENABLED/DISABLED; CREATE EVENT says ENABLE/DISABLE.
            text = re.sub(
                r" (enabl|disabl)ed( on slave)? do ", r" \1e\2 do ", obj.definition, count=1
            )
            return [text]
        if obj.kind in ("function", "procedure", "trigger") and obj.definition:
            return [obj.definition]
        return None

    def drop_object(self, obj: SchemaObject) -> list[str] | None:
        if obj.kind == "trigger":
            return [f"DROP TRIGGER {self.ident(obj.name.partition(' on ')[0])}"]
        kind = _DROP_KIND.get(obj.kind)
        return None if kind is None else [f"DROP {kind} {self.ident(obj.name)}"]
