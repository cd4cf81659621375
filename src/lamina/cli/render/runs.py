"""``up`` and ``rollback``: progress lines while steps run, plans and dry runs, refusals."""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from lamina.cli.render.backfill_meter import BackfillMeter
from lamina.cli.render.common import (
    RISK_STYLE,
    Painter,
    console,
    print_findings,
    print_problems,
    short_duration,
)
from lamina.errors import ConfigError
from lamina.sqlline import one_line_sql

if TYPE_CHECKING:
    from rich.console import Console

    from lamina.api import RollbackResult, StepPreview, UpResult
    from lamina.runner import RunEvent


#: The environment variable setting how often a running step is reported (seconds).
INTERVAL_VARIABLE = "LAMINA_PROGRESS_INTERVAL"
#: Seconds between two "still running" lines when stdout is not a terminal (CI logs).
DEFAULT_INTERVAL_S = 10.0
#: A terminal's live line is redrawn this often (or at the interval, when shorter).
_REDRAW_S = 1.0
#: How much of a statement is made one line before it is cut to the width (a huge INSERT
#: need not be read whole to show its start).
_SQL_READ = 2000


def progress_interval(environ: Mapping[str, str] = os.environ) -> float:
    """``LAMINA_PROGRESS_INTERVAL``: seconds between reports of a running step (0: none).

    Raises:
        ConfigError: the value is not a number of seconds, zero or more.
    """
    raw = environ.get(INTERVAL_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_INTERVAL_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError(
            INTERVAL_VARIABLE,
            "environment",
            f"{raw!r} is not a number of seconds",
            hint="set it to the seconds between reports of a running migration (default "
            f"{DEFAULT_INTERVAL_S:g}), or 0 for none",
        )
    return value


def progress_printer() -> ProgressPrinter:
    """The ``on_event`` callback of ``up`` and ``rollback`` for this console."""
    return ProgressPrinter(console(), interval=progress_interval())


class ProgressPrinter:
    """Prints one line per finished (or failed) step and, while a step runs, its elapsed
    time and the statement it is running (:class:`LiveStep`). Call :meth:`close` when the
    command ends, however it ends: it stops the live report before anything else prints."""

    #: Asks the runner for ``statement`` events (the statement a step is running).
    wants_statements = True

    def __init__(self, out: Console, *, interval: float) -> None:
        self.out = out
        self.painter = Painter(out)
        self.live = LiveStep(self.painter, terminal=out.is_terminal, interval=interval)

    def __call__(self, event: RunEvent) -> None:
        if event.kind == "statement":
            self.live.statement = event.detail  # shown (and shortened) only when drawn
            return
        if event.kind == "progress":  # a backfill's batch committed
            self.live.progress(event.detail)
            return
        out, paint = self.out, self.painter.paint
        counter = f"[{event.index}/{event.total}]"
        if event.kind == "note":
            detail = event.detail or ""
            style, mark = ("yellow", "⚠") if _is_warning_note(detail) else ("cyan", "ℹ")
            out.print(f"{mark} {detail}", style=style, markup=False)
            return
        if event.kind == "start":
            if not event.atomic and event.statements != 1:
                count = (
                    f"its {event.statements} statements" if event.statements else "its statements"
                )
                out.print(
                    f"[yellow]⚠ {event.migration_id} is not atomic: {count} cannot be rolled "
                    "back together if one fails (DDL commits implicitly, or it runs outside a "
                    "transaction)"
                )
            self.live.begin(event)
            return
        self.live.end()  # its line is wiped and nothing more is drawn for the step
        if event.kind == "done":
            verb = "applied" if event.direction.value == "up" else "reverted"
            late = " " + paint("yellow", "(out of order)") if event.out_of_order else ""
            risk = ""
            if event.risk and event.risk != "low":
                risk = " " + paint(RISK_STYLE[event.risk], f"risk: {event.risk}")
            self.painter.line(
                f"{paint('green', '✓')} {counter} {verb} {event.migration_id} "
                f"{paint('dim', f'{event.name} ({event.duration_ms} ms)')}{risk}{late}"
            )
        else:
            self.painter.line(f"{paint('bold red', '✗')} {counter} {event.migration_id} failed")

    def close(self) -> None:
        self.live.close()


class LiveStep:
    """The report of the step running now, from one daemon thread.

    On a terminal, a line redrawn in place (``[2/5] 004_x … 12 s: UPDATE big SET …``);
    elsewhere a plain line every ``interval`` seconds (``  … 004_x still running (20 s):
    UPDATE big SET …``); nothing at all with an interval of 0. The statement is the one
    the step started last, made one line only when it is drawn. A backfill's step shows
    its progress instead, once its first batch committed (:mod:`.backfill_meter`): a bar
    with rate and ETA on a terminal, the same figures in the plain lines.

    The thread draws only between a step's :meth:`begin` and :meth:`end`, and only whole
    lines, under the lock :meth:`end` takes to wipe the live line: once :meth:`end` returns
    nothing more is drawn for the step, so the step's own line never follows half a line.
    One thread serves a whole run (starting one per step would cost a quick step more than
    its own work); it ends after an interval with no step running, at :meth:`close`, and
    at the first stop signal (:mod:`lamina.signals`), which ends the run.
    """

    def __init__(self, painter: Painter, *, terminal: bool, interval: float) -> None:
        self.painter = painter
        self.terminal = terminal
        self.period = min(_REDRAW_S, interval) if terminal else interval
        #: The SQL of the statement started last, as sent (set by the main thread).
        self.statement: str | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._step: RunEvent | None = None
        self._meter: BackfillMeter | None = None  # the step's backfill, once it reported
        self._started = self._due = self._idle_since = 0.0
        self._shown = 0  # the cells of the live line on the terminal now

    def begin(self, event: RunEvent) -> None:
        now = time.monotonic()
        with self._lock:
            self.statement, self._meter = None, None
            self._step, self._started, self._due = event, now, now + self.period
            if self.terminal:
                self._draw(now)
            if self.period > 0 and self._thread is None and not self._closed.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="lamina-progress", daemon=True
                )
                self._thread.start()

    def progress(self, detail: str | None) -> None:
        """A backfill's batch committed (a ``progress`` event): its figures replace the
        statement in the report."""
        with self._lock:
            meter = self._meter or BackfillMeter()
            if meter.update(detail, time.monotonic()):
                self._meter = meter
            else:
                self.statement = detail

    def end(self) -> None:
        with self._lock:
            self._step = None
            self._idle_since = time.monotonic()
            self._wipe()

    def close(self) -> None:
        """Stop for good: wipe the live line and end the thread (the command is ending)."""
        self._closed.set()
        self.end()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)

    def _run(self) -> None:
        from lamina import signals

        while True:
            with self._lock:
                now = time.monotonic()
                if self._closed.is_set() or signals.received() is not None:
                    self._closed.set()  # a stop signal ends the run: report no more
                    self._wipe()
                    self._thread = None
                    return
                if self._step is None:
                    wait = self._idle_since + self.period - now
                    if wait <= 0:
                        self._thread = None
                        return
                elif now >= self._due:
                    self._report(now)
                    self._due, wait = now + self.period, self.period
                else:
                    wait = self._due - now
            self._closed.wait(wait)

    def _report(self, now: float) -> None:
        step = self._step
        assert step is not None
        if self.terminal:
            self._draw(now)
            return
        line = f"  … {step.migration_id} still running ({_elapsed(now - self._started)})"
        self.painter.line(_cut(self._with_statement(line, now), self.painter.out.width))

    def _draw(self, now: float) -> None:
        """The live line, in place: it starts and ends at the first column, so the next
        line written (the step's own, or an error) starts there too."""
        step = self._step
        assert step is not None
        head, width = f"[{step.index}/{step.total}] {step.migration_id}", self.painter.out.width
        if self._meter is not None:
            drawn = self._meter.line(head, width - 1, now, self.painter)
            if drawn is not None:
                self._put(*drawn)
                return
        line = f"{head} …"
        if now > self._started:
            line = self._with_statement(f"{line} {_elapsed(now - self._started)}", now)
        from rich.cells import cell_len

        line = _cut(line, width - 1)
        self._put(self.painter.paint("dim", line), cell_len(line))

    def _put(self, painted: str, cells: int) -> None:
        """Write ``painted`` (``cells`` wide) over the live line, blanking what it leaves."""
        padding = " " * max(0, self._shown - cells)
        self.painter.line("\r" + painted + padding, end="\r")
        self._shown = cells

    def _wipe(self) -> None:
        if self._shown:
            self.painter.line("\r" + " " * self._shown, end="\r")
            self._shown = 0

    def _with_statement(self, line: str, now: float) -> str:
        if self._meter is not None:
            return f"{line}: {self._meter.plain(now)}"
        sql = self.statement
        return f"{line}: {one_line_sql(sql[:_SQL_READ])}" if sql else line


def _elapsed(seconds: float) -> str:
    """``0.5 s`` … ``9.5 s``, then ``12 s``, then ``3 min 05 s``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{int(seconds)} s"
    return short_duration(int(seconds * 1000))


def _cut(text: str, cells: int) -> str:
    """``text`` in at most ``cells`` terminal cells, ending in ``…`` when cut."""
    from rich.cells import cell_len, set_cell_size

    if cell_len(text) <= cells:
        return text
    return set_cell_size(text, max(cells - 1, 0)) + "…"


def _is_warning_note(detail: str) -> bool:
    """Whether a note before a step reports something that went wrong (a backup before a
    risky step that failed) rather than something done (a backup taken)."""
    return detail.startswith("backup before") and " failed" in detail


#: A refusal names at most this many risky steps, unless --verbose (or --json) asks for all.
REFUSAL_SHOWN = 5


def refusal_message(message: str, steps: int, *, full: bool) -> str:
    """A refusal's message with its list of risky steps (``id (rules); id (rules)`` after
    the last colon) cut to the first few and "and N more", unless ``full``."""
    head, sep, names = message.rpartition(": ")
    entries = names.split("; ")
    if full or not sep or len(entries) != steps or steps <= REFUSAL_SHOWN:
        return message
    shown = "; ".join(entries[:REFUSAL_SHOWN])
    more = steps - REFUSAL_SHOWN
    return f"{head}: {shown}; … and {more} more ({steps} in all; --verbose or --json lists all)"


def _previews(previews: Sequence[StepPreview], verb: str) -> None:
    """Each step's header, findings and SQL; written with the :class:`Painter` (a dry run of
    1,000 steps prints several thousand lines, which rich's markup parser made seconds)."""
    painter = Painter(console())
    paint, line = painter.paint, painter.line
    for preview in previews:
        level = preview.risk.level
        risk = paint(RISK_STYLE[level.label], level.label) if level else paint("green", "low")
        late = " " + paint("yellow", "(out of order)") if preview.step.out_of_order else ""
        line(
            paint("bold", f"{verb} {preview.step.migration_id}")
            + f"  {preview.name}  "
            + paint("dim", f"[{preview.category}]")
            + f"  risk: {risk}{late}"
        )
        if not preview.atomic and len(preview.statements) > 1:
            line(
                "    "
                + paint(
                    "yellow",
                    f"not atomic: a failure after the first of its {len(preview.statements)} "
                    "statements leaves earlier ones applied, and the migration marked failed",
                )
            )
        if preview.ranges is not None:
            line("    " + preview.ranges.text())
        print_findings(preview.risk.findings, indent="    ", painter=painter)
        for statement in preview.statements:
            prefix = "-- reads: " if statement.is_query else ""
            text = statement.sql if statement.sql.endswith(";") else statement.sql + ";"
            for sql_line in (prefix + text).splitlines():
                line("    " + paint("cyan", sql_line))
        if not preview.statements:
            line("    " + paint("dim", "-- no statements"))


def up(result: UpResult) -> None:
    out = console()
    print_problems(result.warnings)
    if result.plan.empty:
        out.print("[green]✅ Database is up to date: nothing to apply.")
        return
    if result.dry_run:
        out.print(
            f"[bold]Dry run: {len(result.plan.steps)} migration(s) would be applied; "
            "nothing was changed.\n"
        )
        _previews(result.previews, "apply")
        return
    if result.out_of_order:
        out.print(
            f"[yellow]Applied out of order (older than the newest applied): "
            f"{', '.join(result.out_of_order)}"
        )
    out.print(f"[green]✅ Applied {len(result.applied)} migration(s).")


def rollback(result: RollbackResult) -> None:
    out = console()
    if result.plan.empty:
        out.print(
            f"[green]Nothing to roll back: no applied migration above version {result.plan.target}."
        )
        return
    if result.dry_run:
        out.print(
            f"[bold]Dry run: {len(result.plan.steps)} migration(s) would be reverted "
            f"to reach version {result.plan.target}; nothing was changed.\n"
        )
        _previews(result.previews, "revert")
        if result.risky:
            out.print("\n[bold red]Risky steps: the real run needs --force (and confirmation).")
        return
    out.print(
        f"[green]✅ Rolled back {len(result.reverted)} migration(s) to version "
        f"{result.plan.target}."
    )
