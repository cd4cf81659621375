"""Rules that only PostgreSQL needs: its locks, its concurrent builds, what its transaction
blocks refuse, and what a lock held until the end of a migration's transaction does.

The lock modes the messages quote are data too, in :mod:`lamina.risk.rules.locks` (``LOCKS``),
checked against a real server by ``tests/risk/test_postgres_locks.py``.
"""

from __future__ import annotations

from lamina.risk.model import RiskLevel, RuleInfo

_PG = ("postgres",)

#: How to run what PostgreSQL refuses inside a transaction block, within lamina.
ALONE_WITHOUT_TRANSACTION = (
    "mark the migration `-- transactional: false` (`transactional = False` in a Python "
    "migration) and keep this statement alone in it, so no other statement loses the "
    "protection of a transaction"
)

#: Why a second step must not share the first one's transaction, for the advice below.
_SEPARATE = "in a separate migration (each migration commits when it ends)"


_INDEXES: tuple[RuleInfo, ...] = (
    RuleInfo(
        "create-index-not-concurrently",
        RiskLevel.WARNING,
        "CREATE INDEX without CONCURRENTLY on an existing PostgreSQL table",
        "the build holds a SHARE lock that blocks every write to the table until it finishes",
        "CREATE INDEX CONCURRENTLY, alone in a migration of its own marked "
        "`-- transactional: false` (it cannot run inside a transaction)",
        _PG,
    ),
    RuleInfo(
        "drop-index-not-concurrently",
        RiskLevel.WARNING,
        "DROP INDEX without CONCURRENTLY on PostgreSQL",
        "takes an ACCESS EXCLUSIVE lock on the index's table: reads and writes wait",
        "DROP INDEX CONCURRENTLY, alone in a migration marked `-- transactional: false`",
        _PG,
    ),
    RuleInfo(
        "concurrent-index",
        RiskLevel.INFO,
        "CREATE, DROP or REINDEX ... CONCURRENTLY in a migration that runs without a transaction",
        "a concurrent build or drop that fails (a duplicate, a deadlock, a cancelled "
        "statement) leaves an INVALID index behind that still slows writes",
        "keep the statement alone in its migration, use IF NOT EXISTS / DROP INDEX "
        "CONCURRENTLY IF EXISTS so a retry works, and drop a leftover INVALID index before "
        "retrying",
        _PG,
    ),
    RuleInfo(
        "reindex-not-concurrently",
        RiskLevel.WARNING,
        "REINDEX without CONCURRENTLY",
        "a SHARE lock on each table blocks its writes, and an ACCESS EXCLUSIVE lock on each "
        "index blocks the reads that would use it, until the rebuild ends",
        "REINDEX ... CONCURRENTLY (PostgreSQL 12+), alone in a migration marked "
        "`-- transactional: false`",
        _PG,
    ),
)

_TRANSACTION: tuple[RuleInfo, ...] = (
    RuleInfo(
        "cannot-run-in-transaction",
        RiskLevel.DANGER,
        "a statement PostgreSQL refuses inside a transaction block, in a migration that runs "
        "in one (CREATE/DROP/REINDEX ... CONCURRENTLY, DETACH ... CONCURRENTLY, VACUUM, "
        "CLUSTER without a table, CREATE/DROP DATABASE or TABLESPACE, ALTER SYSTEM)",
        "PostgreSQL refuses it ('cannot run inside a transaction block'): the migration fails "
        "and rolls back",
        ALONE_WITHOUT_TRANSACTION,
        _PG,
    ),
    RuleInfo(
        "lock-held-during-long-statement",
        RiskLevel.WARNING,
        "a long statement (a backfill, INSERT ... SELECT, an index build, a validation) on a "
        "table an earlier statement of the same transaction locked",
        "the migration runs in one transaction, so the earlier lock (ACCESS EXCLUSIVE for most "
        "ALTER TABLE forms) is held until it commits: reads or writes of the table wait for the "
        "whole long statement, not only for the quick one that took the lock",
        "end the migration after the statement that takes the lock, and run the long one "
        + _SEPARATE,
        _PG,
    ),
    RuleInfo(
        "validate-in-same-transaction",
        RiskLevel.WARNING,
        "VALIDATE CONSTRAINT in the transaction that added the constraint NOT VALID",
        "ADD CONSTRAINT ... NOT VALID took a lock (ACCESS EXCLUSIVE for a CHECK, SHARE ROW "
        "EXCLUSIVE on both tables for a foreign key) that is held until the transaction "
        "commits, so the validation scans every row under it, as if NOT VALID had not been used",
        "run VALIDATE CONSTRAINT " + _SEPARATE + ", or mark this migration "
        "`-- transactional: false` so ADD CONSTRAINT commits before the validation starts "
        "(with ALTER TABLE ... DROP CONSTRAINT IF EXISTS just before the ADD, so the migration "
        "can run again if the validation fails)",
        _PG,
    ),
    RuleInfo(
        "not-retry-safe",
        RiskLevel.WARNING,
        "a statement that fails when run a second time (CREATE or ADD COLUMN without IF NOT "
        "EXISTS, DROP without IF EXISTS, ADD CONSTRAINT, ADD VALUE), followed by others in a "
        "migration marked `-- transactional: false`",
        "without a transaction, a failure half-way leaves the statements before it applied "
        "and the migration marked failed; running it again (`lamina repair <id> "
        "--mark-rolled-back`, then `lamina up`) fails at once on the first of them, so the "
        "rest must be finished or undone by hand",
        "guard each statement so it can run twice: CREATE ... IF NOT EXISTS, ADD COLUMN IF NOT "
        "EXISTS, DROP ... IF EXISTS, CREATE OR REPLACE VIEW, ADD VALUE IF NOT EXISTS, and ALTER "
        "TABLE ... DROP CONSTRAINT IF EXISTS just before ADD CONSTRAINT; or move the statements "
        "that need no concurrent build into a migration that runs in a transaction",
        _PG,
    ),
    RuleInfo(
        "new-enum-value-used",
        RiskLevel.DANGER,
        "an enum value used in the transaction that added it with ALTER TYPE ... ADD VALUE",
        "PostgreSQL refuses to use a new enum value until the transaction that added it "
        "commits ('unsafe use of new value'): the migration fails and rolls back",
        "add the value " + _SEPARATE + " and use it in a later one",
        _PG,
    ),
)

_TABLES: tuple[RuleInfo, ...] = (
    RuleInfo(
        "add-column-rewrite",
        RiskLevel.WARNING,
        "ADD COLUMN that rewrites the table: a volatile DEFAULT (gen_random_uuid(), random(), "
        "clock_timestamp()), a serial or identity column, a STORED generated column, or any "
        "DEFAULT before PostgreSQL 11",
        "every row is copied into a new file under an ACCESS EXCLUSIVE lock: reads and writes "
        "wait until the copy ends",
        "add the column without the default (instant), then SET DEFAULT for new rows "
        "(instant), and backfill existing rows in batches " + _SEPARATE + " marked "
        "`-- transactional: false`",
        _PG,
    ),
    RuleInfo(
        "add-column-unique",
        RiskLevel.WARNING,
        "ADD COLUMN ... UNIQUE or PRIMARY KEY on an existing table",
        "the unique index is built over every row under the ADD COLUMN's ACCESS EXCLUSIVE "
        "lock, so reads and writes wait; with a DEFAULT every row has the same value and the "
        "build fails",
        "add the column plain; then CREATE UNIQUE INDEX CONCURRENTLY in a migration of its own "
        "marked `-- transactional: false`; then ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING "
        "INDEX (instant) " + _SEPARATE,
        _PG,
    ),
    RuleInfo(
        "drop-not-null",
        RiskLevel.INFO,
        "ALTER COLUMN ... DROP NOT NULL",
        "instant, but once code writes a NULL there, readers that expect a value break, and "
        "making the column NOT NULL again needs a scan of every row",
        "deploy code that handles NULL before code that writes it",
        _PG,
    ),
    RuleInfo(
        "set-tablespace",
        RiskLevel.WARNING,
        "ALTER TABLE / INDEX ... SET TABLESPACE",
        "every page is copied to the new tablespace under an ACCESS EXCLUSIVE lock: reads "
        "and writes wait until the copy ends",
        "move it off-peak, outside migrations, or with a tool that copies online "
        "(pg_repack --tablespace)",
        _PG,
    ),
    RuleInfo(
        "set-logged",
        RiskLevel.WARNING,
        "ALTER TABLE ... SET LOGGED or SET UNLOGGED on an existing table",
        "PostgreSQL copies every row into a new file (SET LOGGED also writes all of it to the "
        "WAL, and so to every replica) under an ACCESS EXCLUSIVE lock: reads and writes wait "
        "until the copy ends",
        "create the table LOGGED or UNLOGGED from the start; for an existing table, run it "
        "off-peak, alone in its migration so the lock is not held longer, with a short "
        "lock_timeout",
        _PG,
    ),
    RuleInfo(
        "detach-partition-not-concurrently",
        RiskLevel.WARNING,
        "ALTER TABLE ... DETACH PARTITION without CONCURRENTLY",
        "ACCESS EXCLUSIVE locks on the partitioned table and the partition block every read "
        "and write of the whole partitioned table",
        "DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+), alone in a migration marked "
        "`-- transactional: false`; if it is interrupted, finish it with DETACH PARTITION ... "
        "FINALIZE",
        _PG,
    ),
    RuleInfo(
        "attach-partition-scan",
        RiskLevel.WARNING,
        "ALTER TABLE ... ATTACH PARTITION of a table with rows, without a CHECK that proves "
        "its bound",
        "PostgreSQL scans every row of the attached table to check it fits the partition's "
        "bound, under an ACCESS EXCLUSIVE lock on it (its reads and writes wait; and the "
        "partitioned table's SHARE UPDATE EXCLUSIVE lock is held as long); a row out of bound "
        "makes it fail",
        "add a CHECK constraint matching the bound to the table with NOT VALID (instant), "
        "VALIDATE CONSTRAINT it in a separate migration (each migration commits when it ends; "
        "reads and writes go on), then ATTACH PARTITION, which skips the scan, and drop the "
        "CHECK",
        _PG,
    ),
    RuleInfo(
        "truncate-cascade",
        RiskLevel.DANGER,
        "TRUNCATE ... CASCADE",
        "also empties every table whose foreign keys reach the truncated one, and theirs in "
        "turn: tables the statement does not name lose every row",
        "truncate the tables you mean by name (TRUNCATE a, b), without CASCADE",
        _PG,
    ),
    RuleInfo(
        "drop-type-cascade",
        RiskLevel.DANGER,
        "DROP TYPE, DROP DOMAIN or DROP EXTENSION with CASCADE",
        "every column of that type (or of the extension's types) is dropped, in every table, "
        "with its data",
        "drop or change the columns that use the type in reviewed migrations first, then drop "
        "the type without CASCADE (it then fails if anything still uses it)",
        _PG,
    ),
    RuleInfo(
        "alter-domain-add-constraint",
        RiskLevel.WARNING,
        "ALTER DOMAIN ... ADD CONSTRAINT, VALIDATE CONSTRAINT or SET NOT NULL",
        "every value of every column of the domain is checked under a SHARE lock on each of "
        "their tables (verified on PostgreSQL 15, for VALIDATE CONSTRAINT too): writes to "
        "them wait, and any violating value makes it fail",
        "ADD CONSTRAINT ... NOT VALID (instant: only new values are checked); validating the "
        "old values blocks writes either way, so do it off-peak " + _SEPARATE,
        _PG,
    ),
)

_MAINTENANCE: tuple[RuleInfo, ...] = (
    RuleInfo(
        "vacuum-full",
        RiskLevel.WARNING,
        "VACUUM FULL",
        "rewrites the table under an ACCESS EXCLUSIVE lock: reads and writes wait until the "
        "copy ends",
        "plain VACUUM makes the space reusable without blocking; to shrink a table online use "
        "pg_repack, or run VACUUM FULL off-peak, outside migrations",
        _PG,
    ),
    RuleInfo(
        "cluster",
        RiskLevel.WARNING,
        "CLUSTER",
        "rewrites the table in index order under an ACCESS EXCLUSIVE lock: reads and writes "
        "wait until the copy ends",
        "run it off-peak, outside migrations, or use pg_repack --order-by, which works online",
        _PG,
    ),
    RuleInfo(
        "lock-table",
        RiskLevel.WARNING,
        "LOCK TABLE",
        "the lock is held until the migration commits, so what it blocks (reads and writes "
        "in ACCESS EXCLUSIVE mode, the default) waits for every statement after it; outside "
        "a transaction PostgreSQL refuses it",
        "take the weakest mode that protects what the migration does, and keep the migration short",
        _PG,
    ),
    RuleInfo(
        "refresh-materialized-view-not-concurrently",
        RiskLevel.WARNING,
        "REFRESH MATERIALIZED VIEW without CONCURRENTLY",
        "an ACCESS EXCLUSIVE lock on the view blocks every read of it until the refresh ends",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY, which lets reads continue (it needs a unique "
        "index on the view, and runs inside a transaction)",
        _PG,
    ),
)

#: PostgreSQL's own rules.
ENTRIES: tuple[RuleInfo, ...] = (*_INDEXES, *_TRANSACTION, *_TABLES, *_MAINTENANCE)

#: General rules' safer way on this engine, by rule id (merged into the catalogue). A second
#: step that must not hold the first one's lock is "in a separate migration": inside one
#: transaction, the lock an early statement takes is held until the last one ends.
ALTERNATIVES: dict[str, str] = {
    "column-type-change": (
        "PostgreSQL rewrites the table under an ACCESS EXCLUSIVE lock unless the change "
        "is binary-compatible (varchar(n) to text, widening varchar(n)); otherwise add a "
        "new column, backfill it in batches " + _SEPARATE + ", switch the code, and drop the "
        "old column in a later release"
    ),
    "set-not-null": (
        "backfill the NULLs (in batches, in a migration marked `-- transactional: false`); "
        "add CHECK (col IS NOT NULL) NOT VALID (instant); then, "
        + _SEPARATE
        + ", VALIDATE CONSTRAINT (reads and writes continue), SET NOT NULL (PostgreSQL 12+ "
        "skips the scan when a valid CHECK proves it) and DROP CONSTRAINT"
    ),
    "add-foreign-key": (
        "ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID (instant), then ALTER TABLE ... "
        "VALIDATE CONSTRAINT ... " + _SEPARATE + ": it does not block writes"
    ),
    "add-check": (
        "ADD CONSTRAINT ... CHECK (...) NOT VALID (instant), then ALTER TABLE ... "
        "VALIDATE CONSTRAINT ... " + _SEPARATE + ": it does not block writes"
    ),
    "add-unique-constraint": (
        "CREATE UNIQUE INDEX CONCURRENTLY in a migration of its own marked "
        "`-- transactional: false`, then ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING "
        "INDEX ... " + _SEPARATE
    ),
    "change-primary-key": (
        "CREATE UNIQUE INDEX CONCURRENTLY on the key columns in a migration of its own "
        "marked `-- transactional: false`, then ALTER TABLE ... ADD CONSTRAINT ... PRIMARY "
        "KEY USING INDEX ... " + _SEPARATE
    ),
    "add-not-null-column-without-default": (
        "add the column with a constant DEFAULT (instant on PostgreSQL 11+); or add it "
        "nullable, backfill it " + _SEPARATE + " marked `-- transactional: false`, and set it "
        "NOT NULL in a third"
    ),
    "update-without-where": (
        "add a WHERE clause and update in batches in a migration marked "
        "`-- transactional: false`, so each batch commits and its row locks are released; "
        "keep the old values if a rollback needs them"
    ),
}

#: General rules that do not apply on this engine, because one of its own rules above judges
#: the same statements with what the engine really does.
REPLACES: frozenset[str] = frozenset()
