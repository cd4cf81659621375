"""The per-step lines of ``up`` and ``rollback``: plain in a pipe or with ``NO_COLOR``, coloured
on a terminal, and the same words either way."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from lamina.cli.render.runs import progress_printer
from lamina.models import Direction
from lamina.runner import RunEvent

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def printed(console: Console, monkeypatch: pytest.MonkeyPatch, *events: RunEvent) -> str:
    monkeypatch.setattr("lamina.cli.render.runs.console", lambda: console)
    on_event = progress_printer()
    for event in events:
        on_event(event)
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


DONE = RunEvent("done", Direction.UP, "004_drop", "Drop", 4, 9, duration_ms=12, risk="danger")
LATE = RunEvent("done", Direction.DOWN, "002_x", "X", 1, 2, duration_ms=3, out_of_order=True)
FAIL = RunEvent("fail", Direction.UP, "005_bad", "Bad", 5, 9)


def test_in_a_pipe_the_lines_are_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    text = printed(Console(file=io.StringIO(), width=160), monkeypatch, DONE, LATE, FAIL)
    assert text.splitlines() == [
        "✓ [4/9] applied 004_drop Drop (12 ms) risk: danger",
        "✓ [1/2] reverted 002_x X (3 ms) (out of order)",
        "✗ [5/9] 005_bad failed",
    ]


def test_on_a_terminal_the_same_words_are_coloured(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor")
    text = printed(terminal, monkeypatch, DONE, FAIL)
    assert "\x1b[1;31mrisk: danger\x1b[0m" in text  # danger is bold red
    assert "\x1b[32m✓\x1b[0m" in text
    assert ANSI.sub("", text).splitlines() == [
        "✓ [4/9] applied 004_drop Drop (12 ms) risk: danger",
        "✗ [5/9] 005_bad failed",
    ]


def test_no_color_keeps_a_terminal_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Console(file=io.StringIO(), force_terminal=True, no_color=True)
    assert "\x1b[" not in printed(terminal, monkeypatch, DONE)
