"""SIGTERM and Ctrl-C as an orderly stop of the ``lamina`` command, never of an application.

A container runtime stops a job with SIGTERM, then SIGKILL after a grace period; by default
SIGTERM ends Python at once, mid-migration. While a ``lamina`` command runs,
:func:`stop_signals_handled` turns SIGTERM (and SIGINT) into an exception raised in the main
thread, a :class:`KeyboardInterrupt` subclass, so it takes exactly the path Ctrl-C always took:
drivers cancel the statement in flight (psycopg does so for any ``KeyboardInterrupt``), the
migration's transaction rolls back (or a non-atomic one is marked ``failed`` with the truth),
the runner writes the ``fail`` audit row, the ``with`` blocks release the migration lock, and
the CLI prints where it stopped and exits 128 + the signal number (143, or 130 for SIGINT).

Only the first signal interrupts. Any later SIGTERM or SIGINT, for as long as the command
runs, is ignored with a note on stderr: a second exception raised into the rollback or into
the writing of the audit row would cut that short. SIGKILL still stops lamina at once, with
the consequences of a crash (an atomic migration vanishes; a non-atomic one stays ``running``).

A driver may swallow the exception: DuckDB turns any exception a signal handler raises during a
query into ``RuntimeError("Query interrupted")``, and an interrupted statement fails with the
engine's own "interrupted" error. :func:`received` tells the runner and the CLI that a signal
came anyway, so the stop is still reported as the signal's, not as a failure of the migration.

A signal handler written in Python runs only between bytecodes of the main thread, so while
SQLite or DuckDB run one long statement (a C call) it waits for the statement to end. While a
command handles the signals, :func:`stop_signals_handled` therefore also points
:func:`signal.set_wakeup_fd` at a pipe read by a helper thread: Python's C-level handler writes
the signal's number there at once, and the thread calls the target registered with
:func:`interrupting` (the backend's ``interrupt()``), which stops the statement in flight; the
Python handler then raises in the main thread as the call returns. Only the first signal
interrupts, and only inside an :func:`interrupting` block, so a rollback or the audit row is
never cut short.

The library never installs handlers: inside an application (``lamina.startup()``) signals
belong to the application. The runner attaches a :class:`StopPoint` to any
``KeyboardInterrupt`` that passes through it, whoever raised it (:func:`stop_point`).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from types import FrameType
from typing import Any, Literal

__all__ = [
    "Interrupted",
    "StopPoint",
    "Terminated",
    "attach_stop",
    "describe",
    "exit_code",
    "interrupting",
    "reason",
    "received",
    "signal_name",
    "stop_point",
    "stop_signals_handled",
]

#: The signals a running command turns into :class:`Interrupted`.
HANDLED = (signal.SIGTERM, signal.SIGINT)
_ATTRIBUTE = "lamina_stop"


class Interrupted(KeyboardInterrupt):
    """A stop signal, raised in the main thread. A ``KeyboardInterrupt`` so that every
    ``except KeyboardInterrupt`` (lamina's, and the drivers' query cancellation) handles it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name


class Terminated(Interrupted):
    """SIGTERM (``docker stop``, ``kubectl delete pod``, systemd): exit 143."""

    def __init__(self) -> None:
        super().__init__(signal.SIGTERM)


StopOutcome = Literal["not started", "rolled back", "kept", "completed", "paused", "unknown"]


@dataclass(frozen=True, slots=True)
class StopPoint:
    """Where a run stopped, attached by the runner to the interrupt that stopped it.

    Attributes:
        direction: ``"up"`` or ``"down"``.
        done: the steps this run completed, in order (a step whose commit finished as the
            signal came counts as done).
        migration_id: the step interrupted, or the next one when the signal came between
            steps; ``None`` after the last step.
        outcome: what became of ``migration_id``: ``rolled back`` (nothing of it is left),
            ``kept`` (a non-atomic step kept some work and is marked dirty), ``completed``
            (its commit had finished), ``not started``, ``paused`` (a backfill: the batch in
            flight was rolled back, the batches before it are committed and ``lamina up``
            resumes after them), or ``unknown`` (history could not be read back; the
            transaction was rolled back unless its commit had finished).
        statement: for ``kept``, the 1-based statement it reached.
        in_flight: for ``kept``, whether that statement was still running (it may or may not
            have taken effect) rather than finished.
        atomic: whether the step ran as one transaction; for ``unknown``, a non-atomic step
            may have kept work, and its history row could not be brought up to date.
        rows_done: for ``paused``, the rows of the backfill's committed batches (None:
            unknown).
        rows_total: for ``paused``, the rows the backfill walks in all (None: unknown).
    """

    direction: str
    done: tuple[str, ...]
    migration_id: str | None
    outcome: StopOutcome
    statement: int | None = None
    in_flight: bool = False
    atomic: bool = True
    rows_done: int | None = None
    rows_total: int | None = None


def attach_stop(exc: BaseException, point: StopPoint) -> None:
    """Record on ``exc`` where the run stopped (the exception is re-raised unchanged)."""
    setattr(exc, _ATTRIBUTE, point)


def stop_point(exc: BaseException) -> StopPoint | None:
    """The :class:`StopPoint` the runner attached to ``exc``, if it passed through a run."""
    point = getattr(exc, _ATTRIBUTE, None)
    return point if isinstance(point, StopPoint) else None


def signal_name(exc: BaseException) -> str:
    """``SIGTERM`` or ``SIGINT``; a bare ``KeyboardInterrupt`` is Python's own SIGINT."""
    return exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"


def exit_code(exc: BaseException) -> int:
    """The shell's convention for a process ended by a signal: 128 + its number."""
    signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
    return 128 + int(signum)


def reason(exc: BaseException) -> str:
    """What the audit log says about an interrupted step."""
    if isinstance(exc, Interrupted):
        return f"interrupted by {exc.signal_name}"
    return "interrupted (Ctrl-C)"


def describe(exc: BaseException) -> tuple[str, str | None]:
    """The CLI's message and hint for an interrupt: where it stopped, and what is left."""
    name = signal_name(exc)
    point = stop_point(exc)
    if point is None:
        return (
            f"interrupted by {name} while no migration of this run was in progress",
            "`lamina status` shows what is applied",
        )
    verb = "applied" if point.direction == "up" else "reverted"
    before = f"{verb} before it: {', '.join(point.done) or 'none'}"
    hint: str | None = "run the command again to continue; nothing is half-done"
    step = point.migration_id
    during = f"during {step}" if point.direction == "up" else f"while reverting {step}"
    if step is None:
        where, hint = f"after the last step ({verb}: {', '.join(point.done)})", None
    elif point.outcome == "not started":
        where = f"before {step} started ({before})"
    elif point.outcome == "completed":
        where, hint = f"as {step} finished (it was {verb}; {verb}: {', '.join(point.done)})", None
    elif point.outcome == "paused":
        return _paused(name, point, before)
    elif point.outcome == "rolled back":
        undone = "rolled back" if point.direction == "up" else "rolled back, it stays applied"
        where = f"{during} ({undone}; {before})"
    elif point.outcome == "kept":
        at = "during" if point.in_flight else "after"
        where = (
            f"{during} ({at} statement {point.statement}; what ran cannot be rolled back, so "
            f"it is marked failed; {before})"
        )
        hint = (
            f"finish or undo what {step} did by hand, then run `lamina repair {step} "
            "--mark-applied` or `--mark-rolled-back`"
        )
    elif point.atomic:
        where = f"{during} (rolled back unless its commit had already finished; {before})"
        hint = "history could not be read back: `lamina status` shows whether it is applied"
    else:
        where = (
            f"{during} (it may have kept work, and history could not be brought up to date: "
            f"its row stays dirty; {before})"
        )
        hint = (
            f"`lamina status` shows it; once the server is done with it, finish or undo what "
            f"{step} did by hand, then run `lamina repair {step} --mark-applied` or "
            "`--mark-rolled-back`"
        )
    return f"interrupted by {name} {where}", hint


def _paused(name: str, point: StopPoint, before: str) -> tuple[str, str]:
    """A backfill stopped between or inside batches: its committed batches are kept (the
    "nothing is half-done" of other steps would be wrong), and ``lamina up`` resumes it."""
    if point.rows_done is None:
        kept = "the rows of its earlier batches are done and kept"
    elif point.rows_total is None:
        kept = f"{point.rows_done:,} rows are done and kept"
    else:
        kept = f"{point.rows_done:,} of {point.rows_total:,} rows are done and kept"
    up = point.direction == "up"
    during = "during" if up else "while reverting"
    message = (
        f"interrupted by {name} {during} {point.migration_id}: the batch in flight was rolled "
        f"back; {kept}; the backfill is paused ({before})"
    )
    command = "`lamina up`" if up else "the same `lamina rollback` again"
    hint = f"run {command} to resume at the next batch (`lamina status` shows its progress)"
    return message, hint


class _Handler:
    """Raises :class:`Interrupted` for the first signal and ignores the rest (see module)."""

    def __init__(self) -> None:
        self.first: int | None = None
        self.raised: Interrupted | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.first is not None:
            first = signal.Signals(self.first).name
            note = (
                f"lamina: {signal.Signals(signum).name} ignored: already stopping after "
                f"{first} (rolling back, writing the audit log, releasing the lock); "
                "SIGKILL stops at once, like a crash\n"
            )
            # os.write, not print: the main thread may be inside a write to stderr itself.
            with suppress(OSError):
                os.write(2, note.encode())
            return
        self.first = signum
        self.raised = Terminated() if signum == signal.SIGTERM else Interrupted(signum)
        raise self.raised


#: The handler of the command running in this process, while it runs.
_active: _Handler | None = None


def received() -> Interrupted | None:
    """The interrupt a stop signal raised during this command, if one came: the exception to
    report when a driver swallowed it. Always ``None`` when lamina is used as a library."""
    return None if _active is None else _active.raised


class _Waker:
    """Carries a stop signal to :func:`interrupting`'s target while the main thread is blocked
    in a C call: a pipe set as the wakeup fd, and a daemon thread reading it (see module)."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)  # the C-level handler must never block
        self._previous_fd = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        self._target: Callable[[], None] | None = None
        self._fired = False
        # Held while the target runs, so leaving interrupting() waits for an interrupt in flight.
        self._calling = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="lamina-signals", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        numbers = {int(signum) for signum in HANDLED}
        while True:
            try:
                data = os.read(self._read, 64)
            except OSError:
                return
            if not data:  # close() closed the write end
                return
            if self._fired or not numbers.intersection(data):
                continue
            self._fired = True  # the first stop signal only; later ones are ignored anyway
            with self._calling:
                target = self._target
                if target is not None:
                    with suppress(Exception):
                        target()

    def close(self) -> None:
        signal.set_wakeup_fd(self._previous_fd)
        os.close(self._write)
        self._thread.join(timeout=5)
        os.close(self._read)


#: The wakeup pipe of the command running in this process, while it runs.
_waker: _Waker | None = None


@contextmanager
def interrupting(target: Callable[[], None]) -> Iterator[None]:
    """While the block runs, the first stop signal also calls ``target`` (a backend's
    ``interrupt()``) from another thread, at once, even if the main thread is blocked in a
    C call. Returns only once no such call is in flight. Does nothing outside a command
    (:func:`stop_signals_handled`)."""
    waker = _waker
    if waker is None:
        yield
        return
    with waker._calling:
        waker._target = target
    try:
        yield
    finally:
        with waker._calling:  # waits for a call the watcher already started
            waker._target = None


@contextmanager
def stop_signals_handled() -> Iterator[None]:
    """Handle SIGTERM and SIGINT as described in the module docstring, for the block.

    For the ``lamina`` command only. Does nothing outside the main thread (Python delivers
    signals there only), and leaves a signal its parent ignores (``nohup``, a background job's
    SIGINT) ignored. The previous handlers come back when the block ends.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    global _active, _waker  # noqa: PLW0603  (one command per process; restored below)
    handler, outer, outer_waker = _Handler(), _active, _waker
    previous: dict[signal.Signals, Any] = {}
    waker: _Waker | None = None
    try:
        for signum in HANDLED:
            if signal.getsignal(signum) is signal.SIG_IGN:
                continue
            previous[signum] = signal.signal(signum, handler)
        _active = handler
        if previous and outer_waker is None:
            waker = _waker = _Waker()
        yield
    finally:
        for signum, old in previous.items():
            # None: a handler installed outside Python, which cannot be put back as it was.
            signal.signal(signum, signal.SIG_DFL if old is None else old)
        _active = outer
        if waker is not None:
            _waker = outer_waker
            waker.close()
