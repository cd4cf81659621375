"""Rules for every engine. An engine's own safer way for one of them lives in that engine's
module (``ALTERNATIVES``), with the rest of what lamina knows about the engine."""

from __future__ import annotations

from lamina.risk.model import RiskLevel, RuleInfo

_SERVERS_AND_DUCKDB = ("duckdb", "postgres", "mysql")


#: The rules of every engine, in the order the docs present them.
ENTRIES: tuple[RuleInfo, ...] = (
    RuleInfo(
        "drop-table",
        RiskLevel.DANGER,
        "DROP TABLE on an existing table",
        "every row in the table is gone; rolling back cannot bring it back",
        "rename the table aside (or stop writing to it) first, and drop it in a later release",
    ),
    RuleInfo(
        "table-rebuild",
        RiskLevel.WARNING,
        "a table rebuilt by copy, drop and rename (SQLite's recipe for what ALTER TABLE cannot do)",
        "every row is copied while writes wait, and a column the copy leaves out is lost; the "
        "rows themselves are kept (a filtered copy is reported as drop-table)",
        "check that the copy names every column you mean to keep; on SQLite, let lamina turn "
        "foreign keys off around it (PRAGMA foreign_keys = OFF in the migration)",
    ),
    RuleInfo(
        "drop-column",
        RiskLevel.DANGER,
        "ALTER TABLE ... DROP COLUMN on an existing table",
        "the column's values are gone, and code still reading the column breaks",
        "stop using the column in code first, and drop it in a later release",
    ),
    RuleInfo(
        "drop-schema",
        RiskLevel.DANGER,
        "DROP SCHEMA or DROP DATABASE",
        "every table in it, with all its rows, is gone",
        "drop the objects one by one in reviewed migrations, after a backup",
        _SERVERS_AND_DUCKDB,
    ),
    RuleInfo(
        "truncate",
        RiskLevel.DANGER,
        "TRUNCATE TABLE",
        "removes every row at once; a down migration cannot restore them",
        "copy the rows aside first, or delete only the rows you mean with a WHERE clause",
        _SERVERS_AND_DUCKDB,
    ),
    RuleInfo(
        "delete-without-where",
        RiskLevel.DANGER,
        "DELETE without a WHERE clause",
        "removes every row of the table, which is rarely what a migration means",
        "add a WHERE clause naming the rows to delete, and delete in batches",
    ),
    RuleInfo(
        "update-without-where",
        RiskLevel.DANGER,
        "UPDATE without a WHERE clause on existing columns",
        "overwrites a value in every row: the old values are lost and a down cannot restore "
        "them (backfilling a column the same migration added is not reported)",
        "add a WHERE clause, update in batches that each commit (a migration marked "
        "`-- transactional: false`), and keep the old values if a rollback needs them",
    ),
    RuleInfo(
        "column-type-change",
        RiskLevel.WARNING,
        "changing a column's type (ALTER COLUMN ... TYPE, MODIFY COLUMN, CHANGE COLUMN)",
        "most type changes rewrite the whole table under a lock that blocks writes, can fail on "
        "values that do not convert, and break code that expects the old type",
        "add a column of the new type, backfill it in batches in a separate migration, switch "
        "the code, then drop the old column in a later release",
        _SERVERS_AND_DUCKDB,
    ),
    RuleInfo(
        "rename-table",
        RiskLevel.WARNING,
        "renaming a table",
        "code that is still running uses the old name and fails until it is deployed again",
        "create the new table (or a view with the new name) while the old name still works, "
        "move the code over, and remove the old name in a later release",
    ),
    RuleInfo(
        "rename-column",
        RiskLevel.WARNING,
        "renaming a column",
        "code that is still running reads and writes the old name and fails",
        "add the new column, write both, backfill, move reads over, and drop the old column in "
        "a later release",
    ),
    RuleInfo(
        "add-not-null-column-without-default",
        RiskLevel.WARNING,
        "ADD COLUMN ... NOT NULL without a DEFAULT on an existing table",
        "PostgreSQL and DuckDB refuse it as soon as the table has a row; MySQL fills "
        "existing rows with the type's implicit default (0, '') and then rejects INSERTs that "
        "leave the column out",
        "add the column with a DEFAULT; or add it nullable, backfill it in a separate "
        "migration, and make it NOT NULL in a third",
    ),
    RuleInfo(
        "set-not-null",
        RiskLevel.WARNING,
        "ALTER COLUMN ... SET NOT NULL on an existing table",
        "every row is scanned under an exclusive lock, and the statement fails on any NULL",
        "backfill the NULLs first, in a separate migration",
        ("duckdb", "postgres"),
    ),
    RuleInfo(
        "add-foreign-key",
        RiskLevel.WARNING,
        "adding a FOREIGN KEY that validates every existing row",
        "the check of every row holds locks that block writes to both tables for its whole "
        "duration, and fails on any orphan row",
        "add the constraint without validation, then validate it in a separate migration",
        ("postgres", "mysql"),
    ),
    RuleInfo(
        "add-check",
        RiskLevel.WARNING,
        "adding a CHECK constraint that validates every existing row",
        "every row is checked under a lock that blocks writes (PostgreSQL) or the table is "
        "copied (MySQL), and the statement fails on any row that violates it",
        "add the constraint without validation, then validate it in a separate migration",
        ("postgres", "mysql"),
    ),
    RuleInfo(
        "add-unique-constraint",
        RiskLevel.WARNING,
        "adding a UNIQUE constraint or CREATE UNIQUE INDEX on an existing table",
        "builds an index over every row and fails on the first duplicate",
        "look for duplicates with a GROUP BY ... HAVING count(*) > 1 query first",
    ),
    RuleInfo(
        "change-primary-key",
        RiskLevel.WARNING,
        "adding or dropping the PRIMARY KEY of an existing table",
        "rebuilds the table's main index (MySQL rewrites the whole table), fails on duplicates "
        "or NULLs, and breaks foreign keys and replication that rely on the key",
        "add the new key in a dedicated migration after checking for duplicates and NULLs",
        _SERVERS_AND_DUCKDB,
    ),
    RuleInfo(
        "unparsed-sql",
        RiskLevel.WARNING,
        "a statement lamina cannot analyse",
        "sqlglot could not parse it, or read it only as an opaque command: unknown risk is not "
        "low risk",
        "review it by hand; if it is safe, allow it with `-- lamina:allow unparsed-sql <why>`",
    ),
    RuleInfo(
        "data-migration",
        RiskLevel.DANGER,
        "a migration in the `data` category (a warning on up, danger on down)",
        "it changes rows, not only schema: reverting it may lose rows it wrote or that were "
        "changed since",
        "test it on a copy of production-sized data; batch large updates in a migration marked "
        "`-- transactional: false`, so each batch commits (inside one transaction every lock "
        "is held until the end); take a backup before reverting it",
    ),
    RuleInfo(
        "missing-down",
        RiskLevel.DANGER,
        "a migration without a down",
        "it cannot be rolled back",
        "add a down() method / `-- migrate:down` section that reverts the up",
    ),
    RuleInfo(
        "empty-down",
        RiskLevel.WARNING,
        "a down that runs no statement",
        "rolling back records the migration as reverted while its changes stay, so applying it "
        "again can fail or apply twice",
        "write the statements that revert the up, or allow the rule with the reason nothing "
        "needs reverting",
    ),
    RuleInfo(
        "down-loses-data",
        RiskLevel.DANGER,
        "a down that drops a table or column its up created",
        "once the migration has run, rows are written there; rolling back destroys them",
        "take a backup before rolling back, or roll forward with a new migration instead",
    ),
)
