"""Which InnoDB operations a statement asks for: ``ALTER TABLE``, ``CREATE INDEX``, ``OPTIMIZE``.

Each statement becomes :class:`Request`\\ s: the table, the operations
(:class:`~lamina.risk.rules.mysql_columns.Change`), and the ``ALGORITHM=`` / ``LOCK=`` the
author wrote. sqlglot reads most ``ALTER TABLE`` forms; ``CONVERT TO CHARACTER SET``, the
unnamed ``ADD CHECK``, ``CREATE FULLTEXT|SPATIAL INDEX``, ``CREATE INDEX ... ALGORITHM=`` and
``OPTIMIZE TABLE`` it reads only as an opaque ``Command``, so their words are read with
:func:`~lamina.risk.grammar.command_words` instead. A statement with an action lamina does not
know gives no request: no claim is better than a wrong one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlglot import exp

from lamina.risk.grammar import command_words
from lamina.risk.mysql_facts import MySQLTableFacts
from lamina.risk.rules.base import Context, Hit, _alter_actions, _drop_kind, _name
from lamina.risk.rules.mysql_algorithms import Op
from lamina.risk.rules.mysql_columns import Change, added_column, modified_column
from lamina.risk.rules.mysql_session import foreign_key_checks_off

__all__ = ["Request", "requests", "table_facts"]


@dataclass(frozen=True, slots=True)
class Request:
    """What one statement asks InnoDB to do to one table.

    Attributes:
        statement: how the statement starts, for messages (``ALTER TABLE users``).
        table: the table, as written.
        changes: the operations, in order.
        algorithm / lock: the ``ALGORITHM=`` and ``LOCK=`` written, upper-cased (None when
            not written, or ``DEFAULT``).
        also: the findings of rules for every engine that sqlglot's parse would have given
            (``add-check`` for an unnamed ``ADD CHECK``, ``add-unique-constraint`` for a
            ``CREATE UNIQUE INDEX ... ALGORITHM=``).
    """

    statement: str
    table: str
    changes: tuple[Change, ...]
    algorithm: str | None = None
    lock: str | None = None
    also: tuple[Hit, ...] = ()


def table_facts(ctx: Context, table: str) -> MySQLTableFacts | None:
    """The live table with its columns, when the facts were read from a MySQL server."""
    known = ctx.facts.table(table.rsplit(".", 1)[-1])
    return known if isinstance(known, MySQLTableFacts) else None


def requests(node: exp.Expr, ctx: Context) -> list[Request]:
    """The requests of ``node``; none for a statement that is not one of these, or that holds
    an action lamina does not know."""
    if isinstance(node, exp.Command):
        return _command_requests(command_words(node, ctx.dialect), ctx)
    table, actions = _alter_actions(node)
    if table is None:
        return []
    name = _name(table)
    options = node.args.get("options") or []
    unchecked = foreign_key_checks_off(node, ctx)
    changes = _alter_changes(name, actions, table_facts(ctx, name), unchecked)
    changes += _option_changes(name, options)
    known = [change for change in changes if change is not None]
    if len(known) < len(changes):
        return []
    return [Request(f"ALTER TABLE {name}", name, tuple(known), *_written(options))]


# -- ALTER TABLE, parsed --------------------------------------------------------------------


def _alter_changes(
    table: str, actions: Sequence[exp.Expr], facts: MySQLTableFacts | None, unchecked: bool
) -> list[Change | None]:
    """One change per action (several for a column with inline keys); None for an unknown."""
    changes: list[Change | None] = []
    replaces_key = any(isinstance(a, exp.DropPrimaryKey) for a in actions)
    for action in actions:
        if isinstance(action, exp.ColumnDef):
            changes += added_column(table, action, facts)
        elif isinstance(action, exp.ModifyColumn):
            changes += modified_column(table, action, facts)
        elif isinstance(action, exp.AddConstraint):
            changes += _constraint_changes(table, action, facts, unchecked, replaces_key)
        elif isinstance(action, exp.DropPrimaryKey):
            adds = any(_adds_primary_key(a) for a in actions)
            op = Op.REPLACE_PRIMARY_KEY if adds else Op.DROP_PRIMARY_KEY
            changes.append(Change(op, f"drops the primary key of {table}"))
        else:
            changes.append(_simple_change(table, action))
    return changes


#: ``DROP <kind>`` actions, by kind (MySQL drops a CHECK with DROP CONSTRAINT too).
_DROPS = {
    "COLUMN": Op.DROP_COLUMN,
    "INDEX": Op.DROP_INDEX,
    "FOREIGN KEY": Op.DROP_FOREIGN_KEY,
    "CHECK": Op.DROP_CHECK,
    "CONSTRAINT": Op.DROP_CHECK,
}
#: Actions that are one operation whatever the table holds: the operation and its words.
_PLAIN: dict[type[exp.Expr], tuple[Op, str]] = {
    exp.RenameColumn: (Op.RENAME_COLUMN, "renames column {table}.{name}"),
    exp.RenameIndex: (Op.RENAME_INDEX, "renames index {name} of {table}"),
    exp.AlterRename: (Op.RENAME_TABLE, "renames {table}"),
    exp.ForceProperty: (Op.REBUILD, "rebuilds {table} (FORCE)"),
}


def _simple_change(table: str, action: exp.Expr) -> Change | None:
    """Actions that are one operation whatever the table holds; None for others."""
    kind = _drop_kind(action)
    if kind in _DROPS:
        names = ", ".join(_name(t) for t in action.args.get("tables") or [])
        return Change(_DROPS[kind], f"drops {kind.lower()} {names} of {table}")
    if isinstance(action, exp.AlterColumn):
        sets_default = action.args.get("drop") or "default" in action.args
        what = f"changes the default of {table}.{_name(action.this)}"
        return Change(Op.SET_DEFAULT, what) if sets_default else None
    op, words = _PLAIN.get(type(action), (None, ""))
    if op is None:
        return None
    return Change(op, words.format(table=table, name=_name(action.this)))


def _constraint_changes(
    table: str,
    action: exp.AddConstraint,
    facts: MySQLTableFacts | None,
    unchecked: bool,
    replaces_key: bool,
) -> list[Change | None]:
    changes: list[Change | None] = []
    for item in action.expressions:
        for constraint in item.expressions if isinstance(item, exp.Constraint) else [item]:
            # Counted once, with DROP PRIMARY KEY, when the statement replaces the key.
            if not (replaces_key and isinstance(constraint, exp.PrimaryKey)):
                changes.append(_constraint_change(table, constraint, facts, unchecked))
    return changes


#: Constraints whose operation does not depend on the table: the operation and its words.
_CONSTRAINTS: dict[type[exp.Expr], tuple[Op, str]] = {
    exp.UniqueColumnConstraint: (Op.ADD_INDEX, "adds a unique index on"),
    exp.PrimaryKey: (Op.ADD_PRIMARY_KEY, "adds a primary key to"),
    exp.CheckColumnConstraint: (Op.ADD_CHECK, "adds a CHECK constraint to"),
}


def _constraint_change(
    table: str, constraint: exp.Expr, facts: MySQLTableFacts | None, unchecked: bool
) -> Change | None:
    """An added index or constraint; a foreign key added with foreign_key_checks=0 is not
    checked, so InnoDB adds it in place."""
    if isinstance(constraint, exp.IndexColumnConstraint):
        return _index_change(table, str(constraint.args.get("kind") or ""), constraint.name, facts)
    if isinstance(constraint, exp.ForeignKey):
        if unchecked:
            return Change(Op.ADD_FOREIGN_KEY_UNCHECKED, f"adds an unchecked foreign key to {table}")
        return Change(Op.ADD_FOREIGN_KEY, f"adds a foreign key to {table}")
    op, words = _CONSTRAINTS.get(type(constraint), (None, ""))
    return Change(op, f"{words} {table}") if op is not None else None


def _adds_primary_key(action: exp.Expr) -> bool:
    return isinstance(action, exp.AddConstraint) and action.find(exp.PrimaryKey) is not None


def _index_change(table: str, kind: str, name: str, facts: MySQLTableFacts | None) -> Change:
    """A FULLTEXT index on a table without one adds a hidden column: the table is rebuilt."""
    label = f"index {name} on {table}" if name else f"an index on {table}"
    if kind.upper() == "FULLTEXT":
        if facts is not None and facts.fulltext:
            return Change(Op.ADD_FULLTEXT, f"adds FULLTEXT {label}")
        return Change(Op.ADD_FIRST_FULLTEXT, f"adds FULLTEXT {label}, the table's first")
    if kind.upper() == "SPATIAL":
        return Change(Op.ADD_SPATIAL, f"adds SPATIAL {label}")
    return Change(Op.ADD_INDEX, f"adds {label}")


def _option_changes(table: str, options: Sequence[exp.Expr]) -> list[Change | None]:
    changes: list[Change | None] = []
    for option in options:
        if isinstance(option, exp.AlgorithmProperty | exp.LockProperty):
            continue
        if isinstance(option, exp.EngineProperty) and option.name.lower() == "innodb":
            changes.append(Change(Op.REBUILD, f"rebuilds {table} (ENGINE=InnoDB)"))
        elif isinstance(option, exp.RowFormatProperty):
            changes.append(Change(Op.REBUILD, f"rebuilds {table} (ROW_FORMAT={option.name})"))
        elif isinstance(option, exp.AutoIncrementProperty):
            changes.append(Change(Op.AUTO_INCREMENT, f"sets the AUTO_INCREMENT of {table}"))
        elif isinstance(option, exp.SchemaCommentProperty):
            changes.append(Change(Op.TABLE_COMMENT, f"changes the comment of {table}"))
        elif isinstance(option, exp.CharacterSetProperty):
            charset = option.name.lower()
            changes.append(
                Change(Op.TABLE_CHARSET, f"sets the default character set of {table} to {charset}")
            )
        else:
            changes.append(None)
    return changes


def _written(options: Sequence[exp.Expr]) -> tuple[str | None, str | None]:
    """The ``ALGORITHM=`` and ``LOCK=`` written (``DEFAULT`` is not a request)."""
    algorithm = lock = None
    for option in options:
        value = option.name.upper()
        if isinstance(option, exp.AlgorithmProperty) and value != "DEFAULT":
            algorithm = value
        elif isinstance(option, exp.LockProperty) and value != "DEFAULT":
            lock = value
    return algorithm, lock


# -- statements sqlglot reads as Commands ---------------------------------------------------


def _command_requests(words: tuple[str, ...], ctx: Context) -> list[Request]:
    if words[:1] == ("OPTIMIZE",):
        return [_optimize(table) for table in _optimized_tables(words)]
    request = None
    if words[:1] == ("CREATE",) and "INDEX" in words[1:3]:
        request = _create_index(words, ctx)
    elif words[:2] == ("ALTER", "TABLE"):
        request = _alter_command(words, ctx)
    return [request] if request is not None else []


def _optimized_tables(words: tuple[str, ...]) -> list[str]:
    """``OPTIMIZE [NO_WRITE_TO_BINLOG | LOCAL] TABLE a, b``: the table names."""
    if "TABLE" not in words:
        return []
    names = words[words.index("TABLE") + 1 :]
    return [name.lower() for name in "".join(names).split(",") if name]


def _optimize(table: str) -> Request:
    change = Change(Op.REBUILD, f"rebuilds {table} (OPTIMIZE TABLE)")
    return Request(f"OPTIMIZE TABLE {table}", table, (change,))


def _create_index(words: tuple[str, ...], ctx: Context) -> Request | None:
    """``CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX name ON table (...) [ALGORITHM=x] [LOCK=y]``."""
    kind = words[1] if words[2:3] == ("INDEX",) else ""
    start = words.index("INDEX") + 1
    if "ON" not in words[start + 1 :]:
        return None
    name = words[start].lower()
    on = words.index("ON", start)
    table, _ = _qualified(words, on + 1)
    facts = table_facts(ctx, table)
    change = _index_change(table, "" if kind == "UNIQUE" else kind, name, facts)
    if kind != "UNIQUE":
        statement = f"CREATE {kind} INDEX {name} ON {table}".replace("  ", " ")
        return Request(statement, table, (change,), *_clauses(words[on + 1 :]))
    duplicates = Hit(
        "add-unique-constraint",
        f"creates unique index {name} on {table}: it fails on any duplicate",
    )
    statement = f"CREATE UNIQUE INDEX {name} ON {table}"
    return Request(statement, table, (change,), *_clauses(words[on + 1 :]), (duplicates,))


def _alter_command(words: tuple[str, ...], ctx: Context) -> Request | None:
    """``ALTER TABLE t`` with actions sqlglot cannot parse (``CONVERT TO CHARACTER SET``, an
    unnamed ``ADD CHECK``, ``CHECK ... [NOT] ENFORCED``), when lamina knows every action."""
    table, rest = _qualified(words, 2)
    facts = table_facts(ctx, table)
    changes: list[Change] = []
    for action in _actions(words[rest:]):
        known = _command_action(table, action, facts)
        if known is None:
            return None
        changes += known
    checks = tuple(
        Hit("add-check", f"adds CHECK constraint on {table}, checking every existing row")
        for change in changes
        if change.op is Op.ADD_CHECK
    )
    return Request(f"ALTER TABLE {table}", table, tuple(changes), *_clauses(words), checks)


def _command_action(
    table: str, words: tuple[str, ...], facts: MySQLTableFacts | None
) -> list[Change] | None:
    """The operations of one action: ``[]`` for a clause (ALGORITHM=, LOCK=) or a CHECK
    that is NOT ENFORCED, None for an action lamina does not know."""
    if words[:2] == ("CONVERT", "TO") and words[2:3] in (("CHARACTER",), ("CHARSET",)):
        return _convert(table, words, facts)
    if words[:1] in (("ALGORITHM",), ("LOCK",)):
        return []
    if words[:1] == ("ADD",) and "CHECK" in words[1:4]:
        if words[-2:] == ("NOT", "ENFORCED"):
            return []
        return [Change(Op.ADD_CHECK, f"adds a CHECK constraint to {table}")]
    return None


def _convert(table: str, words: tuple[str, ...], facts: MySQLTableFacts | None) -> list[Change]:
    """``CONVERT TO CHARACTER SET x [COLLATE y]`` rewrites every text column; nothing when
    the live table is already in ``x`` throughout."""
    rest = words[4:] if words[2] == "CHARACTER" else words[3:]
    if not rest:
        return []
    charset = rest[0].lower()
    collate = ""
    if "COLLATE" in rest[:-1]:
        collate = f" COLLATE {rest[rest.index('COLLATE') + 1].lower()}"
    if facts is not None and _already_in(facts, charset):
        return []
    what = f"converts every text column of {table} to {charset}{collate}"
    return [Change(Op.CONVERT_CHARSET, what)]


def _already_in(facts: MySQLTableFacts, charset: str) -> bool:
    columns = [c.charset for c in facts.columns.values() if c.charset is not None]
    return facts.charset == charset and all(c == charset for c in columns)


def _actions(words: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """The actions of a statement's words, split at commas outside brackets."""
    depth = 0
    current: list[str] = []
    for word in words:
        depth += (word == "(") - (word == ")")
        if word == "," and depth == 0:
            yield tuple(current)
            current = []
        else:
            current.append(word)
    if current:
        yield tuple(current)


def _clauses(words: tuple[str, ...]) -> tuple[str | None, str | None]:
    """``ALGORITHM [=] x`` and ``LOCK [=] y`` among ``words`` (``DEFAULT`` asks nothing)."""
    found: dict[str, str | None] = {"ALGORITHM": None, "LOCK": None}
    for index, word in enumerate(words):
        value = words[index + 1 : index + 3]
        if word in found and value[:1] == ("=",):
            value = value[1:]
        if word in found and value and value[0] != "DEFAULT":
            found[word] = value[0]
    return found["ALGORITHM"], found["LOCK"]


def _qualified(words: tuple[str, ...], start: int) -> tuple[str, int]:
    """The name ``db . t`` or ``t`` at ``start``, lower-cased, and where the words go on."""
    if words[start + 1 : start + 2] == (".",) and start + 2 < len(words):
        return f"{words[start]}.{words[start + 2]}".lower(), start + 3
    return words[start].lower(), start + 1
