"""Parsing statements for the rules: sqlglot in the target's dialect, with one extension.

sqlglot 30 has no grammar for PostgreSQL's ``ALTER TABLE t VALIDATE CONSTRAINT c`` and falls
back to an opaque ``Command``. That statement is the second half of the safe way to add a
foreign key or CHECK (``NOT VALID``, then ``VALIDATE``) which lamina itself recommends, so the
PostgreSQL parser is extended to read it into a :class:`ValidateConstraint` node instead of
reporting it as unparsed.

This module imports sqlglot at the top: only the analyzer imports it, inside ``analyze()``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, ClassVar

from sqlglot import TokenType, exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.parser import Parser

__all__ = [
    "ValidateConstraint",
    "command_words",
    "opaque_reason",
    "parse",
    "renames_a_column",
    "tokens_in",
]


class ValidateConstraint(exp.Expression):
    """The ``VALIDATE CONSTRAINT name`` action of a PostgreSQL ``ALTER TABLE``."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True}


def parse(sql: str, dialect: str) -> list[exp.Expr] | None:
    """The statement's expressions, or None when sqlglot cannot parse it in ``dialect``."""
    # sqlglot logs a warning for every statement it falls back to parsing as a command.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    engine = Dialect.get_or_raise(dialect)
    try:
        parsed = _parser_class(type(engine))(dialect=engine).parse(engine.tokenize(sql), sql)
    except SqlglotError:
        return None
    return [node for node in parsed if node is not None]


def opaque_reason(node: exp.Expr) -> str | None:
    """Why the parse tree does not say what the statement does, or None when it does.

    sqlglot falls back to ``Command`` for syntax it has no grammar for, at the top or inside
    an ``ALTER TABLE``; and it reads a few keywords it does not know (DuckDB's ``CHECKPOINT``,
    SQLite's ``REINDEX``) as a bare column or alias, which is no statement at all.
    """
    if isinstance(node, exp.Command):
        return f"sqlglot has no grammar for this {node.name.upper()} statement"
    if isinstance(node, exp.Condition | exp.Alias):
        return "sqlglot read it as an expression, not a statement"
    if node.find(exp.Command) is not None:
        return "sqlglot understood only part of it"
    return None


def command_words(node: exp.Expr, dialect: str) -> tuple[str, ...]:
    """The words of a statement sqlglot read only as an opaque ``Command``, upper-cased.

    ``VACUUM FULL orders`` gives ``("VACUUM", "FULL", "ORDERS")``. The rest of the statement
    is split by sqlglot's tokenizer for ``dialect``, so quoted names and strings stay one word
    each (a string keeps its quotes off: ``'x'`` gives ``X``). Rules match the leading words
    of statements sqlglot has no grammar for; anything else gives ``()``.
    """
    if not isinstance(node, exp.Command):
        return ()
    rest = node.expression
    text = rest.this if isinstance(rest, exp.Literal) else str(rest or "")
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(str(text))
    except SqlglotError:
        tokens = []
    return (str(node.this).upper(), *(token.text.upper() for token in tokens))


def tokens_in(sql: str, dialect: str) -> bool:
    """Whether ``sql`` holds anything but comments and whitespace."""
    try:
        return bool(Dialect.get_or_raise(dialect).tokenize(sql))
    except SqlglotError:
        return True


def renames_a_column(node: exp.Expr) -> bool:
    """True for PostgreSQL's ``ALTER TABLE t RENAME a TO b``, which renames column ``a``.

    sqlglot reads it as a rename of the table to ``a`` with a ``TO b`` option.
    """
    options = node.args.get("options") or []
    return any(isinstance(option, exp.ToTableProperty) for option in options)


@functools.cache
def _parser_class(dialect_class: type[Dialect]) -> type[Parser]:
    """The dialect's parser, extended where lamina needs a statement sqlglot lacks."""
    base: type[Parser] = dialect_class.parser_class
    if dialect_class is not Dialect.get("postgres"):
        return base
    parsers: dict[str, Callable[[Any], Any]] = {
        **base.ALTER_PARSERS,
        "VALIDATE": _parse_validate_constraint,
    }
    return type("LaminaPostgresParser", (base,), {"ALTER_PARSERS": parsers})


def _parse_validate_constraint(parser: Any) -> exp.Expr | None:
    """``VALIDATE CONSTRAINT name``, after ``ALTER TABLE t``; None lets sqlglot fall back."""
    if not parser._match(TokenType.CONSTRAINT):
        return None
    name = parser._parse_id_var()
    if name is None:
        return None
    node: exp.Expr = parser.expression(ValidateConstraint(this=name))
    return node
