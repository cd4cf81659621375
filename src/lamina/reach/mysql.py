"""The rules for MySQL and MariaDB: server-wide objects and statements, files written on the
server, and names qualified with another database."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lamina.reach.tokens import (
    _VERBS,
    _kind,
    _name_after,
    _named,
    _Tok,
    _use,
    _word,
)

if TYPE_CHECKING:
    from sqlglot import exp


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
