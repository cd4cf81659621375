"""Parsing statements for the rules: sqlglot in the target's dialect, and lamina's own reading
of the PostgreSQL statements sqlglot leaves opaque (:mod:`lamina.risk.recognised`).

A statement is tokenized once, with sqlglot's tokenizer for the dialect. On PostgreSQL each
statement's tokens are first offered to :func:`~lamina.risk.recognised.recognise`; whatever it
does not read is parsed by the dialect's own sqlglot parser. lamina never subclasses a sqlglot
class, so the pure-Python and the compiled (``sqlglot[c]``) builds read statements the same way.

This module imports sqlglot at the top: only the analyzer imports it, inside ``analyze()``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from sqlglot import Token, TokenType, exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError

from lamina.risk.recognised import (
    AddCheck,
    AddConstraintUsingIndex,
    AddEnumValue,
    AlterDomain,
    AlterTable,
    AttachPartition,
    Cluster,
    DetachPartition,
    Recognised,
    ValidateConstraint,
    recognise,
)

if TYPE_CHECKING:
    from lamina.risk import ParseCache

__all__ = [
    "AddCheck",
    "AddConstraintUsingIndex",
    "AddEnumValue",
    "AlterDomain",
    "AlterTable",
    "AttachPartition",
    "Cluster",
    "DetachPartition",
    "Recognised",
    "Statement",
    "ValidateConstraint",
    "command_words",
    "opaque_reason",
    "own_statements",
    "parse",
    "renames_a_column",
    "statement_kind",
    "tokens_in",
]

#: A statement as the rules see it: sqlglot's tree, or lamina's reading of one sqlglot left
#: opaque.
Statement = exp.Expr | Recognised

#: A statement's parse, as :class:`~lamina.risk.ParseCache` keeps it: None when sqlglot
#: cannot parse it.
Parsed = tuple[Statement, ...] | None


def parse(sql: str, dialect: str, cache: ParseCache | None = None) -> list[Statement] | None:
    """The statements in ``sql``, or None when sqlglot cannot parse it in ``dialect``.

    With ``cache``, SQL parsed before in the same run is not parsed again: the trees are
    shared, so no caller may change them.
    """
    parsed = cache.fetch(sql, dialect, _parse) if cache is not None else _parse(sql, dialect)
    return None if parsed is None else list(parsed)


def own_statements(nodes: list[Statement] | None, seen: set[int]) -> list[Statement] | None:
    """``nodes``, with a copy of any object ``seen`` already holds (and now holding them all).

    A cached parse gives the same objects for the same SQL, and a migration may run the same
    statement twice; rules find a statement among the migration's by identity.
    """
    if nodes is None:
        return None
    owned = [
        (node.copy() if isinstance(node, exp.Expr) else replace(node)) if id(node) in seen else node
        for node in nodes
    ]
    seen.update(id(node) for node in owned)
    return owned


def _parse(sql: str, dialect: str) -> Parsed:
    # sqlglot logs a warning for every statement it falls back to parsing as a command.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    engine = Dialect.get_or_raise(dialect)
    try:
        tokens = engine.tokenize(sql)
        nodes = _statements(engine, tokens, sql)
    except SqlglotError:
        return None
    if len(nodes) > 1 and _has_a_body(nodes):
        # CREATE TRIGGER ... BEGIN ...; END is one statement: sqlglot, with no grammar for it,
        # cuts it at the body's semicolons and would have the body's statements judged as if
        # the migration ran them now.
        return tuple(nodes[:1])
    return tuple(nodes)


def _statements(engine: Dialect, tokens: list[Token], sql: str) -> list[Statement]:
    """Each statement (cut at semicolons, as sqlglot cuts them): lamina's reading where it has
    one (PostgreSQL), else sqlglot's parse."""
    chunks = _chunks(tokens) if engine.__class__ is _POSTGRES else []
    read = [recognise(chunk) for chunk in chunks]
    if not any(known is not None for known in read):
        return [node for node in engine.parser().parse(tokens, sql) if node is not None]
    nodes: list[Statement] = []
    for chunk, known in zip(chunks, read, strict=True):
        if known is not None:
            nodes.append(known)
        elif chunk:
            nodes.extend(node for node in engine.parser().parse(chunk, sql) if node is not None)
    return nodes


_POSTGRES = Dialect.get_or_raise("postgres").__class__


def _chunks(tokens: Sequence[Token]) -> list[list[Token]]:
    chunks: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            chunks.append([])
        else:
            chunks[-1].append(token)
    return [chunk for chunk in chunks if chunk]


def _has_a_body(nodes: list[Statement]) -> bool:
    """An opaque ``CREATE ...`` followed by statements up to an ``END``: a compound body."""
    first = nodes[0]
    return (
        isinstance(first, exp.Command)
        and str(first.this).upper() == "CREATE"
        and isinstance(nodes[-1], exp.EndStatement)
    )


def opaque_reason(node: Statement, dialect: str | None = None) -> str | None:
    """Why the parse tree does not say what the statement does, or None when it does.

    sqlglot falls back to ``Command`` for syntax it has no grammar for, at the top or inside
    an ``ALTER TABLE``; and it reads a few keywords it does not know (DuckDB's ``CHECKPOINT``,
    SQLite's ``REINDEX``) as a bare column or alias, which is no statement at all. The reason
    names the kind of statement, so a reader knows what lamina could not judge. lamina's own
    reading of a statement (:data:`Statement`) always says what it does.
    """
    if not isinstance(node, exp.Expr):
        return None
    if isinstance(node, exp.Command):
        kind = statement_kind(node, dialect)
        return f"sqlglot has no grammar for {kind}, and no lamina rule knows it"
    if isinstance(node, exp.Condition | exp.Alias):
        word = next((i.name.upper() for i in node.find_all(exp.Identifier)), "it")
        return f"sqlglot read {word} as an expression, not a statement"
    inner = node.find(exp.Command)
    if inner is not None:
        return (
            f"sqlglot understood only part of it: it has no grammar for "
            f"{statement_kind(inner, dialect)}"
        )
    return None


#: Words that only qualify the kind of object a CREATE/ALTER/DROP names.
_MODIFIERS = frozenset(
    {"OR", "REPLACE", "TEMP", "TEMPORARY", "UNLOGGED", "UNIQUE", "GLOBAL", "LOCAL", "IF", "NOT"}
)
#: Object kinds written in two words.
_TWO_WORD_KINDS = frozenset(
    {"DEFAULT", "EVENT", "FOREIGN", "TEXT", "ACCESS", "MATERIALIZED", "CONSTRAINT", "USER"}
)
_SKIPPED_BEFORE_NAME = frozenset({"IF", "EXISTS", "ONLY", "CONCURRENTLY"})


def statement_kind(node: Statement, dialect: str | None) -> str:
    """What an opaque statement is, in its own words: ``CREATE EXTENSION``, ``ALTER TABLE ...
    ENABLE TRIGGER``, ``VACUUM``; the first word when nothing more is known."""
    words = command_words(node, dialect or "")
    if not words:
        return "this statement"
    head, rest = words[0], list(words[1:])
    if head not in {"CREATE", "ALTER", "DROP"}:
        return head
    while rest and rest[0] in _MODIFIERS:
        rest.pop(0)
    kind = rest[:2] if rest[:1] and rest[0] in _TWO_WORD_KINDS else rest[:1]
    rest = rest[len(kind) :]
    title = " ".join([head, *kind])
    if head != "ALTER" or not kind:
        return title
    action = _after_name(rest)
    return f"{title} ... {' '.join(action)}" if action else title


def _after_name(words: list[str]) -> list[str]:
    """The first two words after an object's (dotted) name."""
    while words and words[0] in _SKIPPED_BEFORE_NAME:
        words = words[1:]
    words = words[1:]
    while words[:1] == ["."]:
        words = words[2:]
    return [word for word in words[:2] if word.replace("_", "").isalnum()]


def command_words(node: Statement, dialect: str) -> tuple[str, ...]:
    """The words of a statement sqlglot read only as an opaque ``Command``, upper-cased.

    ``VACUUM FULL orders`` gives ``("VACUUM", "FULL", "ORDERS")``. The rest of the statement
    is split by sqlglot's tokenizer for ``dialect``, so quoted names and strings stay one word
    each (a string keeps its quotes off: ``'x'`` gives ``X``). A keyword sqlglot does not know
    at all (DuckDB's ``CHECKPOINT``, SQLite's ``REINDEX t``) comes back as a bare name or an
    alias, and gives its one or two words too. Anything else gives ``()``.
    """
    if isinstance(node, exp.Column | exp.Alias):
        return _bare_words(node)
    if not isinstance(node, exp.Command):
        return ()
    rest = node.expression
    text = rest.this if isinstance(rest, exp.Literal) else str(rest or "")
    try:
        tokens = Dialect.get_or_raise(dialect or None).tokenize(str(text))
    except SqlglotError:
        tokens = []
    return (str(node.this).upper(), *(token.text.upper() for token in tokens))


def _bare_words(node: exp.Column | exp.Alias) -> tuple[str, ...]:
    """``CHECKPOINT`` read as a column, or ``REINDEX users`` read as a column with an alias."""
    column = node.this if isinstance(node, exp.Alias) else node
    if not isinstance(column, exp.Column) or column.table:
        return ()
    alias = (node.alias.upper(),) if isinstance(node, exp.Alias) and node.alias else ()
    return (column.name.upper(), *alias)


def tokens_in(sql: str, dialect: str) -> bool:
    """Whether ``sql`` holds anything but comments and whitespace."""
    try:
        return bool(Dialect.get_or_raise(dialect).tokenize(sql))
    except SqlglotError:
        return True


def renames_a_column(node: Statement) -> bool:
    """True for PostgreSQL's ``ALTER TABLE t RENAME a TO b``, which renames column ``a``.

    sqlglot reads it as a rename of the table to ``a`` with a ``TO b`` option.
    """
    if not isinstance(node, exp.Expr):
        return False
    options = node.args.get("options") or []
    return any(isinstance(option, exp.ToTableProperty) for option in options)
