"""Which MySQL/MariaDB statements end the transaction they run in (commit implicitly).

From the MySQL manual, "Statements That Cause an Implicit Commit" (and MariaDB's list, which
adds sequences and packages):

- DDL on database objects: ``ALTER``/``CREATE``/``DROP`` of databases (schemas), events,
  functions, procedures, servers, tables, tablespaces, triggers, views, indexes, sequences,
  packages, spatial reference systems; ``RENAME TABLE``; ``TRUNCATE TABLE``;
  ``INSTALL``/``UNINSTALL PLUGIN``/``COMPONENT``. ``CREATE TEMPORARY TABLE`` and
  ``DROP TEMPORARY TABLE`` do not commit.
- Statements that change the ``mysql`` system tables: ``CREATE``/``ALTER``/``DROP``/``RENAME
  USER``, ``CREATE``/``DROP ROLE``, ``GRANT``, ``REVOKE``, ``SET PASSWORD``, ``SET DEFAULT ROLE``.
- Transaction control and locking: ``BEGIN``, ``START TRANSACTION``, ``COMMIT`` (explicitly),
  ``SET autocommit = 1``, ``LOCK TABLES``, ``UNLOCK TABLES``.
- ``LOAD DATA`` (on NDB tables; counted as committing, the safe side).
- Administrative statements: ``ANALYZE``, ``CACHE INDEX``, ``CHECK``, ``FLUSH``, ``LOAD INDEX
  INTO CACHE``, ``OPTIMIZE``, ``REPAIR``, ``RESET``.
- Replication control: ``START``/``STOP``/``RESET REPLICA`` (``SLAVE``), ``CHANGE REPLICATION
  SOURCE``/``MASTER TO``, ``CHANGE REPLICATION FILTER``.

Unsure means committing: a statement lamina cannot classify (``CALL`` of a procedure that may
run DDL, ``PREPARE``/``EXECUTE``, anything unknown) counts as one that commits, so a step is
called atomic only when every statement in it surely runs inside its transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["commits_implicitly", "runs_in_transaction"]

#: First words of statements that run inside the transaction on MySQL/MariaDB.
_IN_TRANSACTION = frozenset(
    {
        "INSERT",
        "UPDATE",
        "DELETE",
        "REPLACE",
        "SELECT",
        "WITH",
        "VALUES",
        "TABLE",
        "DO",
        "SAVEPOINT",
        "RELEASE",
        "SHOW",
        "EXPLAIN",
        "DESCRIBE",
        "DESC",
        "HANDLER",
    }
)
_COMMENT = re.compile(r"\s+|--[^\n]*(\n|$)|#[^\n]*(\n|$)|/\*(?!!).*?\*/", re.DOTALL)
_WORD = re.compile(r"[A-Za-z_]+")


def _words(sql: str, count: int) -> list[str]:
    """The first ``count`` words of ``sql``, upper-cased, past comments and opening brackets."""
    text = sql
    position = 0
    while True:
        match = _COMMENT.match(text, position)
        if match is None or match.end() == position:
            break
        position = match.end()
    return [w.upper() for w in _WORD.findall(text[position:].lstrip("("), 0)[:count]]


def commits_implicitly(sql: str) -> bool:
    """Whether ``sql`` (one statement) ends the transaction it runs in on MySQL/MariaDB; unsure
    means True (see the module docstring)."""
    words = _words(sql, 5)
    if not words:
        return False  # nothing but comments: nothing runs
    head = words[0]
    if head in _IN_TRANSACTION:
        return False
    if head == "SET":
        rest = " ".join(w for w in words[1:] if w not in ("SESSION", "LOCAL"))
        # SET autocommit = 1 commits; SET PASSWORD / SET DEFAULT ROLE change system tables.
        return any(rest.startswith(w) for w in ("AUTOCOMMIT", "PASSWORD", "DEFAULT ROLE"))
    # CREATE / DROP TEMPORARY TABLE stay in the transaction; everything else commits.
    return not (head in ("CREATE", "DROP") and len(words) > 1 and words[1] == "TEMPORARY")


def runs_in_transaction(statements: Iterable[str]) -> bool:
    """Whether every one of ``statements`` runs inside the transaction (none commits)."""
    return not any(commits_implicitly(sql) for sql in statements)
