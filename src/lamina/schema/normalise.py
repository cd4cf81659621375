"""Text normalisation shared by the engine readers: types, defaults, expressions.

Catalogs report the same schema in slightly different spellings depending on how a statement
was written (``VARCHAR (20)``, ``'x'::character varying``, ``CAST('x' AS VARCHAR)``, MySQL's
``int(11)``). These helpers reduce them to one spelling per engine, without parsing SQL: they
only lowercase and tidy text outside quoted literals and identifiers, so a literal's content
is never changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

__all__ = [
    "check_clauses",
    "index_parts",
    "is_numeric_type",
    "matching_paren",
    "normalise_default",
    "normalise_expression",
    "normalise_type",
    "reflow",
    "split_top_level",
    "strip_outer_parens",
    "view_body",
]

_QUOTES = "'\"`"
_QUOTE_START = re.compile("['\"`]")
_SPACE = re.compile(r"\s+")
#: PostgreSQL's long spellings (also DuckDB's), and the short form the snapshot uses.
_TYPE_ALIASES = (
    (re.compile(r"^character varying\b"), "varchar"),
    (re.compile(r"^character\b"), "char"),
    (re.compile(r"^bit varying\b"), "varbit"),
    (re.compile(r"^(timestamp|time)(\(\d+\))? without time zone$"), r"\1\2"),
    (re.compile(r"^timestamp(\(\d+\))? with time zone$"), r"timestamptz\1"),
    (re.compile(r"^time(\(\d+\))? with time zone$"), r"timetz\1"),
)
#: MySQL's integer display width (``int(11)``), meaningless since 8.0.19 and not reported
#: there; ``tinyint(1)`` is kept because it is how MySQL spells BOOLEAN.
_INT_WIDTH = re.compile(r"^(tinyint|smallint|mediumint|int|integer|bigint)\(\d+\)")
_NUMERIC_TYPE = re.compile(
    r"^(u?(tiny|small|medium|big|huge)?int(eger)?\d*|decimal|numeric|number|real|double"
    r"|float\d*|serial|bigserial|smallserial|bit)\b"
)
_CAST_SUFFIX = re.compile(
    r"::[a-z_][\w.]*(\s*\(\s*\d+(\s*,\s*\d+)?\s*\))?"
    r"(\s+(varying|precision|with(out)?\s+time\s+zone)(\s*\(\s*\d+\s*\))?)*(\[\])*"
)
_LITERAL = r"'(?:[^']|'')*'|-?\d+(?:\.\d+)?(?:e[-+]?\d+)?|true|false|null"
_CAST_CALL = re.compile(
    rf"cast\(\s*({_LITERAL})\s+as\s+[a-z_][\w ]*?(\s*\(\s*\d+(\s*,\s*\d+)?\s*\))?(\[\])*\s*\)"
)
_QUOTED_NUMBER = re.compile(r"'(-?\d+(\.\d+)?([eE][-+]?\d+)?)'")
#: Where :func:`reflow` starts a new line: before these clauses (and after every ``;``).
_CLAUSE = re.compile(
    r"\s+(?=(select|from|where|(natural\s+)?((left|right|full)(\s+outer)?\s+|inner\s+"
    r"|cross\s+)?join|group\s+by|order\s+by|having|union|intersect|except|returns|begin"
    r"|end|language|as\s+\$)\b)",
    re.IGNORECASE,
)
_AFTER_SEMICOLON = re.compile(r";\s*")
_JOIN_MODIFIER = re.compile(r"(natural\s+)?(left|right|full|inner|cross)(\s+outer)?", re.I)
_CHECK = re.compile(r"\bcheck\s*\(", re.IGNORECASE)
_VIEW_HEAD = re.compile(
    r"^create\s+(or\s+replace\s+)?(temp(orary)?\s+)?view\s+(if\s+not\s+exists\s+)?"
    r"(\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]]*\]|[\w.$]+)\s*(\([^)]*\)\s*)?as\s+"
)


def _segments(text: str) -> Iterator[tuple[str, bool]]:
    """``text`` cut into (piece, quoted) runs; a quoted piece keeps its quotes (a doubled
    quote inside is part of it; an unclosed one runs to the end). The regex and ``find`` skip
    unquoted and quoted text in C: a catalog of thousands of tables passes through here."""
    start, end_of_text = 0, len(text)
    while (found := _QUOTE_START.search(text, start)) is not None:
        i = found.start()
        if start < i:
            yield text[start:i], False
        end = _closing_quote(text, i)
        if end == -1:
            end = end_of_text
        yield text[i : end + 1], True
        start = end + 1
    if start < end_of_text:
        yield text[start:], False


def _closing_quote(text: str, opening: int) -> int:
    """Index of the quote closing the one at ``opening`` (a doubled quote inside is part of
    the quoted text); -1 when it is never closed."""
    quote = text[opening]
    end = text.find(quote, opening + 1)
    while end != -1 and end + 1 < len(text) and text[end + 1] == quote:
        end = text.find(quote, end + 2)  # doubled quote: escaped
    return end


def normalise_expression(text: str) -> str:
    """Lowercase and collapse whitespace outside quotes, drop a trailing ``;`` and any
    parentheses wrapping the whole expression: ``(Score >= 0)`` -> ``score >= 0``."""
    pieces = []
    for piece, quoted in _segments(text):
        if quoted:
            pieces.append(piece)
        else:
            tidy = _SPACE.sub(" ", piece.lower())
            pieces.append(tidy.replace("( ", "(").replace(" )", ")"))
    return strip_outer_parens("".join(pieces).strip().rstrip(";").strip())


def strip_outer_parens(text: str) -> str:
    """``((x > 0))`` -> ``x > 0``, but ``(a) + (b)`` stays as it is."""
    while text.startswith("(") and matching_paren(text, 0) == len(text) - 1:
        text = text[1:-1].strip()
    return text


def matching_paren(text: str, open_at: int) -> int:
    """Index of the ``)`` closing the ``(`` at ``open_at``, skipping quoted text; -1 if none."""
    depth = 0
    i = open_at
    while i < len(text):
        char = text[i]
        if char in _QUOTES:
            i = _closing_quote(text, i)
            if i == -1:
                return -1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def split_top_level(text: str) -> list[str]:
    """Split on commas that are outside parentheses and quotes: ``a, lower(b, c)``."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for piece, quoted in _segments(text):
        if quoted:
            current.append(piece)
            continue
        for char in piece:
            if char == "," and depth == 0:
                parts.append("".join(current).strip())
                current = []
                continue
            depth += {"(": 1, ")": -1}.get(char, 0)
            current.append(char)
    tail = "".join(current).strip()
    if tail or parts:
        parts.append(tail)
    return parts


#: Distinct spellings a catalog read memoises (types and defaults repeat across tables).
_MEMO = 4096


@lru_cache(maxsize=_MEMO)
def normalise_type(text: str, *, mysql: bool = False) -> str:
    """``CHARACTER VARYING (200)`` -> ``varchar(200)``; MySQL ``int(11)`` -> ``int``."""
    spelled = _SPACE.sub(" ", text.strip().lower())
    spelled = re.sub(r"\s*\(\s*", "(", spelled)
    spelled = re.sub(r"\s*,\s*", ",", spelled)
    spelled = re.sub(r"\s*\)", ")", spelled)
    for pattern, replacement in _TYPE_ALIASES:
        spelled = pattern.sub(replacement, spelled)
    if mysql and not spelled.startswith("tinyint(1)"):
        spelled = _INT_WIDTH.sub(r"\1", spelled)
    return spelled


def is_numeric_type(type_text: str) -> bool:
    return bool(_NUMERIC_TYPE.match(type_text))


@lru_cache(maxsize=_MEMO)
def normalise_default(text: str | None, column_type: str) -> str | None:
    """A default expression without casts or wrapping parentheses; None for no/NULL default.

    ``'x'::character varying`` and ``CAST('x' AS VARCHAR)`` -> ``'x'``; ``'-1'::integer`` ->
    ``-1`` (a quoted number on a numeric column is the number); ``nextval('s'::regclass)``
    -> ``nextval('s')``.
    """
    if text is None:
        return None
    pieces = [
        piece if quoted else _CAST_SUFFIX.sub("", piece)
        for piece, quoted in _segments(normalise_expression(text))
    ]
    value = strip_outer_parens(_CAST_CALL.sub(r"\1", "".join(pieces)))
    if value in ("", "null"):
        return None
    if is_numeric_type(column_type) and _QUOTED_NUMBER.fullmatch(value):
        value = value[1:-1]
    return value


def view_body(sql: str) -> str:
    """The normalised query of a ``CREATE VIEW name AS <query>`` statement."""
    text = normalise_expression(sql)
    return _VIEW_HEAD.sub("", text, count=1)


def index_parts(sql: str) -> tuple[tuple[str, ...], str | None]:
    """The normalised keys and ``WHERE`` predicate of ``CREATE INDEX i ON t (<keys>) ...``.

    Returns ``((), None)`` when ``sql`` does not have that shape.
    """
    on_at = sql.upper().find(" ON ")
    open_at = sql.find("(", on_at) if on_at >= 0 else -1
    close_at = matching_paren(sql, open_at) if open_at >= 0 else -1
    if close_at < 0:
        return (), None
    keys = tuple(normalise_expression(k) for k in split_top_level(sql[open_at + 1 : close_at]))
    rest = normalise_expression(sql[close_at + 1 :])
    where = rest.removeprefix("where ").strip() if rest.startswith("where ") else None
    return keys, where or None


def reflow(definition: str) -> list[str]:
    """``definition`` (one normalised line) cut into one clause per line, for a readable
    line diff: before ``SELECT``, ``FROM``, ``WHERE``, joins, ``GROUP BY``, ``ORDER BY``,
    ``HAVING``, ``UNION``, ``RETURNS``, ``BEGIN``, ``END``, and after ``;``. Quoted text is
    never cut."""
    pieces = []
    for piece, quoted in _segments(definition):
        cut = piece if quoted else _AFTER_SEMICOLON.sub(";\n", _CLAUSE.sub("\n", piece))
        pieces.append(cut)
    lines: list[str] = []
    for line in (part.strip() for part in "".join(pieces).splitlines()):
        if lines and _JOIN_MODIFIER.fullmatch(lines[-1]):
            lines[-1] += " " + line  # "left" was cut from its "join"
        elif line:
            lines.append(line)
    return lines


def check_clauses(sql: str) -> list[str]:
    """The normalised ``CHECK (...)`` expressions of a ``CREATE TABLE`` statement (column and
    table constraints alike), found outside quoted text: what SQLite keeps of them."""
    if _CHECK.search(sql) is None:
        return []
    masked = "".join("_" * len(piece) if quoted else piece for piece, quoted in _segments(sql))
    found = []
    for match in _CHECK.finditer(masked):
        open_at = match.end() - 1
        close_at = matching_paren(sql, open_at)
        if close_at > open_at:
            found.append(normalise_expression(sql[open_at + 1 : close_at]))
    return found
