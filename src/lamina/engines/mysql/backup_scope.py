"""What a touched MySQL/MariaDB backup needs to know of the target database
(:class:`lamina.backup.scope.LiveTables`): its tables and views, the foreign keys that touch it
(a key follows its table through ``RENAME TABLE``, so both ends must move together), and the
tables with triggers (``RENAME TABLE`` cannot move those between databases).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lamina.backup.scope import ForeignKey, LiveTables

__all__ = ["live_tables"]

#: Runs one query with parameters on the restore's or backup's connection.
Query = Callable[[str, tuple[object, ...] | None], list[tuple[Any, ...]]]

_TABLES = "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
_KEYS = (
    "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, UNIQUE_CONSTRAINT_SCHEMA, REFERENCED_TABLE_NAME, "
    "DELETE_RULE, UPDATE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS "
    "WHERE %s IN (CONSTRAINT_SCHEMA, UNIQUE_CONSTRAINT_SCHEMA)"
)
_TRIGGERS = (
    "SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME FROM information_schema.TRIGGERS "
    "WHERE EVENT_OBJECT_SCHEMA = %s"
)
_NO_ACTION = {"NO ACTION", "RESTRICT"}


def live_tables(query: Query, database: str) -> LiveTables:
    """``database`` as :mod:`lamina.backup.scope` needs it."""
    relations = query(_TABLES, (database,))
    keys = []
    for source_db, source, target_db, target, on_delete, on_update in query(_KEYS, (database,)):
        keys.append(
            ForeignKey(
                source=str(source) if source_db == database else f"{source_db}.{source}",
                target=str(target) if target_db == database else f"{target_db}.{target}",
                cascades=not {str(on_delete), str(on_update)} <= _NO_ACTION,
                outside=database != source_db or database != target_db,
            )
        )
    alone: dict[str, str] = {}
    for table, trigger in query(_TRIGGERS, (database,)):
        alone[str(table)] = f"it has trigger {trigger}, which RENAME TABLE cannot move"
    folded = query("SELECT @@lower_case_table_names", None)
    return LiveTables(
        tables=frozenset(str(name) for name, kind in relations if kind != "VIEW"),
        others={str(name): "view" for name, kind in relations if kind == "VIEW"},
        foreign_keys=tuple(keys),
        alone=alone,
        qualifiers=frozenset({(), (database,)}),
        fold=bool(folded and int(folded[0][0] or 0)),
    )
