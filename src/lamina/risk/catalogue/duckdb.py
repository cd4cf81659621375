"""Rules that only DuckDB needs: the ALTER TABLE forms it refuses, on every table or on tables
an index or a foreign key depends on, and what it cannot run inside a transaction."""

from __future__ import annotations

from lamina.risk.model import RiskLevel, RuleInfo

_DUCKDB = ("duckdb",)

#: DuckDB's way to make a change its ALTER TABLE refuses, verified inside one transaction.
REBUILD_ADVICE = (
    "rebuild the table in one migration: CREATE TABLE new_t with the new definition; INSERT "
    "INTO new_t SELECT ... FROM t; DROP TABLE t; ALTER TABLE new_t RENAME TO t; then create "
    "t's indexes again (after the rename: DuckDB refuses to rename a table that has an index)"
)

#: DuckDB's way around a foreign key that points at the table, verified in one transaction.
MOVE_REFERENCING_ASIDE = (
    "in one migration, copy each referencing table aside (CREATE TABLE orders_copy AS SELECT * "
    "FROM orders), drop it, change this table, create the referencing table again with its "
    "foreign key and indexes, refill it (INSERT INTO orders SELECT * FROM orders_copy) and drop "
    "the copy"
)

#: DuckDB's own rules.
ENTRIES: tuple[RuleInfo, ...] = (
    RuleInfo(
        "duckdb-unsupported",
        RiskLevel.DANGER,
        "an ALTER TABLE form DuckDB does not support: ADD FOREIGN KEY, ADD CHECK, DROP "
        "CONSTRAINT, ADD COLUMN with PRIMARY KEY, CHECK, REFERENCES or a generated column, or "
        "several changes in one statement",
        "DuckDB refuses it on every table ('not implemented', 'not supported yet'): the "
        "migration stops and rolls back",
        REBUILD_ADVICE,
        _DUCKDB,
    ),
    RuleInfo(
        "duckdb-alter-indexed-table",
        RiskLevel.DANGER,
        "ALTER TABLE on a DuckDB table that has an index",
        "DuckDB refuses most ALTER TABLE forms on a table with an index (CREATE INDEX): "
        "'Dependency Error: Cannot alter entry ... because there are entries that depend on "
        "it'; the migration stops and rolls back. Adding a nullable column and SET/DROP "
        "DEFAULT still work",
        "drop the index, alter the table, and create the index again in the same migration; "
        "DuckDB refuses to drop or retype a column the index covered even then, in the "
        "transaction that dropped the index: for that, " + REBUILD_ADVICE,
        _DUCKDB,
    ),
    RuleInfo(
        "duckdb-alter-referenced-table",
        RiskLevel.DANGER,
        "ALTER TABLE or DROP TABLE on a DuckDB table another table's foreign key references",
        "DuckDB refuses most ALTER TABLE forms on a table a foreign key points at "
        "('Dependency Error: Cannot alter entry ...'), and refuses to drop it ('Could not drop "
        "the table because this table is main key table'); the migration stops and rolls "
        "back. Adding a nullable column and SET/DROP DEFAULT still work",
        MOVE_REFERENCING_ASIDE,
        _DUCKDB,
    ),
    RuleInfo(
        "duckdb-not-in-transaction",
        RiskLevel.DANGER,
        "CHECKPOINT or FORCE CHECKPOINT in a transactional DuckDB migration",
        "DuckDB refuses to checkpoint inside a transaction that has changes, so lamina refuses "
        "the migration before it starts",
        "run it in a migration of its own marked `-- transactional: false` (`transactional = "
        "False` in Python), or leave it to DuckDB's automatic checkpoints",
        _DUCKDB,
    ),
)

#: General rules' safer way on this engine, by rule id (merged into the catalogue).
ALTERNATIVES: dict[str, str] = {}

#: General rules that do not apply on this engine, because one of its own rules above judges
#: the same statements with what the engine really does.
REPLACES: frozenset[str] = frozenset()
