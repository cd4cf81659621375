"""``status`` in a pipe without rich, whose import and Console cost ~50 ms: there rich
writes each line as given, minus the control codes Text drops, and a table that fits as
cells padded with spaces. A line is given as pieces, a text or a ``(text, style)``, never
markup; what only rich lays out (a terminal, a tab, an emoji code, a wrapped table) is
left to rich.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple, TypeAlias

from lamina.cli.render.common import COLUMN_GAP, PIPE_WIDTH
from lamina.cli.render.common import console as _CONSOLE

if TYPE_CHECKING:
    from rich.console import Console, OverflowMethod

Piece: TypeAlias = str | tuple[str, str]

#: What rich's Text drops from any text: bell, backspace, vertical tab, form feed, CR.
_STRIPPED = dict.fromkeys((7, 8, 11, 12, 13))
#: Each ``:name:`` rich may take for an emoji code; of digits only, 100 and 1234 are emoji.
_EMOJI_CODE = re.compile(r":(?=([^\s:]*):)")


def pipe_width() -> int | None:
    """The width of the pipe stdout is, where rich writes plain text: on POSIX, nothing
    asking for colour (FORCE_COLOR, TTY_COMPATIBLE), COLUMNS a number or unset (160, as
    common.console()). None where rich decides: a terminal, or any other case."""
    columns = os.environ.get("COLUMNS", str(PIPE_WIDTH))
    asked = {"FORCE_COLOR", "TTY_COMPATIBLE"} & os.environ.keys()
    if os.name != "posix" or asked or not (columns.isascii() and columns.isdigit()):
        return None
    try:
        return None if sys.stdout.isatty() else int(columns)
    except (AttributeError, ValueError):  # no stdout, or a closed one
        return None


def lines(console: Callable[[], Console]) -> Lines:
    """Where ``status`` prints: plain where :func:`pipe_width` allows, unless ``console`` is
    not common's (a test's recording console then receives everything)."""
    return Lines(console, pipe_width() if console is _CONSOLE else None)


class Column(NamedTuple):
    """A column of a table without box; ``wraps``: its cells may take several lines."""

    header: str
    cells: list[Piece]
    wraps: bool = False
    overflow: OverflowMethod = "ellipsis"


class Lines:
    """Lines written to stdout as rich writes them in a pipe ``plain`` columns wide, or, with
    ``plain`` None, through rich's ``console``."""

    def __init__(self, console: Callable[[], Console], plain: int | None) -> None:
        self.console = console
        self.plain = plain
        self.width = plain if plain is not None else console().width

    def print(self, *pieces: Piece) -> None:
        """One line (more where a text holds newlines) made of ``pieces``."""
        line = "".join(map(_text, pieces))
        if self.plain is not None and _as_given(line):
            _write(line.translate(_STRIPPED) + "\n")
        elif all(isinstance(piece, str) for piece in pieces):
            self.console().print(line, markup=False)
        else:
            from rich.markup import escape

            marked = (
                escape(p) if isinstance(p, str) else f"[{p[1]}]{escape(p[0])}[/]" for p in pieces
            )
            self.console().print("".join(marked))

    def table(self, columns: Sequence[Column]) -> bool:
        """What ``Table(box=None, pad_edge=False)`` writes when every column fits unwrapped:
        cells padded to their column's width, two spaces apart; False where it takes rich."""
        texts = [[c.header, *map(_text, c.cells)] for c in columns]
        widths = [max(map(len, column)) for column in texts]
        if (
            self.plain is None
            or any(c.wraps for c in columns)
            or not all(t.isascii() and t.isprintable() for column in texts for t in column)
            or sum(widths) + COLUMN_GAP * (len(widths) - 1) > self.plain
        ):
            return False
        rows = zip(*texts, strict=True)  # the header first
        gap = " " * COLUMN_GAP
        _write("".join(gap.join(map(str.ljust, row, widths)) + "\n" for row in rows))
        return True


def _text(piece: Piece) -> str:
    return piece if isinstance(piece, str) else piece[0]


def _as_given(line: str) -> bool:
    """Whether rich prints ``line`` as given (its control codes aside): no tab (rich expands
    it), no backslash (escaped markup may change it), no emoji code (rich puts the emoji)."""
    names = _EMOJI_CODE.findall(line)
    emoji = any(n and not (n.isdigit() and n.isascii() and n not in ("100", "1234")) for n in names)
    return not emoji and "\t" not in line and "\\" not in line


def _write(text: str) -> None:
    """Write and flush, and end quietly with 1 when the reader has gone, as rich does."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
