"""PostgreSQL's rules for statements that change tables, types and domains: columns that
rewrite the table or build an index as they are added, NOT NULL dropped, tablespaces, tables
set LOGGED or UNLOGGED, partitions detached or attached, TRUNCATE ... CASCADE, DROP TYPE ...
CASCADE and domain constraints."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from lamina.risk.grammar import (
    AlterDomain,
    AlterTable,
    AttachPartition,
    DetachPartition,
    Recognised,
    command_words,
)
from lamina.risk.model import RiskLevel
from lamina.risk.rules.base import (
    Context,
    Hit,
    RecognisedRule,
    Rule,
    _alter_actions,
    _column_constraints,
    _name,
    _size,
)
from lamina.risk.rules.locks import LOCKS, checks_domain_values
from lamina.risk.rules.postgres_commands import names

__all__ = ["RECOGNISED_RULES", "STATEMENT_RULES", "VOLATILE_FUNCTIONS"]

#: Built-in and common extension functions that are VOLATILE (a new value per row): as a
#: column DEFAULT they make ADD COLUMN rewrite the table. Checked against ``pg_proc``.
VOLATILE_FUNCTIONS = frozenset(
    {
        "gen_random_uuid",
        "random",
        "random_normal",
        "clock_timestamp",
        "timeofday",
        "nextval",
        "setseed",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "gen_random_bytes",
    }
)
#: Functions sqlglot reads as an unknown call that are STABLE or IMMUTABLE (one value for
#: the whole statement): a DEFAULT of them is stored once, without a rewrite.
NON_VOLATILE_FUNCTIONS = frozenset(
    {"now", "transaction_timestamp", "statement_timestamp", "current_setting", "to_char"}
)
_SERIALS = {"SERIAL", "BIGSERIAL", "SMALLSERIAL"}


def add_column_rewrite(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """ADD COLUMN that gives every existing row a value of its own rewrites the table."""
    table, actions = _alter_actions(node)
    if ctx.state.is_new(table):
        return
    lock = LOCKS["add-column"].mode
    for action in actions:
        if not isinstance(action, exp.ColumnDef):
            continue
        reason = _rewrite_reason(action, ctx)
        if reason is None:
            continue
        why, level = reason
        yield Hit(
            "add-column-rewrite",
            f"adds {_name(table)}.{_name(action.this)}, which {why}: PostgreSQL rewrites "
            f"{_name(table)}{_size(ctx, table)} under an {lock.title} lock, so {lock.blocked} "
            "wait until every row is copied",
            level=level,
        )


def _rewrite_reason(column: exp.ColumnDef, ctx: Context) -> tuple[str, RiskLevel | None] | None:
    """Why adding ``column`` rewrites the table, and the level when it is not certain."""
    kind = column.args.get("kind")
    type_name = str(kind.this.name if isinstance(kind, exp.DataType) else "").upper()
    udt_name = str(kind.args.get("kind") or "").upper() if isinstance(kind, exp.DataType) else ""
    if type_name in _SERIALS or udt_name in _SERIALS:
        return "is a serial column, so every existing row takes a value from its sequence", None
    for constraint in _column_constraints(column):
        # GENERATED ALWAYS AS (expr) without STORED (virtual, PostgreSQL 18) has an expression.
        identity = isinstance(constraint, exp.GeneratedAsIdentityColumnConstraint)
        if identity and constraint.args.get("expression") is None:
            return "is an identity column, so every existing row takes a value of its own", None
        if isinstance(constraint, exp.ComputedColumnConstraint):  # GENERATED ... STORED
            return "is a STORED generated column, computed and stored for every row", None
        if isinstance(constraint, exp.DefaultColumnConstraint):
            return _default_reason(constraint.this, ctx)
    return None


def _default_reason(default: exp.Expr, ctx: Context) -> tuple[str, RiskLevel | None] | None:
    if isinstance(default, exp.Null):
        return None
    called = [_function_name(f) for f in default.find_all(exp.Func)]
    volatile = [name for name in called if name in VOLATILE_FUNCTIONS]
    if volatile:
        return f"has a volatile DEFAULT ({volatile[0]}()), a new value for every row", None
    unknown = [
        f.name.lower()
        for f in default.find_all(exp.Anonymous)
        if f.name.lower() not in NON_VOLATILE_FUNCTIONS
    ]
    if unknown:
        return (
            f"has a DEFAULT calling {unknown[0]}(), which lamina cannot tell is volatile (if "
            "it is, every row gets a new value)",
            RiskLevel.WARNING,
        )
    if ctx.version_below(11):
        return "has a DEFAULT, which PostgreSQL 10 and older write into every row", None
    if not ctx.version_known:
        return (
            "has a DEFAULT: instant on PostgreSQL 11+, but on 10 and older (the server "
            "version is unknown) it is written into every row",
            RiskLevel.INFO,
        )
    return None


def _function_name(function: exp.Func) -> str:
    """A function as PostgreSQL names it: sqlglot reads gen_random_uuid() as ``Uuid``."""
    if isinstance(function, exp.Anonymous):
        return function.name.lower()
    return function.sql("postgres").partition("(")[0].lower()


def add_column_unique(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """ADD COLUMN ... UNIQUE / PRIMARY KEY builds a unique index while holding ACCESS
    EXCLUSIVE."""
    table, actions = _alter_actions(node)
    if ctx.state.is_new(table):
        return
    lock = LOCKS["add-unique"].mode
    for action in actions:
        if not isinstance(action, exp.ColumnDef):
            continue
        constraints = _column_constraints(action)
        unique = next(
            (
                "PRIMARY KEY" if isinstance(c, exp.PrimaryKeyColumnConstraint) else "UNIQUE"
                for c in constraints
                if isinstance(c, exp.UniqueColumnConstraint | exp.PrimaryKeyColumnConstraint)
            ),
            None,
        )
        if unique is None:
            continue
        same = any(
            isinstance(c, exp.DefaultColumnConstraint) and not isinstance(c.this, exp.Null)
            for c in constraints
        )
        yield Hit(
            "add-column-unique",
            f"adds {_name(table)}.{_name(action.this)} as {unique}: PostgreSQL builds its unique "
            f"index over every row of {_name(table)}{_size(ctx, table)} under an {lock.title} "
            f"lock, so {lock.blocked} wait"
            + (
                "; and its DEFAULT gives every row the same value, so the build fails as soon "
                "as the table has two rows"
                if same
                else ""
            ),
        )


def drop_not_null(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    table, actions = _alter_actions(node)
    for action in actions:
        if (
            isinstance(action, exp.AlterColumn)
            and action.args.get("allow_null") is True
            and action.args.get("drop")
            and not ctx.state.is_added(table, action.this)
        ):
            where = f"{_name(table)}.{_name(action.this)}"
            yield Hit(
                "drop-not-null",
                f"drops NOT NULL from {where}: instant, but once code writes a NULL there, "
                f"readers that expect {where} to have a value break",
            )


def set_tablespace(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    if not isinstance(node, exp.Alter):
        return
    for action in node.args.get("actions") or []:
        if isinstance(action, exp.AlterSet) and action.args.get("tablespace") is not None:
            kind = str(node.args.get("kind") or "TABLE").lower()
            lock = LOCKS["set-tablespace"].mode
            yield Hit(
                "set-tablespace",
                f"moves {kind} {_name(node.this)}{_size(ctx, node.this)} to tablespace "
                f"{_name(action.args['tablespace'])}: PostgreSQL copies every page of it under "
                f"an {lock.title} lock, so {lock.blocked} wait until the copy ends",
            )


def set_logged(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """SET LOGGED / SET UNLOGGED copies the table into a new file."""
    table, actions = _alter_actions(node)
    if ctx.state.is_new(table):
        return
    lock = LOCKS["set-logged"].mode
    for action in actions:
        option = action.args.get("option") if isinstance(action, exp.AlterSet) else None
        if isinstance(option, exp.Var) and option.name.upper() in {"LOGGED", "UNLOGGED"}:
            wal = " and writes all of it to the WAL" if option.name.upper() == "LOGGED" else ""
            yield Hit(
                "set-logged",
                f"sets {_name(table)} {option.name.upper()}: PostgreSQL copies every row of "
                f"{_name(table)}{_size(ctx, table)} into a new file{wal} under an {lock.title} "
                f"lock, so {lock.blocked} wait until the copy ends",
            )


def detach_partition_not_concurrently(node: Recognised, ctx: Context) -> Iterator[Hit]:
    if not isinstance(node, AlterTable):
        return
    lock = LOCKS["detach-partition"].mode
    for action in node.actions:
        if isinstance(action, DetachPartition) and not (action.concurrently or action.finalize):
            yield Hit(
                "detach-partition-not-concurrently",
                f"detaches partition {_name(action.partition)} from {_name(node.table)} without "
                f"CONCURRENTLY: {lock.title} locks on both make {lock.blocked} of the whole "
                f"partitioned table {_name(node.table)} wait",
                suggestion=None
                if not ctx.version_below(14)
                else "PostgreSQL before 14 has no DETACH ... CONCURRENTLY: detach it off-peak, "
                "with a short lock_timeout so it gives up instead of queueing",
            )


def attach_partition_scan(node: Recognised, ctx: Context) -> Iterator[Hit]:
    """ATTACH PARTITION checks every row of the partition against its bound, unless a valid
    CHECK constraint proves them in bound."""
    if not isinstance(node, AlterTable):
        return
    lock = LOCKS["attached-partition"].mode
    for action in node.actions:
        if not isinstance(action, AttachPartition) or ctx.state.is_new(action.partition):
            continue
        partition = _name(action.partition)
        scan = (
            f"PostgreSQL scans every row of {partition}{_size(ctx, action.partition)} to check "
            f"it fits the partition's bound, under an {lock.title} lock on {partition} ("
            f"{lock.blocked} of it wait) and SHARE UPDATE EXCLUSIVE on {_name(node.table)}"
        )
        checks = ctx.state.validated.get(ctx.state.key(action.partition))
        if not checks:
            yield Hit("attach-partition-scan", f"attaches {partition}: {scan}")
            continue
        name, line = checks[-1]
        proof = f"CHECK {name or 'constraint'}" + (f" (line {line})" if line is not None else "")
        yield Hit(
            "attach-partition-scan",
            f"attaches {partition} after validating {proof}: if it implies the partition's "
            f"bound, PostgreSQL skips the scan and holds its {lock.title} lock only briefly",
            level=RiskLevel.INFO,
        )


def truncate_cascade(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """TRUNCATE ... CASCADE also empties every table whose foreign keys reach the table."""
    if not isinstance(node, exp.TruncateTable) or str(node.args.get("option")).upper() != "CASCADE":
        return
    for table in node.expressions:
        key = ctx.state.key(table)
        reached = _reached(ctx, key)
        existing = [name for name in reached if name not in ctx.state.new_tables]
        if (ctx.state.is_new(table) or ctx.facts.table(key) is not None) and not existing:
            continue  # nothing that holds rows reaches it: CASCADE empties nothing more
        if reached:
            also = f"it also empties {', '.join(reached)}, whose foreign keys reach it"
        else:
            also = (
                "it also empties every table with a foreign key to it, and theirs in turn "
                "(which ones is unknown offline: lint against the database to name them)"
            )
        yield Hit("truncate-cascade", f"truncates {_name(table)} with CASCADE: {also}")


def _reached(ctx: Context, table: str) -> list[str]:
    """The tables a TRUNCATE ... CASCADE of ``table`` empties too, nearest first."""
    reached: list[str] = []
    pending = [table]
    while pending:
        current = pending.pop(0)
        known = ctx.facts.table(current)
        referencing = [
            *(known.referenced_by if known else ()),
            *ctx.state.referencing.get(current, ()),
        ]
        for name in referencing:
            if name != table and name not in reached:
                reached.append(name.lower())
                pending.append(name.lower())
    return reached


def drop_type_cascade(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """DROP TYPE / DOMAIN / EXTENSION ... CASCADE drops the columns that use them."""
    if _is_drop_type(node) and node.args.get("cascade"):
        for target in node.args.get("tables") or []:
            if ctx.state.key(target) not in ctx.state.new_types:
                yield _dropped_with_columns("type", _name(target))
        return
    words = command_words(node, "postgres")
    if words[:2] in {("DROP", "DOMAIN"), ("DROP", "EXTENSION")} and "CASCADE" in words:
        dropped = names([w for w in words[2:] if w not in {"IF", "EXISTS"}])
        new = ctx.state.new_types
        existing = [name for name in dropped if ctx.state.key(exp.to_table(name)) not in new]
        if existing:
            yield _dropped_with_columns(words[1].lower(), ", ".join(existing))


def _is_drop_type(node: exp.Expr) -> bool:
    return isinstance(node, exp.Drop) and str(node.args.get("kind") or "").upper() == "TYPE"


def _dropped_with_columns(kind: str, name: str) -> Hit:
    what = "its types" if kind == "extension" else "it"
    return Hit(
        "drop-type-cascade",
        f"drops {kind} {name} with CASCADE: every column of every table that uses {what} is "
        "dropped with its data, with the views, defaults and functions that depend on it",
    )


def alter_domain_add_constraint(node: Recognised, ctx: Context) -> Iterator[Hit]:
    if not isinstance(node, AlterDomain) or not checks_domain_values(node):
        return
    if ctx.state.key(node.domain) in ctx.state.new_types:
        return
    lock = LOCKS["alter-domain-constraint"].mode
    yield Hit(
        "alter-domain-add-constraint",
        f"{node.action} on domain {_name(node.domain)}: PostgreSQL checks every value of "
        f"every column of that domain under a {lock.title} lock on each of their tables, so "
        f"{lock.blocked} to them wait",
    )


#: The rules of this module for statements sqlglot parsed, in the order their findings are
#: listed.
STATEMENT_RULES: tuple[Rule, ...] = (
    add_column_rewrite,
    add_column_unique,
    drop_not_null,
    set_tablespace,
    set_logged,
    truncate_cascade,
    drop_type_cascade,
)

#: The rules of this module for statements lamina read from their tokens.
RECOGNISED_RULES: tuple[RecognisedRule, ...] = (
    detach_partition_not_concurrently,
    attach_partition_scan,
    alter_domain_add_constraint,
)
