"""``lamina generate --safe``: the same change written in the engine's safer forms.

:func:`safe_migration_sql` works on the two snapshots, as :func:`~lamina.schema.changes.
migration_sql` does, and knows what each statement is for before it is written:

- **PostgreSQL** splits the change into several migrations, so that no transaction holds a
  lock while it reads every row: indexes that go or change are dropped ``CONCURRENTLY`` first,
  one migration each (``-- transactional: false``, so a failure leaves nothing half-done);
  the rest of the change runs in one transaction, where a new
  foreign key or check on an existing table is added ``NOT VALID`` (instant) and a column
  that becomes NOT NULL gets a ``CHECK (col IS NOT NULL) NOT VALID`` instead; new indexes on
  existing tables are built ``CONCURRENTLY``, again one migration each; a last migration
  validates the constraints (reads and writes go on) and sets the NOT NULLs, which PostgreSQL
  12+ does without a scan once the validated check proves them, then drops those checks.
  The plain plan of the middle migration is :func:`migration_sql` between two intermediate
  snapshots, so everything else is written exactly as without ``--safe``.
- **MySQL and MariaDB** keep one migration and add ``ALGORITHM=INSTANT`` (or ``ALGORITHM=
  INPLACE, LOCK=NONE``) to each statement the server runs that way (:mod:`.safe_mysql`), so
  the server refuses the statement rather than copying the table or blocking writes.
- **SQLite and DuckDB** have no safer form: the plain migration, and a note saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from lamina.schema.changes import migration_sql
from lamina.schema.ddl.order import column_renames, renamed
from lamina.schema.ddl.postgres import PostgresRenderer
from lamina.schema.model import Column, ForeignKey, Index, Snapshot, Table

__all__ = ["SafePart", "SafeSql", "safe_migration_sql"]

_TITLES = {"sqlite": "SQLite", "duckdb": "DuckDB", "postgres": "PostgreSQL", "mysql": "MySQL"}
#: Why the validating migration has an empty down (a ``lamina:allow empty-down`` reason).
VALIDATED = "validating a foreign key changes no definition: there is nothing to undo"


@dataclass(frozen=True, slots=True)
class SafePart:
    """One migration of the safe form. ``suffix`` is added to the migration's name (empty for
    the main one); ``empty_down`` is the reason its down runs nothing, when it does not."""

    suffix: str
    up: tuple[str, ...]
    down: tuple[str, ...]
    transactional: bool = True
    empty_down: str | None = None


@dataclass(frozen=True, slots=True)
class SafeSql:
    """The migrations, in order, and what a reviewer must confirm (``notes``: the plain plan's
    notes, then what ``--safe`` did or could not do)."""

    parts: tuple[SafePart, ...]
    notes: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.parts


def safe_migration_sql(
    before: Snapshot,
    after: Snapshot,
    *,
    dialect: str,
    renames: Mapping[str, str] = {},
    server_version: tuple[int, ...] | None = None,
    flavor: str | None = None,
) -> SafeSql:
    """The change from ``before`` to ``after`` in the safer forms of ``dialect``'s engine.

    ``server_version`` and ``flavor`` (``mysql``/``mariadb``) are the target server's: MySQL's
    ``ALGORITHM=`` clauses depend on them, and none is written when they are unknown.

    Raises:
        ValueError: as :func:`migration_sql`.
    """
    plain = migration_sql(before, after, dialect=dialect, renames=renames)
    if plain.empty:
        return SafeSql((), ())
    if dialect == "postgres":
        return _Postgres(before, after, dict(renames), server_version).run(plain.notes)
    if dialect == "mysql":
        from lamina.schema.ddl.safe_mysql import with_algorithms

        return with_algorithms(before, after, dict(renames), plain, server_version, flavor)
    note = (
        f"--safe: {_TITLES.get(dialect, dialect)} has no safer form of these statements "
        "(no concurrent index builds, NOT VALID constraints or online ALTER options): "
        "the migration is the plain one"
    )
    return SafeSql((SafePart("", plain.up, plain.down),), (*plain.notes, note))


def _concurrently(create_index: str) -> str:
    """``CREATE [UNIQUE] INDEX name ...`` as built ``CONCURRENTLY`` (the renderer's form)."""
    head, sep, rest = create_index.partition("INDEX ")
    return f"{head}{sep}CONCURRENTLY {rest}"


@dataclass
class _Deferred:
    """What leaves one existing table's transaction for a migration of its own."""

    table: Table  # the table as the change leaves it
    indexes: list[Index]
    foreign_keys: list[ForeignKey]
    checks: list[str]
    not_null: list[Column]


class _Postgres:
    def __init__(
        self,
        before: Snapshot,
        after: Snapshot,
        renames: dict[str, str],
        version: tuple[int, ...] | None,
    ) -> None:
        self.before, self.after, self.renames, self.version = before, after, renames, version
        self.r = PostgresRenderer()
        tables = {o: n for o, n in renames.items() if "." not in o and before.table(o)}
        self.table_renames = {o: n for o, n in tables.items() if after.table(n)}
        columns = column_renames(renames, before, after, self.table_renames)
        self.virtual = renamed(before, self.table_renames, columns)

    def run(self, plain_notes: tuple[str, ...]) -> SafeSql:
        dropped = self._dropped_indexes()
        deferred = [d for d in map(self._deferred, self._existing()) if d is not None]
        start = self._without_indexes(dropped)
        middle = self._middle(deferred)
        main = migration_sql(start, middle, dialect="postgres", renames=self.renames)
        parts: list[SafePart] = []
        notes = list(plain_notes)
        for table, index in dropped:
            gone = f"DROP INDEX CONCURRENTLY {self.r.ident(index.name)}"
            back = _concurrently(self.r.create_index(table, index)[0])
            parts.append(SafePart(f"drop {index.name}", (gone,), (back,), transactional=False))
        adds, drops = self._not_valid(deferred)
        if main.up or adds:
            parts.append(SafePart("", (*main.up, *adds), (*drops[::-1], *main.down)))
            notes += [n for n in main.notes if n not in notes]
        built = [(d.table.name, i) for d in deferred for i in d.indexes]
        for table, index in built:
            made = _concurrently(self.r.create_index(table, index)[0])
            gone = f"DROP INDEX CONCURRENTLY {self.r.ident(index.name)}"
            parts.append(SafePart(f"index {index.name}", (made,), (gone,), transactional=False))
        if adds:
            parts.append(self._validate(deferred))
        if len(parts) == 1 and not dropped and not built and not adds:
            notes.append("--safe: nothing in this change has a safer PostgreSQL form")
        else:
            notes.append(
                f"--safe: written as {len(parts)} migrations, applied in order: each index built "
                "or dropped CONCURRENTLY in one of its own, outside a transaction; new "
                "constraints added NOT "
                "VALID and validated in a later migration, so no transaction holds a lock "
                "while it reads every row"
            )
        if any(d.not_null for d in deferred) and self.version and self.version < (12,):
            notes.append(
                "--safe: before PostgreSQL 12, SET NOT NULL scans the table even after the "
                "check is validated"
            )
        return SafeSql(tuple(parts), tuple(notes))

    # -- what moves out of the main transaction -------------------------------------------
    def _existing(self) -> list[tuple[Table, Table]]:
        """(the table as the renames leave it, as the change leaves it), for every table
        that exists before and after."""
        pairs = []
        for table in self.virtual.tables:
            new = self.after.table(table.name)
            if new is not None:
                pairs.append((table, new))
        return pairs

    def _dropped_indexes(self) -> list[tuple[str, Index]]:
        """(table as it is now, index) for indexes of kept tables that go or change."""
        found = []
        for old, virtual in zip(self.before.tables, self.virtual.tables, strict=True):
            new = self.after.table(virtual.name)
            if new is None:
                continue
            for index, moved in zip(old.indexes, virtual.indexes, strict=True):
                if new.index(moved.name) != moved:
                    found.append((old.name, index))
        return found

    def _referenced_unique(self, table: str, index: Index) -> bool:
        """A new unique index a foreign key of the new schema references: it must exist
        before that key is added, so it stays in the main migration."""
        return index.unique and any(
            fk.ref_table == table and tuple(fk.ref_columns) == tuple(index.columns)
            for t in self.after.tables
            for fk in t.foreign_keys
        )

    def _deferred(self, pair: tuple[Table, Table]) -> _Deferred | None:
        old, new = pair
        indexes = [
            i
            for i in new.indexes
            if old.index(i.name) != i and not self._referenced_unique(new.name, i)
        ]
        fks = [fk for fk in new.foreign_keys if fk not in old.foreign_keys]
        checks = [c for c in new.checks if c not in old.checks]
        not_null = []
        for column in new.columns:
            was = old.column(column.name)
            made = was is not None and was.nullable and not column.nullable
            if made and column.name not in new.primary_key:  # ADD PRIMARY KEY sets it itself
                not_null.append(column)
        if not (indexes or fks or checks or not_null):
            return None
        return _Deferred(new, indexes, fks, checks, not_null)

    def _without_indexes(self, dropped: list[tuple[str, Index]]) -> Snapshot:
        gone = set(dropped)
        tables = tuple(
            replace(t, indexes=tuple(i for i in t.indexes if (t.name, i) not in gone))
            for t in self.before.tables
        )
        return replace(self.before, tables=tables)

    def _middle(self, deferred: list[_Deferred]) -> Snapshot:
        """The schema the main migration leaves: the new one without what comes later."""
        later = {d.table.name: d for d in deferred}
        tables = []
        for table in self.after.tables:
            d = later.get(table.name)
            if d is None:
                tables.append(table)
                continue
            nullable = {c.name for c in d.not_null}
            tables.append(
                replace(
                    table,
                    indexes=tuple(i for i in table.indexes if i not in d.indexes),
                    foreign_keys=tuple(f for f in table.foreign_keys if f not in d.foreign_keys),
                    checks=tuple(c for c in table.checks if c not in d.checks),
                    columns=tuple(
                        replace(c, nullable=True) if c.name in nullable else c
                        for c in table.columns
                    ),
                )
            )
        return replace(self.after, tables=tuple(tables))

    # -- the statements ---------------------------------------------------------------------
    def _not_null_name(self, table: str, column: str) -> str:
        return f"{table}_{column}_not_null"[:63]

    def _constraints(self, d: _Deferred) -> list[tuple[str, str]]:
        """(name, definition) of each constraint added NOT VALID to ``d``'s table."""
        found = [
            (self.r.fk_name(d.table.name, fk), self.r.fk_clause(d.table.name, fk))
            for fk in d.foreign_keys
        ]
        found += [
            (self.r.check_name(d.table, c), self.r.check_clause(d.table, c)) for c in d.checks
        ]
        for column in d.not_null:
            name = self._not_null_name(d.table.name, column.name)
            check = f"CHECK ({self.r.ident(column.name)} IS NOT NULL)"
            found.append((name, f"CONSTRAINT {self.r.ident(name)} {check}"))
        return found

    def _not_valid(self, deferred: list[_Deferred]) -> tuple[list[str], list[str]]:
        """(the ADD ... NOT VALID statements, the DROP CONSTRAINTs that undo them)."""
        adds, drops = [], []
        for d in deferred:
            head = f"ALTER TABLE {self.r.ident(d.table.name)}"
            for name, clause in self._constraints(d):
                adds.append(f"{head} ADD {clause} NOT VALID")
                drops.append(f"{head} DROP CONSTRAINT {self.r.ident(name)}")
        return adds, drops

    def _validate(self, deferred: list[_Deferred]) -> SafePart:
        up: list[str] = []
        down: list[str] = []
        for d in deferred:
            head = f"ALTER TABLE {self.r.ident(d.table.name)}"
            up += [
                f"{head} VALIDATE CONSTRAINT {self.r.ident(name)}"
                for name, _ in self._constraints(d)
            ]
        for d in deferred:
            head = f"ALTER TABLE {self.r.ident(d.table.name)}"
            for check in d.checks:  # a snapshot tells a NOT VALID check from a valid one
                name = self.r.ident(self.r.check_name(d.table, check))
                down += [
                    f"{head} DROP CONSTRAINT {name}",
                    f"{head} ADD {self.r.check_clause(d.table, check)} NOT VALID",
                ]
            for column in d.not_null:
                name = self.r.ident(self._not_null_name(d.table.name, column.name))
                col = self.r.ident(column.name)
                up += [f"{head} ALTER COLUMN {col} SET NOT NULL", f"{head} DROP CONSTRAINT {name}"]
                down += [
                    f"{head} ADD CONSTRAINT {name} CHECK ({col} IS NOT NULL) NOT VALID",
                    f"{head} ALTER COLUMN {col} DROP NOT NULL",
                ]
        return SafePart("validate", tuple(up), tuple(down), empty_down=None if down else VALIDATED)
