"""lamina's own tables, declared once, and every statement lamina runs on them.

:data:`TABLES` declares the three tables: each column's name, logical :class:`Kind`,
nullability, key, default and the layout it arrived in. From that declaration come each
engine's ``CREATE TABLE`` statements (:func:`create_statements`, in the spelling of the
backend's :class:`~lamina.engines.base.HistoryTypes`), the ``ALTER TABLE ... ADD COLUMN``
statements that upgrade an older layout (:func:`upgrade_statements`), the probe that checks
every column exists, and the ``SELECT``/``INSERT``/``UPDATE`` statements of
:class:`lamina.history.History`. A column named in a statement but not declared fails at
import.

Column names avoid words some engine reserves (``at``, ``key``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from lamina.engines.base import HistoryTypes

__all__ = [
    "LAYOUT_VERSION",
    "OLDEST_LAYOUT",
    "TABLES",
    "Column",
    "Kind",
    "Table",
    "create_statements",
    "upgrade_statements",
]

#: The layout this lamina writes: the version stored under ``layout_version`` in ``lamina_meta``.
LAYOUT_VERSION = 3
#: The oldest layout this lamina still reads and upgrades in place.
OLDEST_LAYOUT = 1


class Kind(StrEnum):
    """A column's logical type; each engine spells it (:class:`HistoryTypes`)."""

    TEXT = "text"
    #: Text of any length (MySQL's ``TEXT`` stops at 64 KB: the schema snapshot needs more).
    LONG_TEXT = "long_text"
    #: Text of at most :attr:`Column.length` characters.
    STRING = "string"
    INTEGER = "integer"
    BIG_INTEGER = "big_integer"
    #: A UTC time as fixed-width ISO 8601 text (``History.now``).
    TIMESTAMP = "timestamp"
    #: An auto-increment primary key (its spelling includes the key and NOT NULL).
    SEQUENCE_KEY = "sequence_key"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of one of lamina's tables.

    Attributes:
        name: the column name.
        kind: its logical type.
        length: the maximum length of a :attr:`Kind.STRING` (and of nothing else).
        nullable: whether it takes NULL.
        primary_key: whether it is the table's primary key.
        default: a SQL literal, the value of rows that predate the column.
        since: the layout version the column arrived in; a later one is added to older
            tables by ``ALTER TABLE ... ADD COLUMN``, so it must be nullable or have a default.
        widened: the layout version that last widened its type; older tables get the type
            again where the engine spelled it narrower (``HistoryTypes.retype``).
    """

    name: str
    kind: Kind
    length: int | None = None
    nullable: bool = False
    primary_key: bool = False
    default: str | None = None
    since: int = OLDEST_LAYOUT
    widened: int = OLDEST_LAYOUT

    def __post_init__(self) -> None:
        if (self.kind is Kind.STRING) != (self.length is not None):
            raise ValueError(f"{self.name}: a length is for (and required by) string columns")
        if self.kind is Kind.SEQUENCE_KEY and (
            self.nullable or not self.primary_key or self.default is not None
        ):
            # (so never added by an upgrade, which would have to create its sequence)
            raise ValueError(f"{self.name}: a sequence key is the non-null primary key")
        if not OLDEST_LAYOUT <= self.since <= LAYOUT_VERSION:
            raise ValueError(f"{self.name}: no layout {self.since}")
        if self.since > OLDEST_LAYOUT and not (self.nullable or self.default is not None):
            raise ValueError(f"{self.name}: a column added later needs NULL or a default")

    def definition(self, table: str, types: HistoryTypes) -> str:
        """The column as ``CREATE TABLE`` and ``ADD COLUMN`` spell it on an engine."""
        if self.kind is Kind.SEQUENCE_KEY:
            return f"{self.name} {types.sequence_key.format(sequence=sequence_of(table, self))}"
        parts = [self.name, self._type(types)]
        if not self.nullable:
            parts.append("NOT NULL")
        if self.default is not None:
            parts.append(f"DEFAULT {self.default}")
        if self.primary_key:
            parts.append("PRIMARY KEY")
        return " ".join(parts)

    def _type(self, types: HistoryTypes) -> str:
        spelling = {
            Kind.TEXT: types.text,
            Kind.LONG_TEXT: types.long_text,
            Kind.STRING: types.string.format(length=self.length),
            Kind.INTEGER: types.integer,
            Kind.BIG_INTEGER: types.big_integer,
            Kind.TIMESTAMP: types.timestamp,
            Kind.SEQUENCE_KEY: types.sequence_key,
        }
        return spelling[self.kind]


def sequence_of(table: str, column: Column) -> str:
    """The name of the sequence behind ``column`` where the engine needs one (DuckDB)."""
    return f"{table}_{column.name}"


@dataclass(frozen=True, slots=True)
class Table:
    """One of lamina's tables: its name and its columns, in ``CREATE TABLE`` order."""

    name: str
    columns: tuple[Column, ...]

    def names(self, layout: int = LAYOUT_VERSION) -> tuple[str, ...]:
        """The names of the columns a table of ``layout`` has."""
        return tuple(column.name for column in self.columns if column.since <= layout)

    def create(self, types: HistoryTypes) -> tuple[str, ...]:
        """The statements creating the table on an engine: its ``CREATE TABLE`` is last."""
        before = tuple(
            types.sequence_ddl.format(sequence=sequence_of(self.name, column))
            for column in self.columns
            if column.kind is Kind.SEQUENCE_KEY and types.sequence_ddl is not None
        )
        columns = ", ".join(column.definition(self.name, types) for column in self.columns)
        return (*before, f"CREATE TABLE {self.name} ({columns})")

    def added(self, types: HistoryTypes, layout: int) -> tuple[tuple[str, str], ...]:
        """(column, ``ALTER TABLE ... ADD COLUMN``) for each column newer than ``layout``."""
        return tuple(
            (
                column.name,
                f"ALTER TABLE {self.name} ADD COLUMN {column.definition(self.name, types)}",
            )
            for column in self.columns
            if column.since > layout
        )

    def retyped(self, types: HistoryTypes, layout: int) -> tuple[str, ...]:
        """The statements widening each column a layout newer than ``layout`` widened."""
        if types.retype is None:
            return ()
        return tuple(
            types.retype.format(table=self.name, definition=column.definition(self.name, types))
            for column in self.columns
            if column.since <= layout < column.widened
        )

    def check(self, columns: Sequence[str]) -> Sequence[str]:
        """``columns``, once each is known to be declared (names in SQL come only from here)."""
        unknown = [column for column in columns if column not in self.names()]
        if unknown:
            raise ValueError(f"{self.name} declares no column {', '.join(unknown)}")
        return columns


MIGRATIONS = "lamina_migrations"
LOG = "lamina_migration_log"
META = "lamina_meta"
LAYOUT_KEY = "layout_version"

#: lamina's tables, in the order they are declared (creation puts ``lamina_migrations`` last).
TABLES: Mapping[str, Table] = {
    table.name: table
    for table in (
        # One row per applied migration; since layout 2 also the dirty ones (``state``
        # running/failed) that stopped half-way outside a transaction.
        Table(
            MIGRATIONS,
            (
                Column("id", Kind.STRING, 255, primary_key=True),
                Column("version", Kind.BIG_INTEGER),
                Column("name", Kind.TEXT),
                Column("category", Kind.STRING, 32),
                Column("checksum", Kind.STRING, 100),
                Column("applied_at", Kind.TIMESTAMP),
                Column("execution_ms", Kind.INTEGER),
                Column("applied_by", Kind.STRING, 255),
                Column("host", Kind.STRING, 255),
                # Layout 2: the dirty state of a half-run migration, and the digest of the
                # schema a run left behind (drift detection).
                Column("state", Kind.STRING, 16, default="'applied'", since=2),
                Column("failed_statement", Kind.INTEGER, nullable=True, since=2),
                Column("detail", Kind.TEXT, nullable=True, since=2),
                Column("schema_hash", Kind.STRING, 80, nullable=True, since=2),
            ),
        ),
        # Append-only audit log: apply, rollback, fail, force.
        Table(
            LOG,
            (
                Column("seq", Kind.SEQUENCE_KEY, primary_key=True),
                Column("logged_at", Kind.TIMESTAMP),
                Column("action", Kind.STRING, 16),
                Column("migration_id", Kind.STRING, 255, nullable=True),
                Column("version", Kind.BIG_INTEGER, nullable=True),
                Column("applied_by", Kind.STRING, 255),
                Column("host", Kind.STRING, 255),
                Column("duration_ms", Kind.INTEGER, nullable=True),
                Column("detail", Kind.TEXT, nullable=True),
            ),
        ),
        # Name/value pairs; ``layout_version`` names the layout of the tables, so a later
        # lamina can upgrade them and an older one refuses to touch them.
        Table(
            META,
            (
                Column("name", Kind.STRING, 64, primary_key=True),
                # Layout 3: LONGTEXT on MySQL (its TEXT cut the schema snapshot at 64 KB)
                Column("value", Kind.LONG_TEXT, widened=3),
            ),
        ),
    )
}


#: Progress of batched migrations (:mod:`lamina.backfill`): one row per backfill under way,
#: written in each batch's transaction. Outside :data:`TABLES`: created by the first backfill
#: (``CREATE TABLE IF NOT EXISTS``), which is the upgrade path of every existing database, and
#: never required by the layout check, so a database that never ran one does not miss it.
BACKFILLS = "lamina_backfills"
BACKFILL_TABLE = Table(
    BACKFILLS,
    (
        Column("migration_id", Kind.STRING, 255, primary_key=True),
        Column("direction", Kind.STRING, 8),
        Column("next_key", Kind.BIG_INTEGER, nullable=True),
        Column("upper_key", Kind.BIG_INTEGER, nullable=True),
        Column("rows_total", Kind.BIG_INTEGER),
        Column("rows_done", Kind.BIG_INTEGER),
        Column("batches", Kind.BIG_INTEGER),
        Column("elapsed_ms", Kind.BIG_INTEGER),
        Column("batch_size", Kind.BIG_INTEGER),
        Column("started_at", Kind.TIMESTAMP),
        Column("updated_at", Kind.TIMESTAMP),
    ),
)


def create_statements(types: HistoryTypes) -> dict[str, tuple[str, ...]]:
    """Each table's creating statements on an engine that spells types as ``types``."""
    return {name: table.create(types) for name, table in TABLES.items()}


def retype_statements(types: HistoryTypes, layout: int) -> tuple[str, ...]:
    """The statements widening the columns of tables of ``layout`` (none on most engines)."""
    return tuple(
        statement for table in TABLES.values() for statement in table.retyped(types, layout)
    )


def upgrade_statements(types: HistoryTypes, layout: int) -> tuple[tuple[str, str, str], ...]:
    """(table, column, ``ALTER TABLE ... ADD COLUMN``) taking tables of ``layout`` to
    :data:`LAYOUT_VERSION`, in declaration order."""
    return tuple(
        (name, column, statement)
        for name, table in TABLES.items()
        for column, statement in table.added(types, layout)
    )


# -- the statements History runs (``?`` placeholders, rewritten by ``Backend.sql``) ---------------
def _select(table: str, columns: Sequence[str]) -> str:
    return f"SELECT {', '.join(TABLES[table].check(columns))} FROM {table}"


def _insert(table: str, columns: Sequence[str] | None = None) -> str:
    """INSERT of ``columns`` (default: every column but the sequence key) as parameters."""
    declared = TABLES[table]
    if columns is None:
        columns = [c.name for c in declared.columns if c.kind is not Kind.SEQUENCE_KEY]
    marks = ", ".join("?" for _ in declared.check(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def _update(table: str, assignments: Mapping[str, str], where: Sequence[str]) -> str:
    """UPDATE setting each column to its SQL (``?`` for a parameter), where each of ``where``
    equals a parameter."""
    TABLES[table].check([*assignments, *where])
    sets = ", ".join(f"{column} = {value}" for column, value in assignments.items())
    conditions = " AND ".join(f"{column} = ?" for column in where)
    return f"UPDATE {table} SET {sets} WHERE {conditions}"


_MIGRATION_COLUMNS = TABLES[MIGRATIONS].names()
_MIGRATION_COLUMNS_V1 = TABLES[MIGRATIONS].names(OLDEST_LAYOUT)
_LOG_COLUMNS = TABLES[LOG].names()
#: Every table's columns in the current layout (what the diagnosis looks for).
_COLUMNS = {name: table.names() for name, table in TABLES.items()}

_LAYOUT = f"{_select(META, ['value'])} WHERE name = ?"
# One round trip that reads the layout and fails unless every expected column exists (the
# layout read itself covers lamina_meta's).
_PROBE = f"SELECT ({_LAYOUT}), " + ", ".join(
    f"(SELECT COUNT(*) FROM ({_select(name, _COLUMNS[name])} WHERE 1 = 0) AS {alias})"
    for name, alias in ((MIGRATIONS, "m"), (LOG, "l"))
)


# Reads join the layout version onto every row, so one round trip both checks the layout and
# fetches the rows. The LEFT JOIN still yields one (all-NULL) row when the table is empty.
def _read_with_layout(table: str, columns: Sequence[str], order: str) -> str:
    picked = ", ".join(f"t.{column}" for column in TABLES[table].check(columns))
    return (
        f"SELECT layout.value, {picked} FROM ({_LAYOUT}) AS layout "
        f"LEFT JOIN {table} AS t ON 1 = 1 ORDER BY {order}"
    )


_APPLIED = _read_with_layout(MIGRATIONS, _MIGRATION_COLUMNS, "t.applied_at, t.version")
_APPLIED_V1 = _read_with_layout(MIGRATIONS, _MIGRATION_COLUMNS_V1, "t.applied_at, t.version")
_EVENTS = _read_with_layout(LOG, _LOG_COLUMNS, "t.seq DESC")
_RECORD_APPLY = _insert(MIGRATIONS)
_RECORD_ROLLBACK = f"DELETE FROM {MIGRATIONS} WHERE id = ?"
_FINISH_APPLY = _update(
    MIGRATIONS,
    {
        "state": "'applied'",
        "failed_statement": "NULL",
        "detail": "NULL",
        **dict.fromkeys(("checksum", "applied_at", "execution_ms", "applied_by", "host"), "?"),
    },
    ["id"],
)
_MARK = _update(MIGRATIONS, dict.fromkeys(("state", "failed_statement", "detail"), "?"), ["id"])
_SET_CHECKSUM = f"{_update(MIGRATIONS, {'checksum': '?'}, ['id'])} AND state = 'applied'"
_SET_LAYOUT_VALUE = _update(META, {"value": "?"}, ["name"])
_SET_HASH = _update(MIGRATIONS, {"schema_hash": "?"}, ["id"])
_DELETE_META = f"DELETE FROM {META} WHERE name = ?"
_META_VALUES = f"{_select(META, ['name', 'value'])} WHERE name IN (?, ?, ?)"
_META_VALUE = f"{_select(META, ['value'])} WHERE name = ?"
SNAPSHOT_KEY = "schema_snapshot"
DIGEST_KEY = "schema_digest"
#: The newest applied migration when the snapshot was taken ("" for none): a snapshot is
#: only a baseline for drift while history still ends there.
SNAPSHOT_OF_KEY = "schema_snapshot_of"
#: The engine's fingerprint of the raw catalog when the snapshot was taken ("" for none).
FINGERPRINT_KEY = "schema_fingerprint"
_AUDIT = _insert(LOG)
_SET_LAYOUT = _insert(META)

_RESTORE_HINT = (
    "lamina's tables were changed outside lamina; restore them from a backup of this database"
)
