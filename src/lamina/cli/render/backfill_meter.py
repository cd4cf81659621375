"""The live report of a running backfill: a bar with its rate and ETA on a terminal
(``━━━━━━━━╺━━━━━━━━━━  42% 1.2M/2.9M rows · 35k rows/s · ETA 48 s``), the same figures in
the plain "still running" lines of a pipe.

The bar is drawn here, as text, inside :class:`~lamina.cli.render.runs.LiveStep`'s own line:
a rich ``Live`` or ``Progress`` would redraw the terminal from a thread of its own and fight
that line. Its look is rich's ``ProgressBar``'s.
"""

from __future__ import annotations

from typing import cast

from lamina.cli.render.common import Painter, short_duration
from lamina.models.status import backfill_progress

__all__ = ["BackfillMeter", "bar", "compact"]

#: The widest and narrowest bars drawn; a line with less room has no bar.
BAR_CELLS = (10, 40)
#: rich's ``bar.complete`` and ``bar.back`` styles.
_DONE_STYLE, _LEFT_STYLE = "rgb(249,38,114)", "grey23"


class BackfillMeter:
    """Where a backfill stands, from the ``progress`` events of its committed batches, and
    how fast it goes: rows per second on this run's wall clock (pauses and waits for
    replicas included, so the ETA holds), measured from the first event seen; until a
    second one, the rate of the batches' own durations that history records."""

    def __init__(self) -> None:
        self.done = self.total = self.batches = 0
        self._first: tuple[float, int] | None = None
        self._rate: float | None = None
        self._at = 0.0  # when the last event came

    def update(self, detail: str | None, now: float) -> bool:
        """Take a ``progress`` event's detail; False when it is not a backfill's progress."""
        progress = backfill_progress(detail)
        if progress is None:
            return False
        self.done = cast(int, progress["rows_done"])
        self.total = cast(int, progress["rows_total"])
        self.batches = cast(int, progress["batches"])
        if self._first is None:
            self._first = (now, self.done)
            self._rate = cast("float | None", progress["rows_per_second"])
        elif now > self._first[0] and self.done > self._first[1]:
            self._rate = (self.done - self._first[1]) / (now - self._first[0])
        self._at = now
        return True

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 1.0

    @property
    def rate(self) -> float | None:
        """Rows per second, or None before it is known."""
        return self._rate or None

    def eta(self, now: float) -> float | None:
        """Seconds left at the current rate, counted down between two events."""
        rate = self.rate
        if rate is None:
            return None
        return max(0.0, max(self.total - self.done, 0) / rate - (now - self._at))

    def figures(self, now: float) -> str:
        """``1.2M/2.9M rows · 35k rows/s · ETA 48 s``: the bar's companion."""
        parts = [f"{compact(self.done)}/{compact(self.total)} rows"]
        eta = self.eta(now)
        if self.rate is not None and eta is not None:
            parts += [f"{compact(self.rate)} rows/s", f"ETA {_seconds(eta)}"]
        return " · ".join(parts)

    def plain(self, now: float) -> str:
        """``backfill 1,200/5,000 rows (24.0%), 30 batches, 1,500 rows/s, ETA 2.5 s``."""
        text = (
            f"backfill {self.done:,}/{self.total:,} rows ({self.fraction * 100:.1f}%), "
            f"{self.batches:,} batches"
        )
        eta = self.eta(now)
        if self.rate is not None and eta is not None:
            text += f", {self.rate:,.0f} rows/s, ETA {_seconds(eta)}"
        return text

    def line(self, head: str, cells: int, now: float, painter: Painter) -> tuple[str, int] | None:
        """``head`` then the bar and the figures in ``cells`` terminal cells, painted, with
        its width in cells; None when no bar fits (the caller shows the plain figures)."""
        from rich.cells import cell_len

        tail = f" {int(self.fraction * 100):>3}% {self.figures(now)}"
        room = cells - cell_len(head) - 1 - cell_len(tail)
        if room < BAR_CELLS[0]:
            return None
        width = min(room, BAR_CELLS[1])
        paint = painter.paint
        drawn = paint("dim", head) + " " + bar(self.fraction, width, painter) + paint("dim", tail)
        return drawn, cell_len(head) + 1 + width + cell_len(tail)


def bar(fraction: float, width: int, painter: Painter) -> str:
    """``width`` cells of rich's bar at ``fraction``; with no colour, the part left blank
    (rich draws it in a grey that a terminal without colours cannot show)."""
    halves = int(width * 2 * min(max(fraction, 0.0), 1.0))
    full, half = divmod(halves, 2)
    done = "━" * full + "╸" * half
    left = width - full - half
    if painter.colour is None:
        return done + " " * left
    rest = ("╺" + "━" * (left - 1)) if left and full and not half else "━" * left
    paint = painter.paint
    return paint(_DONE_STYLE, done) + (paint(_LEFT_STYLE, rest) if rest else "")


def compact(number: float) -> str:
    """``950``, ``1.2k``, ``35k``, ``1.2M``, ``29M``, ``1.1G``: a count in a few cells."""
    if number < 1000:
        return f"{number:.1f}" if 0 < number < 10 and number != int(number) else f"{number:.0f}"
    for unit, size in (("k", 1e3), ("M", 1e6)):
        if number / size < 999.5:
            return _scaled(number / size, unit)
    return _scaled(number / 1e9, "G")


def _scaled(value: float, unit: str) -> str:
    return f"{value:.1f}{unit}" if value < 9.95 else f"{value:.0f}{unit}"


def _seconds(seconds: float) -> str:
    """``48 s``, ``3 min 05 s``, ``2 h 10 min``."""
    if seconds < 60:
        return f"{round(seconds)} s"
    return short_duration(int(seconds * 1000))
