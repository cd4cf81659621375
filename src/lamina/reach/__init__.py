"""Which migration statements reach outside the database they run in.

``lamina verify`` applies migrations on a throw-away scratch database on the same server as the
target. A statement that touches something outside its own database (another database, a role,
a server setting, a file on the server) would change the user's real data or server while verify
runs, so verify refuses such migrations before anything runs. :func:`outside_reach` decides which
statements those are.

Everything here is pure: strings in, records out. No database, no files, no environment.

How a statement is read:

* It is cut into tokens first. A statement made only of plain characters (no quotes, comments,
  ``$`` or backslashes) is cut by a simple scanner, which is exact for such text; any other is cut
  by sqlglot's tokenizer for the dialect, so string literals, quoted identifiers and comments
  never read as keywords. MySQL's executable comments (``/*! ... */``, ``/*M! ... */``), which
  MySQL runs, are read as the SQL they hold.
* Keyword rules look at the words at the start of the statement (``CREATE ROLE``, ``ALTER
  SYSTEM``, ``GRANT ... TO``) and at a few clauses anywhere (``INTO OUTFILE``, ``COPY ... TO
  'file'``, calls of server-administration functions).
* On MySQL, a name qualified with another database (``billing.invoices``) reaches outside.
  Only a statement with such a qualifier is parsed: the sqlglot parse tree tells tables and
  routines (``db.t``, ``db.f()``, ``db.t.c``) from columns qualified by a table or alias
  (``u.id``). Where sqlglot has no grammar for the statement (``RENAME TABLE``, ``CALL``,
  trigger, event and procedure bodies), names in table positions of the token stream are used.

What cannot be analysed is not flagged: PostgreSQL ``DO`` blocks and routine bodies written as
dollar-quoted strings, dynamic SQL (``EXECUTE``, ``PREPARE``), and statements sqlglot cannot even
tokenize (the database will reject those).

The rules live one module per dialect family (:mod:`.mysql`, :mod:`.postgres`, :mod:`.embedded`
for DuckDB and SQLite), over the tokens and start-of-statement readers of :mod:`.tokens`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lamina.reach.embedded import _duckdb, _sqlite
from lamina.reach.mysql import _mysql
from lamina.reach.postgres import _postgres
from lamina.reach.tokens import _tokens

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Reach", "outside_reach"]


@dataclass(frozen=True, slots=True)
class Reach:
    """A statement that would touch something outside the database it runs in."""

    statement: str  # the statement, whitespace collapsed, shortened to ~120 characters with "…"
    reason: str  # one line: what it reaches and why that is outside the migration's database


def outside_reach(
    statements: Sequence[str], dialect: str, *, database: str | None = None
) -> list[Reach]:
    """Statements that would touch something outside the database they run in.

    Args:
        statements: the statements, one each (as :func:`lamina.sqltext.split_statements` gives).
        dialect: lamina's dialect of the target: ``mysql`` (or ``mariadb``), ``postgres`` (or
            ``postgresql``), ``duckdb`` or ``sqlite``.
        database: the name of the database the migration targets. On MySQL, names qualified
            with it (``app.users`` when it is ``"app"``, compared case-insensitively) stay
            inside; when it is ``None`` every database-qualified name reaches outside.

    Returns:
        One :class:`Reach` per such statement, in order; the first reason found for each.

    Raises:
        ValueError: ``dialect`` is not one lamina supports.
    """
    engine = _ENGINES.get(dialect.lower())
    if engine is None:
        raise ValueError(
            f"unknown dialect {dialect!r}; expected one of: duckdb, sqlite, postgres, mysql"
        )
    own = database.casefold() if database else None
    found = []
    for sql in statements:
        reason = _reason(sql, engine, own)
        if reason is not None:
            found.append(Reach(_shorten(sql), reason))
    return found


_ENGINES = {
    "mysql": "mysql",
    "mariadb": "mysql",
    "postgres": "postgres",
    "postgresql": "postgres",
    "duckdb": "duckdb",
    "sqlite": "sqlite",
    "sqlite3": "sqlite",
}

_SHORT = 120


def _shorten(sql: str) -> str:
    text = " ".join(sql.split())
    if len(text) <= _SHORT:
        return text
    return text[: _SHORT - 1].rstrip() + "…"


def _reason(sql: str, engine: str, own: str | None) -> str | None:
    read = _tokens(sql, engine)
    if read is None:
        return None
    tokens, text = read
    while tokens and tokens[0].word == "(":
        tokens = tokens[1:]
    if not tokens:
        return None
    if engine == "mysql":
        return _mysql(tokens, text, own)
    if engine == "postgres":
        return _postgres(tokens)
    if engine == "duckdb":
        return _duckdb(tokens, own)
    return _sqlite(tokens)
