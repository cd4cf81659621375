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
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlglot import exp

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


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# The rules, per engine
# --------------------------------------------------------------------------------------------


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


# -- MySQL / MariaDB -------------------------------------------------------------------------

_MYSQL_SERVER = "in the server-wide mysql schema"
_MYSQL_SCOPES = frozenset({"GLOBAL", "PERSIST", "PERSIST_ONLY"})
# Statements that act on the whole server, by first word.
_MYSQL_SERVER_STATEMENTS = {
    "GRANT": "changes privileges, which live " + _MYSQL_SERVER,
    "REVOKE": "changes privileges, which live " + _MYSQL_SERVER,
    "INSTALL": "installs a plugin or component into the server",
    "UNINSTALL": "removes a plugin or component from the server",
    "FLUSH": "flushes server-wide caches, logs or privileges",
    "KILL": "kills a connection or query of the server",
    "PURGE": "purges the server's binary logs",
    "RESET": "resets server-wide state (binary logs, replication or persisted settings)",
    "CHANGE": "changes the server's replication setup",
    "SHUTDOWN": "shuts the server down",
    "RESTART": "restarts the server",
    "CLONE": "clones a server instance",
    "BINLOG": "replays binary log events, which may touch any database",
}
_MYSQL_KINDS = {
    "USER": "user accounts live " + _MYSQL_SERVER,
    "ROLE": "roles live " + _MYSQL_SERVER,
    "SERVER": "federated server definitions live in the server-wide mysql.servers table",
    "TABLESPACE": "general tablespaces belong to the whole server",
    "LOGFILE": "log file groups belong to the whole server",
    "RESOURCE": "resource groups belong to the whole server",
    "SPATIAL": "spatial reference systems belong to the whole server",
    "INSTANCE": "it changes the server instance",
}
_VERBS = {"CREATE": "creates", "ALTER": "alters", "DROP": "drops", "RENAME": "renames"}
#: Databases that may be named from any migration: read-only views of the server's metadata.
_MYSQL_HARMLESS = frozenset({"information_schema"})


def _mysql(tokens: list[_Tok], sql: str, own: str | None) -> str | None:
    head = tokens[0].word
    reason: str | None = None
    if head == "USE":
        reason = _use(tokens, own)
    elif head in {"CREATE", "ALTER", "DROP"}:
        reason = _mysql_object(tokens, own)
    elif head == "SET":
        reason = _mysql_set(tokens)
    elif head in _MYSQL_SERVER_STATEMENTS:
        reason = f"{head} {_MYSQL_SERVER_STATEMENTS[head]}"
    elif (head, _word(tokens, 1)) in _MYSQL_PAIRS:
        reason = f"{head} {tokens[1].word} {_MYSQL_PAIRS[head, tokens[1].word]}"
    return reason or _mysql_outfile(tokens) or _mysql_qualified(tokens, sql, own)


_MYSQL_PAIRS = {
    ("RENAME", "USER"): "renames an account; accounts live " + _MYSQL_SERVER,
    ("LOCK", "INSTANCE"): "locks the whole server",
    **{
        (verb, what): "controls the server's replication"
        for verb in ("START", "STOP")
        for what in ("SLAVE", "REPLICA", "GROUP_REPLICATION")
    },
}


def _use(tokens: list[_Tok], own: str | None) -> str | None:
    name = _name_after(tokens, 1)
    if own is not None and name.split(".")[0].casefold() == own:
        return None
    return f"switches to database `{name}`, not the migration's own"


# Words that follow ALTER DATABASE / SCHEMA when it names no database (then it is the current).
_ALTER_DATABASE_OPTIONS = frozenset(
    {"CHARACTER", "CHARSET", "COLLATE", "DEFAULT", "ENCRYPTION", "READ", "UPGRADE"}
)


def _mysql_object(tokens: list[_Tok], own: str | None) -> str | None:
    """CREATE / ALTER / DROP of a database, account or other server-wide object."""
    head = tokens[0].word
    kind, at = _kind(tokens)
    if kind in {"DATABASE", "SCHEMA"}:
        name = _name_after(tokens, at + 1)
        if head == "ALTER" and (
            not name
            or (tokens[at + 1].kind == "w" and tokens[at + 1].word in _ALTER_DATABASE_OPTIONS)
            or (own is not None and name.casefold() == own)
        ):
            return None  # the database the migration runs in
        return f"{_VERBS[head]} database `{name}`, a database of its own on the server"
    if kind not in _MYSQL_KINDS or (kind == "SPATIAL" and _word(tokens, at + 1) != "REFERENCE"):
        return None
    name = _name_after(tokens, at + 1) if kind in {"USER", "ROLE", "SERVER"} else ""
    return f"{_named(f'{_VERBS[head]} {kind.lower()}', name)}; {_MYSQL_KINDS[kind]}"


def _mysql_outfile(tokens: list[_Tok]) -> str | None:
    for index, token in enumerate(tokens[:-1]):
        if token.word == "INTO" and tokens[index + 1].word in {"OUTFILE", "DUMPFILE"}:
            target = tokens[index + 2].text if index + 2 < len(tokens) else ""
            kind = tokens[index + 1].word
            return f"writes the file '{target}' on the database server (INTO {kind})"
    return None


def _mysql_set(tokens: list[_Tok]) -> str | None:
    second = _word(tokens, 1)
    if second == "PASSWORD":
        return "SET PASSWORD changes an account, and accounts live " + _MYSQL_SERVER
    if second == "DEFAULT" and _word(tokens, 2) == "ROLE":
        return "SET DEFAULT ROLE changes accounts, which live " + _MYSQL_SERVER
    for index, token in enumerate(tokens):
        if token.word in _MYSQL_SCOPES and _word(tokens, index - 1) in {"SET", ",", "@@"}:
            return f"sets a {token.word.lower()} server variable, which every database shares"
    return None


def _mysql_qualified(tokens: list[_Tok], sql: str, own: str | None) -> str | None:
    """A name qualified with another database, or None."""
    foreign = [(index, name) for index, name in _qualifiers(tokens) if _foreign(name, own)]
    if not foreign:
        return None  # no dot, or only the own database: no parse needed
    bare = {
        token.text.casefold()
        for index, token in enumerate(tokens)
        if token.kind in "wi" and "." not in {_word(tokens, index - 1), _word(tokens, index + 1)}
    }
    if all(
        name.casefold() in bare and not _maybe_database(tokens, index) for index, name in foreign
    ):
        return None  # only alias.column / table.column of tables named in the statement
    tree = _parse_mysql(sql)
    if tree is not None:
        for database, name in _tree_qualified(tree):
            if _foreign(database, own):
                return _names_database(database, name)
        return None
    for database, name in _token_qualified(tokens):
        if _foreign(database, own):
            return _names_database(database, name)
    return None


def _maybe_database(tokens: list[_Tok], index: int) -> bool:
    """Whether the qualifier at ``index`` may be a database: ``q.t`` in a table position,
    ``q.t.c`` or ``q.f(``."""
    return _word(tokens, index + 3) in {".", "("} or _in_table_position(tokens, index)


def _names_database(database: str, name: str) -> str:
    return f"names database `{database}` (`{database}`.`{name}`), not the migration's own"


def _foreign(database: str, own: str | None) -> bool:
    folded = database.casefold()
    return folded != own and folded not in _MYSQL_HARMLESS


def _qualifiers(tokens: list[_Tok]) -> list[tuple[int, str]]:
    """Each name followed by a dot and not itself after a dot: ``a`` of ``a.b`` and ``a.b.c``.

    ``@@global.x`` is a variable, and ``NEW.col`` / ``OLD.col`` are a trigger's rows.
    """
    found = []
    for index in range(len(tokens) - 1):
        token = tokens[index]
        if (
            tokens[index + 1].word == "."
            and token.kind in "wi"
            and _word(tokens, index - 1) not in {".", "@@", "@"}
            and not (token.kind == "w" and token.word in {"NEW", "OLD"})
        ):
            found.append((index, token.text))
    return found


def _parse_mysql(sql: str) -> exp.Expr | None:
    """The statement's parse tree, or None when sqlglot has no full grammar for it."""
    from sqlglot import exp, parse
    from sqlglot.errors import SqlglotError

    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # it warns for each Command fallback
    try:
        nodes = [node for node in parse(sql, read="mysql") if node is not None]
    except SqlglotError:
        return None
    if len(nodes) != 1:
        return None
    node = nodes[0]
    if isinstance(node, exp.Command | exp.Condition | exp.Alias) or node.find(exp.Command):
        return None
    return node


def _tree_qualified(tree: exp.Expr) -> list[tuple[str, str]]:
    """``(database, name)`` of every database-qualified table, column or routine call."""
    from sqlglot import exp

    found = []
    for node in tree.walk():
        if isinstance(node, exp.Table | exp.Column):
            database = node.args.get("db")
            if isinstance(database, exp.Identifier) and database.name:
                name = node.args.get("table") if isinstance(node, exp.Column) else node.this
                found.append((database.name, name.name if isinstance(name, exp.Expr) else ""))
        elif (
            isinstance(node, exp.Dot)
            and isinstance(node.this, exp.Identifier | exp.Column)
            and isinstance(node.expression, exp.Func)
        ):
            found.append((node.this.name, node.expression.name))
    return found


# First words after which every dotted name is a database-qualified table or routine.
_ALL_TABLES = frozenset(
    {"RENAME", "LOCK", "OPTIMIZE", "REPAIR", "CHECK", "CHECKSUM", "ANALYZE", "HANDLER", "CALL"}
    | {"DROP", "TRUNCATE", "CACHE", "LOAD"}
)
# Words after which a name is a table, view or routine (not a column).
_TABLE_POSITIONS = frozenset(
    {"FROM", "JOIN", "INTO", "UPDATE", "TABLE", "TABLES", "CALL", "REFERENCES", "LIKE"}
    | {"TRIGGER", "PROCEDURE", "FUNCTION", "EVENT", "VIEW", "FOLLOWS", "PRECEDES"}
)
_TRIGGER_EVENTS = frozenset({"INSERT", "UPDATE", "DELETE"})


def _token_qualified(tokens: list[_Tok]) -> list[tuple[str, str]]:
    """Database-qualified names read from the tokens, for statements sqlglot cannot parse."""
    all_tables = tokens[0].word in _ALL_TABLES
    found = []
    for index, database in _qualifiers(tokens):
        name = tokens[index + 2].text if index + 2 < len(tokens) else ""
        three_parts = _word(tokens, index + 3) == "."  # db.table.column
        if all_tables or three_parts or _in_table_position(tokens, index):
            found.append((database, name))
    return found


def _in_table_position(tokens: list[_Tok], index: int) -> bool:
    before = _word(tokens, index - 1)
    if before in _TABLE_POSITIONS:
        return True
    if before == "ON":  # CREATE TRIGGER ... BEFORE INSERT ON db.t
        return _word(tokens, index - 2) in _TRIGGER_EVENTS
    if before == ",":  # FROM a.t x, db.u: the item before the comma must be a table too
        return any(_item_is_table(tokens, index - 1 - length, index - 2) for length in range(1, 6))
    return False


# The forms of one item of a table list, as token patterns: ``n`` a name, ``.`` a dot.
_ITEM_FORMS = {1: ("n",), 2: ("n", "n"), 3: ("n", ".", "n"), 4: ("n", ".", "n", "n")}


def _item_is_table(tokens: list[_Tok], start: int, end: int) -> bool:
    """Whether ``tokens[start:end + 1]`` is ``[db.]table [[AS] alias]`` in a table position."""
    if start < 1:
        return False
    item = [t for t in tokens[start : end + 1] if t.word != "AS"]
    form = _ITEM_FORMS.get(len(item))
    if form is None:
        return False
    for token, expected in zip(item, form, strict=True):
        if expected == "." and token.word != ".":
            return False
        if expected == "n" and (token.kind not in "wi" or token.word in _TABLE_POSITIONS):
            return False
    return _in_table_position(tokens, start)


# -- PostgreSQL ------------------------------------------------------------------------------

_CLUSTER = "which every database of the server shares"
#: Functions that act on the server, other sessions or files, or on another database.
_PG_FUNCTIONS = frozenset(
    {"DBLINK", "DBLINK_EXEC", "DBLINK_CONNECT", "DBLINK_CONNECT_U", "DBLINK_SEND_QUERY"}
    | {"DBLINK_OPEN", "LO_EXPORT", "PG_TERMINATE_BACKEND", "PG_CANCEL_BACKEND", "PG_RELOAD_CONF"}
    | {"PG_ROTATE_LOGFILE", "PG_PROMOTE", "PG_SWITCH_WAL", "PG_CREATE_RESTORE_POINT"}
    | {"PG_CREATE_PHYSICAL_REPLICATION_SLOT", "PG_CREATE_LOGICAL_REPLICATION_SLOT"}
    | {"PG_DROP_REPLICATION_SLOT", "PG_FILE_WRITE", "PG_FILE_RENAME", "PG_FILE_UNLINK"}
    | {"PG_FILE_SYNC", "PG_STAT_RESET_SHARED"}
)
_PG_SHARED_OBJECTS = frozenset({"DATABASE", "ROLE", "TABLESPACE"})


def _postgres(tokens: list[_Tok]) -> str | None:  # noqa: PLR0911, PLR0912 - one rule each
    head = tokens[0].word
    if head in {"CREATE", "ALTER", "DROP"}:
        kind, at = _kind(tokens)
        verb = _VERBS[head]
        name = _name_after(tokens, at + 1)
        if kind in {"ROLE", "USER", "GROUP"} and _word(tokens, at + 1) != "MAPPING":
            return f"{_named(f'{verb} role', name)}, {_CLUSTER}"
        if kind in {"DATABASE", "TABLESPACE"}:
            return f"{_named(f'{verb} {kind.lower()}', name)}, {_CLUSTER}"
        if kind == "SYSTEM" and head == "ALTER":
            return f"ALTER SYSTEM changes the server's configuration, {_CLUSTER}"
        if kind == "SUBSCRIPTION":
            return f"{_named(f'{verb} subscription', name)}: it connects to another server"
        if kind == "SERVER" and head == "CREATE":
            return (
                f"{_named('defines foreign server', name)}: statements through it reach "
                "another database"
            )
    if head in {"GRANT", "REVOKE"}:
        return _pg_grant(tokens)
    if head == "COMMENT" and _word(tokens, 1) == "ON" and _word(tokens, 2) in _PG_SHARED_OBJECTS:
        what = f"{tokens[2].word.lower()} {_name_after(tokens, 3)}"
        return f"comments on {what}, {_CLUSTER}"
    if head == "SECURITY" and _word(tokens, 1) == "LABEL":
        on = next((i for i, t in enumerate(tokens) if t.word == "ON"), -1)
        if _word(tokens, on + 1) in _PG_SHARED_OBJECTS:
            what = f"{tokens[on + 1].word.lower()} {_name_after(tokens, on + 2)}"
            return f"labels {what}, {_CLUSTER}"
    if head in {"REASSIGN", "DROP"} and _word(tokens, 1) == "OWNED":
        return f"{head} OWNED also acts on databases and tablespaces, {_CLUSTER}"
    if head == "IMPORT" and _word(tokens, 1) == "FOREIGN":
        return "IMPORT FOREIGN SCHEMA connects to another database"
    if head == "COPY":
        direction, target = _copy_target(tokens)
        if target is not None and target.word == "PROGRAM":
            return f"runs a program on the database server (COPY {direction} PROGRAM)"
        if direction == "TO" and target is not None and target.kind == "s":
            return f"writes the file '{target.text}' on the database server"
    function = _calls(tokens, _PG_FUNCTIONS)
    if function is not None:
        if function.startswith("dblink"):
            return f"calls {function}(), which connects to another database"
        return f"calls {function}(), which acts on the server, not on this database"
    return None


def _pg_grant(tokens: list[_Tok]) -> str | None:
    """GRANT / REVOKE of role membership, or of privileges on a shared object."""
    head = tokens[0].word
    for index, token in _top_level(tokens):
        if token.word == "ON":
            target = _word(tokens, index + 1)
            if target in {"DATABASE", "TABLESPACE", "PARAMETER"}:
                what = f"{target.lower()} {_name_after(tokens, index + 2)}"
                return f"{head} on {what}: its privileges are {_CLUSTER}"
            return None
        if token.word in {"TO", "FROM"}:
            break
    return f"{head} of role membership changes roles, {_CLUSTER}"


# -- DuckDB ----------------------------------------------------------------------------------


def _duckdb(tokens: list[_Tok], own: str | None) -> str | None:  # noqa: PLR0911 - one rule each
    head = tokens[0].word
    if head in {"ATTACH", "DETACH"}:
        return _attach(tokens)
    if head == "USE":
        return _use(tokens, own)
    if head == "EXPORT" and _word(tokens, 1) == "DATABASE":
        return "EXPORT DATABASE writes files outside the database"
    if head == "COPY":
        if _word(tokens, 1) == "FROM" and _word(tokens, 2) == "DATABASE":
            return "COPY FROM DATABASE writes into another database"
        direction, target = _copy_target(tokens)
        if direction == "TO" and target is not None and target.kind == "s":
            return f"writes the file '{target.text}' outside the database"
    if head in {"SET", "RESET"} and _word(tokens, 1) == "GLOBAL":
        return f"{head} GLOBAL changes a setting of the whole DuckDB instance"
    if head in {"CREATE", "DROP"}:
        kind, _ = _kind(tokens)
        if kind == "PERSISTENT":
            return f"{head} PERSISTENT SECRET writes a secret to disk, outside the database"
    return None


def _attach(tokens: list[_Tok]) -> str:
    """ATTACH opens another database file; DETACH closes one the session had attached."""
    if tokens[0].word == "DETACH":
        return (
            f"detaches database {_name_after(tokens, 2 if _word(tokens, 1) == 'DATABASE' else 1)}"
        )
    index = 1
    while _word(tokens, index) in {"DATABASE", "IF", "NOT", "EXISTS", "OR", "REPLACE"}:
        index += 1
    target = tokens[index].text if index < len(tokens) else ""
    return f"attaches database '{target}': statements through it change another database"


# -- SQLite ----------------------------------------------------------------------------------


def _sqlite(tokens: list[_Tok]) -> str | None:
    head = tokens[0].word
    if head in {"ATTACH", "DETACH"}:
        return _attach(tokens)
    if head == "VACUUM":
        for index, token in enumerate(tokens):
            if token.word == "INTO":
                target = tokens[index + 1].text if index + 1 < len(tokens) else ""
                return f"VACUUM INTO writes the file '{target}' outside the database"
    return None
