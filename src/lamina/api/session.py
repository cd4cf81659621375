"""Where every :class:`~lamina.api.Lamina` operation gets its database from: settings wired to
a backend once, read-only connections for readers, the migration lock for writers.

Example::

    session = Session(settings, user="ada", host="build-1")
    with session.reader() as (backend, history):      # history is None: nothing recorded
        ...
    with session.writer("lamina up") as (backend, history):
        ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from lamina.caching import default_cache_dir
from lamina.config import Settings
from lamina.discovery import FileCache, ScanResult, scan
from lamina.engines import open_backend
from lamina.engines.base import Backend, BackendOptions
from lamina.engines.server import Replica, ServerBackend
from lamina.history import History
from lamina.identity import lock_owner
from lamina.scan_store import ScanStore

if TYPE_CHECKING:
    from lamina.runner import EventSink, Runner

__all__ = ["Session"]

#: How long read-only commands wait for a busy database file before reporting who holds it.
READ_WAIT_S = 2.0


class Session:
    """Backends and history for one :class:`~lamina.api.Lamina`, as ``user`` on ``host``."""

    def __init__(self, settings: Settings, *, user: str, host: str) -> None:
        self.settings = settings
        self.user = user
        self.host = host
        #: Migration files read so far, re-read only when they change (health polls), and
        #: what earlier runs read of them (lamina.scan_store).
        self.files = FileCache(ScanStore(settings.migrations_dir, default_cache_dir()))
        #: What the last read-only connection found: a standby's replication state, or None
        #: (a primary, or an engine without replicas). The health document shows it.
        self.replica: Replica | None = None

    def backend(self, *, read_only: bool) -> Backend:
        """The target's backend with the settings' session options, not yet connected."""
        settings = self.settings
        options = BackendOptions(
            # Only runs that change need the statement limit; status never runs user SQL.
            statement_timeout_ms=None if read_only else settings.max_migration_time_ms,
            table_lock_timeout_ms=settings.table_lock_timeout_ms or None,
            lock_mode="table" if settings.lock_mode == "table" else "session",
            lock_ttl_s=settings.effective_lock_ttl_s,
        )
        return open_backend(settings.database_url, read_only=read_only, options=options)

    @contextmanager
    def reader(self, wait_s: float | None = None) -> Iterator[tuple[Backend, History | None]]:
        """A read-only connection; ``History`` is None when nothing was ever recorded.

        A database file that does not exist is not created: it simply has no history.
        ``wait_s`` bounds the wait for a busy database file (by default up to 2 s).
        """
        backend = self.backend(read_only=True)
        try:
            if not backend.exists():
                yield backend, None
                return
            wait = min(self.settings.lock_timeout_s, READ_WAIT_S) if wait_s is None else wait_s
            backend.connect(wait)
            self.replica = backend.replica() if isinstance(backend, ServerBackend) else None
            history = History(backend, user=self.user, host=self.host)
            yield backend, history if history.exists() else None
        finally:
            backend.close()

    @contextmanager
    def writer(
        self, command: str, *, before_connect: Callable[[], None] | None = None
    ) -> Iterator[tuple[Backend, History]]:
        """The migration lock, a connection and lamina's tables, for commands that change.

        ``before_connect`` runs under the lock before the database is opened (a restore
        replaces a DuckDB file, which must not be open in this process meanwhile). On a
        read-only standby the backend's first connection (taking the lock) refuses, before
        any statement: :class:`lamina.engines.server.ReadOnlyServerError`, exit 3.
        """
        timeout = self.settings.lock_timeout_s
        backend = self.backend(read_only=False)
        try:
            with backend.lock(lock_owner(command), timeout):
                if before_connect is not None:
                    before_connect()
                backend.connect(timeout)
                history = History(backend, user=self.user, host=self.host)
                history.ensure()
                yield backend, history
        finally:
            backend.close()

    @contextmanager
    def connection(self) -> Iterator[Backend]:
        """A plain connection, without the lock or lamina's tables (verify's snapshots of its
        scratch database): the target's engine with its default session options."""
        backend = open_backend(self.settings.database_url)
        try:
            backend.connect(self.settings.lock_timeout_s)
            yield backend
        finally:
            backend.close()

    def runner(
        self, backend: Backend, history: History, on_event: EventSink | None = None
    ) -> Runner:
        """The runner of one plan on ``backend``, reporting progress to ``on_event``."""
        from lamina.runner import Runner

        return Runner(
            backend,
            history,
            user=self.user,
            host=self.host,
            on_event=on_event,
            max_migration_time_ms=self.settings.max_migration_time_ms,
        )

    def scan(self) -> ScanResult:
        """The migrations folder (files whose content did not change are not re-read)."""
        settings = self.settings
        return scan(
            settings.migrations_dir,
            settings.migrations_dir_origin,
            allow_unsafe=settings.allow_unsafe_migrations,
            cache=self.files,
        )

    def dialect(self) -> str:
        """The target's SQL dialect (sqlglot's name)."""
        from lamina.engines import dialect_for

        return dialect_for(self.settings.database_url)
