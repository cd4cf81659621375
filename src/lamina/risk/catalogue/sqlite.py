"""Rules that only SQLite needs: what its ALTER TABLE and transactions refuse."""

from __future__ import annotations

from lamina.risk.model import RiskLevel, RuleInfo

_SQLITE = ("sqlite",)

#: SQLite's recipe for every change its ALTER TABLE cannot make, as lamina runs it.
REBUILD_ADVICE = (
    "rebuild the table in one migration: PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table "
    "= ON (views and triggers that name t would otherwise stop the rename); CREATE TABLE new_t "
    "with the new definition; INSERT INTO new_t (columns) SELECT columns FROM t; DROP TABLE t; "
    "ALTER TABLE new_t RENAME TO t; create t's indexes and triggers again; PRAGMA "
    "legacy_alter_table = OFF; PRAGMA foreign_key_check; PRAGMA foreign_keys = ON (lamina "
    "turns foreign keys off before the migration's transaction opens, so the DROP cascades "
    "nothing, and checks them before it commits)"
)

#: What to do with a statement SQLite cannot run inside a transaction.
OUTSIDE_A_TRANSACTION = (
    "run it in a migration of its own marked `-- transactional: false` (`transactional = False` "
    "in Python)"
)

#: SQLite's own rules.
ENTRIES: tuple[RuleInfo, ...] = (
    RuleInfo(
        "sqlite-unsupported",
        RiskLevel.DANGER,
        "a statement SQLite refuses: an ALTER TABLE form it does not have, or TRUNCATE",
        "SQLite's ALTER TABLE only renames a table, renames a column (3.25+), drops a column "
        "(3.35+), and adds a column without UNIQUE or PRIMARY KEY, with a constant default, "
        "NOT NULL only with a non-NULL default; anything else, one change per statement, and "
        "TRUNCATE fail: the migration stops and rolls back",
        REBUILD_ADVICE,
        _SQLITE,
    ),
    RuleInfo(
        "sqlite-not-in-transaction",
        RiskLevel.DANGER,
        "VACUUM, or a PRAGMA SQLite ignores or refuses inside a transaction, in a transactional "
        "migration",
        "SQLite cannot VACUUM inside a transaction and ignores or refuses these settings there "
        "(journal_mode, synchronous, page_size, auto_vacuum, encoding, wal_checkpoint): lamina "
        "refuses the migration before it starts",
        OUTSIDE_A_TRANSACTION,
        _SQLITE,
    ),
)

#: General rules' safer way on this engine, by rule id (merged into the catalogue).
ALTERNATIVES: dict[str, str] = {
    "drop-column": (
        "stop using the column in code first, and drop it in a later release. SQLite before "
        "3.35 has no DROP COLUMN, and no SQLite drops a column that is indexed, UNIQUE, the "
        "PRIMARY KEY, named by a table's FOREIGN KEY or CHECK clause, or used by a generated "
        "column, a trigger or a view: drop those first, or rebuild the table"
    ),
    "rename-column": (
        "add the new column, write both, backfill, move reads over, and drop the old column in "
        "a later release (SQLite before 3.25 has no RENAME COLUMN: it needs a table rebuild)"
    ),
    "add-unique-constraint": (
        "look for duplicates with a GROUP BY ... HAVING count(*) > 1 query first; on SQLite "
        "CREATE UNIQUE INDEX is the only way to add uniqueness without rebuilding the table"
    ),
}

#: General rules that do not apply on this engine, because one of its own rules above judges
#: the same statements with what the engine really does.
REPLACES: frozenset[str] = frozenset(
    {
        # sqlite-unsupported judges it with the table's rows: SQLite refuses it once the
        # table has one, and also refuses forms the general rule does not know.
        "add-not-null-column-without-default",
    }
)
