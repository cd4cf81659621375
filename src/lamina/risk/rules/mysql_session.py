"""MySQL's and MariaDB's hazards that outlive a statement: what commits implicitly, session
settings, table locks, and ``RENAME TABLE``.

lamina runs a migration in one transaction and the next migrations of the same run on the same
connection. On MySQL a DDL statement commits the transaction it runs in, a ``SET`` of a session
variable is not undone by a rollback, and ``LOCK TABLES`` holds its locks until ``UNLOCK
TABLES``: so these rules read the migration's other statements, before and after the one they
check (``SchemaSoFar.statements``).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from lamina.risk.grammar import command_words
from lamina.risk.model import RiskLevel
from lamina.risk.rules.base import Context, Hit, split_at, trees
from lamina.sqltext.implicit_commits import commits_implicitly

__all__ = [
    "foreign_key_checks_off",
    "mysql_foreign_key_checks",
    "mysql_lock_tables",
    "mysql_not_atomic",
    "mysql_rename_table",
]

_FK_CHECKS = "foreign_key_checks"
_OFF = {"0", "OFF", "FALSE"}


# -- foreign_key_checks ------------------------------------------------------------------------


def _fk_checks(node: exp.Expr) -> tuple[bool, bool] | None:
    """``(on, server_wide)`` for the last ``foreign_key_checks`` this ``SET`` assigns (``SET
    foreign_key_checks = 0``, ``SET SESSION ...``, ``SET @@session.`` or ``@@global.``)."""
    if not isinstance(node, exp.Set):
        return None
    found = None
    for item in node.expressions:
        assignment = item.this if isinstance(item, exp.SetItem) else None
        if not isinstance(assignment, exp.EQ) or assignment.this.name.lower() != _FK_CHECKS:
            continue
        target = assignment.this
        scope = str(item.args.get("kind") or target.args.get("kind") or "").upper()
        value = assignment.expression.name.upper() if assignment.expression else ""
        found = (value not in _OFF, scope == "GLOBAL")
    return found


def foreign_key_checks_off(node: exp.Expr, ctx: Context) -> bool:
    """Whether an earlier statement of the migration turned the session's checks off and did
    not turn them back on (InnoDB then adds a foreign key in place, without checking rows)."""
    split = split_at(node, ctx)
    if split is None:
        return False
    settings = [s for s in map(_fk_checks, trees(split[0])) if s is not None and not s[1]]
    return bool(settings) and not settings[-1][0]


def mysql_foreign_key_checks(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """``foreign_key_checks = 0`` left off outlives the migration: a rollback does not undo a
    ``SET``, and the next migrations of the run use the same connection."""
    setting = _fk_checks(node) if ctx.dialect == "mysql" else None
    if setting is None or setting[0]:
        return
    if setting[1]:
        yield Hit(
            "mysql-foreign-key-checks-off",
            "turns foreign_key_checks off for the whole server: every connection opened from "
            "now on, the application's too, skips foreign key checks until it is set back",
            level=RiskLevel.DANGER,
        )
        return
    split = split_at(node, ctx)
    if split is None:
        return
    restored = [s for s in map(_fk_checks, trees(split[1])) if s is not None and not s[1]]
    if not restored or not restored[-1][0]:
        yield Hit(
            "mysql-foreign-key-checks-off",
            "turns foreign_key_checks off and never turns it back on: the rest of the run, "
            "later migrations included, goes on on this connection without checking foreign "
            "keys, even after a rollback",
        )


# -- implicit commits ----------------------------------------------------------------------------


def _changes_rows(node: exp.Expr) -> bool:
    if isinstance(node, exp.Insert | exp.Update | exp.Delete | exp.Merge):
        return True
    return command_words(node, "mysql")[:2] == ("REPLACE", "INTO")


def _changes_existing_rows(node: exp.Expr, ctx: Context) -> bool:
    """Row changes to a table that existed before the migration (rows written into a table
    the migration created are seed data: they go, or stay, with it)."""
    if not _changes_rows(node):
        return False
    target = node.this if not isinstance(node, exp.Command) else None
    if isinstance(target, exp.Schema):
        target = target.this
    return not (isinstance(target, exp.Table) and ctx.state.is_new(target))


def _commits(node: exp.Expr) -> bool:
    return not _changes_rows(node) and commits_implicitly(node.sql(dialect="mysql"))


def mysql_not_atomic(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """Reported once, on the statement that first mixes changes to existing rows with a
    statement that commits on its own: from there on, a failure leaves the migration half
    applied."""
    split = split_at(node, ctx) if ctx.dialect == "mysql" and ctx.transactional else None
    if split is None:
        return
    earlier = trees(split[0])
    data = [n for n in earlier if _changes_existing_rows(n, ctx)]
    ddl = [n for n in earlier if _commits(n)]
    if _changes_existing_rows(node, ctx) and ddl and not data:
        yield Hit(
            "mysql-not-atomic",
            f"changes rows after {_label(ddl[0])}, which MySQL committed on its own: if this "
            "or a later statement fails, the row changes roll back but that statement stays "
            "applied, and the migration is left half done",
        )
    elif _commits(node) and data and not ddl:
        yield Hit(
            "mysql-not-atomic",
            f"commits implicitly on MySQL, and with it the rows that {_label(data[0])} "
            "changed: if this or a later statement fails, those rows stay changed although "
            "the migration is recorded as failed",
        )


def _label(node: exp.Expr) -> str:
    """The start of a statement, for a message: ``ALTER TABLE users ADD COLUMN a INT``."""
    text = " ".join(node.sql(dialect="mysql").split())
    return text if len(text) <= 48 else f"{text[:45]}..."


# -- LOCK TABLES and RENAME TABLE ----------------------------------------------------------------


def mysql_lock_tables(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """``LOCK TABLES`` commits, blocks other sessions, and until ``UNLOCK TABLES`` lets this
    one touch only the tables it locked (lamina's history table is not one of them)."""
    words = command_words(node, ctx.dialect) if ctx.dialect == "mysql" else ()
    if words[:1] != ("LOCK TABLES",):
        return
    keywords = {"READ", "WRITE", "LOCAL", "LOW_PRIORITY", "AS"}
    tables = " ".join(w if w in keywords else w.lower() for w in words[1:]).replace(" ,", ",")
    split = split_at(node, ctx)
    unlocked = split is not None and any(
        command_words(n, ctx.dialect)[:1] == ("UNLOCK TABLES",) for n in trees(split[1])
    )
    message = (
        f"LOCK TABLES {tables} commits the transaction lamina opened and makes every other "
        "session wait for these tables"
    )
    if split is not None and not unlocked:
        yield Hit(
            "mysql-lock-tables",
            f"{message}; the migration never runs UNLOCK TABLES, so lamina cannot write its "
            "history row on this connection afterwards (ERROR 1100: table was not locked with "
            "LOCK TABLES)",
            level=RiskLevel.DANGER,
        )
    else:
        yield Hit("mysql-lock-tables", message)


def mysql_rename_table(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """MySQL's ``RENAME TABLE a TO b, c TO d``, which sqlglot reads only as a Command."""
    words = command_words(node, ctx.dialect) if ctx.dialect == "mysql" else ()
    if words[:2] != ("RENAME", "TABLE"):
        return
    for pair in " ".join(words[2:]).split(" , "):
        parts = pair.split()
        if "TO" not in parts[1:]:
            continue
        at = parts.index("TO", 1)
        old, new = "".join(parts[:at]).lower(), "".join(parts[at + 1 :]).lower()
        if not ctx.state.is_new(exp.to_table(old)):
            yield Hit(
                "rename-table",
                f"renames table {old} to {new}: code using the old name breaks",
            )
