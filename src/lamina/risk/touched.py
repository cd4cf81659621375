"""Which tables a run's statements change, so a backup can hold just those
(``backup_scope = touched``).

Each statement is read with sqlglot in the target's dialect (:mod:`lamina.risk.grammar`). A
table is touched when a statement writes, alters, drops, truncates, renames or creates it.
Anything that cannot be pinned to named tables — a statement sqlglot cannot read, ``DROP
SCHEMA``, views, types and functions, ``SET search_path``, a procedure call, a Python migration
that reads rows first — answers "the whole database" with the reason: a backup missing one
changed table would restore an inconsistent database, which is worse than a slower backup.

This module imports sqlglot at the top: import it only when a touched backup is taken.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlglot import TokenType, exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError

from lamina.models import StatementRecord
from lamina.risk.grammar import (
    AddEnumValue,
    AlterDomain,
    AlterTable,
    AttachPartition,
    Cluster,
    DetachPartition,
    Statement,
    command_words,
    opaque_reason,
    parse,
    renames_a_column,
)
from lamina.sqlline import one_line_sql

__all__ = ["TableName", "Touched", "touched_by"]

#: Statements sqlglot reads only as opaque commands but that change no table's rows or shape.
_HARMLESS_WORDS = frozenset(
    {"ANALYZE", "VACUUM", "CHECKPOINT", "REINDEX", "LOCK", "LOCK TABLES", "UNLOCK", "EXPLAIN"}
)
#: Functions sqlglot does not know that never write a table (SQLite's RAISE, in triggers).
_NO_WRITES = frozenset({"RAISE"})
#: Statements that change nothing lamina backs up (transaction control, settings, grants...).
_HARMLESS = (
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Pragma,
    exp.Grant,
    exp.Revoke,
    exp.Comment,
    exp.Analyze,
    exp.Describe,
    exp.Show,
)
#: Statements whose written tables :meth:`_Reader.collect` knows how to find.
_WRITES = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.TruncateTable,
    exp.Copy,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.Select,
    exp.Union,
)
#: Object kinds a CREATE, DROP or ALTER may name without reaching beyond tables and indexes.
_TABLE_KINDS = frozenset({"TABLE"})
_INDEX_KINDS = frozenset({"INDEX"})
_QUERY_SHAPES = (exp.Select, exp.Union)


@dataclass(frozen=True, slots=True, order=True)
class TableName:
    """A table as a statement names it: ``qualifier`` holds the parts before the name
    (``("billing",)`` for ``billing.users``), folded as the engine folds unquoted names."""

    name: str
    qualifier: tuple[str, ...] = ()

    def __str__(self) -> str:
        return ".".join((*self.qualifier, self.name))


@dataclass(frozen=True, slots=True)
class Touched:
    """What a run's statements change.

    Attributes:
        tables: every table written, altered, dropped, truncated, renamed (both names) or
            created.
        dropped: the tables the run drops or renames away (a restore recreates them).
        indexes: indexes dropped or altered by name alone (``DROP INDEX i``): the backup
            finds their tables in the live database.
        whole: why the whole database must be backed up instead; None when the tables are
            known.
    """

    tables: tuple[TableName, ...] = ()
    dropped: tuple[TableName, ...] = ()
    indexes: tuple[TableName, ...] = ()
    whole: str | None = None


def touched_by(steps: Iterable[tuple[str, Sequence[StatementRecord]]], dialect: str) -> Touched:
    """The tables the statements of ``steps`` (``(migration id, statements)``) change.

    A step that reads rows (a Python migration's ``fetch_all``) writes what its reads decide,
    which the dry-run recording cannot know: the whole database, with that reason.
    """
    reader = _Reader(dialect)
    for step_id, statements in steps:
        for record in statements:
            if record.is_query:
                return Touched(
                    whole=f"{step_id} reads rows before it writes (fetch_all), so which tables "
                    "it changes is known only when it runs"
                )
            problem = reader.statement(record.sql)
            if problem is not None:
                return Touched(whole=f"{step_id}: {problem}: {_short(record.sql)}")
    return reader.result()


def _short(sql: str, limit: int = 120) -> str:
    text = one_line_sql(sql)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _Reader:
    """Collects the touched tables statement by statement."""

    dialect: str
    tables: set[TableName] = field(default_factory=set)
    dropped: set[TableName] = field(default_factory=set)
    indexes: set[TableName] = field(default_factory=set)

    def result(self) -> Touched:
        return Touched(
            tables=tuple(sorted(self.tables)),
            dropped=tuple(sorted(self.dropped)),
            indexes=tuple(sorted(self.indexes)),
        )

    def statement(self, sql: str) -> str | None:
        """Record what ``sql`` touches; the reason it needs the whole database, or None."""
        nodes = parse(sql, self.dialect)
        if nodes is None:
            return "sqlglot cannot parse it"
        for node in nodes:
            problem = self._node(node)
            if problem is not None:
                return problem
        return None

    def _node(self, node: Statement) -> str | None:  # noqa: PLR0911 - one case per kind
        if not isinstance(node, exp.Expr):
            return self._recognised(node)
        if isinstance(node, exp.Command):
            return self._command(node)
        if isinstance(node, exp.Column | exp.Alias):  # a keyword sqlglot does not know
            words = command_words(node, self.dialect)
            if words and words[0] in _HARMLESS_WORDS:
                return None
        reason = opaque_reason(node, self.dialect)
        if reason is not None:
            return reason
        if isinstance(node, exp.Set):
            return _search_path(node)
        if isinstance(node, _HARMLESS):
            return None
        if not isinstance(node, _WRITES):
            return f"lamina does not know which tables {type(node).__name__.upper()} changes"
        if isinstance(node, _QUERY_SHAPES) and not node.args.get("into"):
            calls = node.find_all(exp.Anonymous)
            called = next((c for c in calls if c.name.upper() not in _NO_WRITES), None)
            if called is not None:
                return f"it calls {called.name}(), which may change any table"
        return self.collect(node)

    def _command(self, node: exp.Command) -> str | None:
        word = str(node.this).upper()
        rest = node.expression
        text = str(rest.this if isinstance(rest, exp.Literal) else rest or "")
        if word in _HARMLESS_WORDS:
            return None
        if self.dialect == "mysql" and word == "RENAME":
            return self._mysql_rename(text)
        if self.dialect == "mysql" and word == "REPLACE":  # REPLACE INTO t ...: an insert
            nodes = parse(f"INSERT {text}", self.dialect)
            return self._node(nodes[0]) if nodes else "sqlglot cannot parse it"
        return opaque_reason(node, self.dialect)

    def _recognised(self, node: AlterTable | AddEnumValue | AlterDomain | Cluster) -> str | None:
        """lamina's own reading of a PostgreSQL statement sqlglot leaves opaque."""
        if isinstance(node, AlterTable):
            if any(isinstance(a, AttachPartition | DetachPartition) for a in node.actions):
                return "it attaches or detaches a partition"
            return self._add(node.table)
        if isinstance(node, Cluster):
            return (
                self._add(node.table) if node.table is not None else "CLUSTER reorders every table"
            )
        return "it changes a type that tables use"

    def collect(self, node: exp.Expr) -> str | None:
        """Add every table ``node`` writes: a DDL statement's own table, or each write of a
        query or DML statement (in CTEs and subqueries too)."""
        if isinstance(node, exp.Create):
            return self._create(node)
        if isinstance(node, exp.Drop):
            return self._drop(node)
        if isinstance(node, exp.Alter):
            return self._alter(node)
        return _first(self._write(sub) for sub in node.walk())

    def _write(self, sub: exp.Expr) -> str | None:
        if isinstance(sub, exp.Insert | exp.Merge | exp.Copy):
            return self._add(sub.this)
        if isinstance(sub, exp.Update | exp.Delete):
            targets = [sub.this, *(sub.args.get("tables") or [])]
            joined = [j.this for t in targets if t is not None for j in t.args.get("joins") or []]
            return _first(self._add(t) for t in (*targets, *joined) if t is not None)
        if isinstance(sub, exp.TruncateTable):
            if sub.args.get("is_database"):
                return "TRUNCATE DATABASE empties every table"
            return _first(self._add(t) for t in sub.expressions)
        if isinstance(sub, exp.Select) and isinstance(sub.args.get("into"), exp.Into):
            return self._add(sub.args["into"].this)
        return None

    def _create(self, node: exp.Create) -> str | None:
        kind = str(node.args.get("kind") or "").upper()
        if kind in _TABLE_KINDS:
            return self._add(node.this)
        if kind in _INDEX_KINDS and isinstance(node.this, exp.Index):
            return self._add(node.this.args.get("table"))
        return f"CREATE {kind or 'of this kind'} is more than a table"

    def _drop(self, node: exp.Drop) -> str | None:
        kind = str(node.args.get("kind") or "").upper()
        targets = node.args.get("tables") or []
        if kind in _TABLE_KINDS:
            problem = _first(self._add(t) for t in targets)
            self.dropped.update(n for n in map(self._name, targets) if n is not None)
            return problem
        if kind in _INDEX_KINDS:
            on = node.args.get("cluster")
            if isinstance(on, exp.OnProperty):  # MySQL: DROP INDEX i ON t
                return self._add(on.this)
            return _first(self._index(t) for t in targets)
        return f"DROP {kind or 'of this kind'} is more than a table"

    def _alter(self, node: exp.Alter) -> str | None:
        kind = str(node.args.get("kind") or "").upper()
        if kind in _INDEX_KINDS:
            return self._index(node.this)
        if kind not in _TABLE_KINDS:
            return f"ALTER {kind or 'of this kind'} is more than a table"
        problem = self._add(node.this)
        old = self._name(node.this)
        for action in node.args.get("actions") or []:
            if isinstance(action, exp.AlterRename) and not renames_a_column(node):
                new = self._name(action.this)
                if new is None or old is None:
                    return "it renames a table lamina cannot name"
                self.tables.add(TableName(new.name, new.qualifier or old.qualifier))
                self.dropped.add(old)
        return problem

    def _mysql_rename(self, text: str) -> str | None:
        """``RENAME TABLE a TO b, c TO d`` (sqlglot reads it as an opaque command)."""
        try:
            tokens = Dialect.get_or_raise(self.dialect).tokenize(text)
        except SqlglotError:
            return "sqlglot cannot read this RENAME"
        if tokens and tokens[0].text.upper() in {"TABLE", "TABLES"}:
            tokens = tokens[1:]
        pairs: list[list[list[str]]] = [[[]]]
        for token in tokens:
            if token.token_type == TokenType.COMMA:
                pairs.append([[]])
            elif token.text.upper() == "TO" and token.token_type != TokenType.IDENTIFIER:
                pairs[-1].append([])
            elif token.token_type != TokenType.DOT:
                pairs[-1][-1].append(token.text)
        for pair in pairs:
            if len(pair) != 2 or not all(1 <= len(side) <= 2 for side in pair):
                return "lamina cannot read the table names of this RENAME"
            old, new = (TableName(side[-1], tuple(side[:-1])) for side in pair)
            self.tables.update((old, new))
            self.dropped.add(old)
        return None

    def _add(self, target: exp.Expr | None) -> str | None:
        name = self._name(target)
        if name is None:
            return "it writes to something lamina cannot name as a table"
        self.tables.add(name)
        return None

    def _index(self, target: exp.Expr | None) -> str | None:
        name = self._name(target)
        if name is None:
            return "it names an index lamina cannot read"
        self.indexes.add(name)
        return None

    def _name(self, target: exp.Expr | None) -> TableName | None:
        if isinstance(target, exp.Schema):
            target = target.this
        if not isinstance(target, exp.Table) or not isinstance(target.this, exp.Identifier):
            return None
        parts = [target.args.get("catalog"), target.args.get("db"), target.this]
        if not all(p is None or isinstance(p, exp.Identifier) for p in parts):
            return None
        names = [self._fold(p) for p in parts if p is not None]
        return TableName(names[-1], tuple(names[:-1]))

    def _fold(self, identifier: exp.Identifier) -> str:
        """PostgreSQL folds unquoted names to lower case; the other engines match names
        against their catalog themselves (case-insensitively where they are)."""
        if self.dialect == "postgres" and not identifier.quoted:
            return str(identifier.name).lower()
        return str(identifier.name)


def _first(problems: Iterable[str | None]) -> str | None:
    return next((p for p in problems if p is not None), None)


def _search_path(node: exp.Set) -> str | None:
    for item in node.expressions:
        target = item.this.this if isinstance(item.this, exp.EQ) else item.this
        if isinstance(target, exp.Column | exp.Var | exp.Identifier) and (
            target.name.lower() == "search_path"
        ):
            return "SET search_path changes which tables unqualified names reach"
    return None
