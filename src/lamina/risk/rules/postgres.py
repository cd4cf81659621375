"""PostgreSQL's own rules: index builds and drops that block writes, or run concurrently."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from lamina.risk.rules.base import Context, Hit, Rule, _created_index, _drop_kind, _name
from lamina.risk.state import table_key


def create_index_not_concurrently(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    index = _created_index(node)
    if index is None or node.args.get("concurrently"):
        return
    table = index.args.get("table")
    if not ctx.state.is_new(table):
        yield Hit(
            "create-index-not-concurrently",
            f"builds index {_name(index)} on {_name(table)} without CONCURRENTLY: writes to "
            f"{_name(table)} wait until it is built",
        )


def drop_index_not_concurrently(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    if _drop_kind(node) != "INDEX" or node.args.get("concurrently"):
        return
    for index in node.args.get("tables") or []:
        if table_key(index) not in ctx.state.created_indexes:
            yield Hit(
                "drop-index-not-concurrently",
                f"drops index {_name(index)} without CONCURRENTLY: its table is locked against "
                "reads and writes meanwhile",
            )


def concurrent_index(node: exp.Expr, _ctx: Context) -> Iterator[Hit]:
    index = _created_index(node)
    if index is not None and node.args.get("concurrently"):
        yield Hit(
            "concurrent-index",
            f"builds index {_name(index)} CONCURRENTLY: it cannot run inside a transaction",
        )
    elif _drop_kind(node) == "INDEX" and node.args.get("concurrently"):
        names = ", ".join(_name(t) for t in node.args.get("tables") or [])
        yield Hit(
            "concurrent-index",
            f"drops index {names} CONCURRENTLY: it cannot run inside a transaction",
        )


#: PostgreSQL's statement rules, in the order their findings are listed.
STATEMENT_RULES: tuple[Rule, ...] = (
    create_index_not_concurrently,
    drop_index_not_concurrently,
    concurrent_index,
)

#: Leading words of statements sqlglot reads only as a Command that are harmless here (see
#: :data:`lamina.risk.rules.UNDERSTOOD`).
UNDERSTOOD: tuple[tuple[str, ...], ...] = ()
