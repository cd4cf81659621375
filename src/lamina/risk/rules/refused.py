"""What the SQLite and DuckDB rules share: reading the ALTER TABLE forms an embedded engine
refuses, whether sqlglot parsed them or read them only as an opaque command."""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from lamina.risk.grammar import command_words
from lamina.risk.rules.base import _name

__all__ = [
    "TABLE_CONSTRAINT_WORDS",
    "OpaqueAlter",
    "adds_a_table_constraint",
    "alter_column_change",
    "opaque_alter",
]

#: Words that start a table constraint after ``ALTER TABLE t ADD``.
TABLE_CONSTRAINT_WORDS = frozenset({"CONSTRAINT", "CHECK", "UNIQUE", "PRIMARY", "FOREIGN"})

OpaqueAlter = tuple[str, tuple[str, ...]]


def opaque_alter(node: exp.Expr, dialect: str) -> OpaqueAlter | None:
    """``(table, words after it)`` of an ``ALTER TABLE`` sqlglot read only as a command.

    ``ALTER TABLE main.users ADD CHECK (age > 0)`` gives ``("main.users", ("ADD", "CHECK",
    ...))``; the table is lower-cased, as the tokenizer's words are upper-cased.
    """
    words = command_words(node, dialect)
    if words[:2] != ("ALTER", "TABLE"):
        return None
    rest = words[2:]
    if rest[:2] == ("IF", "EXISTS"):
        rest = rest[2:]
    parts: list[str] = []
    while rest:
        parts.append(rest[0])
        if rest[1:2] != (".",):
            break
        rest = rest[2:]
    return ".".join(parts).lower(), tuple(rest[1:])


def adds_a_table_constraint(words: Sequence[str]) -> bool:
    """Whether the words after the table start ``ADD CONSTRAINT``, ``ADD CHECK`` and the like."""
    return len(words) > 1 and words[0] == "ADD" and words[1] in TABLE_CONSTRAINT_WORDS


def alter_column_change(table: exp.Expr | None, action: exp.AlterColumn) -> str:
    """What an ``ALTER COLUMN`` action does, for messages: ``changes the type of t.c``."""
    where = f"{_name(table)}.{_name(action.this)}"
    if action.args.get("dtype") is not None:
        return f"changes the type of {where}"
    if action.args.get("allow_null") is False:
        return f"sets {where} NOT NULL"
    if action.args.get("allow_null") is True:
        return f"drops NOT NULL from {where}"
    if action.args.get("default") is not None:
        return f"sets the default of {where}"
    if action.args.get("drop"):
        return f"drops the default of {where}"
    return f"alters column {where}"
