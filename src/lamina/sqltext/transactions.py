"""What statements do to the transaction they run in: transaction control a migration must
not use, and the statements MySQL runs inside the open transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lamina.sqltext.splitting import _MYSQL_DIALECTS, _word

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence


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
# body, is part of that statement (see splitting._Blocks) and never seen here.

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
