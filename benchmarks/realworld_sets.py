"""W7's migration sets: a seeded, realistic migration history for one engine.

Where ``bench_sets.py`` writes N identical trivial migrations (to show each tool's own
overhead), this writes what an application's ``migrations/`` folder looks like after a few
years: tables with typed columns, foreign keys and indexes, columns added (nullable, with
defaults, with a backfill), indexes created and dropped, columns and tables renamed, columns
widened and dropped, tables dropped, small data migrations (a few rows inserted, an UPDATE ...
WHERE), views created, replaced and dropped, and functions where the engine has them (a
PL/pgSQL function on PostgreSQL, a stored function with BEGIN ... END on MySQL/MariaDB, a macro
on DuckDB; SQLite has none, it gets ``updated_at`` triggers instead). Every migration has a
down that undoes its up exactly on the schema (rows dropped by an up are not brought back).

The history is generated from a model of the schema (tables, columns, indexes, foreign keys,
rows, views, functions) that each step updates, so every step is valid where it stands: a down
is written against the schema as its up left it, which is the schema a rollback finds.

One history is written in two formats: dbmate's (``NNNN_name.sql`` with ``-- migrate:up`` /
``-- migrate:down``), which lamina reads unchanged, and alembic revisions (a linear chain,
``op.execute`` of the same statements, one call per statement). The SQL never contains a colon,
so alembic's ``op.execute`` (which reads ``:name`` as a bound parameter) runs it as written.

What each engine cannot do, and the generator therefore never asks of it (see
``AVOIDED``): realistic steps that had to be left out, per engine.

    python benchmarks/realworld_sets.py --engine postgresql --count 300 --out /tmp/w7
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

ENGINES = ("duckdb", "sqlite", "postgresql", "mysql")
DEFAULT_COUNT = 300
DEFAULT_SEED = 7
ROLLBACK = 100  # W7 rolls back the last 100 migrations

# What the generator avoids on each engine because the engine refuses it (or cannot undo it),
# although real projects do it. Printed by the benchmark and listed in benchmarks/README.md.
AVOIDED = {
    "duckdb": [
        "renaming a table or a column, or dropping a column, on a table that a foreign key "
        "references (DuckDB refuses any of these: 'Cannot alter entry ... because there are "
        "entries that depend on it'; there is no ALTER TABLE ... DROP CONSTRAINT to lift it)",
        "adding a column to a table that a foreign key references: the ADD works, but its "
        "down (DROP COLUMN) is refused for the same reason, so it could never be rolled back",
        "renaming or dropping a column, renaming a table, or adding a NOT NULL column, on a "
        "table that has an index, as one statement: DuckDB refuses the ALTER while any index "
        "(CREATE INDEX) exists, so each such step drops the table's indexes, alters and "
        "creates them again (the same goes for the DROP COLUMN that undoes an ADD COLUMN)",
        "renaming a table that has a foreign key: DuckDB 2.0.1 renames it, but the table it "
        "references keeps the old name, and every later DELETE from that parent fails "
        "('Catalog Error: Table with name <old name> does not exist!'), even once the child "
        "is dropped: a DuckDB bug (create table p (id bigint primary key); create table c "
        "(id bigint primary key, p_id bigint references p(id)); alter table c rename to c2; "
        "delete from p)",
        "UPDATE of a table that a foreign key references, even of a column no key uses: "
        "DuckDB refuses it while a referencing row exists ('Violates foreign key constraint "
        "because key ... is still referenced'), so data migrations update child tables only",
        "dropping a column that comes before a foreign key column or an indexed column: "
        "'Cannot drop this column: an index depends on a column after it!'. A foreign key's "
        "index cannot be dropped at all, and dropping a CREATE INDEX index first does not "
        "help inside the migration's transaction: DuckDB still sees the index until commit "
        "(outside a transaction the same DROP INDEX; DROP COLUMN works)",
        "changing a column's type (ALTER ... TYPE is refused on indexed tables too; left out)",
        "triggers (DuckDB has none) and stored functions (macros stand in for them)",
    ],
    "sqlite": [
        "changing a column's type (SQLite has no ALTER COLUMN: it takes a table rebuild)",
        "ADD COLUMN with a non-constant default (CURRENT_TIMESTAMP): refused",
        "stored functions (SQLite has none; updated_at triggers stand in for routines)",
        "renaming a table that has a trigger (left out: the trigger body names the table)",
    ],
    "postgresql": [],
    "mysql": [],
}

NOUNS = (
    "account", "address", "audit_entry", "booking", "campaign", "category", "comment",
    "contract", "coupon", "customer", "delivery", "device", "discount", "document", "employee",
    "event", "feature_flag", "invoice", "invoice_line", "membership", "message", "note",
    "notification", "order", "order_item", "organization", "payment", "plan", "price",
    "product", "profile", "project", "refund", "region", "review", "role", "session",
    "shipment", "sku", "subscription", "supplier", "tag", "task", "team", "ticket", "user",
    "vendor", "warehouse", "webhook", "workspace",
)  # fmt: skip
PREFIXES = ("app", "billing", "catalog", "core", "crm", "ops", "sales", "shop", "support")
# (name, kind): kind picks the type, the values and which steps a column can take part in.
COLUMNS = (
    ("title", "str"), ("name", "str"), ("code", "str"), ("email", "str"), ("slug", "str"),
    ("currency", "str"), ("external_ref", "str"), ("label", "str"), ("state", "str"),
    ("description", "text"), ("notes", "text"), ("body", "text"), ("summary", "text"),
    ("quantity", "int"), ("priority", "int"), ("score", "int"), ("attempts", "int"),
    ("sort_rank", "int"), ("retries", "int"), ("amount", "dec"), ("unit_price", "dec"),
    ("weight_kg", "dec"), ("balance", "dec"), ("is_active", "bool"), ("is_archived", "bool"),
    ("verified", "bool"), ("starts_on", "date"), ("ends_on", "date"), ("due_on", "date"),
    ("processed_at", "ts"), ("sent_at", "ts"), ("expires_at", "ts"), ("payload", "json"),
    ("metadata", "json"),
)  # fmt: skip
RENAMES = {
    "title": "headline", "name": "display_name", "code": "short_code", "email": "email_address",
    "label": "caption", "state": "lifecycle", "description": "details", "notes": "remarks",
    "body": "content", "summary": "abstract", "quantity": "qty", "priority": "urgency",
    "score": "rating", "attempts": "tries", "amount": "total", "unit_price": "list_price",
    "balance": "credit", "is_active": "enabled", "verified": "confirmed",
    "starts_on": "valid_from", "ends_on": "valid_until", "processed_at": "handled_at",
}  # fmt: skip
INDEXABLE = ("str", "int", "dec", "bool", "date", "ts")
PLAIN = ("str", "text", "int", "dec", "bool", "date", "ts", "json")


# -- the engines' dialects ----------------------------------------------------------------------
@dataclass(frozen=True)
class Dialect:
    """How an engine spells types and statements, and what it refuses."""

    engine: str
    types: dict[str, str]
    id_column: str  # the primary key's full definition
    updated_at: str  # the updated_at column's type and default
    # DuckDB: an index blocks ALTERs of its table, a foreign key blocks ALTERs of its parent.
    index_blocks_alter: bool = False
    referenced_blocks_alter: bool = False
    alter_type: bool = True
    rename_trigger_table: bool = True

    def rename_table(self, old: str, new: str) -> str:
        if self.engine == "mysql":
            return f"RENAME TABLE {old} TO {new}"
        return f"ALTER TABLE {old} RENAME TO {new}"

    def drop_index(self, index: Index) -> str:
        if self.engine == "mysql":
            return f"DROP INDEX {index.name} ON {index.table.name}"
        return f"DROP INDEX {index.name}"

    def bool_value(self, value: bool) -> str:
        return "TRUE" if value else "FALSE"


DIALECTS = {
    "postgresql": Dialect(
        "postgresql",
        {
            "str": "varchar(120)",
            "wide": "varchar(255)",
            "text": "text",
            "int": "integer",
            "dec": "numeric(12,2)",
            "bool": "boolean",
            "date": "date",
            "ts": "timestamp",
            "json": "jsonb",
            "fk": "bigint",
        },
        "id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        "timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP",
    ),
    "mysql": Dialect(
        "mysql",
        {
            "str": "VARCHAR(120)",
            "wide": "VARCHAR(255)",
            "text": "TEXT",
            "int": "INT",
            "dec": "DECIMAL(12,2)",
            "bool": "BOOLEAN",
            "date": "DATE",
            "ts": "DATETIME",
            "json": "JSON",
            "fk": "BIGINT",
        },
        "id BIGINT AUTO_INCREMENT PRIMARY KEY",
        "DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP",
    ),
    "sqlite": Dialect(
        "sqlite",
        {
            "str": "VARCHAR(120)",
            "text": "TEXT",
            "int": "INTEGER",
            "dec": "NUMERIC(12,2)",
            "bool": "BOOLEAN",
            "date": "DATE",
            "ts": "TIMESTAMP",
            "json": "TEXT",
            "fk": "INTEGER",
        },
        "id INTEGER PRIMARY KEY",
        "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP",
        alter_type=False,
        rename_trigger_table=False,
    ),
    "duckdb": Dialect(
        "duckdb",
        {
            "str": "VARCHAR(120)",
            "text": "TEXT",
            "int": "INTEGER",
            "dec": "DECIMAL(12,2)",
            "bool": "BOOLEAN",
            "date": "DATE",
            "ts": "TIMESTAMP",
            "json": "VARCHAR",
            "fk": "BIGINT",
        },
        "id BIGINT PRIMARY KEY",
        "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP",
        index_blocks_alter=True,
        referenced_blocks_alter=True,
        alter_type=False,
    ),
}


def plural(noun: str) -> str:
    if noun.endswith("y"):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "sh", "ch", "x")):
        return noun + "es"
    return noun + "s"


# -- the schema model ---------------------------------------------------------------------------
@dataclass(eq=False)
class Column:
    name: str
    kind: str  # a PLAIN kind, or id / fk / created / updated
    type_sql: str = ""
    nullable: bool = True
    default: str | None = None
    parent: Table | None = None  # the table a fk column references
    unique_ok: bool = False  # every row has its own value (or NULL): a unique index may go on it
    vocab: str = ""  # the vocabulary word it was named after (for renames)

    def definition(self, dialect: Dialect) -> str:
        if self.kind == "id":
            return dialect.id_column
        if self.kind == "updated":
            return f"{self.name} {dialect.updated_at}"
        parts = [self.name, self.type_sql]
        if not self.nullable:
            parts.append("NOT NULL")
        if self.default is not None:
            parts.append(f"DEFAULT {self.default}")
        if self.parent is not None:
            parts.append(f"REFERENCES {self.parent.name}(id)")
        return " ".join(parts)

    @property
    def plain(self) -> bool:
        return self.kind in PLAIN

    @property
    def droppable(self) -> bool:
        """Its down can add it back: nullable, or NOT NULL with a default."""
        return self.plain and (self.nullable or self.default is not None)


@dataclass(eq=False)
class Index:
    name: str
    table: Table
    columns: list[Column]
    unique: bool = False
    for_fk: bool = False  # MySQL refuses to drop an index a foreign key needs: never dropped

    def create(self) -> str:
        unique = "UNIQUE " if self.unique else ""
        cols = ", ".join(c.name for c in self.columns)
        return f"CREATE {unique}INDEX {self.name} ON {self.table.name} ({cols})"


@dataclass(eq=False)
class Table:
    name: str
    noun: str
    columns: list[Column] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    next_row: int = 1
    trigger: str | None = None  # the name of its updated_at trigger (PostgreSQL, SQLite)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def indexed(self, column: Column) -> bool:
        return any(column in index.columns for index in self.indexes)


@dataclass(eq=False)
class View:
    name: str
    tables: list[Table]
    sql: str  # its CREATE VIEW, valid as long as it lives (its tables are frozen meanwhile)


@dataclass(eq=False)
class Routine:
    name: str
    template: int
    constant: int


@dataclass
class Migration:
    version: int
    slug: str
    kind: str
    up: list[str]
    down: list[str]
    dropped: str | None = None  # the table an up drops: its down brings it back empty
    renamed: tuple[str, str] | None = None  # a table's (old, new) names


def emptied(migrations: list[Migration] | tuple[Migration, ...]) -> set[str]:
    """Tables that rolling back ``migrations`` leaves empty (an up dropped them), by the names
    they have once rolled back."""
    lost: set[str] = set()
    for m in reversed(migrations):
        if m.dropped:
            lost.add(m.dropped)
        if m.renamed and m.renamed[1] in lost:
            lost.add(m.renamed[0])
    return lost


class Unavailable(Exception):
    """This step cannot be taken on the schema as it stands: another is chosen."""


# -- the generator ------------------------------------------------------------------------------
class History:
    """Generates the migrations one after another, keeping the schema model up to date."""

    WEIGHTS: ClassVar[dict[str, int]] = {
        "create_table": 16, "add_column": 17, "create_index": 10, "drop_index": 4,
        "rename_column": 5, "rename_table": 3, "drop_column": 4, "widen_column": 3,
        "drop_table": 2, "insert_rows": 11, "update_rows": 6, "create_view": 5,
        "replace_view": 2, "drop_view": 2, "create_function": 4, "replace_function": 2,
        "drop_function": 1,
    }  # fmt: skip

    def __init__(self, engine: str, seed: int) -> None:
        self.d = DIALECTS[engine]
        self.engine = engine
        self.rng = random.Random(f"{engine}-{seed}")
        self.tables: list[Table] = []
        self.views: list[View] = []
        self.routines: list[Routine] = []
        self.names: set[str] = set()  # every name ever given (tables, views, indexes, routines)
        self.migrations: list[Migration] = []

    # names
    def fresh(self, base: str, limit: int = 60) -> str:
        base = base[:limit]
        name, n = base, 2
        while name in self.names:
            name = f"{base[: limit - 4]}_{n}"
            n += 1
        self.names.add(name)
        return name

    # the model's questions
    def referenced(self, table: Table) -> bool:
        return any(c.parent is table for t in self.tables for c in t.columns if t is not table)

    def in_view(self, table: Table) -> bool:
        return any(table in v.tables for v in self.views)

    def alterable(self, table: Table) -> bool:
        """Can be renamed, have a column renamed or dropped (and the same undone)."""
        if self.in_view(table):
            return False  # a view names its columns: frozen while it lives
        return not (self.d.referenced_blocks_alter and self.referenced(table))

    def wrap(self, table: Table, statements: list[str]) -> list[str]:
        """DuckDB: drop the table's indexes around an ALTER, and create them again after.

        The CREATEs are rendered after the step changed the model, so they name the columns
        and table as the ALTER left them: call this after mutating the model.
        """
        if not self.d.index_blocks_alter or not table.indexes:
            return statements
        drops = [self.d.drop_index(i) for i in table.indexes]
        return drops + statements + [i.create() for i in table.indexes]

    def value(self, table: Table, column: Column, row: int) -> str:  # noqa: PLR0911
        r = self.rng
        kind = column.kind
        if kind == "fk":
            parent = column.parent
            return (
                str(r.choice(parent.rows))
                if parent and parent.rows and r.random() < 0.8
                else "NULL"
            )
        if kind == "str":
            return f"'{column.vocab or column.name}-{row}'"  # unique per row: unique_ok holds
        if kind == "text":
            word = r.choice(("imported", "seeded", "legacy", "initial"))
            return f"'{table.noun.replace('_', ' ')} {word} {row}'"
        if kind == "int":
            return str(r.randint(0, 500))
        if kind == "dec":
            return f"{r.randint(0, 9999)}.{r.randint(0, 99):02d}"
        if kind == "bool":
            return self.d.bool_value(r.random() < 0.5)
        if kind in ("date", "ts"):
            return f"'20{r.randint(19, 25)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}'"
        if kind == "json":
            return f"'[{r.randint(1, 9)}, {r.randint(1, 9)}]'"
        raise AssertionError(kind)

    def new_column(self, table: Table, *, added: bool) -> Column:
        taken = {c.vocab or c.name for c in table.columns} | {c.name for c in table.columns}
        choices = [(n, k) for n, k in COLUMNS if n not in taken]
        name, kind = self.rng.choice(choices)
        column = Column(name, kind, self.d.types[kind], vocab=name)
        r = self.rng.random()
        defaults = {"str": "'pending'", "int": "0", "dec": "0", "bool": self.d.bool_value(False)}
        if kind in defaults and r < 0.35:
            column.nullable, column.default = False, defaults[kind]
        elif kind == "str" and not added and r < 0.55:
            column.nullable = False  # NOT NULL, no default: inserts always give it
        column.unique_ok = kind == "str" and not added and column.default is None
        return column

    # -- the steps: each returns (slug, up, down) after updating the model, or raises
    def create_table(self) -> tuple[str, list[str], list[str]]:
        noun = self.rng.choice(NOUNS)
        if self.rng.random() < 0.3:
            noun = f"{self.rng.choice(PREFIXES)}_{noun}"
        name = self.fresh(plural(noun))
        table = Table(name, noun)
        table.columns.append(Column("id", "id"))
        for _ in range(self.rng.randint(2, 6)):
            table.columns.append(self.new_column(table, added=False))
        parents = self.rng.sample(self.tables, k=min(len(self.tables), self.rng.randint(0, 2)))
        for parent in parents if self.rng.random() < 0.65 else []:
            col = Column(self.fresh_column(table, f"{parent.noun}_id"), "fk", self.d.types["fk"])
            col.parent = parent
            table.columns.append(col)
        table.columns.append(
            Column("created_at", "created", self.d.types["ts"], False, "CURRENT_TIMESTAMP")
        )
        with_updated = self.rng.random() < 0.5
        if with_updated:
            table.columns.append(Column("updated_at", "updated"))
        defs = ",\n  ".join(c.definition(self.d) for c in table.columns)
        up = [f"CREATE TABLE {name} (\n  {defs}\n)"]
        for col in table.columns:
            if col.kind == "fk":
                index = Index(self.fresh(f"idx_{name}_{col.name}"), table, [col], for_fk=True)
                table.indexes.append(index)
                up.append(index.create())
        uniques = [c for c in table.columns if c.unique_ok]
        if uniques and self.rng.random() < 0.35:
            col = self.rng.choice(uniques)
            index = Index(self.fresh(f"uq_{name}_{col.name}"), table, [col], unique=True)
            table.indexes.append(index)
            up.append(index.create())
        if with_updated:
            up.extend(self.updated_at_trigger(table))
        self.tables.append(table)
        return f"create_{name}", up, [f"DROP TABLE {name}"]

    def fresh_column(self, table: Table, base: str) -> str:
        name, n = base, 2
        while table.column(name) is not None:
            name, n = f"{base}_{n}", n + 1
        return name

    def updated_at_trigger(self, table: Table) -> list[str]:
        if self.engine in ("postgresql", "sqlite"):  # MySQL: ON UPDATE; DuckDB: no triggers
            table.trigger = self.fresh(f"trg_{table.name}_updated_at")
        return self.trigger_sql(table)

    def trigger_sql(self, table: Table) -> list[str]:
        if table.trigger is None:
            return []
        if self.engine == "postgresql":
            return [
                f"CREATE TRIGGER {table.trigger} BEFORE UPDATE ON {table.name}\n"
                "  FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
            ]
        return [
            f"CREATE TRIGGER {table.trigger} AFTER UPDATE ON {table.name}\n"
            f"FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at\nBEGIN\n"
            f"  UPDATE {table.name} SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id;\n"
            "END"
        ]

    def pick_table(self, test: Callable[[Table], bool]) -> Table:
        found = [t for t in self.tables if test(t)]
        if not found:
            raise Unavailable
        return self.rng.choice(found)

    def add_column(self) -> tuple[str, list[str], list[str]]:
        blocked = self.d.referenced_blocks_alter
        table = self.pick_table(lambda t: not (blocked and self.referenced(t)))
        column = self.new_column(table, added=True)
        column.name = self.fresh_column(table, column.name)
        up = self.add_column_sql(table, column)
        slug = f"add_{column.name}_to_{table.name}"
        if column.nullable and table.rows and self.rng.random() < 0.5:
            up.append(
                f"UPDATE {table.name} SET {column.name} = {self.value(table, column, 0)} "
                f"WHERE {column.name} IS NULL"
            )  # a backfill: the same value for every row, so not unique
            slug = f"add_and_backfill_{column.name}_on_{table.name}"
        table.columns.append(column)
        down = self.wrap(table, [f"ALTER TABLE {table.name} DROP COLUMN {column.name}"])
        return slug, up, down

    def add_column_sql(self, table: Table, column: Column) -> list[str]:
        """ADD COLUMN; DuckDB refuses one with NOT NULL while the table has an index."""
        statement = f"ALTER TABLE {table.name} ADD COLUMN {column.definition(self.d)}"
        return [statement] if column.nullable else self.wrap(table, [statement])

    def drop_column(self) -> tuple[str, list[str], list[str]]:
        def candidates(t: Table) -> list[Column]:
            found = [c for c in t.columns if c.droppable and not t.indexed(c)]
            if self.d.index_blocks_alter:  # DuckDB: none before an indexed or foreign key column
                pinned = [i for i, c in enumerate(t.columns) if c.kind == "fk" or t.indexed(c)]
                found = [c for c in found if t.columns.index(c) > max(pinned, default=-1)]
            return found

        table = self.pick_table(lambda t: self.alterable(t) and bool(candidates(t)))
        column = self.rng.choice(candidates(table))
        table.columns.remove(column)
        up = self.wrap(table, [f"ALTER TABLE {table.name} DROP COLUMN {column.name}"])
        down = self.add_column_sql(table, column)
        return f"drop_{column.name}_from_{table.name}", up, down

    def rename_column(self) -> tuple[str, list[str], list[str]]:
        table = self.pick_table(lambda t: self.alterable(t) and any(c.plain for c in t.columns))
        column = self.rng.choice([c for c in table.columns if c.plain])
        old = column.name
        synonym = RENAMES.get(old, "")
        column.name = self.fresh_column(table, synonym or f"{column.vocab or old}_new")
        statement = "ALTER TABLE {t} RENAME COLUMN {a} TO {b}"
        up = self.wrap(table, [statement.format(t=table.name, a=old, b=column.name)])
        down_new = statement.format(t=table.name, a=column.name, b=old)
        column.name, renamed = old, column.name
        down = self.wrap(table, [down_new])  # indexes as the down leaves them: old name
        column.name = renamed
        return f"rename_{table.name}_{old}_to_{renamed}", up, down

    def rename_table(self) -> tuple[str, list[str], list[str]]:
        def ok(t: Table) -> bool:
            if self.d.referenced_blocks_alter and any(c.kind == "fk" for c in t.columns):
                return False  # DuckDB: see AVOIDED (the parent keeps the child's old name)
            return self.alterable(t) and (self.d.rename_trigger_table or t.trigger is None)

        table = self.pick_table(ok)
        old = table.name
        head, _, rest = table.noun.partition("_")
        bare = rest if head in PREFIXES and rest else table.noun
        prefix = self.rng.choice([p for p in PREFIXES if p != head])
        new = self.fresh(plural(f"{prefix}_{bare}"))
        table.name = new
        up = self.wrap(table, [self.d.rename_table(old, new)])
        table.name = old
        down = self.wrap(table, [self.d.rename_table(new, old)])
        table.name = new
        return f"rename_{old}_to_{new}", up, down

    def widen_column(self) -> tuple[str, list[str], list[str]]:
        if not self.d.alter_type:
            raise Unavailable
        narrow, wide = self.d.types["str"], self.d.types["wide"]

        def columns(t: Table) -> list[Column]:
            return [c for c in t.columns if c.kind == "str" and c.type_sql == narrow]

        table = self.pick_table(lambda t: self.alterable(t) and bool(columns(t)))
        column = self.rng.choice(columns(table))

        def alter(type_sql: str) -> str:
            column.type_sql = type_sql
            if self.engine == "mysql":  # MODIFY restates the whole column
                return f"ALTER TABLE {table.name} MODIFY COLUMN {column.definition(self.d)}"
            return f"ALTER TABLE {table.name} ALTER COLUMN {column.name} TYPE {type_sql}"

        down = [alter(narrow)]
        up = [alter(wide)]
        return f"widen_{table.name}_{column.name}", up, down

    def drop_table(self) -> tuple[str, list[str], list[str]]:
        table = self.pick_table(
            lambda t: not self.referenced(t) and not self.in_view(t) and len(self.tables) > 8
        )
        defs = ",\n  ".join(c.definition(self.d) for c in table.columns)
        down = [f"CREATE TABLE {table.name} (\n  {defs}\n)", *(i.create() for i in table.indexes)]
        down.extend(self.trigger_sql(table))  # DROP TABLE dropped it: the same name again
        self.tables.remove(table)
        return f"drop_{table.name}", [f"DROP TABLE {table.name}"], down

    def create_index(self) -> tuple[str, list[str], list[str]]:
        def columns(t: Table) -> list[Column]:
            return [c for c in t.columns if c.kind in INDEXABLE and not t.indexed(c)]

        table = self.pick_table(lambda t: bool(columns(t)))
        pool = columns(table)
        chosen = self.rng.sample(pool, k=min(len(pool), 2 if self.rng.random() < 0.25 else 1))
        unique = len(chosen) == 1 and chosen[0].unique_ok and self.rng.random() < 0.4
        prefix = "uq" if unique else "idx"
        name = self.fresh(f"{prefix}_{table.name}_{'_'.join(c.name for c in chosen)}")
        index = Index(name, table, chosen, unique=unique)
        table.indexes.append(index)
        return (
            f"index_{table.name}_on_{'_and_'.join(c.name for c in chosen)}",
            [index.create()],
            [self.d.drop_index(index)],
        )

    def drop_index(self) -> tuple[str, list[str], list[str]]:
        table = self.pick_table(lambda t: any(not i.for_fk for i in t.indexes))
        index = self.rng.choice([i for i in table.indexes if not i.for_fk])
        up = [self.d.drop_index(index)]
        table.indexes.remove(index)
        return f"drop_index_{index.name}", up, [index.create()]

    def insert_rows(self) -> tuple[str, list[str], list[str]]:
        table = self.pick_table(lambda t: len(t.rows) < 40)
        columns = [c for c in table.columns if c.plain or c.kind == "fk"]
        ids = list(range(table.next_row, table.next_row + self.rng.randint(2, 5)))
        table.next_row += len(ids)
        rows = [
            "(" + ", ".join([str(i), *(self.value(table, c, i) for c in columns)]) + ")"
            for i in ids
        ]
        names = ", ".join(["id", *(c.name for c in columns)])
        up = [f"INSERT INTO {table.name} ({names}) VALUES\n  " + ",\n  ".join(rows)]
        table.rows.extend(ids)
        listed = ", ".join(map(str, ids))
        return f"seed_{table.name}", up, [f"DELETE FROM {table.name} WHERE id IN ({listed})"]

    def update_rows(self) -> tuple[str, list[str], list[str]]:
        def columns(t: Table) -> list[Column]:
            return [c for c in t.columns if c.kind in ("int", "dec") and not c.unique_ok]

        def ok(t: Table) -> bool:
            # DuckDB refuses an UPDATE of a row that a foreign key references, whatever column
            # it sets ("Violates foreign key constraint because key ... is still referenced")
            blocked = self.d.referenced_blocks_alter and self.referenced(t)
            return bool(t.rows) and bool(columns(t)) and not blocked

        table = self.pick_table(ok)
        column = self.rng.choice(columns(table))
        delta = str(self.rng.randint(1, 9)) if column.kind == "int" else "1.25"
        ids = sorted(self.rng.sample(table.rows, k=min(len(table.rows), self.rng.randint(1, 4))))
        where = f"WHERE id IN ({', '.join(map(str, ids))})"
        set_ = f"UPDATE {table.name} SET {column.name} = {column.name}"
        return (
            f"adjust_{table.name}_{column.name}",
            [f"{set_} + {delta} {where}"],
            [f"{set_} - {delta} {where}"],
        )

    def view_sql(self, name: str, table: Table) -> tuple[str, list[Table]]:
        plain = [c for c in table.columns if c.plain]
        if not plain:
            raise Unavailable
        chosen = self.rng.sample(plain, k=min(len(plain), self.rng.randint(1, 3)))
        select = [f"t.{c.name}" for c in [table.columns[0], *chosen]]
        tables = [table]
        join = ""
        fks = [c for c in table.columns if c.kind == "fk" and c.parent in self.tables]
        if fks and self.rng.random() < 0.6:
            fk = self.rng.choice(fks)
            parent = fk.parent
            assert parent is not None
            extra = [c for c in parent.columns if c.plain]
            if extra:
                col = self.rng.choice(extra)
                select.append(f"p.{col.name} AS {parent.noun}_{col.name}")
                join = f"\nLEFT JOIN {parent.name} p ON p.id = t.{fk.name}"
                tables.append(parent)
        where = ""
        ints = [c for c in chosen if c.kind == "int"]
        if ints:
            where = f"\nWHERE t.{ints[0].name} >= 0"
        sql = f"CREATE VIEW {name} AS\nSELECT {', '.join(select)}\nFROM {table.name} t{join}{where}"
        return sql, tables

    def create_view(self) -> tuple[str, list[str], list[str]]:
        table = self.pick_table(lambda t: any(c.plain for c in t.columns))
        purpose = self.rng.choice(("summary", "overview", "report", "active", "export"))
        name = self.fresh(f"v_{table.noun}_{purpose}")
        sql, tables = self.view_sql(name, table)
        self.views.append(View(name, tables, sql))
        return f"create_view_{name}", [sql], [f"DROP VIEW {name}"]

    def replace_view(self) -> tuple[str, list[str], list[str]]:
        if not self.views:
            raise Unavailable
        view = self.rng.choice(self.views)
        sql, tables = self.view_sql(view.name, view.tables[0])
        up = [f"DROP VIEW {view.name}", sql]
        down = [f"DROP VIEW {view.name}", view.sql]
        view.sql, view.tables = sql, tables
        return f"update_view_{view.name}", up, down

    def drop_view(self) -> tuple[str, list[str], list[str]]:
        if not self.views:
            raise Unavailable
        view = self.rng.choice(self.views)
        self.views.remove(view)
        return f"drop_view_{view.name}", [f"DROP VIEW {view.name}"], [view.sql]

    # functions: PL/pgSQL on PostgreSQL, BEGIN ... END on MySQL, macros on DuckDB
    def routine_create(self, routine: Routine, replace: bool = False) -> list[str]:
        name, k = routine.name, routine.constant
        if self.engine == "postgresql":
            head = "CREATE OR REPLACE FUNCTION" if replace else "CREATE FUNCTION"
            if routine.template == 0:
                return [
                    f"{head} {name}(p_amount numeric, p_rate numeric)\nRETURNS numeric\n"
                    "LANGUAGE plpgsql IMMUTABLE\nAS $$\nBEGIN\n"
                    f"  RETURN round(p_amount * p_rate * {k} / 100, 2);\nEND;\n$$"
                ]
            return [
                f"{head} {name}(p_qty integer)\nRETURNS text\nLANGUAGE plpgsql IMMUTABLE\n"
                f"AS $$\nBEGIN\n  IF p_qty > {k} THEN\n    RETURN 'bulk';\n  END IF;\n"
                "  RETURN 'single';\nEND;\n$$"
            ]
        if self.engine == "mysql":
            drop = [f"DROP FUNCTION {name}"] if replace else []
            if routine.template == 0:
                return [
                    *drop,
                    f"CREATE FUNCTION {name}(p_amount DECIMAL(12,2), p_rate DECIMAL(6,4))\n"
                    "RETURNS DECIMAL(12,2) DETERMINISTIC\nBEGIN\n"
                    "  DECLARE v_result DECIMAL(12,2);\n"
                    f"  SET v_result = ROUND(p_amount * p_rate * {k} / 100, 2);\n"
                    "  RETURN v_result;\nEND",
                ]
            return [
                *drop,
                f"CREATE FUNCTION {name}(p_qty INT)\nRETURNS VARCHAR(10) DETERMINISTIC\nBEGIN\n"
                f"  IF p_qty > {k} THEN\n    RETURN 'bulk';\n  END IF;\n  RETURN 'single';\nEND",
            ]
        if self.engine == "duckdb":
            head = "CREATE OR REPLACE MACRO" if replace else "CREATE MACRO"
            if routine.template == 0:
                return [
                    f"{head} {name}(p_amount, p_rate) AS round(p_amount * p_rate * {k} / 100, 2)"
                ]
            return [f"{head} {name}(p_qty) AS CASE WHEN p_qty > {k} THEN 'bulk' ELSE 'single' END"]
        raise Unavailable  # SQLite has no stored functions

    def routine_drop(self, routine: Routine) -> str:
        if self.engine == "postgresql":
            args = "numeric, numeric" if routine.template == 0 else "integer"
            return f"DROP FUNCTION {routine.name}({args})"
        if self.engine == "duckdb":
            return f"DROP MACRO {routine.name}"
        return f"DROP FUNCTION {routine.name}"

    def create_function(self) -> tuple[str, list[str], list[str]]:
        if self.engine == "sqlite":
            raise Unavailable
        template = self.rng.randrange(2)
        base = ("fn_apply_rate", "fn_quantity_band")[template]
        routine = Routine(self.fresh(base), template, self.rng.randint(2, 90))
        up = self.routine_create(routine)
        self.routines.append(routine)
        return f"create_function_{routine.name}", up, [self.routine_drop(routine)]

    def replace_function(self) -> tuple[str, list[str], list[str]]:
        if not self.routines:
            raise Unavailable
        routine = self.rng.choice(self.routines)
        down = self.routine_create(routine, replace=True)
        routine.constant = routine.constant + self.rng.randint(1, 9)
        up = self.routine_create(routine, replace=True)
        return f"update_function_{routine.name}", up, down

    def drop_function(self) -> tuple[str, list[str], list[str]]:
        if not self.routines:
            raise Unavailable
        routine = self.rng.choice(self.routines)
        self.routines.remove(routine)
        return (
            f"drop_function_{routine.name}",
            [self.routine_drop(routine)],
            self.routine_create(routine),
        )

    # -- the history
    def bootstrap(self) -> tuple[str, list[str], list[str]]:
        """PostgreSQL's first migration: the trigger function every updated_at uses."""
        up = [
            "CREATE FUNCTION set_updated_at()\nRETURNS trigger\nLANGUAGE plpgsql\nAS $$\n"
            "BEGIN\n  NEW.updated_at = now();\n  RETURN NEW;\nEND;\n$$"
        ]
        return "create_set_updated_at_function", up, ["DROP FUNCTION set_updated_at()"]

    def generate(self, count: int) -> list[Migration]:
        kinds = list(self.WEIGHTS)
        weights = [self.WEIGHTS[k] for k in kinds]
        while len(self.migrations) < count:
            version = len(self.migrations) + 1
            if version == 1 and self.engine == "postgresql":
                kind = "bootstrap"
            elif len(self.tables) < 6:
                kind = "create_table"
            else:
                kind = self.rng.choices(kinds, weights)[0]
            try:
                slug, up, down = getattr(self, kind)()
            except Unavailable:  # raised before the step changed the model
                continue
            for statement in up + down:
                # alembic's op.execute reads :name as a bound parameter, and PyMySQL formats %
                assert ":" not in statement and "%" not in statement, statement
            migration = Migration(version, slug[:80], kind, up, down)
            if kind == "drop_table":
                migration.dropped = slug.removeprefix("drop_")
            if kind == "rename_table":
                old, new = slug.removeprefix("rename_").split("_to_")
                migration.renamed = (old, new)
            self.migrations.append(migration)
        return self.migrations


def generate(engine: str, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> list[Migration]:
    """The history of ``count`` migrations for ``engine``; the same arguments, the same history."""
    if engine not in DIALECTS:
        raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
    return History(engine, seed).generate(count)


# -- writing it ---------------------------------------------------------------------------------
ALEMBIC_REVISION = '''\
"""{slug}"""

from alembic import op

revision = "{rev}"
down_revision = {down_rev}
branch_labels = None
depends_on = None


def upgrade():
{up}


def downgrade():
{down}
'''


@dataclass(frozen=True)
class RealWorldSet:
    """Where one engine's history lives, in dbmate's format and as alembic revisions."""

    engine: str
    count: int
    seed: int
    sql: Path  # NNNN_slug.sql, -- migrate:up / -- migrate:down: dbmate's and lamina's
    alembic_ini: Path
    migrations: tuple[Migration, ...]

    @property
    def width(self) -> int:
        return version_width(self.count)

    def rollback_target(self, n: int = ROLLBACK) -> int:
        """The version that stays applied when the last ``n`` are rolled back."""
        return max(0, self.count - n)

    def alembic_revision(self, version: int) -> str:
        return f"r{version:0{self.width}d}"

    def kinds(self, last: int | None = None) -> Counter[str]:
        chosen = self.migrations[-last:] if last else self.migrations
        return Counter(m.kind for m in chosen)


def version_width(count: int) -> int:
    return max(4, len(str(count)))


def sql_file(migration: Migration) -> str:
    """dbmate's format: each statement ends with ``;`` (dbmate sends the section as one
    multi-statement script; lamina splits it, dollar quotes and BEGIN ... END included)."""

    def section(statements: list[str]) -> str:
        return "".join(f"{s};\n" for s in statements)

    return f"-- migrate:up\n{section(migration.up)}\n-- migrate:down\n{section(migration.down)}"


def python_calls(statements: list[str]) -> str:
    lines = []
    for s in statements:
        if '"""' in s or "\\" in s:
            lines.append(f"    op.execute({s!r})")
        else:
            lines.append(f'    op.execute(\n        """\n{s}\n"""\n    )')
    return "\n".join(lines)


def write(
    root: Path, engine: str, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED
) -> RealWorldSet:
    """Write (once) one engine's history under ``root/<engine>-<count>-<seed>``."""
    from bench_sets import ALEMBIC_ENV, ALEMBIC_INI  # the same alembic env as run.py's

    migrations = generate(engine, count, seed)
    base = root / f"{engine}-{count}-{seed}"
    rws = RealWorldSet(
        engine, count, seed, base / "sql", base / "alembic" / "alembic.ini", tuple(migrations)
    )
    marker = base / ".complete"
    if marker.exists():
        return rws
    width = rws.width
    rws.sql.mkdir(parents=True, exist_ok=True)
    versions = rws.alembic_ini.parent / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    rws.alembic_ini.write_text(ALEMBIC_INI)
    (rws.alembic_ini.parent / "env.py").write_text(ALEMBIC_ENV)
    for m in migrations:
        stem = f"{m.version:0{width}d}_{m.slug}"
        (rws.sql / f"{stem}.sql").write_text(sql_file(m))
        rev = rws.alembic_revision(m.version)
        down_rev = "None" if m.version == 1 else repr(rws.alembic_revision(m.version - 1))
        text = ALEMBIC_REVISION.format(
            slug=m.slug,
            rev=rev,
            down_rev=down_rev,
            up=python_calls(m.up),
            down=python_calls(m.down),
        )
        (versions / f"{rev}_{m.slug}.py").write_text(text)
    marker.write_text("ok\n")
    return rws


def describe(rws: RealWorldSet) -> str:
    """One line per kind of step: how many in the whole history and in the last 100."""
    whole, last = rws.kinds(), rws.kinds(ROLLBACK)
    statements = sum(len(m.up) for m in rws.migrations)
    lines = [f"{rws.engine}: {rws.count} migrations, {statements} up statements (seed {rws.seed})"]
    for kind, n in whole.most_common():
        lines.append(f"  {kind:<18} {n:>4}   last {ROLLBACK}: {last.get(kind, 0)}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=ENGINES, action="append", help="repeatable (all)")
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, required=True, help="folder to write the sets into")
    args = parser.parse_args()
    for engine in args.engine or ENGINES:
        rws = write(args.out, engine, args.count, args.seed)
        print(describe(rws))
        print(f"  -> {rws.sql}\n  -> {rws.alembic_ini}")
    return 0


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
