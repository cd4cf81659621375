"""The text of SQL migrations: the ``.sql`` file format, and dialect-aware statement splitting.

Everything here is pure: strings in, records out. No files, no environment, no output.

A ``.sql`` migration (dbmate style)::

    -- name: Create users
    -- category: schema
    -- depends: 001_init, 2
    -- transactional: false

    -- migrate:up
    CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);

    -- migrate:down transaction:false
    DROP TABLE users;

A marker line may carry dbmate's options, space-separated ``key:value`` words: ``transaction:false``
runs that section outside a transaction. Options lamina does not know are kept in
:attr:`SqlSection.unknown_options` (callers warn about them).

Splitting a script into statements uses sqlglot's tokenizer for the target dialect, so semicolons
inside strings, comments, quoted identifiers and ``$$`` bodies never split. sqlglot is imported
lazily, and only when a script could not be split with certainty without it (see
:func:`_fast_split`): a plain ``ALTER TABLE ...`` costs no import at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lamina.models import Category

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlglot import Token

__all__ = [
    "SqlFormatError",
    "SqlHeaders",
    "SqlSection",
    "SqlSource",
    "Statement",
    "TransactionControl",
    "controls_transaction",
    "find_transaction_control",
    "has_statements",
    "is_data_statement",
    "parse_sql_migration",
    "split_segments",
    "split_statements",
]


# --------------------------------------------------------------------------------------------
# The .sql migration format
# --------------------------------------------------------------------------------------------


class SqlFormatError(ValueError):
    """A ``.sql`` migration does not follow the format.

    ``str(error)`` is the message alone; ``line`` is the 1-based line it applies to, or ``None``
    when the problem is the file as a whole (no ``-- migrate:up`` marker).
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class SqlSection:
    """The body of one section: the exact text after its marker line, up to the next marker.

    ``transaction`` is dbmate's ``transaction:true|false`` option on the marker line (``None``
    when not given); ``unknown_options`` holds the other words of that line, which lamina does
    not understand (the caller warns, naming ``marker_line``).
    """

    sql: str
    first_line: int  # 1-based line of the file where ``sql`` starts (the line after the marker)
    transaction: bool | None = None
    unknown_options: tuple[str, ...] = ()

    @property
    def marker_line(self) -> int:
        """The 1-based line of the ``-- migrate:up`` / ``-- migrate:down`` marker."""
        return self.first_line - 1


@dataclass(frozen=True, slots=True)
class SqlHeaders:
    """The ``-- key: value`` directives above ``-- migrate:up``; ``None`` when not given."""

    name: str | None = None
    description: str | None = None
    category: str | None = None
    depends: tuple[str, ...] = ()
    transactional: bool | None = None
    #: ``-- empty: true``: the up section is meant to run nothing (else an empty up is refused).
    empty: bool | None = None


@dataclass(frozen=True, slots=True)
class SqlSource:
    """A parsed ``.sql`` migration. ``down`` is ``None`` when there is no down marker."""

    headers: SqlHeaders
    up: SqlSection
    down: SqlSection | None

    def transactional(self, down: bool = False) -> bool:
        """Whether the up (or the down) section runs in a transaction: its marker's
        ``transaction:`` option, else the ``-- transactional:`` header, else true."""
        section = self.down if down else self.up
        if section is not None and section.transaction is not None:
            return section.transaction
        return True if self.headers.transactional is None else self.headers.transactional


_NO_UP = (
    "no `-- migrate:up` section; a .sql migration needs `-- migrate:up` "
    "and usually `-- migrate:down`"
)

# Matched against one stripped line of the file, never used to split SQL.
_MARKER_RE = re.compile(r"--\s*migrate:(up|down)(?:\s+(.*))?$", re.IGNORECASE)
_DIRECTIVE_RE = re.compile(r"--\s*([A-Za-z][A-Za-z0-9_-]*)\s*:(.*)")

_HEADER_KEYS = {
    "name": "name",
    "description": "description",
    "category": "category",
    "depends": "depends",
    "depends-on": "depends",
    "depends_on": "depends",
    "transactional": "transactional",
    "empty": "empty",
}
_CATEGORIES = tuple(category.value for category in Category)
_BOOLEANS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def parse_sql_migration(text: str) -> SqlSource:
    """Split a ``.sql`` migration into its headers and its up / down sections.

    A leading BOM is dropped and CRLF / CR line endings become ``\\n`` first; line numbers count
    lines of the file as written. An up section without statements is accepted (callers decide).

    Raises:
        SqlFormatError: the markers are missing, repeated or out of order, SQL stands above
            ``-- migrate:up``, or a header is repeated or has an invalid value.
    """
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    markers = [(index, kind) for index, line in enumerate(lines) if (kind := _marker(line))]
    if not any(kind == "up" for _, kind in markers):
        raise SqlFormatError(_NO_UP)

    up_index: int | None = None
    down_index: int | None = None
    headers = _HeaderReader()
    in_comment = False
    for index, line in enumerate(lines):
        kind = _marker(line)
        if kind == "up":
            if up_index is not None:
                raise SqlFormatError(
                    f"a second `-- migrate:up` marker (the first is on line {up_index + 1})",
                    index + 1,
                )
            up_index = index
        elif kind == "down":
            if up_index is None:
                raise SqlFormatError(
                    "`-- migrate:down` comes before `-- migrate:up`; put the up section first",
                    index + 1,
                )
            if down_index is not None:
                raise SqlFormatError(
                    f"a second `-- migrate:down` marker (the first is on line {down_index + 1})",
                    index + 1,
                )
            down_index = index
        elif up_index is None:
            only_comments, in_comment = _comment_line(line, in_comment)
            if not only_comments:
                raise SqlFormatError(
                    "SQL before `-- migrate:up`; statements belong below the marker "
                    "(only comments and `-- key: value` headers may stand above it)",
                    index + 1,
                )
            headers.read(line, index + 1)

    assert up_index is not None  # a marker exists, checked above
    starts = _line_starts(lines)

    def section(marker: int, following: int | None) -> SqlSection:
        begin = starts[marker + 1] if marker + 1 < len(starts) else len(text)
        stop = starts[following] if following is not None else len(text)
        transaction, unknown = _marker_options(lines[marker], marker + 1)
        return SqlSection(text[begin:stop], marker + 2, transaction, unknown)

    return SqlSource(
        headers=headers.result(),
        up=section(up_index, down_index),
        down=None if down_index is None else section(down_index, None),
    )


def _marker(line: str) -> str | None:
    """``"up"`` / ``"down"`` when ``line`` is a section marker, else ``None``."""
    match = _MARKER_RE.match(line.strip())
    return match.group(1).lower() if match else None


def _marker_options(line: str, number: int) -> tuple[bool | None, tuple[str, ...]]:
    """dbmate's options on a marker line: ``transaction:false``; and the words lamina does not
    know (an unknown option, or a word that is not ``key:value``).

    Raises:
        SqlFormatError: ``transaction:`` is given twice or with a value other than true/false.
    """
    match = _MARKER_RE.match(line.strip())
    rest = match.group(2) if match else None
    transaction: bool | None = None
    unknown: list[str] = []
    for word in (rest or "").split():
        key, colon, value = word.partition(":")
        if key.lower() != "transaction" or not colon:
            unknown.append(word)
            continue
        if transaction is not None:
            raise SqlFormatError("the option `transaction` is given twice", number)
        flag = _BOOLEANS.get(value.lower())
        if flag is None:
            raise SqlFormatError(
                f"invalid option value transaction:{value}; expected transaction:true or "
                "transaction:false",
                number,
            )
        transaction = flag
    return transaction, tuple(unknown)


def _line_starts(lines: Sequence[str]) -> list[int]:
    starts = []
    offset = 0
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    return starts


def _comment_line(line: str, in_comment: bool) -> tuple[bool, bool]:
    """Whether ``line`` holds only blanks and comments, and whether a ``/*`` is open after it."""
    rest = line
    while True:
        if in_comment:
            close = rest.find("*/")
            if close < 0:
                return True, True
            rest = rest[close + 2 :]
            in_comment = False
        rest = rest.strip()
        if not rest or rest.startswith(("--", "#")):
            return True, False
        if not rest.startswith("/*"):
            return False, False
        rest = rest[2:]
        in_comment = True


class _HeaderReader:
    """Collects the ``-- key: value`` headers, checking each as it comes."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._name: str | None = None
        self._description: str | None = None
        self._category: str | None = None
        self._depends: tuple[str, ...] = ()
        self._transactional: bool | None = None
        self._empty: bool | None = None

    def read(self, line: str, number: int) -> None:
        """Take ``line`` (line ``number`` of the file) if it is a known header; ignore it if not."""
        match = _DIRECTIVE_RE.fullmatch(line.strip())
        if match is None:
            return
        key = _HEADER_KEYS.get(match.group(1).lower())
        if key is None:
            return  # an ordinary comment that happens to contain a colon
        if key in self._seen:
            raise SqlFormatError(
                f"header `{key}` is given twice (first on line {self._seen[key]})", number
            )
        self._seen[key] = number
        value = match.group(2).strip()
        if key == "name":
            self._name = value
        elif key == "description":
            self._description = value
        elif key == "category":
            category = value.lower()
            if category not in _CATEGORIES:
                raise SqlFormatError(
                    f"invalid category {value!r}; expected one of: {', '.join(_CATEGORIES)}",
                    number,
                )
            self._category = category
        elif key == "depends":
            self._depends = tuple(value.replace(",", " ").split())
        else:
            flag = _BOOLEANS.get(value.lower())
            if flag is None:
                raise SqlFormatError(
                    f"invalid {key} value {value!r}; expected true or false (also yes/no, on/off)",
                    number,
                )
            if key == "empty":
                self._empty = flag
            else:
                self._transactional = flag

    def result(self) -> SqlHeaders:
        return SqlHeaders(
            name=self._name,
            description=self._description,
            category=self._category,
            depends=self._depends,
            transactional=self._transactional,
            empty=self._empty,
        )


# --------------------------------------------------------------------------------------------
# Statement splitting
# --------------------------------------------------------------------------------------------


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


#: First keywords of statements that MySQL/MariaDB run inside the open transaction: row
#: changes and reads, and session settings. Everything else (DDL, LOCK TABLES, GRANT...) is
#: taken to commit implicitly, so a failure after it leaves the database half-migrated.
_DATA_KEYWORDS = frozenset(
    {"INSERT", "UPDATE", "DELETE", "REPLACE", "SELECT", "WITH", "VALUES", "SET", "DO"}
)


def is_data_statement(sql: str) -> bool:
    """Whether a statement from :func:`split_statements` (which starts at its first token)
    runs inside the transaction on an engine without transactional DDL. Unsure means False:
    the caller then treats the statement's effect as kept, the safe assumption.

    ``SET autocommit`` is a ``SET`` that commits (MySQL), so it is not a data statement."""
    head = sql.lstrip("(").split(None, 1)
    if not head or head[0].upper() not in _DATA_KEYWORDS:
        return False
    return not (head[0].upper() == "SET" and "AUTOCOMMIT" in sql.upper())


# -- transaction control -----------------------------------------------------------------------
#
# A migration that runs in a transaction must not end it (COMMIT, END, ROLLBACK...), open another
# (BEGIN, START TRANSACTION: MySQL commits the open one first), switch autocommit, or release or
# roll back to a savepoint it did not create: what ran before would be kept, or lost, behind
# lamina's back, and its report of the failure would be false. Only a statement's own leading
# tokens are read: a BEGIN ... END body inside CREATE TRIGGER / PROCEDURE / FUNCTION, or a ``$$``
# body, is part of that statement (see _Blocks) and never seen here.

#: First words of statements that may control the transaction; anything else is not looked at.
_CONTROL_WORDS = frozenset(
    {"BEGIN", "START", "COMMIT", "ROLLBACK", "END", "ABORT", "SAVEPOINT", "RELEASE", "SET"}
    | {"PREPARE", "XA"}
)
_LEADING_WORD = re.compile(r"\s*([A-Za-z]+)")
_EXECUTABLE_COMMENT = re.compile(r"/\*M?!\d*(.*?)\*/", re.DOTALL)


@dataclass(frozen=True, slots=True)
class TransactionControl:
    """A statement that controls the transaction it would run in: ``what`` it does, in words,
    and its ``line`` in the file when known."""

    sql: str
    line: int | None
    what: str


def find_transaction_control(
    statements: Iterable[tuple[str, int | None]], dialect: str
) -> TransactionControl | None:
    """The first of ``statements`` (``(sql, line)``, in order) that controls the transaction:
    savepoints the same statements create may be released or rolled back to."""
    savepoints: list[str] = []
    for sql, line in statements:
        what = controls_transaction(sql, dialect, savepoints)
        if what is not None:
            return TransactionControl(sql, line, what)
    return None


def controls_transaction(sql: str, dialect: str, savepoints: list[str]) -> str | None:
    """What one statement does to the transaction it runs in, or ``None`` when it leaves it
    alone. ``savepoints`` is the stack of savepoints created so far: ``SAVEPOINT`` pushes,
    and a ``RELEASE`` or ``ROLLBACK TO`` of one of them is fine (the stack is updated)."""
    mysql = dialect.lower() in _MYSQL_DIALECTS
    words = _control_words(sql, dialect, mysql=mysql)
    if not words:
        return None
    first, rest = words[0], [w for w in words[1:] if w not in ("WORK", "TRANSACTION")]
    if first in ("SAVEPOINT", "RELEASE") or (first == "ROLLBACK" and rest[:1] == ["TO"]):
        return _savepoint(first, rest, savepoints)
    if first == "SET":
        return _sets_autocommit(words)
    if rest[:1] == ["PREPARED"] and first in ("COMMIT", "ROLLBACK"):
        return "ends a prepared (two-phase) transaction"
    unrelated = (
        # START SLAVE, PREPARE name AS ...: not about the transaction
        (first in ("START", "PREPARE") and words[1:2] != ["TRANSACTION"])
        # MariaDB's anonymous compound statement BEGIN NOT ATOMIC ... END
        or (mysql and (first == "END" or (first == "BEGIN" and rest[:2] == ["NOT", "ATOMIC"])))
    )
    return None if unrelated else _CONTROL_EFFECTS.get(first)


_CONTROL_EFFECTS = {
    "BEGIN": "opens a transaction inside the migration's",
    "START": "opens a transaction inside the migration's",
    "COMMIT": "commits the migration's transaction part way",
    "END": "commits the migration's transaction part way",
    "ABORT": "rolls back the migration's transaction part way",
    "ROLLBACK": "rolls back the migration's transaction part way",
    "PREPARE": "prepares a two-phase commit, ending the migration's transaction",
    "XA": "controls an XA transaction",
}


def _sets_autocommit(words: Sequence[str]) -> str | None:
    """``SET autocommit = 1``, ``SET @@session.autocommit = 0``; not a user variable
    ``@autocommit`` or a string."""
    user_variables = {index + 1 for index, word in enumerate(words) if word == "@"}
    if any(w == "AUTOCOMMIT" and i not in user_variables for i, w in enumerate(words)):
        return "switches autocommit, which commits the transaction"
    return None


def _control_words(sql: str, dialect: str, *, mysql: bool) -> list[str]:
    """The statement's words when its first may control the transaction, else ``[]``: no
    sqlglot import for the statements that plainly do not (most of them)."""
    text = sql
    if mysql and text.lstrip().startswith(("/*!", "/*M!")):
        text = _EXECUTABLE_COMMENT.sub(r" \1 ", text, count=1)
    match = _LEADING_WORD.match(text)
    if match is not None and match.group(1).upper() not in _CONTROL_WORDS:
        return []
    if match is None and not text.lstrip().startswith(("--", "/*", "#", "(")):
        return []
    return _statement_words(text, dialect)


def _savepoint(first: str, rest: Sequence[str], savepoints: list[str]) -> str | None:
    """SAVEPOINT / RELEASE / ROLLBACK TO: fine for savepoints the migration created."""
    if first == "SAVEPOINT":
        savepoints.append(_savepoint_name(rest))
        return None
    name = _savepoint_name(rest[1:] if first == "ROLLBACK" else rest)
    if name not in savepoints:
        verb = "rolls back to" if first == "ROLLBACK" else "releases"
        return f"{verb} a savepoint this migration did not create"
    keep = savepoints.index(name) + (1 if first == "ROLLBACK" else 0)
    del savepoints[keep:]
    return None


def _savepoint_name(words: Sequence[str]) -> str:
    """The savepoint named by ``[SAVEPOINT] name``, quotes dropped."""
    rest = list(words)
    if rest[:1] == ["SAVEPOINT"]:
        rest = rest[1:]
    return rest[0].strip('"`[]') if rest else ""


def _statement_words(sql: str, dialect: str) -> list[str]:
    """The statement's tokens, upper-cased as written (comments dropped, strings and quoted
    identifiers keep their quotes, so they never read as keywords)."""
    from sqlglot import TokenType
    from sqlglot.dialects.dialect import Dialect

    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    except Exception:  # the database will judge a statement sqlglot cannot read
        return sql.upper().split()
    words = []
    for token in tokens:
        words.append(_word(sql, token))
        if token.token_type == TokenType.COMMAND:
            # sqlglot keeps the rest of a "command" (SAVEPOINT, PREPARE...) as one raw string
            return words + sql[token.end + 1 :].upper().split()
    return words


@dataclass(frozen=True, slots=True)
class _Piece:
    end: int  # offset just after this segment (its start is the previous piece's end)
    statement: tuple[int, int] | None  # [start, end) of the statement within the script


def _split(script: str, dialect: str) -> list[_Piece]:
    if not script:
        return []
    pieces = _fast_split(script)
    if pieces is None:
        pieces = _token_split(script, dialect)
    return pieces


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
