"""The guard every command that runs the project's migrations on a scratch database passes
first: ``verify``, ``generate`` and ``check-schema``.

A scratch database shares the target's server (PostgreSQL, MySQL) or the target's machine
(DuckDB, SQLite). A migration statement that reaches outside its own database (a role,
another database, ``ALTER SYSTEM``, an attached file: :mod:`lamina.reach`) would change the
user's real server or files while the command believes it works on a throw-away copy. So,
before anything runs, every migration's statements are recorded (``.sql`` files as written,
Python migrations through the dry-run recorder) and such a statement is refused, naming the
migration, its direction and the statement.
"""

from __future__ import annotations

from collections.abc import Sequence

from lamina.config import Settings
from lamina.errors import VerifyRefusedError
from lamina.models import Direction, MigrationFile
from lamina.scratch import same_server
from lamina.urls import DatabaseURL

__all__ = ["refusal", "refuse_reaching_out", "statements_reaching_out"]

_HINTS = {
    "verify": None,  # VerifyRefusedError's own hint (--scratch-url)
    "generate": "move what reaches outside (roles, other databases, attached files) out of "
    "the migrations, into the server's own setup; generate builds the migrations' schema on "
    "a scratch database of the target's server",
}


def statements_reaching_out(
    settings: Settings, files: Sequence[MigrationFile], dialect: str
) -> list[tuple[str, str, str]]:
    """``(migration and direction, statement, reason)`` for each recorded statement of
    ``files`` that reaches outside its database; a Python migration whose SQL cannot be
    recorded without real rows is skipped (its SQL cannot be known before it runs)."""
    from lamina.loader import load_migration
    from lamina.reach import outside_reach
    from lamina.runner import record_statements

    found: list[tuple[str, str, str]] = []
    for file in files:
        migration = load_migration(file, allow_unsafe=settings.allow_unsafe_migrations)
        directions = (Direction.UP, Direction.DOWN) if file.meta.reversible else (Direction.UP,)
        for direction in directions:
            try:
                recorded = record_statements(migration, direction, dialect)
            except Exception:  # Python code that needs real rows: its SQL cannot be known
                continue
            for reach in outside_reach([r.sql for r in recorded], dialect, database=None):
                found.append((f"{file.id} ({direction.value})", reach.statement, reach.reason))
    return found


def refuse_reaching_out(
    settings: Settings,
    files: Sequence[MigrationFile],
    *,
    dialect: str,
    scratch_url: DatabaseURL | None = None,
    command: str = "verify",
) -> None:
    """Refuse, before anything runs, migrations that would touch more than the scratch.

    On a scratch server of its own (``scratch_url`` elsewhere) a server-wide statement
    reaches only that server, so only the file engines' ATTACH and the like are refused.

    Raises:
        VerifyRefusedError: naming each migration, direction and statement (exit 3);
            ``command`` (``generate`` for generate and check-schema) starts its message.
    """
    url = settings.database_url
    if not url.is_file and not same_server(url, scratch_url):
        return
    found = statements_reaching_out(settings, files, dialect)
    if found:
        raise refusal(found, url, command)


def refusal(
    found: Sequence[tuple[str, str, str]], url: DatabaseURL, command: str
) -> VerifyRefusedError:
    """The refusal naming each ``(where, statement, reason)``; ``command`` starts its message."""
    error = VerifyRefusedError(found, target=url.redacted())
    if command != "verify":
        error.message = error.message.replace("verify refused", f"{command} refused", 1)
        error.args = (error.message,)
        error.hint = _HINTS.get(command, error.hint)
    return error
