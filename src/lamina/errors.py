"""Every error lamina raises on purpose, in one tree.

Library code raises these with structured fields; the CLI turns them into one or two lines on
stderr (under ``--json`` also :meth:`LaminaError.to_document` on stdout) and an exit code in
exactly one place (``lamina.cli``). Driver exceptions never escape raw:
backends map them to :class:`BackendError` or :class:`ExecutionError` with ``raise ... from exc``.

::

    LaminaError                         exit 1 unless noted
    ├── ConfigError                     a setting is unusable (names the setting and its source)
    │   └── UsageError                  a value given is malformed: a database URL, an
    │                                   argument naming no migration (exit 2)
    ├── MigrationError
    │   ├── MigrationLoadError          .path, .line: a file that cannot be read or imported
    │   ├── ValidationError             .problems: the migration set is inconsistent
    │   ├── ChecksumMismatchError       .migration_ids: applied files changed (exit 3)
    │   ├── OutOfOrderError             .migration_ids: refused by --strict-order (exit 3)
    │   └── IrreversibleMigrationError  .migration_ids: no down to run (exit 3)
    ├── TargetNotFoundError             .target: no such version (exit 2)
    ├── PlanError                       a requested plan cannot be carried out as asked
    ├── RiskRefusedError                .steps: risky steps need --force / confirmation (exit 3)
    ├── VerifyRefusedError              .statements: verify would reach outside (exit 3)
    ├── ExecutionError                  .migration_id, .statement, .line: the database refused
    ├── HistoryError                    lamina's own tables are damaged or too new
    └── BackendError                    a database problem outside a migration
        ├── BackendUnavailableError     missing driver extra, cannot connect
        ├── StatementError              .sql, .detail, .original: the database refused SQL
        ├── LockTimeoutError            .holder: another run holds the migration lock
        └── LockLostError               a table-mode lock expired and was taken over
    DirtyDatabaseError (a HistoryError) a migration failed half-way; `lamina repair` resolves it
    StartupError                        lamina.startup() stops the application (names why)
    TimeLimitError                      a run's overall time limit passed between steps
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from lamina.models.records import DOCUMENT_SCHEMA_VERSION
from lamina.sqlline import one_line_sql

if TYPE_CHECKING:
    from pathlib import Path

    from lamina.models import LockOwner, Problem

__all__ = [
    "BackendError",
    "BackendUnavailableError",
    "ChecksumMismatchError",
    "ConfigError",
    "DirtyDatabaseError",
    "ExecutionError",
    "HistoryError",
    "IrreversibleMigrationError",
    "LaminaError",
    "LockLostError",
    "LockTimeoutError",
    "MigrationError",
    "MigrationLoadError",
    "OutOfOrderError",
    "PlanError",
    "RiskRefusedError",
    "RunInProgressError",
    "StartupError",
    "StatementError",
    "TargetNotFoundError",
    "TimeLimitError",
    "UsageError",
    "ValidationError",
    "VerifyRefusedError",
]


class LaminaError(Exception):
    """Base of every error lamina raises on purpose.

    Attributes:
        message: what went wrong, one line, naming the file, migration or setting at fault.
        hint: what to do next, or ``None``.
        exit_code: the process exit code the CLI uses for this error.
    """

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def to_document(self) -> dict[str, object]:
        """The ``--json`` error document (docs/json.md, "Errors"): message, hint, exit code, the
        class as ``kind``, then every field the error carries, under its attribute's name."""
        skip = ("message", "hint", "original")  # and private attributes, __notes__ among them
        fields = {k: v for k, v in vars(self).items() if k not in skip and k[0] != "_"}
        head = {"schema_version": DOCUMENT_SCHEMA_VERSION, "error": self.message, "hint": self.hint}
        head |= {"exit_code": self.exit_code, "kind": type(self).__name__}
        return dict(json.loads(json.dumps(head | fields, default=_record)))


class ConfigError(LaminaError):
    """A setting cannot be used: unknown URL scheme, missing folder, malformed config file.

    ``setting`` names the setting (``DATABASE_URL``) and ``source`` where its value came from
    (``environment``, ``--database-url``, ``lamina.toml``, ``default``).
    """

    def __init__(self, setting: str, source: str, problem: str, *, hint: str | None = None):
        super().__init__(f"{setting} ({source}): {problem}", hint=hint)
        self.setting = setting
        self.source = source


class UsageError(ConfigError):
    """A value the user gave is malformed or names nothing: a database URL that cannot be
    parsed (or carries an unknown option), a migration id or version that does not exist.
    Nothing was read or changed; the CLI exits 2, as for any other usage error."""

    exit_code = 2


class MigrationError(LaminaError):
    """A problem with the migration files themselves."""


class MigrationLoadError(MigrationError):
    """A migration file cannot be read, parsed or imported.

    ``path`` is the file, ``line`` the 1-based line when known, ``problem`` the message
    without the location.
    """

    def __init__(
        self, path: Path, problem: str, *, line: int | None = None, hint: str | None = None
    ) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}", hint=hint)
        self.path = path
        self.line = line
        self.problem = problem


class ValidationError(MigrationError):
    """The migration set is inconsistent (cycle, unknown dependency, duplicate version...).

    ``problems`` holds every error found, so the user can fix them all in one pass.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__(
            f"{first.render()}{more}", hint="run `lamina validate` to see every problem"
        )
        self.problems = tuple(problems)


class ChecksumMismatchError(MigrationError):
    """Applied migrations whose files changed since they ran; refused unless forced."""

    exit_code = 3

    def __init__(self, migration_ids: Sequence[str]) -> None:
        names = ", ".join(migration_ids)
        super().__init__(
            f"applied migration(s) modified since they ran: {names}",
            hint="restore the original file(s) and put new changes in a new migration, "
            "or pass --force if the edit is harmless (comments, formatting)",
        )
        self.migration_ids = tuple(migration_ids)


class OutOfOrderError(MigrationError):
    """Pending migrations older than the newest applied one, refused by strict ordering."""

    exit_code = 3

    def __init__(self, migration_ids: Sequence[str], newest_applied: str) -> None:
        super().__init__(
            f"strict order: {', '.join(migration_ids)} would run after the newer {newest_applied}",
            hint="renumber the migration(s) above the newest applied one, "
            "or run without --strict-order to apply them out of order",
        )
        self.migration_ids = tuple(migration_ids)


class IrreversibleMigrationError(MigrationError):
    """A rollback would need a migration that has no down; refused, nothing was changed."""

    exit_code = 3

    def __init__(self, migration_ids: Sequence[str]) -> None:
        super().__init__(
            f"cannot roll back: {', '.join(migration_ids)} has no down migration "
            "(nothing was changed)",
            hint="add a down() method or a `-- migrate:down` section (an empty section rolls "
            "back as a no-op), or roll back to a version above it",
        )
        self.migration_ids = tuple(migration_ids)


class TargetNotFoundError(LaminaError):
    """The version asked for is not a known migration version (a usage error: exit 2)."""

    exit_code = 2

    def __init__(self, target: int, *, hint: str | None = None) -> None:
        super().__init__(f"no migration has version {target}", hint=hint)
        self.target = target


class PlanError(LaminaError):
    """The requested plan cannot be carried out as asked (a dependency outside the range...)."""


class RiskRefusedError(LaminaError):
    """Risky steps were refused: nothing was changed.

    ``steps`` lists ``(migration_id, reasons)`` for every risky step in the plan.
    """

    exit_code = 3

    def __init__(
        self, message: str, steps: Sequence[tuple[str, tuple[str, ...]]], *, hint: str
    ) -> None:
        super().__init__(message, hint=hint)
        self.steps = tuple(steps)


class VerifyRefusedError(LaminaError):
    """Verify would reach outside its scratch database: nothing ran.

    ``statements`` lists ``(migration and direction, statement, reason)`` for each one.
    """

    exit_code = 3

    def __init__(self, statements: Sequence[tuple[str, str, str]], *, target: str) -> None:
        shown = [f"{where}: {reason}: {sql}" for where, sql, reason in statements[:5]]
        more = len(statements) - len(shown)
        if more:
            shown.append(f"... and {more} more")
        super().__init__(
            "verify refused: a migration reaches outside the throw-away database, so running "
            "it would change the server or files of " + target + "\n  " + "\n  ".join(shown),
            hint="verify on a throw-away server instead (--scratch-url), or move what reaches "
            "outside (roles, other databases, attached files) out of the migrations",
        )
        self.statements = tuple(statements)


class ExecutionError(LaminaError):
    """The database refused a statement of a migration; that migration was rolled back.

    ``statement`` is the statement text, ``line`` its 1-based line in the migration file when
    known, ``applied`` the ids that did complete before the failure.
    """

    def __init__(
        self,
        migration_id: str,
        statement: str | None,
        db_error: str,
        *,
        line: int | None = None,
        applied: Sequence[str] = (),
        rolled_back: bool = True,
        hint: str | None = None,
        direction: str = "up",
    ) -> None:
        where = f" (line {line})" if line else ""
        if direction == "down":
            # "rolled back" alone would be ambiguous here: say what happened to the down.
            state = (
                "its down was rolled back, so the migration is still applied"
                if rolled_back
                else "part of its down was kept, so the migration is marked failed"
            )
            message = f"rollback of migration {migration_id} failed{where}; {state}: {db_error}"
        else:
            state = "rolled back" if rolled_back else "NOT rolled back: check the database"
            message = f"migration {migration_id} failed{where} and was {state}: {db_error}"
        if statement:
            message += f"\n  statement: {_shorten(statement)}"
        super().__init__(message, hint=hint)
        self.migration_id = migration_id
        self.statement = statement
        self.db_error = db_error
        self.line = line
        self.applied = tuple(applied)
        self.rolled_back = rolled_back
        self.direction = direction


class HistoryError(LaminaError):
    """lamina's own tables are damaged, or were written by a newer lamina."""


class DirtyDatabaseError(HistoryError):
    """A migration stopped half-way outside a transaction; nothing runs until it is repaired.

    ``migration_ids`` are the failed (or interrupted) migrations recorded in history.
    """

    exit_code = 3

    def __init__(self, migration_ids: Sequence[str], detail: str) -> None:
        ids = ", ".join(migration_ids)
        first = migration_ids[0]
        super().__init__(
            f"the database is dirty: {ids} stopped half-way ({detail}); nothing was run",
            hint=f"inspect the database and finish or undo {first} by hand, then run "
            f"`lamina repair {first} --mark-applied` or `--mark-rolled-back`",
        )
        self.migration_ids = tuple(migration_ids)


class RunInProgressError(HistoryError):
    """Another run is applying migrations right now: a plan read now would be stale.

    Nothing was changed (exit 3), and nothing is wrong with the database.
    """

    exit_code = 3

    def __init__(self, ids: Sequence[str], holder: str) -> None:
        super().__init__(
            f"a run holding the migration lock ({holder}) is applying {', '.join(ids)} right "
            "now: a plan read now would be out of date",
            hint="wait for that run to finish (`lamina status` shows it), then run this again",
        )
        self.ids = tuple(ids)


class BackendError(LaminaError):
    """The database failed outside a migration's statements."""


class BackendUnavailableError(BackendError):
    """The database cannot be reached, or its driver is not installed."""


class StatementError(BackendError):
    """The database refused one statement: a driver's exception, mapped where it left the
    backend (``execute``, ``query``, the commit of ``transaction``), so callers catch lamina
    types only. ``sql`` is the statement (``COMMIT`` for a commit), ``detail`` the engine's own
    one-line description, ``original`` the driver's exception (also ``__cause__``)."""

    def __init__(self, sql: str, detail: str, original: BaseException) -> None:
        super().__init__(detail)
        self.sql, self.detail, self.original = sql, detail, original


class LockTimeoutError(BackendError):
    """Another run held the migration lock for longer than the lock timeout.

    ``holder`` describes who holds it when the engine lets lamina know.
    """

    def __init__(self, target: str, timeout_s: float, holder: LockOwner | None) -> None:
        who = f"held by {holder.describe()}" if holder else "held by another process"
        super().__init__(
            f"{target} is locked by another process ({who}); gave up after {timeout_s:g} s",
            hint="wait for the other run to finish, or raise --lock-timeout",
        )
        self.holder = holder


class StartupError(LaminaError):
    """The startup migration step cannot let the application start: invalid migration files,
    pending risky steps that need a person, a dirty database, or the time limit passed."""


class TimeLimitError(LaminaError):
    """The run's overall time limit passed between two steps; the rest did not start."""


class LockLostError(BackendError):
    """This run's table-mode lock expired and another run took it over; it stopped."""


def _record(value: Any) -> object:
    """A field JSON cannot hold as is: a problem or lock owner as its dict, a path as text."""
    return getattr(value, "to_dict", getattr(value, "to_record", value.__str__))()


def _shorten(sql: str, limit: int = 200) -> str:
    text = one_line_sql(sql)
    return text if len(text) <= limit else text[: limit - 1] + "…"
