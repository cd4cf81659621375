"""lamina's own tables, declared once: their names, columns and the SQL that reads and writes
them (the ``CREATE TABLE`` statements are the backend's ``history_ddl``,
:func:`lamina.engines.base.history_tables`)."""

from __future__ import annotations

from collections.abc import Sequence

from lamina.engines.base import MIGRATION_COLUMNS_V2

MIGRATIONS = "lamina_migrations"
LOG = "lamina_migration_log"
META = "lamina_meta"
LAYOUT_KEY = "layout_version"

_MIGRATION_COLUMNS_V1 = (
    "id",
    "version",
    "name",
    "category",
    "checksum",
    "applied_at",
    "execution_ms",
    "applied_by",
    "host",
)
_DIRTY_COLUMNS = tuple(definition.split()[0] for definition in MIGRATION_COLUMNS_V2)
_MIGRATION_COLUMNS = _MIGRATION_COLUMNS_V1 + _DIRTY_COLUMNS
_LOG_COLUMNS = (
    "seq",
    "logged_at",
    "action",
    "migration_id",
    "version",
    "applied_by",
    "host",
    "duration_ms",
    "detail",
)
_COLUMNS = {MIGRATIONS: _MIGRATION_COLUMNS, LOG: _LOG_COLUMNS, META: ("name", "value")}


def _select(table: str, columns: Sequence[str]) -> str:
    return f"SELECT {', '.join(columns)} FROM {table}"


def _insert(table: str, columns: Sequence[str]) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


# One round trip that reads the layout and fails unless every expected column exists.
_PROBE = (
    f"SELECT (SELECT value FROM {META} WHERE name = ?), "
    f"(SELECT COUNT(*) FROM ({_select(MIGRATIONS, _MIGRATION_COLUMNS)} WHERE 1 = 0) AS m), "
    f"(SELECT COUNT(*) FROM ({_select(LOG, _LOG_COLUMNS)} WHERE 1 = 0) AS l)"
)
_LAYOUT = f"SELECT value FROM {META} WHERE name = ?"


# Reads join the layout version onto every row, so one round trip both checks the layout and
# fetches the rows. The LEFT JOIN still yields one (all-NULL) row when the table is empty.
def _read_with_layout(table: str, columns: Sequence[str], order: str) -> str:
    picked = ", ".join(f"t.{column}" for column in columns)
    return (
        f"SELECT layout.value, {picked} FROM (SELECT value FROM {META} WHERE name = ?) AS layout "
        f"LEFT JOIN {table} AS t ON 1 = 1 ORDER BY {order}"
    )


_APPLIED = _read_with_layout(MIGRATIONS, _MIGRATION_COLUMNS, "t.applied_at, t.version")
_APPLIED_V1 = _read_with_layout(MIGRATIONS, _MIGRATION_COLUMNS_V1, "t.applied_at, t.version")
_EVENTS = _read_with_layout(LOG, _LOG_COLUMNS, "t.seq DESC")
_RECORD_APPLY = _insert(MIGRATIONS, _MIGRATION_COLUMNS)
_RECORD_ROLLBACK = f"DELETE FROM {MIGRATIONS} WHERE id = ?"
_FINISH_APPLY = (
    f"UPDATE {MIGRATIONS} SET state = 'applied', failed_statement = NULL, detail = NULL, "
    "checksum = ?, applied_at = ?, execution_ms = ?, applied_by = ?, host = ? WHERE id = ?"
)
_MARK = f"UPDATE {MIGRATIONS} SET state = ?, failed_statement = ?, detail = ? WHERE id = ?"
_SET_CHECKSUM = f"UPDATE {MIGRATIONS} SET checksum = ? WHERE id = ? AND state = 'applied'"
_SET_LAYOUT_VALUE = f"UPDATE {META} SET value = ? WHERE name = ?"
_SET_HASH = f"UPDATE {MIGRATIONS} SET schema_hash = ? WHERE id = ?"
_DELETE_META = f"DELETE FROM {META} WHERE name = ?"
_META_VALUES = f"SELECT name, value FROM {META} WHERE name IN (?, ?, ?)"
SNAPSHOT_KEY = "schema_snapshot"
DIGEST_KEY = "schema_digest"
#: The newest applied migration when the snapshot was taken ("" for none): a snapshot is
#: only a baseline for drift while history still ends there.
SNAPSHOT_OF_KEY = "schema_snapshot_of"
_AUDIT = _insert(LOG, _LOG_COLUMNS[1:])
_SET_LAYOUT = _insert(META, ("name", "value"))

_RESTORE_HINT = (
    "lamina's tables were changed outside lamina; restore them from a backup of this database"
)
