"""Rules that only MySQL and MariaDB need: how each ALTER runs (INSTANT, INPLACE, COPY), and
what outlives a statement (implicit commits, session settings, table locks)."""

from __future__ import annotations

from lamina.risk.model import RiskLevel, RuleInfo

_MYSQL = ("mysql",)

#: mysql's own rules.
ENTRIES: tuple[RuleInfo, ...] = (
    RuleInfo(
        "mysql-alter-copies",
        RiskLevel.WARNING,
        "an ALTER that MySQL/MariaDB runs with ALGORITHM=COPY (type or character set "
        "changes, ENUM reorders, STORED columns, ...)",
        "every row is copied into a new table while writes to it wait (LOCK=SHARED), which "
        "takes as long as the table is big and needs room for a second copy",
        "add a column of the new type, backfill it in batches, switch the code, and drop the "
        "old column later; or run the change with an online schema-change tool (gh-ost, "
        "pt-online-schema-change). Write ALGORITHM=INPLACE or INSTANT on changes that must "
        "not copy: the server then refuses instead of copying",
        _MYSQL,
    ),
    RuleInfo(
        "mysql-alter-blocks-writes",
        RiskLevel.WARNING,
        "an ALTER that runs in place but cannot allow writes (FULLTEXT or SPATIAL index, "
        "AUTO_INCREMENT column, LOCK=SHARED written)",
        "the server reads every row to build the index or rebuild the table, and writes to "
        "the table wait until it finishes",
        "run it off-peak, or with an online schema-change tool (gh-ost, "
        "pt-online-schema-change) on a big table",
        _MYSQL,
    ),
    RuleInfo(
        "mysql-alter-rebuilds",
        RiskLevel.INFO,
        "an ALTER that rebuilds the table in place while writes go on (ALGORITHM=INPLACE, "
        "LOCK=NONE)",
        "every row is rewritten: it takes time, disk and I/O, replicas apply it only after it "
        "finished (and lag meanwhile), and it waits for a metadata lock at its start and end",
        "run it off-peak on a big table; prefer the INSTANT form of the change when the "
        "server has one (a column added at the end, values appended to an ENUM)",
        _MYSQL,
    ),
    RuleInfo(
        "mysql-alter-refused",
        RiskLevel.WARNING,
        "an ALTER whose written ALGORITHM= or LOCK= the server cannot honour",
        "the server refuses the statement (ERROR 1845/1846) instead of running it another "
        "way: nothing is copied or locked, but the migration fails there",
        "drop the clause and accept the way the server runs it (see the finding), or make a "
        "change the server can run that way",
        _MYSQL,
    ),
    RuleInfo(
        "mysql-not-atomic",
        RiskLevel.WARNING,
        "a migration that changes rows and runs DDL (or another statement that commits "
        "implicitly on MySQL)",
        "MySQL commits before and after every DDL statement, so the migration is not one "
        "transaction: a failure part-way leaves the statements before it applied, and "
        "running it again repeats them",
        "put the schema change and the row changes in separate migrations, and write the "
        "row changes so they can run twice (WHERE clauses that skip rows already done)",
        _MYSQL,
    ),
    RuleInfo(
        "mysql-foreign-key-checks-off",
        RiskLevel.WARNING,
        "SET foreign_key_checks = 0 that the migration does not set back to 1",
        "the setting belongs to the connection, a rollback does not undo it, and lamina runs "
        "the next migrations of the run on the same connection: they write rows and add "
        "foreign keys without any check, leaving orphans (SET GLOBAL: every new connection "
        "of the server)",
        "end the migration with SET foreign_key_checks = 1 (right after the statement that "
        "needed it off), and look for orphan rows with a query first",
        _MYSQL,
    ),
    RuleInfo(
        "mysql-lock-tables",
        RiskLevel.WARNING,
        "LOCK TABLES in a migration (danger when no UNLOCK TABLES follows)",
        "it commits the migration's transaction, makes every other session wait for the "
        "locked tables, and until UNLOCK TABLES the connection may use only those tables: "
        "lamina's own history row then fails",
        "leave locking to the ALTER statements themselves (InnoDB takes the locks it needs); "
        "if a lock is really needed, pair LOCK TABLES with UNLOCK TABLES in the migration",
        _MYSQL,
    ),
)

#: General rules' safer way on this engine, by rule id (merged into the catalogue).
ALTERNATIVES: dict[str, str] = {
    "add-foreign-key": (
        "InnoDB copies the table (ALGORITHM=COPY) unless foreign_key_checks=0, when it "
        "adds the key in place without checking the rows: look for orphan rows with a query "
        "first, then SET foreign_key_checks = 0, add the key, and SET foreign_key_checks = 1 "
        "right after, in the same migration (the setting outlives it otherwise)"
    ),
    "add-check": (
        "MySQL has no NOT VALID: check the rows with a query first, and run it off-peak "
        "or with an online schema-change tool (gh-ost, pt-online-schema-change)"
    ),
    "add-unique-constraint": (
        "InnoDB builds it online, but look for duplicates with a GROUP BY ... HAVING "
        "count(*) > 1 query first"
    ),
}

#: General rules that do not apply on this engine, because one of its own rules above judges
#: the same statements with what the engine really does.
REPLACES: frozenset[str] = frozenset({"column-type-change"})
