"""The rules for PostgreSQL: roles, databases, tablespaces and settings the cluster shares,
files and programs on the server, and connections to other databases."""

from __future__ import annotations

from lamina.reach.tokens import (
    _VERBS,
    _calls,
    _copy_target,
    _kind,
    _name_after,
    _named,
    _Tok,
    _top_level,
    _word,
)

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
