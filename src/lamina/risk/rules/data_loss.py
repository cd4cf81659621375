"""Rules for statements that lose data: dropped schemas, tables and columns, truncation, and
DELETE / UPDATE of every row."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from lamina.risk.model import Subject
from lamina.risk.rules.base import (
    Context,
    Hit,
    _alter_actions,
    _drop_kind,
    _has_where,
    _name,
)


def drop_table(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """Dropping a table loses its rows, unless this migration created it as scratch."""
    if _drop_kind(node) != "TABLE":
        return
    for table in node.args.get("tables") or []:
        if ctx.state.is_new(table):
            continue
        copy = ctx.state.rebuilt.get(ctx.state.key(table))
        if copy is not None:
            yield Hit(
                "table-rebuild",
                f"rebuilds table {_name(table)}: its rows were copied into {copy}, which "
                f"takes its name; columns the copy leaves out are lost",
            )
        elif ctx.down and ctx.state.created_by_up(table):
            yield Hit(
                "down-loses-data",
                f"drops table {_name(table)}, which this migration's up created: every row "
                "written to it since is lost on rollback",
                subject=_subject(table, None, ctx.dialect),
            )
        else:
            yield Hit("drop-table", f"drops table {_name(table)} and every row in it")


def drop_column(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """Dropping a column loses its values, unless this migration added it."""
    table, actions = _alter_actions(node)
    for action in actions:
        if _drop_kind(action) != "COLUMN":
            continue
        for column in action.args.get("tables") or []:
            if ctx.state.is_added(table, column):
                continue
            where = f"{_name(table)}.{_name(column)}"
            if ctx.down and ctx.state.created_by_up(table, column):
                yield Hit(
                    "down-loses-data",
                    f"drops column {where}, which this migration's up added: every value "
                    "written to it since is lost on rollback",
                    subject=_subject(table, column, ctx.dialect),
                )
            else:
                yield Hit("drop-column", f"drops column {where} and its data")


def _subject(table: exp.Expr | None, column: exp.Expr | None, dialect: str) -> Subject | None:
    """What a rollback's live check counts rows of: the names as the statement spelled them."""
    if not isinstance(table, exp.Table):
        return None
    parts = tuple(part.sql(dialect=dialect) for part in table.parts)
    label = _name(table) if column is None else f"{_name(table)}.{_name(column)}"
    return Subject(parts, None if column is None else column.sql(dialect=dialect), label)


def drop_schema(node: exp.Expr, _ctx: Context) -> Iterator[Hit]:
    kind = _drop_kind(node)
    if kind in {"SCHEMA", "DATABASE"}:
        for target in node.args.get("tables") or []:
            yield Hit("drop-schema", f"drops {kind.lower()} {_name(target)} and everything in it")


def truncate(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    if isinstance(node, exp.TruncateTable):
        for table in node.expressions:
            if not ctx.state.is_new(table):
                yield Hit("truncate", f"removes every row of {_name(table)}")


def delete_without_where(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    if isinstance(node, exp.Delete) and not _has_where(node) and not ctx.state.is_new(node.this):
        yield Hit("delete-without-where", f"deletes every row of {_name(node.this)}")


def update_without_where(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """Overwriting every row loses the old values, except when backfilling a new column."""
    if not isinstance(node, exp.Update) or _has_where(node):
        return
    table = node.this
    targets = [col for eq in node.expressions for col in eq.this.find_all(exp.Column)]
    overwritten = [col for col in targets if not ctx.state.is_added(table, col)]
    if overwritten or not targets:
        names = ", ".join(dict.fromkeys(_name(col) for col in overwritten)) or "?"
        yield Hit(
            "update-without-where",
            f"overwrites {names} in every row of {_name(table)}: the old values are lost",
        )
