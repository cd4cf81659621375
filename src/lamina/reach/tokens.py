"""Cutting a statement into tokens, and reading the words at its start.

Shared by every dialect's rules (see :mod:`lamina.reach`)."""

from __future__ import annotations

import re
from typing import NamedTuple


class _Tok(NamedTuple):
    """One token. ``word`` is the upper-cased text of a bare word (keyword or unquoted name) or
    the text of a punctuation mark, and ``""`` for strings, numbers and quoted identifiers, so
    that nothing quoted ever matches a keyword. ``text`` is the token as meant (a quoted
    identifier or string without its quotes); ``kind`` is one of ``w`` (bare word), ``i``
    (quoted identifier), ``s`` (string), ``n`` (number), ``p`` (punctuation)."""

    kind: str
    word: str
    text: str


# Text without these characters (and without ``--`` or ``/*``) has no string, quoted identifier,
# comment or dollar-quoted body, so the simple scanner below cuts it exactly as a tokenizer would.
_PLAIN_CHARS = frozenset(
    {chr(code) for code in range(0x20, 0x7F)} - set("'\"`$[{\\#") | {"\t", "\n", "\r"}
)
_PLAIN_TOKEN = re.compile(
    r"\s+|([A-Za-z_][A-Za-z0-9_]*)|(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)|(@@|::|<=|>=|<>|!=|\S)"
)


def _plain_tokens(sql: str) -> list[_Tok] | None:
    if "--" in sql or "/*" in sql or not _PLAIN_CHARS.issuperset(sql):
        return None
    tokens = []
    for match in _PLAIN_TOKEN.finditer(sql):
        word, number, mark = match.groups()
        if word is not None:
            tokens.append(_Tok("w", word.upper(), word))
        elif number is not None:
            tokens.append(_Tok("n", "", number))
        elif mark is not None:
            tokens.append(_Tok("p", mark, mark))
    return tokens


_SQLGLOT_DIALECTS = {
    "mysql": "mysql",
    "postgres": "postgres",
    "duckdb": "duckdb",
    "sqlite": "sqlite",
}
_STRING_TYPES = (
    "STRING",
    "BIT_STRING",
    "HEX_STRING",
    "BYTE_STRING",
    "NATIONAL_STRING",
    "NATIONAL_RAW_STRING",
    "RAW_STRING",
    "HEREDOC_STRING",
    "UNICODE_STRING",
)


def _sqlglot_tokens(sql: str, engine: str) -> tuple[list[_Tok], list[tuple[int, int]]] | None:
    """Tokens and their ``[start, end)`` spans from sqlglot, or None when it cannot tokenize."""
    from sqlglot import TokenType
    from sqlglot.dialects.dialect import Dialect

    strings = {getattr(TokenType, name) for name in _STRING_TYPES if hasattr(TokenType, name)}
    dialect = Dialect.get_or_raise(_SQLGLOT_DIALECTS[engine])
    commands = dialect.tokenizer_class.COMMANDS
    prefixes = dialect.tokenizer_class.COMMAND_PREFIX_TOKENS
    try:
        raw = dialect.tokenize(sql)
    except Exception:  # sqlglot's TokenError: the database will reject the statement itself
        return None
    tokens: list[_Tok] = []
    spans: list[tuple[int, int]] = []
    swallowed = False
    for index, token in enumerate(raw):
        text = token.text
        if swallowed:
            # The tokenizer keeps the rest of a "command" statement (RENAME, CALL, LOCK,
            # REPLACE, VACUUM...) as one string of raw SQL: read that SQL as tokens too.
            swallowed = False
            offset = sql.find(text, spans[-1][1]) if spans else -1
            inner = _sqlglot_tokens(text, engine) if offset >= 0 else None
            if inner is None:
                return None
            tokens.extend(inner[0])
            spans.extend((offset + start, offset + end) for start, end in inner[1])
            continue
        if (
            token.token_type in commands
            and (index == 0 or raw[index - 1].token_type in prefixes)
            and index + 1 < len(raw)
            and raw[index + 1].token_type == TokenType.STRING
        ):
            swallowed = True
        if token.token_type in strings:
            tokens.append(_Tok("s", "", text))
        elif token.token_type == TokenType.IDENTIFIER:
            tokens.append(_Tok("i", "", text))
        elif token.token_type == TokenType.NUMBER:
            tokens.append(_Tok("n", "", text))
        elif text[:1].isalpha() or text[:1] == "_":
            parts = text.split()  # some keywords are one token: "LOCK TABLES", "ORDER BY"
            tokens.extend(_Tok("w", part.upper(), part) for part in parts)
            spans.extend([(token.start, token.end + 1)] * (len(parts) - 1))
        else:
            tokens.append(_Tok("p", text, text))
        spans.append((token.start, token.end + 1))
    return tokens, spans


def _tokens(sql: str, engine: str) -> tuple[list[_Tok], str] | None:
    """The statement's tokens and the SQL they were read from (MySQL executable comments
    opened up), or None when sqlglot cannot tokenize it."""
    plain = _plain_tokens(sql)
    if plain is not None:
        return plain, sql
    read = _sqlglot_tokens(sql, engine)
    if read is None:
        return None
    tokens, spans = read
    if engine == "mysql" and ("/*!" in sql or "/*M!" in sql):
        opened = _open_executable_comments(sql, spans)
        if opened != sql:
            again = _sqlglot_tokens(opened, engine)
            if again is None:
                return None
            return again[0], opened
    return tokens, sql


_VERSION = re.compile(r"\d{5,6}")


def _open_executable_comments(sql: str, spans: list[tuple[int, int]]) -> str:
    """``sql`` with each MySQL ``/*! ... */`` / ``/*M! ... */`` comment replaced by the text it
    holds, which MySQL runs. Comments lie only in the gaps between tokens, so only those gaps
    are scanned: a ``/*!`` inside a string is left alone."""
    pieces = []
    position = 0
    for start, end in [*spans, (len(sql), len(sql))]:
        pieces.append(_open_gap(sql[position:start]))
        pieces.append(sql[start:end])
        position = max(position, end)
    return "".join(pieces)


def _open_gap(gap: str) -> str:
    out = []
    index = 0
    while index < len(gap):
        if gap.startswith(("--", "#"), index):
            newline = gap.find("\n", index)
            index = len(gap) if newline < 0 else newline
            out.append(" ")
        elif gap.startswith("/*", index):
            close = gap.find("*/", index + 2)
            stop = len(gap) if close < 0 else close
            body = gap[index + 2 : stop]
            if body.startswith(("!", "M!")):
                body = body[body.index("!") + 1 :]
                version = _VERSION.match(body)
                out.append(" " + (body[version.end() :] if version else body) + " ")
            else:
                out.append(" ")
            index = stop + 2
        else:
            out.append(gap[index])
            index += 1
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Reading the start of a statement
# --------------------------------------------------------------------------------------------

# Words between CREATE / ALTER / DROP and the kind of object.
_MODIFIERS = frozenset(
    {"OR", "REPLACE", "TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL", "UNIQUE", "FULLTEXT"}
    | {"MATERIALIZED", "RECURSIVE", "TRUSTED", "PROCEDURAL", "CONSTRAINT", "AGGREGATE"}
    | {"ONLINE", "OFFLINE", "UNDO", "FOREIGN", "DEFAULT", "EXTERNAL", "TRANSIENT", "IGNORE"}
)
# Object kinds a CREATE / ALTER / DROP may be about (where the value-skipping of DEFINER stops).
_KINDS = frozenset(
    {"TABLE", "VIEW", "INDEX", "TRIGGER", "FUNCTION", "PROCEDURE", "EVENT", "SEQUENCE", "TYPE"}
    | {"DATABASE", "SCHEMA", "ROLE", "USER", "GROUP", "TABLESPACE", "SERVER", "SUBSCRIPTION"}
    | {"SYSTEM", "INSTANCE", "LOGFILE", "RESOURCE", "SPATIAL", "SECRET", "PERSISTENT", "MACRO"}
)


def _kind(tokens: list[_Tok]) -> tuple[str, int]:
    """The object kind of a CREATE / ALTER / DROP (``TABLE``, ``ROLE``...) and its index.

    Skips ``OR REPLACE``, ``TEMPORARY`` and the like, and MySQL's ``DEFINER = user``,
    ``ALGORITHM = x`` and ``SQL SECURITY x`` clauses. ``("", n)`` when there is none.
    """
    index = 1
    count = len(tokens)
    while index < count:
        word = tokens[index].word
        if word in _KINDS:
            return word, index
        if word in _MODIFIERS:
            index += 1
        elif word in {"DEFINER", "ALGORITHM"}:
            index += 1
            while index < count and tokens[index].word not in _KINDS | _MODIFIERS:
                index += 1
        elif word == "SQL" and _word(tokens, index + 1) == "SECURITY":
            index += 3
        else:
            return word, index
    return "", count


def _word(tokens: list[_Tok], index: int) -> str:
    return tokens[index].word if 0 <= index < len(tokens) else ""


def _name_after(tokens: list[_Tok], index: int) -> str:
    """The (possibly dotted) name starting at ``index``, after ``IF [NOT] EXISTS``, as written."""
    while _word(tokens, index) in {"IF", "NOT", "EXISTS"}:
        index += 1
    parts = []
    while index < len(tokens) and tokens[index].kind in "wis":
        parts.append(tokens[index].text)
        if _word(tokens, index + 1) != ".":
            break
        index += 2
    return ".".join(parts)


def _named(what: str, name: str) -> str:
    return f"{what} {name}" if name else what


def _top_level(tokens: list[_Tok]) -> list[tuple[int, _Tok]]:
    """The tokens outside any parentheses, with their indexes."""
    depth = 0
    found = []
    for index, token in enumerate(tokens):
        if token.word == "(":
            depth += 1
        elif token.word == ")":
            depth = max(depth - 1, 0)
        elif depth == 0:
            found.append((index, token))
    return found


def _calls(tokens: list[_Tok], names: frozenset[str]) -> str | None:
    """The first of ``names`` called as a function (``name(``) in the statement, lower-cased."""
    for index, token in enumerate(tokens[:-1]):
        if token.word in names and tokens[index + 1].word == "(":
            return token.text.lower()
    return None


def _copy_target(tokens: list[_Tok]) -> tuple[str, _Tok | None]:
    """For ``COPY``: the direction (``TO`` / ``FROM``) and the token after it, at top level."""
    for index, token in _top_level(tokens)[1:]:
        if token.word in {"TO", "FROM"}:
            after = tokens[index + 1] if index + 1 < len(tokens) else None
            return token.word, after
    return "", None


_VERBS = {"CREATE": "creates", "ALTER": "alters", "DROP": "drops", "RENAME": "renames"}


def _use(tokens: list[_Tok], own: str | None) -> str | None:
    name = _name_after(tokens, 1)
    if own is not None and name.split(".")[0].casefold() == own:
        return None
    return f"switches to database `{name}`, not the migration's own"
