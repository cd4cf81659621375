"""Rules that only PostgreSQL needs: its locks, its concurrent index builds, its catalog."""

from __future__ import annotations

from lamina.risk.model import RiskLevel, RuleInfo

_PG = ("postgres",)


#: PostgreSQL's own rules.
ENTRIES: tuple[RuleInfo, ...] = (
    RuleInfo(
        "create-index-not-concurrently",
        RiskLevel.WARNING,
        "CREATE INDEX without CONCURRENTLY on an existing PostgreSQL table",
        "the build blocks every write to the table until it finishes",
        "CREATE INDEX CONCURRENTLY, in a migration marked `-- transactional: false` (it cannot "
        "run inside a transaction)",
        _PG,
    ),
    RuleInfo(
        "drop-index-not-concurrently",
        RiskLevel.WARNING,
        "DROP INDEX without CONCURRENTLY on PostgreSQL",
        "takes an ACCESS EXCLUSIVE lock on the index's table: reads and writes wait",
        "DROP INDEX CONCURRENTLY, in a migration marked `-- transactional: false`",
        _PG,
    ),
    RuleInfo(
        "concurrent-index",
        RiskLevel.INFO,
        "CREATE or DROP INDEX CONCURRENTLY",
        "it cannot run inside a transaction, and a build that fails leaves an INVALID index behind",
        "mark the migration `-- transactional: false`, keep the statement alone in it, and use "
        "IF NOT EXISTS / DROP INDEX CONCURRENTLY IF EXISTS so a retry works",
        _PG,
    ),
)

#: General rules' safer way on this engine, by rule id (merged into the catalogue).
ALTERNATIVES: dict[str, str] = {
    "column-type-change": (
        "PostgreSQL rewrites the table under an ACCESS EXCLUSIVE lock unless the change "
        "is binary-compatible (varchar(n) to text, widening varchar(n)); otherwise add a "
        "new column, backfill it in batches, switch the code, and drop the old column"
    ),
    "set-not-null": (
        "backfill the NULLs, add CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT "
        "(which does not block writes), then SET NOT NULL (PostgreSQL 12+ skips the scan "
        "when a valid CHECK proves it) and drop the CHECK"
    ),
    "add-foreign-key": (
        "ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID (instant), then ALTER TABLE ... "
        "VALIDATE CONSTRAINT ..., which does not block writes"
    ),
    "add-check": (
        "ADD CONSTRAINT ... CHECK (...) NOT VALID (instant), then ALTER TABLE ... "
        "VALIDATE CONSTRAINT ..., which does not block writes"
    ),
    "add-unique-constraint": (
        "CREATE UNIQUE INDEX CONCURRENTLY (in a `-- transactional: false` migration), "
        "then ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX ..."
    ),
    "change-primary-key": (
        "CREATE UNIQUE INDEX CONCURRENTLY on the key columns first, then ALTER TABLE ... "
        "ADD CONSTRAINT ... PRIMARY KEY USING INDEX ..."
    ),
}

#: General rules that do not apply on this engine, because one of its own rules above judges
#: the same statements with what the engine really does.
REPLACES: frozenset[str] = frozenset()
