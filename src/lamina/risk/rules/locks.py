"""What PostgreSQL locks, as data, and which statements take those locks or run long.

:data:`LOCKS` is lamina's claim of the table lock each kind of statement takes; the findings
quote it, and ``tests/risk/test_postgres_locks.py`` runs an example of every kind on a real
server and reads the mode from ``pg_locks`` while the statement's transaction is open, so the
claim and the engine cannot drift apart. :data:`REFUSED_IN_TRANSACTION` is the same for the
statements PostgreSQL will not run inside a transaction block.

:func:`locks_taken` says which locks a statement takes (the analyzer remembers them in
:class:`~lamina.risk.state.SchemaSoFar` while the migration's transaction is open), and
:func:`refused_in_transaction` which statements PostgreSQL refuses there.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlglot import exp

from lamina.risk.grammar import (
    AddCheck,
    AddConstraintUsingIndex,
    AlterDomain,
    AlterTable,
    AttachPartition,
    Cluster,
    DetachPartition,
    Recognised,
    Statement,
    ValidateConstraint,
    command_words,
)
from lamina.risk.recognised import Action
from lamina.risk.rules.base import _alter_actions, _created_index, _drop_kind
from lamina.risk.rules.postgres_commands import names, reindex, vacuum
from lamina.risk.state import SchemaSoFar

__all__ = [
    "LOCKS",
    "REFUSED_IN_TRANSACTION",
    "LockClaim",
    "LockMode",
    "Taken",
    "checks_domain_values",
    "claimed_kinds",
    "lock_table_mode",
    "locks_taken",
    "refused_in_transaction",
]


class LockMode(enum.IntEnum):
    """PostgreSQL's table lock modes, weakest first.

    Reads (``SELECT``) take ACCESS SHARE, which only ACCESS EXCLUSIVE conflicts with; writes
    (``INSERT``/``UPDATE``/``DELETE``) take ROW EXCLUSIVE, which SHARE and every stronger mode
    conflict with (https://www.postgresql.org/docs/current/explicit-locking.html).
    """

    ACCESS_SHARE = 1
    ROW_SHARE = 2
    ROW_EXCLUSIVE = 3
    SHARE_UPDATE_EXCLUSIVE = 4
    SHARE = 5
    SHARE_ROW_EXCLUSIVE = 6
    EXCLUSIVE = 7
    ACCESS_EXCLUSIVE = 8

    @property
    def title(self) -> str:
        """As SQL writes it: ``ACCESS EXCLUSIVE``."""
        return self.name.replace("_", " ")

    @property
    def pg_locks_name(self) -> str:
        """As ``pg_locks.mode`` shows it: ``AccessExclusiveLock``."""
        return "".join(word.capitalize() for word in self.name.split("_")) + "Lock"

    @property
    def blocks_reads(self) -> bool:
        return self is LockMode.ACCESS_EXCLUSIVE

    @property
    def blocks_writes(self) -> bool:
        return self >= LockMode.SHARE

    @property
    def blocked(self) -> str:
        """What other sessions wait for while it is held: ``reads and writes``, ``writes``."""
        if self.blocks_reads:
            return "reads and writes"
        return "writes" if self.blocks_writes else ""


@dataclass(frozen=True, slots=True)
class LockClaim:
    """The lock one kind of statement takes: ``statement`` names it in messages."""

    statement: str
    mode: LockMode
    on: str = "the table"


_AX, _SHARE = LockMode.ACCESS_EXCLUSIVE, LockMode.SHARE

#: Statement kind -> the lock PostgreSQL takes (verified on a real server by the tests).
LOCKS: dict[str, LockClaim] = {
    "add-column": LockClaim("ALTER TABLE ... ADD COLUMN", _AX),
    "alter-table": LockClaim("ALTER TABLE", _AX),
    "alter-column-type": LockClaim("ALTER TABLE ... ALTER COLUMN ... TYPE", _AX),
    "set-not-null": LockClaim("ALTER TABLE ... SET NOT NULL", _AX),
    "drop-not-null": LockClaim("ALTER TABLE ... DROP NOT NULL", _AX),
    "add-check": LockClaim("ALTER TABLE ... ADD CHECK", _AX),
    "add-unique": LockClaim("ALTER TABLE ... ADD UNIQUE", _AX),
    "add-foreign-key": LockClaim(
        "ALTER TABLE ... ADD FOREIGN KEY",
        LockMode.SHARE_ROW_EXCLUSIVE,
        "the table and the table it references",
    ),
    "validate-constraint": LockClaim(
        "ALTER TABLE ... VALIDATE CONSTRAINT", LockMode.SHARE_UPDATE_EXCLUSIVE
    ),
    "set-storage-parameter": LockClaim(
        "ALTER TABLE ... SET (storage parameter)", LockMode.SHARE_UPDATE_EXCLUSIVE
    ),
    "set-tablespace": LockClaim("ALTER TABLE ... SET TABLESPACE", _AX),
    "set-logged": LockClaim("ALTER TABLE ... SET LOGGED / UNLOGGED", _AX),
    "detach-partition": LockClaim(
        "ALTER TABLE ... DETACH PARTITION", _AX, "the partitioned table and the partition"
    ),
    "attach-partition": LockClaim(
        "ALTER TABLE ... ATTACH PARTITION", LockMode.SHARE_UPDATE_EXCLUSIVE, "the partitioned table"
    ),
    "attached-partition": LockClaim(
        "ALTER TABLE ... ATTACH PARTITION", _AX, "the partition it attaches"
    ),
    "create-index": LockClaim("CREATE INDEX", _SHARE),
    "drop-index": LockClaim("DROP INDEX", _AX, "the index's table"),
    "reindex": LockClaim("REINDEX", _SHARE, "the index's table"),
    "create-trigger": LockClaim("CREATE TRIGGER", LockMode.SHARE_ROW_EXCLUSIVE),
    "truncate": LockClaim("TRUNCATE", _AX),
    "cluster": LockClaim("CLUSTER", _AX),
    "vacuum-full": LockClaim("VACUUM FULL", _AX),
    "refresh-materialized-view": LockClaim(
        "REFRESH MATERIALIZED VIEW", _AX, "the materialized view"
    ),
    "refresh-materialized-view-concurrently": LockClaim(
        "REFRESH MATERIALIZED VIEW CONCURRENTLY", LockMode.EXCLUSIVE, "the materialized view"
    ),
    "lock-table": LockClaim("LOCK TABLE", _AX),
    "alter-domain-constraint": LockClaim(
        "ALTER DOMAIN ... ADD CONSTRAINT", _SHARE, "every table with a column of the domain"
    ),
}

#: Statements PostgreSQL refuses inside a transaction block, as its error names them
#: ("... cannot run inside a transaction block"; verified on a real server by the tests).
REFUSED_IN_TRANSACTION = (
    "CREATE INDEX CONCURRENTLY",
    "DROP INDEX CONCURRENTLY",
    "REINDEX CONCURRENTLY",
    "REINDEX SCHEMA",
    "REINDEX DATABASE",
    "REINDEX SYSTEM",
    "ALTER TABLE ... DETACH CONCURRENTLY",
    "VACUUM",
    "CLUSTER",
    "CREATE DATABASE",
    "DROP DATABASE",
    "CREATE TABLESPACE",
    "DROP TABLESPACE",
    "ALTER SYSTEM",
)


@dataclass(frozen=True, slots=True)
class Taken:
    """A lock a statement takes on ``table`` (the state's key)."""

    table: str
    kind: str
    mode: LockMode


def locks_taken(node: Statement, state: SchemaSoFar) -> list[Taken]:
    """The table locks ``node`` takes that other sessions can notice (PostgreSQL), on the
    tables the statement names or the state knows."""
    return [
        Taken(state.key(table) if isinstance(table, exp.Expr) else table, kind, mode)
        for table, kind, mode in _locks(node, state)
        if table is not None
    ]


def claimed_kinds(node: Statement, state: SchemaSoFar) -> set[str]:
    """The kinds of :data:`LOCKS` ``node`` is, even where the locked tables are unknown (the
    tables with a column of an altered domain)."""
    return {kind for _, kind, _ in _locks(node, state)}


Lock = tuple[exp.Expr | str | None, str, LockMode]


def _locks(node: Statement, state: SchemaSoFar) -> Iterator[Lock]:
    if isinstance(node, AlterTable):
        for action in node.actions:
            yield from _read_action_locks(node.table, action)
    elif isinstance(node, Cluster):
        if node.table is not None:
            yield node.table, "cluster", _AX
    elif isinstance(node, AlterDomain):
        if checks_domain_values(node):
            yield None, "alter-domain-constraint", _SHARE
    elif isinstance(node, exp.Expr):
        yield from _tree_locks(node, state)


def _read_action_locks(table: exp.Table, action: Action) -> Iterator[Lock]:
    """The locks of an ALTER TABLE action lamina read from its tokens."""
    if isinstance(action, ValidateConstraint):
        yield table, "validate-constraint", LOCKS["validate-constraint"].mode
    elif isinstance(action, DetachPartition) and not action.concurrently:
        yield table, "detach-partition", _AX
        yield action.partition, "detach-partition", _AX
    elif isinstance(action, AttachPartition):
        yield table, "attach-partition", LOCKS["attach-partition"].mode
        yield action.partition, "attached-partition", _AX
    elif isinstance(action, AddCheck):
        yield table, "add-check", _AX
    elif isinstance(action, AddConstraintUsingIndex):
        yield table, "alter-table", _AX


def _tree_locks(node: exp.Expr, state: SchemaSoFar) -> Iterator[Lock]:
    table, actions = _alter_actions(node)
    for action in actions:
        kind = _alter_kind(action)
        yield table, kind, LOCKS[kind].mode
        reference = action.find(exp.Reference) if kind in _REFERENCING else None
        if reference is not None:  # the table a new foreign key points at
            yield reference.find(exp.Table), "add-foreign-key", LOCKS["add-foreign-key"].mode
    index = _created_index(node)
    if index is not None and not node.args.get("concurrently"):
        yield index.args.get("table"), "create-index", _SHARE
    if _drop_kind(node) == "INDEX" and not node.args.get("concurrently"):
        for dropped in node.args.get("tables") or []:
            yield state.index_table(dropped), "drop-index", _AX
    trigger = node.find(exp.TriggerProperties) if isinstance(node, exp.Create) else None
    if trigger is not None:
        yield trigger.args.get("table"), "create-trigger", LOCKS["create-trigger"].mode
    if isinstance(node, exp.TruncateTable):
        for truncated in node.expressions:
            yield truncated, "truncate", _AX
    yield from _command_locks(node, state)


#: ``ALTER TABLE`` kinds of action that may add a foreign key (``ADD COLUMN c REFERENCES t``).
_REFERENCING = frozenset({"add-column", "add-foreign-key"})

#: ``ALTER DOMAIN`` actions that check every stored value of the domain.
_DOMAIN_CHECKS = frozenset({"ADD CONSTRAINT", "VALIDATE CONSTRAINT", "SET NOT NULL"})


def checks_domain_values(node: AlterDomain) -> bool:
    """Whether an ``ALTER DOMAIN`` checks the values stored in every column of the domain."""
    return node.action in _DOMAIN_CHECKS and not node.not_valid


def _alter_kind(action: exp.Expr) -> str:
    """The kind of lock an ``ALTER TABLE`` action takes (see :data:`LOCKS`)."""
    if isinstance(action, exp.ColumnDef):
        return "add-column"
    if isinstance(action, exp.AlterSet):
        return _set_kind(action)
    if isinstance(action, exp.AlterColumn):
        return _alter_column_kind(action)
    if isinstance(action, exp.AddConstraint):
        return _constraint_kind(action)
    return "alter-table"


#: ``SET LOGGED`` / ``SET UNLOGGED``, as sqlglot reads the option.
_PERSISTENCE = frozenset({"LOGGED", "UNLOGGED"})


def _set_kind(action: exp.AlterSet) -> str:
    if action.args.get("tablespace") is not None:
        return "set-tablespace"
    option = action.args.get("option")
    if isinstance(option, exp.Var) and option.name.upper() in _PERSISTENCE:
        return "set-logged"
    return "set-storage-parameter" if action.expressions else "alter-table"


def _alter_column_kind(action: exp.AlterColumn) -> str:
    if action.args.get("dtype") is not None:
        return "alter-column-type"
    if action.args.get("allow_null") is False and not action.args.get("drop"):
        return "set-not-null"
    if action.args.get("allow_null") is True:
        return "drop-not-null"
    return "alter-table"


def _constraint_kind(action: exp.AddConstraint) -> str:
    if action.find(exp.ForeignKey) is not None:
        return "add-foreign-key"
    if action.find(exp.CheckColumnConstraint) is not None:
        return "add-check"
    if action.find(exp.UniqueColumnConstraint, exp.PrimaryKey) is not None:
        return "add-unique"
    return "alter-table"


def _command_locks(node: exp.Expr, state: SchemaSoFar) -> Iterator[Lock]:
    """Locks of the statements sqlglot reads only as a command: by their words."""
    words = command_words(node, "postgres")
    if words[:3] == ("REFRESH", "MATERIALIZED", "VIEW"):
        concurrently = words[3:4] == ("CONCURRENTLY",)
        kind = "refresh-materialized-view" + ("-concurrently" if concurrently else "")
        for name in names(words[4 if concurrently else 3 :]):
            yield exp.to_table(name), kind, LOCKS[kind].mode
    elif (reindexed := reindex(words)) is not None and not reindexed.concurrently:
        for name in reindexed.names if reindexed.kind in {"TABLE", "INDEX"} else ():
            target = exp.to_table(name)
            owner = state.index_table(target) if reindexed.kind == "INDEX" else None
            yield owner or (target if reindexed.kind == "TABLE" else None), "reindex", _SHARE
    elif words[:1] == ("LOCK",):
        rest = words[2:] if words[1:2] == ("TABLE",) else words[1:]
        mode = lock_table_mode(words)
        for name in names(rest[1:] if rest[:1] == ("ONLY",) else rest):
            yield exp.to_table(name), "lock-table", mode
    elif (vacuumed := vacuum(words)) is not None and vacuumed.full:
        for name in vacuumed.names:
            yield exp.to_table(name), "vacuum-full", _AX


def lock_table_mode(words: Sequence[str]) -> LockMode:
    """The mode of ``LOCK [TABLE] t [IN <mode> MODE]``: ACCESS EXCLUSIVE unless named."""
    if "IN" in words and "MODE" in words:
        named = "_".join(words[words.index("IN") + 1 : words.index("MODE")])
        if named in LockMode.__members__:
            return LockMode[named]
    return _AX


def refused_in_transaction(node: Statement) -> str | None:
    """How PostgreSQL names ``node`` when refusing it inside a transaction block, or None."""
    if not isinstance(node, exp.Expr):
        return _refused_read(node)
    concurrently = bool(node.args.get("concurrently"))
    if _created_index(node) is not None and concurrently:
        return "CREATE INDEX CONCURRENTLY"
    kind = _drop_kind(node)
    if kind == "INDEX" and concurrently:
        return "DROP INDEX CONCURRENTLY"
    if kind == "DATABASE" or (isinstance(node, exp.Create) and node.args.get("kind") == "DATABASE"):
        return f"{'DROP' if kind else 'CREATE'} DATABASE"
    return _refused_command(command_words(node, "postgres"))


def _refused_read(node: Recognised) -> str | None:
    """The same, for a statement lamina read from its tokens."""
    if isinstance(node, Cluster) and node.table is None:
        return "CLUSTER"
    if isinstance(node, AlterTable) and any(
        isinstance(action, DetachPartition) and action.concurrently for action in node.actions
    ):
        return "ALTER TABLE ... DETACH CONCURRENTLY"
    return None


def _refused_command(words: Sequence[str]) -> str | None:
    if words[:1] == ("VACUUM",):
        return "VACUUM"
    reindexed = reindex(words)
    if reindexed is not None and reindexed.concurrently:
        return "REINDEX CONCURRENTLY"
    if reindexed is not None and reindexed.kind in {"SCHEMA", "DATABASE", "SYSTEM"}:
        return f"REINDEX {reindexed.kind}"
    if words[:2] in {("CREATE", "TABLESPACE"), ("DROP", "TABLESPACE"), ("ALTER", "SYSTEM")}:
        return " ".join(words[:2])
    return None
