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
