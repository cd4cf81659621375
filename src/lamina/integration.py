"""The "migration checks" step of an application's startup: ``lamina.startup()``, or
:meth:`Lamina.startup` on an instance.

Example (a FastAPI lifespan)::

    @asynccontextmanager
    async def lifespan(app):
        result = lamina.startup()          # raises StartupError when the app must not start
        logger.info(result.message)
        yield

What it does, by the settings (environment, lamina.toml, or the ``config`` argument):

0. ``LAMINA_RESTORE_IF_MISSING=true`` (DuckDB, SQLite): when the database file does not
   exist, the newest verified backup of it is restored first (:meth:`Lamina.restore_if_missing`;
   ``restored`` in the result); a backup that exists but cannot be restored stops startup,
   which never starts on an empty database instead. Without a backup it starts empty, as
   without the setting. On the server engines the setting is ignored, with a warning in the
   result (``warnings``);
1. checks the migration files; errors stop startup with the validation message;
2. a dirty database (a migration stopped half-way) stops startup;
3. ``AUTO_MIGRATE=false`` (default): pending migrations are reported; the app starts degraded;
4. ``AUTO_MIGRATE=true``: pending migrations are applied under the cross-process migration
   lock, so when many replicas start together one migrates and the others wait, then find
   nothing to do. Pending risky (danger-level) steps are not applied while
   ``MIGRATION_REQUIRE_CONFIRMATION=true``: startup fails naming them, or with
   ``LAMINA_STARTUP_ON_RISK=degraded`` applies the safe steps before the first risky one, in
   order, and starts degraded, naming the steps held back (the risky one and all after it);
5. ``MAX_MIGRATION_TIME`` bounds the whole step, lock wait included;
6. batched migrations marked ``background`` (:mod:`lamina.api.backfills`) are queued, and a
   daemon thread of the application (``lamina-backfills``) runs them after startup returns,
   each batch under the migration lock (``backfills`` in the result); a process that ends
   leaves them paused, and the next startup resumes them. On DuckDB, whose file one
   connection configuration opens at a time, startup runs them before it returns.

It never prints unless given a logger.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from lamina.api import Lamina, StartupRestore, StepPreview, UpResult
from lamina.backup.errors import BackupError
from lamina.config import Settings, load_settings
from lamina.errors import LockTimeoutError, StartupError
from lamina.models import StatusReport

__all__ = ["StartupResult", "run", "startup"]


@dataclass(frozen=True, slots=True)
class StartupResult:
    """What the startup step did, for the application to log (``message`` says it in words).

    ``status`` is ``ready`` (every migration applied) or ``degraded`` (pending migrations
    left, by choice or because they need a person). ``restored`` is the backup restored
    because the database file was missing (``LAMINA_RESTORE_IF_MISSING``), ``warnings``
    settings that were ignored.
    """

    status: Literal["ready", "degraded"]
    message: str
    applied: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    risky: tuple[str, ...] = ()
    current_version: int = 0
    duration_ms: int = 0
    restored: StartupRestore | None = None
    warnings: tuple[str, ...] = ()
    #: Background backfills left running in the ``lamina-backfills`` thread (step 6).
    backfills: tuple[str, ...] = ()

    @property
    def ready(self) -> bool:
        return self.status == "ready"


def startup(
    config: Settings | Mapping[str, object] | None = None,
    *,
    logger: logging.Logger | None = None,
) -> StartupResult:
    """Run the migration checks of application startup: ``Lamina(settings).startup()``;
    see the module docstring.

    Args:
        config: resolved :class:`~lamina.config.Settings`, or overrides for
            :func:`~lamina.config.load_settings` (``{"auto_migrate": True}``), or None to
            read the environment and config file.
        logger: where to report what happened (nothing is printed otherwise).

    Raises:
        StartupError: invalid migration files, a dirty database, pending risky steps that
            need confirmation (unless ``LAMINA_STARTUP_ON_RISK=degraded``), or the time
            limit passed. ``ExecutionError`` when a migration fails (rolled back where the
            engine allows); ``BackendError`` when the database cannot be reached.
    """
    settings = config if isinstance(config, Settings) else load_settings(config)
    return Lamina(settings).startup(logger=logger)


def run(target: Lamina, *, logger: logging.Logger | None = None) -> StartupResult:
    """The startup step for ``target`` (:meth:`Lamina.startup`); see :func:`startup`."""
    started = time.monotonic()
    settings = target.settings
    deadline = started + settings.max_migration_time_ms / 1000
    # Waiting for another replica's lock counts against the same limit.
    settings = dataclasses.replace(
        settings, lock_timeout_s=min(settings.lock_timeout_s, settings.max_migration_time_ms / 1000)
    )
    lamina = type(target)(settings, on_event=target.on_event, confirm=target.confirm)
    restored, warnings = _restore(lamina)
    result = _checks(lamina, started, deadline)
    before: list[str] = []
    if restored is not None:
        before.append(
            f"restored backup {restored.backup_id} (taken {restored.backup_created_at}) "
            "because the database file was missing"
        )
    message = "; ".join([*before, result.message, *(f"warning: {w}" for w in warnings)])
    result = dataclasses.replace(result, message=message, restored=restored, warnings=warnings)
    if logger is not None:
        level = logging.INFO if result.ready and not warnings else logging.WARNING
        logger.log(
            level, "lamina startup: %s (%s, %d ms)", message, result.status, result.duration_ms
        )
    return result


def _restore(lamina: Lamina) -> tuple[StartupRestore | None, tuple[str, ...]]:
    """``LAMINA_RESTORE_IF_MISSING``: the restored backup, or a warning that it was ignored."""
    settings = lamina.settings
    if not settings.restore_if_missing:
        return None, ()
    url = settings.database_url
    if not url.is_file or url.is_memory:
        where = "an in-memory database" if url.is_memory else f"{url.scheme} (a server)"
        return None, (
            f"LAMINA_RESTORE_IF_MISSING is ignored on {where}: only a DuckDB or SQLite "
            "file can be missing and restored at startup",
        )
    try:
        return lamina.restore_if_missing(), ()
    except BackupError as exc:
        raise StartupError(
            f"{exc.message}; startup stopped rather than start on an empty or older database",
            hint=exc.hint,
        ) from exc


def _checks(lamina: Lamina, started: float, deadline: float) -> StartupResult:
    """The migration checks proper (steps 1 to 5 of the module docstring)."""
    settings = lamina.settings
    checked = lamina.validate(applied_too=False)
    report = checked.status
    assert report is not None
    _refuse_dirty(report)  # validate lists it too, but as the database's state, not the files'
    invalid = [p for p in checked.errors if p.code not in _DATABASE_STATE]
    if invalid:
        first = invalid[0].render()
        more = f" (and {len(invalid) - 1} more)" if len(invalid) > 1 else ""
        raise StartupError(
            f"migration files are invalid: {first}{more}",
            hint="run `lamina validate` to see every problem",
        )
    pending = tuple(m.id for m in report.pending)
    if not pending:
        return _done(started, "ready", "all migrations applied", report=report)
    if not settings.auto_migrate:
        return _done(
            started, "degraded",
            f"{len(pending)} pending migration(s) not applied (AUTO_MIGRATE=false): "
            + ", ".join(pending),
            pending=pending, report=report,
        )  # fmt: skip
    preview = lamina.up(dry_run=True)
    risky = tuple(p.step.migration_id for p in preview.previews if p.risk.risky)
    if risky and settings.require_confirmation:
        names = ", ".join(risky)
        if settings.startup_on_risk != "degraded":
            raise StartupError(
                f"pending risky step(s) need confirmation, so startup stopped: {names}",
                hint="apply them with `lamina up` (it asks), set MIGRATION_REQUIRE_CONFIRMATION="
                "false to let startup apply them, or LAMINA_STARTUP_ON_RISK=degraded to start "
                "without them",
            )
        return _degraded_start(lamina, started, deadline, preview.previews, risky)
    result = _apply(lamina, deadline)
    if result.queued:
        _backfill_in_background(lamina)
    after = lamina.status()
    left = tuple(m.id for m in after.pending)
    status: Literal["ready", "degraded"] = "degraded" if left else "ready"
    message = (
        f"applied {len(result.applied)} migration(s)"
        + (f": {', '.join(result.applied)}" if result.applied else " (another process did)")
        + (f"; {len(left)} still pending" if left else "")
        + (f"; backfilling in the background: {', '.join(result.queued)}" if result.queued else "")
    )
    done = _done(started, status, message, applied=result.applied, pending=left, report=after)
    return dataclasses.replace(done, backfills=result.queued)


def _apply(lamina: Lamina, deadline: float, to_version: int | None = None) -> UpResult:
    """``lamina up`` for startup: confirmed (risky steps were checked before), within the
    time limit, the lock wait included."""
    try:
        return lamina.up(to_version=to_version, yes=True, deadline=deadline)
    except LockTimeoutError as exc:
        raise StartupError(
            f"another process kept the migration lock past the time limit: {exc.message}",
            hint="raise MAX_MIGRATION_TIME, or find out why the holder takes so long",
        ) from exc


def _backfill_in_background(lamina: Lamina) -> threading.Thread:
    """Step 6: run the queued backfills in a daemon thread, logging how it ended."""
    log = logging.getLogger("lamina")

    def work() -> None:
        try:
            run = lamina.backfill()
        except Exception as exc:  # the thread's end: log it, the application goes on
            log.error("lamina backfill stopped, paused: %s", exc)
            return
        if run.other_worker is not None:
            log.info("lamina backfill: another worker runs them (%s)", run.other_worker.describe())
        else:
            log.info("lamina backfill finished: %s", ", ".join(run.finished) or "nothing to do")

    thread = threading.Thread(target=work, name="lamina-backfills", daemon=True)
    thread.start()
    return thread


def _degraded_start(
    lamina: Lamina,
    started: float,
    deadline: float,
    previews: Sequence[StepPreview],
    risky: tuple[str, ...],
) -> StartupResult:
    """``LAMINA_STARTUP_ON_RISK=degraded``: apply the safe steps before the first risky one,
    in order, and start degraded, naming what was held back (the first risky step and every
    step after it, which may depend on it)."""
    first = next(index for index, p in enumerate(previews) if p.risk.risky)
    safe = [p.step for p in previews[:first]]
    applied: tuple[str, ...] = ()
    note = ""
    if safe:
        # `up --to` the newest safe version applies exactly the safe steps, unless the order
        # interleaves versions (dependencies, out-of-order files): then nothing is applied.
        bound = max(step.version for step in safe)
        bounded = lamina.up(to_version=bound, dry_run=True)
        wanted = [step.migration_id for step in safe]
        if [s.migration_id for s in bounded.plan.steps] == wanted and not any(
            p.risk.risky for p in bounded.previews
        ):
            applied = _apply(lamina, deadline, bound).applied
        else:
            note = (
                " (the safe steps could not be applied alone: a risky step's version is "
                "below theirs)"
            )
    after = lamina.status()
    held = tuple(m.id for m in after.pending)
    done = f"applied {len(applied)} safe migration(s)" + (
        f": {', '.join(applied)}" if applied else ""
    )
    message = (
        f"{done}{note}; held back {len(held)} pending migration(s) from the first risky step "
        f"on: {', '.join(held)} (risky, they need confirmation: {', '.join(risky)})"
    )
    return _done(
        started, "degraded", message,
        applied=applied, pending=held, risky=risky, report=after,
    )  # fmt: skip


#: Validation problems that describe the database rather than the files.
_DATABASE_STATE = frozenset({"dirty", "leftover"})


def _refuse_dirty(report: StatusReport) -> None:
    if report.dirty:
        first = report.dirty[0]
        raise StartupError(
            f"the database is dirty: {first.id} stopped half-way ({first.detail or 'failed'})",
            hint=f"fix the database by hand, then `lamina repair {first.id} --mark-applied` "
            "or `--mark-rolled-back`",
        )


def _done(
    started: float,
    status: Literal["ready", "degraded"],
    message: str,
    *,
    report: StatusReport,
    applied: tuple[str, ...] = (),
    pending: tuple[str, ...] = (),
    risky: tuple[str, ...] = (),
) -> StartupResult:
    return StartupResult(
        status=status,
        message=message,
        applied=tuple(applied),
        pending=pending,
        risky=risky,
        current_version=report.current_version,
        duration_ms=round((time.monotonic() - started) * 1000),
    )
