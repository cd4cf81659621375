"""How the target server runs a statement's InnoDB operations, and the finding that follows.

For each server the statement may meet (the live one; offline, the oldest MySQL and MariaDB
lamina supports, the worst case), every operation is looked up in
:data:`~lamina.risk.rules.mysql_algorithms.FACTS`, the statement's way is the costliest of
them, and the ``ALGORITHM=`` / ``LOCK=`` the author wrote is honoured: a cheaper one than the
server can do makes it refuse the statement (safe: nothing is copied or locked), a costlier
one is what runs. An INSTANT-only statement is never reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import reduce

from sqlglot import exp

from lamina.risk.model import LiveFacts
from lamina.risk.rules.base import Context, Hit
from lamina.risk.rules.mysql_algorithms import (
    MARIADB,
    MYSQL,
    OLDEST,
    TITLES,
    Algorithm,
    Lock,
    Op,
    Way,
    Work,
    fact_for,
)
from lamina.risk.rules.mysql_alter import Request, requests, table_facts
from lamina.risk.rules.mysql_columns import Change

__all__ = ["Server", "mysql_alter_algorithm", "servers"]

#: Operations a rule for every engine already reports on MySQL, with MySQL's safer way
#: (add-foreign-key, add-check, change-primary-key): not reported twice for how they run.
_REPORTED_ELSEWHERE = {
    Op.ADD_FOREIGN_KEY,
    Op.ADD_CHECK,
    Op.ADD_PRIMARY_KEY,
    Op.DROP_PRIMARY_KEY,
    Op.REPLACE_PRIMARY_KEY,
}
#: Operations that change what a column holds: values may not fit, code may expect the old.
_RETYPES = {
    Op.CHANGE_TYPE,
    Op.CHANGE_ENUM,
    Op.CHANGE_CHARSET,
    Op.CONVERT_CHARSET,
}
_ASSUMED = (
    " (lamina does not know the server's version and assumes the oldest it supports; lint "
    "against the database or pass --server-version)"
)


@dataclass(frozen=True, slots=True)
class Server:
    """A server the statement may run on; ``assumed`` when its version is not known."""

    flavor: str
    version: tuple[int, ...]
    assumed: bool

    @property
    def title(self) -> str:
        return f"{TITLES[self.flavor]} {'.'.join(str(part) for part in self.version)}"


def servers(facts: LiveFacts) -> tuple[Server, ...]:
    """The live server; without a version, the oldest of its flavour (of both when the
    flavour is unknown too). A version of 10 or more is MariaDB's, below MySQL's."""
    version = facts.server_version
    flavor = facts.flavor if facts.flavor in TITLES else None
    if flavor is None and version is not None:
        flavor = MARIADB if version[0] >= 10 else MYSQL
    flavors = (flavor,) if flavor is not None else (MYSQL, MARIADB)
    return tuple(Server(f, version or OLDEST[f], version is None) for f in flavors)


@dataclass(frozen=True, slots=True)
class Part:
    """One operation as it runs in the statement; ``held_back`` says why it does not run
    INSTANT although it could alone."""

    change: Change
    way: Way
    held_back: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    """How one server runs one request: its way and its parts."""

    server: Server
    way: Way
    parts: tuple[Part, ...]
    refused: str | None = None  # what the server refuses, when it does


def mysql_alter_algorithm(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """Reports an ALTER that copies the table, blocks writes, rebuilds it in place, or asks
    for an algorithm or lock the server refuses."""
    if ctx.dialect != "mysql":
        return
    for request in requests(node, ctx):
        if ctx.state.is_new(exp.to_table(request.table)):
            continue
        yield from request.also
        facts = table_facts(ctx, request.table)
        fulltext = facts is not None and facts.fulltext
        plans = [plan(request, server, fulltext) for server in servers(ctx.facts)]
        hit = _worst([p for p in plans if p is not None], request, ctx)
        if hit is not None:
            yield hit


def plan(request: Request, server: Server, fulltext: bool = False) -> Plan | None:
    """How ``server`` runs ``request``; None when the manuals say nothing for it."""
    found = [
        (change, fact_for(change.op, server.flavor, server.version, fulltext=fulltext))
        for change in request.changes
    ]
    facts = [(change, fact) for change, fact in found if fact is not None]
    if len(facts) < len(found):
        return None
    held = ""
    if any(fact.way.algorithm is not Algorithm.INSTANT for _, fact in facts):
        held = "not INSTANT beside the other changes"
    if request.algorithm == "INPLACE" and server.flavor == MYSQL:
        held = "not INSTANT: MySQL does it in place when ALGORITHM=INPLACE is written"
    parts = [
        Part(change, fact.combined, held) if held and fact.combined else Part(change, fact.way)
        for change, fact in facts
    ]
    way = reduce(Way.joined, (p.way for p in parts), Way(Algorithm.INSTANT))
    return _written(Plan(server, way, tuple(parts)), request)


def _written(planned: Plan, request: Request) -> Plan:
    """The plan once the written ``ALGORITHM=`` and ``LOCK=`` are honoured."""
    way, algorithm, lock = planned.way, request.algorithm, request.lock
    needed = way.clauses()
    if algorithm == "COPY":
        way = Way(Algorithm.COPY, Work.COPY, max(way.lock, Lock.SHARED))
    elif algorithm is not None and _cheaper(algorithm, way, planned.server):
        return replace(planned, refused=f"ALGORITHM={algorithm}, while it needs {needed}")
    if lock is not None and lock in Lock.__members__:
        asked = Lock[lock]
        if asked < way.lock:
            return replace(planned, refused=f"LOCK={lock}, while it needs {way.clauses()}")
        if way.algorithm is not Algorithm.INSTANT:
            way = replace(way, lock=asked)
    return replace(planned, way=way)


def _cheaper(algorithm: str, way: Way, server: Server) -> bool:
    """Whether the written algorithm cannot do what the statement needs."""
    if algorithm == "INSTANT":
        return way.algorithm is not Algorithm.INSTANT
    if algorithm == "NOCOPY":  # MariaDB's: in place, without rebuilding; unknown to MySQL
        return server.flavor == MYSQL or way.work >= Work.REBUILD
    if algorithm == "INPLACE":
        return way.algorithm is Algorithm.COPY
    return False


def _worst(plans: list[Plan], request: Request, ctx: Context) -> Hit | None:
    """The finding of the costliest plan (offline, of the oldest servers); a refusal only
    when the server is known: an assumed one may not be the one that runs it."""
    found = [(p, *_finding(p, request, ctx)) for p in plans]
    hits = [(p, rank, hit) for p, rank, hit in found if hit is not None]
    if not hits:
        return None
    top = max(rank for _, rank, _ in hits)
    chosen = [(p, hit) for p, rank, hit in hits if rank == top]
    first, hit = chosen[0]
    if len(chosen) > 1 and all(
        c.message == hit.message.replace(first.server.title, p.server.title) for p, c in chosen
    ):
        titles = " and ".join(p.server.title for p, _ in chosen)
        hit = replace(hit, message=hit.message.replace(first.server.title, titles, 1))
    return hit


def _finding(planned: Plan, request: Request, ctx: Context) -> tuple[int, Hit | None]:
    """``(rank, hit)``: refused 4, copies 3, blocks writes 2, rebuilds 1, nothing 0."""
    server, way = planned.server, planned.way
    on = f"on {server.title}"
    size = _size(ctx.facts, request.table) + (_ASSUMED if server.assumed else "")
    if planned.refused is not None:
        return (0, None) if server.assumed else (4, _refused(planned, request, on))
    if way.algorithm is Algorithm.COPY:
        return 3, _copies(planned, request, on, size)
    if way.blocks_writes:
        return 2, _blocks_writes(planned, request, on, size)
    if way.work is Work.REBUILD:
        return 1, _rebuilds(planned, request, on, size)
    return 0, None


def _refused(planned: Plan, request: Request, on: str) -> Hit:
    message = (
        f"{request.statement} asks for {planned.refused} {on}: {_whats(planned.parts)}; the "
        "server refuses the statement, so nothing is copied or locked, and the migration "
        "stops there"
    )
    return Hit("mysql-alter-refused", message)


def _blocks_writes(planned: Plan, request: Request, on: str, size: str) -> Hit | None:
    parts = [p for p in planned.parts if p.way.blocks_writes] or list(planned.parts)
    if _elsewhere(parts):
        return None
    waiting = "reads go on, writes" if planned.way.lock is Lock.SHARED else "reads and writes"
    message = (
        f"{request.statement} blocks writes {on} ({planned.way.clauses()}): {_whats(parts)}; "
        f"{waiting} to {request.table} wait until it finishes{size}"
    )
    return Hit("mysql-alter-blocks-writes", message)


def _rebuilds(planned: Plan, request: Request, on: str, size: str) -> Hit | None:
    parts = [p for p in planned.parts if p.way.work is Work.REBUILD]
    if _elsewhere(parts):
        return None
    message = (
        f"{request.statement} rebuilds {request.table} in place {on} "
        f"({planned.way.clauses()}): {_whats(parts)}; reads and writes go on, but every row "
        f"is rewritten{size}"
    )
    return Hit("mysql-alter-rebuilds", message, suggestion=_held_back_advice(parts))


def _copies(planned: Plan, request: Request, on: str, size: str) -> Hit | None:
    parts = [p for p in planned.parts if p.way.algorithm is Algorithm.COPY]
    if not parts:  # the author wrote ALGORITHM=COPY
        whats = f"ALGORITHM=COPY is written, although {_whats(list(planned.parts))} needs no copy"
    elif _elsewhere(parts):
        return None
    else:
        whats = _whats(parts)
    message = (
        f"{request.statement} copies the table {on} ({planned.way.clauses()}): {whats}; "
        f"{'writes' if planned.way.lock is Lock.SHARED else 'reads and writes'} to "
        f"{request.table} wait until every row is copied{size}"
    )
    retypes = any(p.change.op in _RETYPES for p in parts)
    reason = (
        "the table is copied row by row while writes wait; values that do not fit the new "
        "type or character set make the statement fail (strict mode) or are cut, and code "
        "that expects the old type breaks"
        if retypes
        else None
    )
    return Hit("mysql-alter-copies", message, reason=reason)


def _whats(parts: list[Part] | tuple[Part, ...]) -> str:
    texts = [p.change.what + (f" ({p.held_back})" if p.held_back else "") for p in parts]
    return "; ".join(dict.fromkeys(texts)) or "no change"


def _elsewhere(parts: list[Part]) -> bool:
    return bool(parts) and all(p.change.op in _REPORTED_ELSEWHERE for p in parts)


def _held_back_advice(parts: list[Part]) -> str | None:
    if any(p.held_back for p in parts):
        return (
            "run the change that can be INSTANT in an ALTER TABLE of its own (with "
            "ALGORITHM=INSTANT, so the server refuses rather than rebuilds), and the rest apart"
        )
    return None


def _size(facts: LiveFacts, table: str) -> str:
    """``; users holds about 1,200,000 rows (340 MB)`` when the live database says."""
    known = facts.table(table.rsplit(".", 1)[-1])
    if known is None or known.rows is None:
        return ""
    megabytes = f" ({known.size_bytes / 1_000_000:,.0f} MB)" if known.size_bytes else ""
    return f"; {table} holds about {known.rows:,} rows{megabytes}"
