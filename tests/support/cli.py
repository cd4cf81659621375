"""Running the CLI in-process (click's CliRunner) on a test database, from one place.

Every lamina setting a developer's shell may carry is cleared for the run, so a test sees the
defaults plus only what it sets (the copies this replaced had drifted: some cleared
``MAX_MIGRATION_TIME`` or ``LAMINA_BACKUP_KEEP``, others did not).
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from lamina.cli import cli

#: Environment variables lamina reads as settings (README, Configuration).
SETTINGS = (
    "DATABASE_URL",
    "DB_PATH",
    "LAMINA_MIGRATIONS_DIR",
    "LAMINA_ENV",
    "LAMINA_LOCK_TIMEOUT",
    "LAMINA_STRICT_ORDER",
    "MIGRATION_REQUIRE_CONFIRMATION",
    "MAX_MIGRATION_TIME",
    "LAMINA_LOCK_MODE",
    "LAMINA_LOCK_TTL",
    "LAMINA_TABLE_LOCK_TIMEOUT",
    "BACKUP_ENABLED",
    "LAMINA_BACKUP_DIR",
    "LAMINA_BACKUP_KEEP",
    "LAMINA_BACKUP_SCOPE",
    "LAMINA_PROGRESS_INTERVAL",
    "LAMINA_RESTORE_IF_MISSING",
    "NO_COLOR",
)


def cleared(**values: str | None) -> dict[str, str | None]:
    """A CliRunner environment: every setting cleared (None), then ``values``."""
    return dict.fromkeys(SETTINGS) | values


def invoke_on(
    db_url: str, folder: Path, *args: str, env: dict[str, str | None] | None = None
) -> Result:
    """``lamina ARGS`` in-process on ``db_url`` with the migrations in ``folder``."""
    base = cleared(DATABASE_URL=db_url, LAMINA_MIGRATIONS_DIR=str(folder)) | (env or {})
    return CliRunner().invoke(cli, list(args), env=base, catch_exceptions=False)
