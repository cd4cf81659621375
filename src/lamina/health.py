"""The health document of the migrations component: ``Lamina.health()``, and
``lamina.health.check(config)`` for settings alone.

The basic document is the seed's, key for key::

    {
      "component": "Database Migrations",
      "status": "healthy",                       # healthy | degraded | unhealthy
      "message": "All migrations applied successfully",
      "details": {
        "currentVersion": 5, "totalMigrations": 5, "pendingMigrations": 0,
        "lastMigration": {"id": "005_add_audit_logging", "applied_at": "2024-01-15T10:30:00Z"}
      }
    }

Rules: **healthy** when every migration is applied and none is modified, missing or failed;
**degraded** when migrations are pending, an applied file is missing, a migration run holds
the lock (a non-atomic migration whose ``running`` row belongs to that live run is *in
progress*, not failed), or a DuckDB file is held open by another program; **unhealthy** when a
migration failed half-way (dirty: its row is ``failed``, or ``running`` with no live run
holding the lock), an applied file was modified, the migration files are invalid, lamina's
tables are damaged, or the database is unreachable.

``detailed=True`` adds every migration, the lock holder, the last failure from the audit log,
the restore ``lamina.startup()`` made because the database file was missing
(``restoredAtStartup``: which backup, taken when, restored when; read from the audit log, so
any process sees it), the backups, schema drift (changes made outside lamina; a healthy
database with drift is ``degraded``), ``replica`` (on a read-only standby: its replication
lag in seconds, ``null`` when unknown; ``null`` on a primary), and how long the check took.
On a standby the message ends with ``(read-only standby, replication lag 0.2 s)``. A check
is cheap enough to poll: it never takes the migration lock, never waits for a busy database
file, reads history in one query, and does not re-read or re-hash migration files that did
not change (see :mod:`lamina.discovery`). No document ever holds a password or a connection URL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from lamina.api import Lamina, StartupRestore
from lamina.config import Settings, load_settings
from lamina.engines.server import Replica
from lamina.errors import BackendError, ConfigError, HistoryError, LaminaError, LockTimeoutError
from lamina.models import AuditEvent, LockOwner, MigrationState, StatusReport, errors_in

__all__ = ["COMPONENT", "Status", "check", "document", "http_status"]

COMPONENT = "Database Migrations"
Status = Literal["healthy", "degraded", "unhealthy"]


def check(
    config: Settings | Mapping[str, object] | None = None, *, detailed: bool = False
) -> dict[str, Any]:
    """The health document (see the module docstring); ``Lamina(settings).health(detailed)``.
    Never raises for the database's state: an unreachable or damaged database is an
    ``unhealthy`` document.

    Raises:
        ConfigError: the settings themselves cannot be resolved (a malformed URL, say); a
            migrations folder that cannot be read is an ``unhealthy`` document instead.
    """
    settings = config if isinstance(config, Settings) else load_settings(config)
    return Lamina(settings).health(detailed=detailed)


def document(lamina: Lamina, *, detailed: bool = False) -> dict[str, Any]:
    """The health document of ``lamina``'s database and migrations (:meth:`Lamina.health`)."""
    started = time.perf_counter()
    try:
        report = lamina.status(wait_s=0, drift=detailed)
    except LockTimeoutError as exc:
        # DuckDB lets one process open the file: a lamina run migrating, or another program
        # (often the application itself). Only the first is "migrations in progress".
        run = lamina.migration_run()
        if run is not None:
            message = f"Migrations in progress: lock held by {run.describe()}"
        else:
            who = exc.holder.describe() if exc.holder else "another process"
            message = (
                f"Database file busy: held open by {who}, not by a lamina migration run; "
                "migrations cannot be checked until it closes the file"
            )
        found = _document("degraded", message, None)
        if detailed:
            found["details"]["lock"] = _lock(run)
            found["details"]["fileHolder"] = _lock(exc.holder)
        return _timed(found, started, detailed)
    except (BackendError, HistoryError) as exc:
        return _timed(_document("unhealthy", _unreachable(exc), None), started, detailed)
    except ConfigError as exc:  # the migrations folder vanished or cannot be read
        message = f"Migrations cannot be checked: {exc.message}"
        return _timed(_document("unhealthy", message, None), started, detailed)
    status, message = _classify(report)
    found = _document(status, message, report)
    replica = lamina.session.replica  # what status's read-only connection found
    if detailed:
        found["details"].update(_details(lamina, report))
        found["details"]["replica"] = _replica(replica)
        drift = found["details"]["drift"]
        if drift and status == "healthy":
            found["status"] = "degraded"
            found["message"] = f"Schema drift: {len(drift)} change(s) made outside lamina"
    if replica is not None:
        lag = "unknown" if replica.lag_s is None else f"{replica.lag_s:.1f} s"
        found["message"] += f" (read-only standby, replication lag {lag})"
    return _timed(found, started, detailed)


def http_status(document: Mapping[str, Any]) -> int:
    """200 for healthy and degraded (the service runs), 503 for unhealthy."""
    return 503 if document.get("status") == "unhealthy" else 200


def _classify(report: StatusReport) -> tuple[Status, str]:
    """The first rule that applies, most serious first."""
    for status, message in _findings(report):
        return status, message
    return "healthy", "All migrations applied successfully"


def _findings(report: StatusReport) -> Iterator[tuple[Status, str]]:
    for failed in report.dirty:
        yield (
            "unhealthy",
            (
                f"Migration {failed.id} failed half-way (dirty): {failed.detail or 'failed'}; "
                f"fix the database by hand, then run `lamina repair {failed.id} --mark-applied` "
                f"(you finished it) or `lamina repair {failed.id} --mark-rolled-back` (you "
                "undid it)"
            ),
        )
    modified = report.in_state(MigrationState.MODIFIED)
    if modified:
        names = ", ".join(m.id for m in modified)
        yield (
            "unhealthy",
            f"Applied migration(s) modified since they ran: {names}; restore the file(s), or "
            "accept a harmless edit with `lamina repair ID --accept-checksum` (or `lamina "
            "repair --all --accept-checksum`)",
        )
    for error in errors_in(report.problems):
        yield "unhealthy", f"Migration files are invalid: {error.render()}"
    for running in report.in_progress:
        holder = report.lock_holder.describe() if report.lock_holder else "a live run"
        yield (
            "degraded",
            f"Migration in progress: {running.id} is being applied by the run holding the "
            f"migration lock ({holder})",
        )
    for paused in report.paused:  # a backfill stopped between batches (lamina.backfill)
        done = (paused.backfill or {}).get("percent")
        yield "degraded", f"Backfill paused: {paused.id} at {done}%; `lamina up` resumes it"
    if report.lock_holder is not None:
        yield "degraded", f"Migrations in progress: lock held by {report.lock_holder.describe()}"
    if report.pending:
        yield "degraded", f"{len(report.pending)} pending migration(s)"
    missing = report.in_state(MigrationState.MISSING)
    if missing:
        names = ", ".join(m.id for m in missing)
        yield "degraded", f"Applied migration(s) whose file is missing: {names}"


def _document(status: Status, message: str, report: StatusReport | None) -> dict[str, Any]:
    last = report.last_applied if report else None
    return {
        "component": COMPONENT,
        "status": status,
        "message": message,
        "details": {
            "currentVersion": report.current_version if report else None,
            "totalMigrations": len(report.migrations) if report else None,
            "pendingMigrations": len(report.pending) if report else None,
            "lastMigration": (
                {"id": last.id, "applied_at": _seconds(last.applied_at)} if last else None
            ),
        },
    }


def _details(lamina: Lamina, report: StatusReport) -> dict[str, Any]:
    settings = lamina.settings
    events = _events(lamina)
    restored = StartupRestore.from_events(events)
    return {
        "environment": settings.env,
        "engine": settings.database_url.scheme,
        "migrations": [
            {
                "id": m.id,
                "name": m.name,
                "version": m.version,
                "category": m.category,
                "status": m.state.value,
                "appliedAt": _seconds(m.applied_at) if m.applied_at else None,
                "outOfOrder": m.out_of_order,
                **(
                    {"failedStatement": m.failed_statement, "detail": m.detail}
                    if m.state
                    in (MigrationState.FAILED, MigrationState.RUNNING, MigrationState.PAUSED)
                    else {}
                ),
            }
            for m in report.migrations
        ],
        "lock": _lock(report.lock_holder),
        "lastFailure": _last_failure(events),
        "restoredAtStartup": None if restored is None else restored.to_dict(),
        "backups": _backups(lamina),
        "problems": [p.render() for p in report.problems],
        "drift": None if report.drift is None else list(report.drift),
        "leftovers": None if report.leftovers is None else list(report.leftovers),
    }


def _replica(replica: Replica | None) -> dict[str, Any] | None:
    """A standby's replication state; None on a primary or an engine without replicas."""
    if replica is None:
        return None
    lag = None if replica.lag_s is None else round(replica.lag_s, 3)
    return {"standby": True, "lagSeconds": lag}


def _lock(holder: LockOwner | None) -> dict[str, Any] | None:
    if holder is None:
        return None
    return {
        "host": holder.host,
        "pid": holder.pid,
        "startedAt": holder.started_at,
        "command": holder.command,
        "container": holder.container,
    }


#: How far back in the audit log the detailed view looks (last failure, startup restore).
EVENTS_READ = 200


def _events(lamina: Lamina) -> list[AuditEvent]:
    try:
        return lamina.history(EVENTS_READ)
    except LaminaError:
        return []


def _last_failure(events: list[AuditEvent]) -> dict[str, Any] | None:
    failure = next((e for e in events if e.action == "fail"), None)
    if failure is None:
        return None
    return {
        "migrationId": failure.migration_id,
        "at": _seconds(failure.at),
        "detail": failure.detail,
    }


def _backups(lamina: Lamina) -> dict[str, Any]:
    try:
        records, broken = lamina.backups()
    except (LaminaError, OSError):
        return {"count": 0, "latest": None, "unreadable": 0}
    latest = records[0] if records else None
    return {
        "count": len(records),
        "latest": (
            {
                "id": latest.id,
                "createdAt": latest.created_at,
                "trigger": latest.trigger,
                "schemaVersion": latest.schema_version,
                "size": latest.size,
            }
            if latest
            else None
        ),
        "unreadable": len(broken),
    }


def _unreachable(exc: LaminaError) -> str:
    """The error in one line; backends name host and database, never the password."""
    if isinstance(exc, HistoryError):
        return f"lamina's history tables are unusable: {exc.message}"
    return f"Database unreachable: {exc.message}"


def _timed(document: dict[str, Any], started: float, detailed: bool) -> dict[str, Any]:
    if detailed:
        document["checkDurationMs"] = round((time.perf_counter() - started) * 1000, 1)
    return document


def _seconds(iso: str) -> str:
    """``2026-11-25T13:53:26.670459Z`` → ``2026-11-25T13:53:26Z``, as the seed documents it."""
    return iso[:19] + "Z" if len(iso) > 20 and iso[19] == "." else iso
