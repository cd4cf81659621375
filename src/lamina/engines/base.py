"""The one narrow contract every database engine implements.

The runner, history and API know only :class:`Backend`. Engine differences are class data
(:class:`Capabilities`, :class:`HistoryTypes`, the parameter placeholder) or a handful of
overridden methods; a concrete backend lives in its engine's folder and is imported only when
its URL is used (:mod:`lamina.engines`).

Written once, here: the transaction (:meth:`Backend.transaction` begins, never commits a
transaction the engine aborted, commits, and rolls back on any exception, through hooks each
engine implements), and the error boundary (:meth:`Backend.execute`, :meth:`Backend.query` and
the commit raise :class:`lamina.errors.StatementError`, never a driver's exception).

Lifecycle, as :mod:`lamina.api` drives it::

    backend = open_backend(url, read_only=False)   # nothing connected yet (lamina.engines)
    with backend.lock(owner, timeout_s):            # cross-process migration lock
        backend.connect(timeout_s)                  # idempotent
        with backend.transaction():
            backend.execute("CREATE TABLE ...")
    backend.close()
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from lamina.engines.traits import Capabilities, HistoryTypes
from lamina.errors import BackendError, LaminaError, StatementError
from lamina.models import LockOwner
from lamina.urls import DatabaseURL

__all__ = [
    "WORKER_LOCK", "Backend", "BackendOptions", "Capabilities", "HistoryTypes", "LockMode",
    "RefusedInTransaction", "holder_of",
]  # fmt: skip

#: The ``lock_purpose`` of the lock a background backfill worker holds for as long as it runs.
WORKER_LOCK = ".backfill"

#: How server engines serialise runs: the engine's session lock (advisory lock, GET_LOCK), or a
#: row in ``lamina_lock`` with a heartbeat, for connection poolers that break session locks.
LockMode = Literal["session", "table"]


class RefusedInTransaction(Exception):
    """A statement of a transactional migration that the engine ignores or refuses inside a
    transaction, found before the migration's transaction opens (or as it runs): the
    migration fails with this message instead of running with a setting silently unapplied."""

    def __init__(self, statement: str, reason: str, hint: str) -> None:
        super().__init__(reason)
        self.statement = statement
        self.reason = reason
        self.hint = hint


@dataclass(frozen=True, slots=True)
class BackendOptions:
    """Session settings a backend applies when it connects (all optional).

    Attributes:
        statement_timeout_ms: the engine stops any one statement running longer (PostgreSQL's
            ``statement_timeout``); the runner's watchdog bounds the whole migration.
        table_lock_timeout_ms: how long a statement waits for a lock on a table before it
            fails (PostgreSQL ``lock_timeout``, MySQL ``lock_wait_timeout``), so a migration
            stuck behind a long transaction fails fast instead of queueing all traffic.
        lock_mode: how server engines hold the migration lock (see :data:`LockMode`).
        lock_ttl_s: in ``table`` mode, how long a lock row lives without a heartbeat before
            another run may take it over.
    """

    statement_timeout_ms: int | None = None
    table_lock_timeout_ms: int | None = None
    lock_mode: LockMode = "session"
    lock_ttl_s: float = 360.0


class Backend(abc.ABC):
    """A connection to one target database, plus the engine's migration lock.

    Subclasses set ``name``, ``dialect`` (the sqlglot dialect name), ``capabilities``,
    ``driver_errors``, ``param`` (the driver's placeholder) and ``history_types``, and implement
    the statement hooks (``_execute``, ``_query``) and the transaction hooks (``_begin``,
    ``_aborted``, ``_commit``, ``_rollback``). No driver exception leaves a backend:
    :meth:`execute`, :meth:`query` and the commit of :meth:`transaction` map them to
    :class:`lamina.errors.StatementError` (the runner turns it into
    :class:`lamina.errors.ExecutionError`), everything else to
    :class:`lamina.errors.BackendError` (or a subclass).
    """

    name: ClassVar[str]
    #: How messages name the engine; with ``dialect`` and ``capabilities``, copied from the
    #: engine's registry entry when a subclass sets ``name`` (see ``__init_subclass__``).
    title: ClassVar[str]
    dialect: ClassVar[str]
    lock_purpose: str = ""  #: which lock :meth:`lock` takes: ``""``, or :data:`WORKER_LOCK`
    capabilities: ClassVar[Capabilities] = Capabilities()
    #: The driver's exception classes: the database refusing SQL (not a bug in lamina).
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = ()
    #: The placeholder lamina's own SQL uses; ``?`` in history SQL is rewritten to it.
    param: ClassVar[str] = "?"
    #: How the engine spells the column types of lamina's own tables (their DDL is generated
    #: from :mod:`lamina.history.tables`); most engines need only override ``sequence_key``.
    history_types: ClassVar[HistoryTypes] = HistoryTypes()
    #: Whether an INSERT/UPDATE/DELETE may sit in a WITH, so a history row and its audit
    #: row are one statement (:meth:`lamina.history.History.record_apply`).
    data_modifying_ctes: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A backend that names a registered engine takes its title, dialect and
        capabilities from the registry, so they are written once."""
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            return
        from lamina.engines import ENGINES

        spec = ENGINES.get(cls.name)
        if spec is not None:
            cls.title, cls.dialect, cls.capabilities = spec.title, spec.dialect, spec.capabilities

    def __init__(
        self, url: DatabaseURL, *, read_only: bool = False, options: BackendOptions | None = None
    ) -> None:
        self.url = url
        self.read_only = read_only
        self.options = options or BackendOptions()
        self._configure()

    def _configure(self) -> None:  # noqa: B027 - a hook most engines need not override
        """Read the engine's own settings from ``self.url`` when the backend is made;
        raise :class:`lamina.errors.ConfigError` (or ``UsageError``) for a bad one."""

    # -- connection -------------------------------------------------------------------------
    @abc.abstractmethod
    def exists(self) -> bool:
        """Whether the target database exists, checked without creating it."""

    @abc.abstractmethod
    def connect(self, timeout_s: float = 0.0) -> None:
        """Open the connection (idempotent), waiting up to ``timeout_s`` for a busy file.

        Raises:
            BackendUnavailableError: the database cannot be opened.
            LockTimeoutError: another process kept it busy past ``timeout_s``.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Close the connection; safe to call twice."""

    # -- statements -------------------------------------------------------------------------
    def transaction(self) -> AbstractContextManager[None]:
        """Begin; commit on success, roll back on any exception (including KeyboardInterrupt).

        The exception that ended the block is re-raised unchanged. Failing to *begin* is mapped
        by the engine (:class:`lamina.errors.LockTimeoutError` when the database stayed busy,
        else :class:`lamina.errors.BackendError`). A transaction the engine already aborted
        (an earlier statement failed and the migration caught the error) is never committed,
        and a failing *commit* (a deferred constraint) is rolled back: both raise
        :class:`lamina.errors.StatementError`, like a failure in :meth:`execute`, since it is
        the migration's work that the database refused.
        """
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            self._begin()
        except self.driver_errors as exc:
            raise self._begin_refused(exc) from exc
        try:
            yield
            try:
                aborted = self._aborted()
                if aborted is not None:
                    raise aborted
                self._commit()
            except self.driver_errors as exc:
                raise self._statement_error("COMMIT", exc) from exc
        except BaseException as exc:
            self._rollback(exc)
            self._transaction_failed(exc)
            raise

    def _begin_refused(self, exc: BaseException) -> LaminaError:
        """The error for a BEGIN the engine refused (SQLite: a busy file is a lock timeout)."""
        return BackendError(
            f"cannot begin a transaction on {self.target()}: {self.describe_error(exc)}"
        )

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        """Run one statement.

        Raises:
            StatementError: the database refused it (``.original`` is the driver's error).
        """
        try:
            self._execute(sql, params)
        except self.driver_errors as exc:
            raise self._statement_error(sql, exc) from exc

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run one query and return all rows.

        Raises:
            StatementError: the database refused it (``.original`` is the driver's error).
        """
        try:
            return self._query(sql, params)
        except self.driver_errors as exc:
            raise self._statement_error(sql, exc) from exc

    def _statement_error(self, sql: str, exc: BaseException) -> StatementError:
        return StatementError(sql, self.describe_error(exc), exc)

    # -- hooks each engine implements -------------------------------------------------------
    @abc.abstractmethod
    def _execute(self, sql: str, params: Sequence[object]) -> None:
        """Run one statement through the driver; driver errors propagate (mapped above)."""

    @abc.abstractmethod
    def _query(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        """Run one query through the driver and return all rows; driver errors propagate."""

    @abc.abstractmethod
    def _begin(self) -> None:
        """Open a transaction; a failure raises BackendError or LockTimeoutError."""

    def _aborted(self) -> BaseException | None:
        """The driver error to refuse COMMIT with, when the engine aborted the transaction
        although every failed statement was caught; None when it may commit."""
        return None

    @abc.abstractmethod
    def _commit(self) -> None:
        """Commit; driver errors propagate (mapped to StatementError)."""

    @abc.abstractmethod
    def _rollback(self, exc: BaseException) -> None:
        """Roll back after ``exc`` without hiding it (a failed rollback becomes a note)."""

    def _transaction_failed(self, exc: BaseException) -> None:
        """After the rollback: raise what ``exc`` means on this engine, if it is not itself
        (SQLite: a busy database is a lock timeout, not a fault of the migration)."""
        return

    @abc.abstractmethod
    def table_exists(self, table: str) -> bool:
        """Whether lamina's table ``table`` exists in the target schema."""

    def describe_error(self, exc: BaseException) -> str:
        """The database's own message for ``exc``, one line, without secrets."""
        return " ".join(str(exc).split())

    # -- locking ----------------------------------------------------------------------------
    @abc.abstractmethod
    def lock(self, owner: LockOwner, timeout_s: float) -> AbstractContextManager[None]:
        """Hold the cross-process migration lock for the duration of the block.

        Raises:
            LockTimeoutError: naming the holder when the engine lets lamina know it.
        """

    def lock_holder(self) -> LockOwner | None:
        """Who holds the migration lock right now, if anyone (for ``status``)."""
        return None

    def check_lock(self) -> None:
        """Raise :class:`lamina.errors.LockLostError` if this run no longer holds its lock.

        Only a table-mode lock can be lost while held (its row expired and another run took
        it over); the runner asks before every step.
        """
        return

    #: Whether a stop signal (SIGTERM, Ctrl-C) should reach :meth:`interrupt` from another
    #: thread while a migration runs: the embedded engines run a statement inside one C call,
    #: during which Python's own signal handler cannot run (:func:`lamina.signals.interrupting`).
    interrupt_on_stop: ClassVar[bool] = False

    def migration_session(
        self, statements: Callable[[], Sequence[str]], *, in_transaction: bool
    ) -> AbstractContextManager[None]:
        """Prepare the connection for one migration, around its transaction (if any).

        ``statements`` returns the SQL the migration runs (as recorded before the run), for
        engines that must act before ``BEGIN``; it is called only when needed. On leaving the
        block the connection's settings are as they were before it.

        Raises:
            RefusedInTransaction: a statement the engine ignores or refuses inside a
                transaction, when ``in_transaction``.
        """
        return nullcontext()

    def backup_checkpoint(self) -> Callable[[], None] | None:
        """What makes the database file complete for a copy, run on this connection (the
        capability ``checkpoint_sql``), or None when the engine needs nothing."""
        sql = self.capabilities.checkpoint_sql
        return None if sql is None else lambda: self.execute(sql)

    def interrupt(self) -> None:
        """Stop the statement running on this backend's connection, from another thread.

        The runner's watchdog calls it when a migration exceeds its time limit; the statement
        then fails with the engine's own "interrupted"/"cancelled" error. Must not raise.
        """
        return

    # -- helpers shared by subclasses -------------------------------------------------------
    def sql(self, text: str) -> str:
        """Rewrite lamina's ``?`` placeholders to the driver's own style."""
        return text if self.param == "?" else text.replace("?", self.param)

    def target(self) -> str:
        """The redacted URL, for messages."""
        return self.url.redacted()

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.close()


def holder_of(backend: Backend, purpose: str) -> LockOwner | None:
    """Who holds ``backend``'s lock of ``purpose`` (:attr:`Backend.lock_purpose`) right now."""
    kept, backend.lock_purpose = backend.lock_purpose, purpose
    try:
        return backend.lock_holder()
    finally:
        backend.lock_purpose = kept
