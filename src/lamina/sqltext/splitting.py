"""Dialect-aware statement splitting: sqlglot's tokenizer, or a fast path that needs no
import when the answer is certain (see :mod:`lamina.sqltext`)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlglot import Token


@dataclass(frozen=True, slots=True)
class Statement:
    """One executable statement of a script.

    ``sql`` is ``script[start:end]``: the statement exactly as written, from its first token to its
    last, inner comments included; comments and whitespace around it and the terminating ``;``
    are not part of it. ``line`` is the 1-based line of ``start`` within the script (lines are
    counted by ``\\n``).
    """

    sql: str
    line: int
    start: int
    end: int


def split_segments(script: str, dialect: str) -> list[str]:
    """Partition ``script`` at its top-level statement-terminating semicolons.

    Every segment but the last ends just after such a ``;``; the last holds the remainder when
    there is one. ``"".join(split_segments(script, dialect)) == script`` always holds.
    """
    segments = []
    start = 0
    for piece in _split(script, dialect):
        segments.append(script[start : piece.end])
        start = piece.end
    return segments


def split_statements(script: str, dialect: str) -> list[Statement]:
    """The executable statements of ``script``, in order, for a sqlglot ``dialect`` name.

    Segments holding only whitespace and comments are dropped. When sqlglot cannot tokenize the
    script (an unterminated string, say) the whole script becomes one statement so that the
    database reports the real error. On the fast path the dialect name is not checked.
    """
    statements = []
    line = 1
    counted = 0
    for piece in _split(script, dialect):
        if piece.statement is None:
            continue
        start, end = piece.statement
        line += script.count("\n", counted, start)
        counted = start
        statements.append(Statement(script[start:end], line, start, end))
    return statements


def has_statements(sql: str, dialect: str) -> bool:
    """False when ``sql`` is only whitespace and comments (an "empty" down section)."""
    return any(piece.statement is not None for piece in _split(sql, dialect))


@dataclass(frozen=True, slots=True)
class _Piece:
    end: int  # offset just after this segment (its start is the previous piece's end)
    statement: tuple[int, int] | None  # [start, end) of the statement within the script


@functools.lru_cache(maxsize=4096)
def _split(script: str, dialect: str) -> tuple[_Piece, ...]:
    """The pieces of ``script``; cached, because one run splits each section several times
    (emptiness checks, transaction-control checks, the recorder, the real run)."""
    if not script:
        return ()
    pieces = _fast_split(script)
    if pieces is None:
        pieces = _token_split(script, dialect)
    return tuple(pieces)


# -- the fast path ---------------------------------------------------------------------------
#
# Without quotes, comment openers, quoted-identifier openers or dollar signs, nothing in a script
# can hide a semicolon: each ``;`` is a SEMICOLON token and each other visible character belongs to
# some token. Unless a trigger / procedure / function / event might be created (the only place
# where block tracking can keep a ``;`` from ending a statement), the tokenizer would therefore
# split at every ``;``, which ``str.find`` does without importing sqlglot. A script made only of
# blank lines and ``-- `` comments has no statement in any dialect. Everything else is tokenized.

_FAST_CHARS = frozenset(
    {chr(code) for code in range(0x20, 0x7F)} - set("'\"`$-/[#{\\") | {"\t", "\n", "\r"}
)
_COMPOUND_KINDS = frozenset({"TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"})


def _fast_split(script: str) -> list[_Piece] | None:
    """Split without sqlglot when the answer is certain; ``None`` when the tokenizer must run."""
    if _FAST_CHARS.issuperset(script):
        if ";" in script:
            upper = script.upper()
            if any(kind in upper for kind in _COMPOUND_KINDS):
                return None
        pieces = []
        start = 0
        while start < len(script):
            semicolon = script.find(";", start)
            if semicolon < 0:
                pieces.append(_Piece(len(script), _trim(script, start, len(script))))
                break
            pieces.append(_Piece(semicolon + 1, _trim(script, start, semicolon)))
            start = semicolon + 1
        return pieces
    if _only_dash_comments(script):
        return [_Piece(len(script), None)]
    return None


def _only_dash_comments(script: str) -> bool:
    """True when every line is blank or a ``--`` comment that every dialect reads as one."""
    for line in script.splitlines():  # splits at \n and \r, and at more: conservative
        text = line.strip()
        if text and not (text.startswith("--") and (len(text) == 2 or text[2].isspace())):
            return False
    return True


def _trim(script: str, start: int, end: int) -> tuple[int, int] | None:
    """``[start, end)`` without surrounding whitespace, or ``None`` when nothing is left."""
    while start < end and script[start].isspace():
        start += 1
    while end > start and script[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


# -- the tokenizer path ----------------------------------------------------------------------


def _token_split(script: str, dialect: str) -> list[_Piece]:
    from sqlglot import TokenType
    from sqlglot.dialects.dialect import Dialect

    sqlglot_dialect = Dialect.get_or_raise(dialect)
    try:
        tokens = sqlglot_dialect.tokenize(script)
    except Exception:  # sqlglot raises TokenError; whatever it is, the database has the last word
        return [_Piece(len(script), _trim(script, 0, len(script)))]

    executable_comments = dialect.lower() in _MYSQL_DIALECTS
    words = [_word(script, token) for token in tokens]
    pieces: list[_Piece] = []
    segment_start = 0
    first = last = -1  # bounds of the current statement's tokens, -1 before its first token
    blocks = _Blocks()

    def close(segment_end: int, body_end: int) -> None:
        if first < 0:
            statement = None
        else:
            start = min(max(first, segment_start), body_end)
            statement = _trim(script, start, min(max(last, start), body_end))
        if executable_comments:
            statement = _with_executable_comment(script, segment_start, body_end, statement)
        pieces.append(_Piece(segment_end, statement))

    index = 0
    while index < len(tokens):
        token = tokens[index]
        word = words[index]
        if token.token_type == TokenType.SEMICOLON and word == ";" and not blocks.open:
            close(token.start + 1, token.start)
            segment_start = token.start + 1
            first = last = -1
            blocks = _Blocks()
            index += 1
            continue
        following = words[index + 1] if index + 1 < len(tokens) else ""
        consumed = blocks.feed(word, following)
        if first < 0 or token.start < first:
            first = token.start
        if consumed:
            index += 1
            token = tokens[index]
        last = max(last, token.end + 1)
        index += 1
    if segment_start < len(script):
        close(len(script), len(script))
    return pieces


def _word(script: str, token: Token) -> str:
    """A token's text as written, upper-cased: quoted tokens keep their quotes, so a quoted
    identifier or string never reads as a keyword."""
    return script[token.start : token.end + 1].upper()


# Statements whose bodies may hold semicolons between BEGIN and END (SQLite and MySQL triggers,
# MySQL procedures, functions and events, PostgreSQL ``BEGIN ATOMIC`` bodies).
_KIND_WINDOW = 16  # tokens after CREATE within which the object kind must appear
_PLAIN_KINDS = frozenset(
    {"TABLE", "VIEW", "INDEX", "UNIQUE", "SCHEMA", "DATABASE", "SEQUENCE", "TYPE", "DOMAIN"}
    | {"EXTENSION", "ROLE", "USER", "MATERIALIZED", "VIRTUAL", "MACRO", "SECRET", "POLICY"}
)
_BLOCK_OPENERS = frozenset({"BEGIN", "CASE"})  # closed by a plain END (CASE also by END CASE)
_LOOP_OPENERS = frozenset({"IF", "LOOP", "WHILE", "REPEAT"})  # closed by END IF, END LOOP...
_END_QUALIFIERS = _LOOP_OPENERS | {"CASE"}
# Tokens after which IF / LOOP / WHILE / REPEAT start a compound statement rather than being
# a function call (``IF(a, b, c)``, ``REPEAT('x', 3)``) or part of ``IF [NOT] EXISTS``.
_STATEMENT_STARTS = frozenset({";", "BEGIN", "THEN", "ELSE", "DO", "ROW", "LOOP", "REPEAT", ":"})


class _Blocks:
    """Tracks BEGIN ... END nesting inside one CREATE TRIGGER / PROCEDURE / FUNCTION / EVENT.

    A statement is fed token by token; while :attr:`open` is true, a ``;`` does not end it.
    Outside such statements nothing is tracked, so ``BEGIN;`` stays a transaction statement.
    The stack mends itself: a closer pops back to its own opener, so an IF taken for an opener
    by mistake is dropped by the END that closes the enclosing block.
    """

    __slots__ = ("_compound", "_count", "_create", "_previous", "_stack")

    def __init__(self) -> None:
        self._count = 0
        self._create = False
        self._compound = False
        self._previous = ""
        self._stack: list[str] = []

    @property
    def open(self) -> bool:
        return bool(self._stack)

    def feed(self, word: str, following: str) -> bool:
        """Account for the next token; True when it consumed ``following`` too (``END IF``)."""
        count = self._count
        self._count += 1
        consumed = False
        if count == 0:
            self._create = word == "CREATE"
        elif self._create and count <= _KIND_WINDOW:
            if word in _COMPOUND_KINDS:
                self._compound = True
                self._create = False
            elif word in _PLAIN_KINDS:
                self._create = False
        elif self._compound:
            if word in _BLOCK_OPENERS or (
                word in _LOOP_OPENERS and self._previous in _STATEMENT_STARTS
            ):
                self._stack.append(word)
            elif word == "END":
                if following in _END_QUALIFIERS:
                    self._close(following)
                    word = following
                    consumed = True
                else:
                    self._close_block()
        self._previous = word
        return consumed

    def _close(self, kind: str) -> None:
        if kind in self._stack:
            while self._stack.pop() != kind:
                pass

    def _close_block(self) -> None:
        for depth in range(len(self._stack) - 1, -1, -1):
            if self._stack[depth] in _BLOCK_OPENERS:
                del self._stack[depth:]
                return


# MySQL runs the text of ``/*! ... */`` (and MariaDB ``/*M! ... */``) comments, which sqlglot
# reads as comments: a segment that holds one is kept, starting at that comment.
_MYSQL_DIALECTS = frozenset({"mysql", "mariadb"})


def _with_executable_comment(
    script: str, start: int, end: int, statement: tuple[int, int] | None
) -> tuple[int, int] | None:
    """``statement`` widened to a MySQL executable comment that precedes it in its segment."""
    stop = statement[0] if statement is not None else end
    found = _executable_comment(script, start, stop)
    if found < 0:
        return statement
    if statement is not None:
        return found, statement[1]
    return _trim(script, found, end)


def _executable_comment(script: str, position: int, stop: int) -> int:
    """Offset of the first ``/*!`` or ``/*M!`` comment in a stretch of comments, or -1."""
    while position < stop:
        if script[position].isspace():
            position += 1
        elif script.startswith("/*", position, stop):
            if script.startswith(("/*!", "/*M!"), position, stop):
                return position
            close = script.find("*/", position + 2, stop)
            if close < 0:
                return -1
            position = close + 2
        elif script.startswith(("--", "#"), position, stop):
            newline = script.find("\n", position, stop)
            if newline < 0:
                return -1
            position = newline + 1
        else:
            return -1
    return -1
