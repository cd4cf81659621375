"""The baseline: the first migration of a database that existed before lamina did.

``lamina generate NAME --from <database URL>`` on a migrations folder that builds nothing yet
writes the whole schema of that database as one Python migration whose ``up`` calls
:func:`apply_baseline` with the statements and the snapshot taken when it was generated. On
``lamina up`` it then decides from the database it runs on:

- the schema is exactly the recorded one: nothing runs, and lamina records the migration as
  applied (the database it was captured from, or a copy of it);
- the database is empty: the statements run, so a new environment, CI and ``verify`` build it;
- anything else: it refuses, listing the differences, and nothing changes.

A baseline has no down: rolling it back would drop the whole schema. ``--dry-run`` and
``lint`` show the statements an empty database would get (a dry run reads nothing).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from lamina.migration import Migration
from lamina.schema import Snapshot, diff, snapshot

__all__ = ["BaselineMismatchError", "apply_baseline", "is_empty"]

#: Differences listed in the refusal before "and N more".
_SHOWN = 20


class BaselineMismatchError(RuntimeError):
    """The database holds a schema, and it is not the baseline's: running the baseline's
    statements would fail half-way or build something else, and recording it as applied
    would be a lie."""


def is_empty(schema: Snapshot) -> bool:
    """No table, view or schema object (PostgreSQL's extensions are database-wide and come
    with a new database: they do not count)."""
    objects = [o for o in schema.objects if o.kind not in ("extension", "schema")]
    return not schema.tables and not schema.views and not objects


def apply_baseline(migration: Migration, schema: str, statements: Sequence[str]) -> None:
    """The ``up`` of a baseline migration (see the module docstring).

    Raises:
        BaselineMismatchError: the database has another schema (the differences are listed).
    """
    backend = getattr(getattr(migration, "_executor", None), "backend", None)
    if migration.dry_run or backend is None:  # recorded: what an empty database would get
        _run(migration, statements)
        return
    found = snapshot(backend)
    if is_empty(found):
        _run(migration, statements)
        return
    try:
        expected = Snapshot.from_dict(json.loads(schema))
    except ValueError as exc:  # written by another lamina, in another snapshot format
        raise BaselineMismatchError(
            f"the baseline's recorded schema cannot be read ({exc}): generate it again"
        ) from None
    differences = diff(expected, found)
    if not differences:
        return  # already there: lamina records the baseline as applied, nothing ran
    listed = [f"  {d}" for d in differences[:_SHOWN]]
    if len(differences) > _SHOWN:
        listed.append(f"  and {len(differences) - _SHOWN} more")
    raise BaselineMismatchError(
        "this database already has a schema, and it is not the baseline's, so the baseline "
        "is neither run nor recorded (added: only in this database; missing: only in the "
        "baseline):\n" + "\n".join(listed) + "\nbring the database to the baseline's schema, "
        "or generate the baseline again from this database"
    )


def _run(migration: Migration, statements: Sequence[str]) -> None:
    for statement in statements:
        migration.execute_sql(statement)
