"""The migration time limit: one thread per run that interrupts a migration over its limit.

The engines have no common way to bound a whole migration (PostgreSQL's ``statement_timeout``
bounds single statements; MySQL's ``max_execution_time`` only SELECTs), so lamina keeps the
deadline itself and, when it passes, asks the backend to stop the statement in flight
(:meth:`lamina.engines.base.Backend.interrupt`). Python code between statements is stopped
at the next statement, or before the migration's commit.

One thread serves the whole run and is re-armed per migration, so a run of a thousand
migrations does not start a thousand threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["MigrationTimeout", "Watchdog"]


class MigrationTimeout(Exception):
    """Raised between statements once the migration's time limit has passed."""

    def __init__(self, limit_ms: int) -> None:
        super().__init__(f"stopped after exceeding the time limit of {limit_ms} ms")
        self.limit_ms = limit_ms


class Watchdog:
    """Calls ``on_expire`` once when an armed deadline passes.

    Example::

        dog = Watchdog(limit_ms=300_000, on_expire=backend.interrupt)
        dog.arm()
        ...  # run the migration, calling dog.check() between statements
        dog.disarm()
        dog.close()
    """

    def __init__(self, limit_ms: int | None, on_expire: Callable[[], None]) -> None:
        self.limit_ms = limit_ms
        self._on_expire = on_expire
        self._condition = threading.Condition()
        self._deadline: float | None = None
        self._fired = False
        self._closed = False
        self._thread: threading.Thread | None = None
        # Held while on_expire runs, so disarm() returns only once no interrupt is in flight.
        self._firing = threading.Lock()

    @property
    def fired(self) -> bool:
        """Whether the current migration ran past its limit."""
        return self._fired

    def arm(self) -> None:
        """Start the clock for one migration."""
        if not self.limit_ms:
            return
        with self._condition:
            self._fired = False
            self._deadline = time.monotonic() + self.limit_ms / 1000
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="lamina-watchdog", daemon=True
                )
                self._thread.start()
            self._condition.notify()

    def disarm(self) -> None:
        """Stop the clock; returns once an interrupt already on its way has been sent, so
        nothing the caller runs next (recording a failure) can be interrupted by it."""
        with self._condition:
            self._deadline = None
        with self._firing:
            pass

    def check(self) -> None:
        """Raise :class:`MigrationTimeout` if the limit has passed (between statements)."""
        deadline = self._deadline
        if self.limit_ms and (
            self._fired or (deadline is not None and time.monotonic() >= deadline)
        ):
            self._fired = True
            raise MigrationTimeout(self.limit_ms)

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._deadline = None
            self._condition.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        with self._condition:
            while not self._closed:
                deadline = self._deadline
                if deadline is None:
                    self._condition.wait()
                    continue
                remaining = deadline - time.monotonic()
                if remaining > 0:
                    self._condition.wait(remaining)
                    continue
                self._fired = True
                self._deadline = None
                self._firing.acquire()
                self._condition.release()
                try:
                    self._on_expire()
                finally:
                    self._firing.release()
                    self._condition.acquire()
